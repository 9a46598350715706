package messaging

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// testSubjects is the subject policy of a host whose control prefix is acme.ctl.
func testSubjects(tb testing.TB) *subject.Policy {
	tb.Helper()
	p, err := subject.NewPolicy("wasmbus.>", "acme.ctl.>", "_INBOX.>")
	require.NoError(tb, err)
	return p
}

func testProvider(tb testing.TB) *Provider {
	return New(Config{Subjects: testSubjects(tb)})
}

func mustParse(tb testing.TB, p *Provider, values map[string]string) Link {
	tb.Helper()
	l, err := p.ParseLink("MACTOR", "default", values)
	require.NoError(tb, err)
	return l
}

func TestCheckPublish(t *testing.T) {
	p := testProvider(t)
	none := mustParse(t, p, map[string]string{})
	withPublish := mustParse(t, p, map[string]string{LinkPublish: "orders.*, audit.>, _INBOX.>, acme.>"})
	tests := []struct {
		name    string
		link    Link
		subject string
		ok      bool
	}{
		{"no publish value: nothing", none, "orders.new", false},
		{"no publish value: no inbox either", none, "_INBOX.abc.1", false},
		{"listed", withPublish, "orders.new", true},
		{"one token too many", withPublish, "orders.new.eu", false},
		{"listed tree", withPublish, "audit.a.b.c", true},
		{"inboxes are reserved whatever the link says", withPublish, "_INBOX.x", false},
		{"rpc", withPublish, "wasmbus.rpc.default.M", false},
		{"default control prefix", none, "wasmbus.ctl.default.cmd.N.stop", false},
		{"configured control prefix", withPublish, "acme.ctl.default.cmd.N.stop", false},
		{"outside the control prefix", withPublish, "acme.orders", true},
		{"JetStream API", withPublish, "$JS.API.STREAM.DELETE.x", false},
		{"wildcard", withPublish, "orders.*", false},
		{"empty token", withPublish, "orders..x", false},
		{"empty", withPublish, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.checkPublish(tc.link, tc.subject)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrSubjectNotAllowed)
		})
	}
}

func TestReplyGrants(t *testing.T) {
	p := testProvider(t)
	l := mustParse(t, p, map[string]string{LinkSubscription: "orders.>"})
	other := Link{Actor: "MOTHER"}
	inbox := "_INBOX.abc.1"
	require.ErrorIs(t, p.checkPublish(l, inbox), ErrSubjectNotAllowed)

	g := grant{l.Actor, p.replyGrant(inbox)}
	p.grant(g)
	require.NoError(t, p.checkPublish(l, inbox), "the reply subject of a message being delivered")
	require.ErrorIs(t, p.checkPublish(other, inbox), ErrSubjectNotAllowed, "another actor")
	require.ErrorIs(t, p.checkPublish(l, "_INBOX.abc.2"), ErrSubjectNotAllowed, "another inbox")
	p.grant(g) // two deliveries with one reply subject
	p.revoke(g)
	require.NoError(t, p.checkPublish(l, inbox), "still one delivery")
	p.revoke(g)
	require.ErrorIs(t, p.checkPublish(l, inbox), ErrSubjectNotAllowed, "after the delivery")

	// A sender cannot make an actor publish on the lattice's subjects by naming one as its reply subject.
	for _, reply := range []string{"wasmbus.ctl.default.cmd.N.stop", "acme.ctl.x", "$JS.API.x", "_INBOX.*", "a..b"} {
		require.Equal(t, "grant for "+reply, p.replyGrant(reply), "")
	}
	require.Equal(t, "grant for a plain subject", p.replyGrant("replies.1"), "replies.1")
}

func TestCheckReplyTo(t *testing.T) {
	p := testProvider(t)
	l := mustParse(t, p, map[string]string{LinkSubscription: "answers.*", LinkPublish: "orders.>"})
	require.NoError(t, p.checkReplyTo(l, "answers.1"))
	require.NoError(t, p.checkReplyTo(l, "orders.replies"))
	for _, s := range []string{"wasmbus.rpc.default.MVICTIM", "_INBOX.x", "elsewhere", "$KV.x.y"} {
		require.ErrorIs(t, p.checkReplyTo(l, s), ErrSubjectNotAllowed, "reply subject %q", s)
	}
}

func TestParseLink(t *testing.T) {
	p := testProvider(t)
	l := mustParse(t, p, map[string]string{LinkSubscription: " a.b , c.> ,, ", LinkPublish: " "})
	require.Equal(t, "subscriptions", strings.Join(l.Subscriptions, "|"), "a.b|c.>")
	require.Equal(t, "queue", l.Queue, "wasmcloud-actor.MACTOR.default")
	require.Equal(t, "publish", len(l.Publish), 0)
	l = mustParse(t, p, map[string]string{LinkQueue: "workers"})
	require.Equal(t, "named queue", l.Queue, "wasmcloud-actor.MACTOR.workers")
	l = mustParse(t, p, map[string]string{"SUBSCRIPTION": "x.y", "QUEUE": "q"})
	require.Equal(t, "0.x upper-case values", strings.Join(l.Subscriptions, "|")+" "+l.Queue, "x.y wasmcloud-actor.MACTOR.q")

	refused := []map[string]string{
		{LinkSubscription: ">"},
		{LinkSubscription: "*.>"},
		{LinkSubscription: "*.rpc.default.MVICTIM"},
		{LinkSubscription: "*.ctl.>"},
		{LinkSubscription: "acme.*.default.cmd.N.stop"},
		{LinkSubscription: "_INBOX.>"},
		{LinkSubscription: "wasmbus.>"},
		{LinkSubscription: "$JS.API.>"},
		{LinkSubscription: "a..b"},
		{LinkSubscription: "a.>.b"},
		{LinkSubscription: "ok.x, wasmbus.evt.default"},
		{LinkPublish: "a..b"},
		// A queue group in another actor's or the host's namespace cannot even be spelled: the value is one token.
		{LinkQueue: "wasmcloud-actor.MVICTIM.default"},
		{LinkQueue: "wasmbus.rpc.default.MVICTIM"},
		{LinkQueue: "a b"},
	}
	for _, values := range refused {
		_, err := p.ParseLink("MACTOR", "default", values)
		require.ErrorIs(t, err, ErrSubjectNotAllowed, "values %v", values)
	}
}

// FuzzParseLink: whatever a link's values and the subject are, a link ParseLink accepts subscribes only to
// patterns that overlap none of the lattice's subjects, in a queue group of the actor's own namespace, and
// a subject checkPublish accepts is a valid literal subject outside the lattice's subjects that one of the
// link's patterns matches. Every refusal matches ErrSubjectNotAllowed.
func FuzzParseLink(f *testing.F) {
	for _, s := range [][3]string{{"", "", "_INBOX.a"}, {"orders.*, audit.>", "q", "orders.new"}, {">", "", "wasmbus.rpc.x"},
		{"a..b", "", "a..b"}, {"*", "", "$JS"}, {" , ,", "", "x"}, {"demo.>", "x.y", "demo.\x00"}, {"*.ctl.>", "", "acme.ctl.a"}} {
		f.Add(s[0], s[1], s[2])
	}
	p := testProvider(f)
	reserved := append(testSubjects(f).Reserved(), "$X.>", "$X")
	f.Fuzz(func(t *testing.T, list, queue, s string) {
		l, err := p.ParseLink("MACTOR", "default", map[string]string{LinkPublish: list, LinkSubscription: list, LinkQueue: queue})
		if err != nil {
			if !errors.Is(err, ErrSubjectNotAllowed) {
				t.Fatalf("error %v does not match ErrSubjectNotAllowed", err)
			}
			return
		}
		if !strings.HasPrefix(l.Queue, queueNamespace+"MACTOR.") || strings.Count(l.Queue, ".") != 2 {
			t.Fatalf("queue %q outside the actor's namespace", l.Queue)
		}
		for _, sub := range l.Subscriptions {
			for _, r := range reserved {
				if subject.Overlap(r, sub) {
					t.Fatalf("subscription %q accepted, but it overlaps %q", sub, r)
				}
			}
		}
		if err := p.checkPublish(l, s); err != nil {
			if !errors.Is(err, ErrSubjectNotAllowed) {
				t.Fatalf("error %v does not match ErrSubjectNotAllowed", err)
			}
			return
		}
		if subject.ValidateSubject(s, false) != nil {
			t.Fatalf("invalid subject %q accepted", s)
		}
		for _, r := range reserved {
			if subject.Matches(r, s) {
				t.Fatalf("reserved subject %q accepted", s)
			}
		}
	})
}
