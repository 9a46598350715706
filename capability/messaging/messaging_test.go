package messaging

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

func TestMessagingSubjects(t *testing.T) {
	l := ParseLink("M", "default", map[string]string{})
	withPublish := ParseLink("M", "default", map[string]string{LinkPublish: "orders.*, audit.>"})
	tests := []struct {
		link    Link
		subject string
		ok      bool
	}{
		{l, "_INBOX.abc.1", true},
		{l, "orders.new", false},
		{withPublish, "orders.new", true},
		{withPublish, "orders.new.eu", false},
		{withPublish, "audit.a.b.c", true},
		{withPublish, "_INBOX.x", false},
		{withPublish, "wasmbus.rpc.default.M", false},
		{l, "wasmbus.ctl.default.cmd.N.stop", false},
		{withPublish, "$JS.API.STREAM.DELETE.x", false},
		{withPublish, "orders.*", false},
		{withPublish, "orders..x", false},
		{withPublish, "", false},
	}
	for _, tc := range tests {
		if err := tc.link.CheckPublish(tc.subject); (err == nil) != tc.ok {
			t.Errorf("CheckPublish(%v, %q) = %v, want ok=%v", tc.link.Publish, tc.subject, err, tc.ok)
		}
	}
}

func TestParseLink(t *testing.T) {
	l := ParseLink("MA", "x", map[string]string{LinkSubscription: " a.b , c.> ,, ", LinkPublish: " "})
	if strings.Join(l.Subscriptions, "|") != "a.b|c.>" || l.Queue != "wasmcloud-host.MA.x" || strings.Join(l.Publish, "|") != "_INBOX.>" {
		t.Fatalf("ParseLink = %+v", l)
	}
	if l := ParseLink("MA", "x", map[string]string{LinkQueue: "q"}); l.Queue != "q" || len(l.Subscriptions) != 0 {
		t.Fatalf("ParseLink with a queue = %+v", l)
	}
	for _, s := range []string{"a..b", "a.>.b", "wasmbus.>", "$JS.API.>", "a b"} {
		if err := checkSubscription(s); !errors.Is(err, ErrSubjectNotAllowed) {
			t.Errorf("subscription %q: %v", s, err)
		}
	}
	for _, s := range []string{"a.b", "orders.*", "demo.>"} {
		if err := checkSubscription(s); err != nil {
			t.Errorf("subscription %q refused: %v", s, err)
		}
	}
}

// FuzzCheckPublish: whatever a link's publish value and the subject are, a subject CheckPublish accepts is a
// valid literal subject outside the lattice's own subjects that one of the link's patterns matches; a
// refusal matches ErrSubjectNotAllowed. Subscriptions accepted by checkSubscription are valid patterns.
func FuzzCheckPublish(f *testing.F) {
	for _, s := range [][2]string{{"", "_INBOX.a"}, {"orders.*, audit.>", "orders.new"}, {">", "wasmbus.rpc.x"},
		{"a..b", "a..b"}, {"*", "$JS"}, {" , ,", "x"}, {"demo.>", "demo.\x00"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, publish, s string) {
		l := ParseLink("M", "default", map[string]string{LinkPublish: publish, LinkSubscription: publish})
		if err := l.CheckPublish(s); err != nil {
			if !errors.Is(err, ErrSubjectNotAllowed) {
				t.Fatalf("error %v does not match ErrSubjectNotAllowed", err)
			}
		} else {
			if subject.ValidateSubject(s, false) != nil {
				t.Fatalf("invalid subject %q accepted", s)
			}
			for _, r := range reservedSubjects {
				if subject.Matches(r, s) {
					t.Fatalf("reserved subject %q accepted", s)
				}
			}
		}
		for _, sub := range l.Subscriptions {
			if checkSubscription(sub) == nil && subject.ValidateSubject(sub, true) != nil {
				t.Fatalf("invalid subscription %q accepted", sub)
			}
		}
	})
}
