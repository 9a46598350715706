package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/guesttest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// These tests run the example actors under examples/ on an in-process host, built from source with the
// toolchain that runs the tests and signed with fresh keys.

// exampleCaller is the origin of the test's invocations: any module key will do, as for an actor-to-actor call.
const exampleCaller = "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP"

// capsKVResult is what Caps.KV replies for any key, as MessagePack rendered as JSON (see runKV in
// examples/capabilities).
const capsKVResult = `{"get":"40","get_exists":true,"contains":true,"increment":[41,42],"del":true,` +
	`"contains_after_del":false,"list_add":[1,2,3],"list_range":["one","two","three"],"list_del":true,` +
	`"list_clear":true,"set_add":[1,1,0],"set_query":["apple","banana"],"set_add_other":[1,1,1],"set_del":1,` +
	`"set_union":["apple","banana","cherry"],"set_intersection":["banana"],"set_clear":[true,true]}`

// logBuffer collects a host's JSON log lines; the host writes from several goroutines.
type logBuffer struct{ testutil.SyncBuffer }

// find returns the records whose message is msg.
func (l *logBuffer) find(t *testing.T, msg string) []map[string]any {
	t.Helper()
	data := l.Bytes()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Bytes(), err)
		}
		if rec[slog.MessageKey] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// strMap encodes a MessagePack map of string keys and values, given as pairs.
func strMap(pairs ...string) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(pairs)/2))
	for _, s := range pairs {
		b = msgp.AppendString(b, s)
	}
	return b
}

// invokeActor invokes operation on a local actor through the host's own invocation path (checked like any
// invocation, without a token since it stays in the process) and returns the reply rendered as JSON.
func invokeActor(t testing.TB, h *Host, actorKey, operation string, payload []byte) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: exampleCaller},
		Target: wire.Entity{PublicKey: actorKey}, Operation: operation, Msg: payload})
	if err != nil {
		return "", err
	}
	var js bytes.Buffer
	rest, err := msgp.UnmarshalAsJSON(&js, out)
	if err != nil || len(rest) != 0 {
		t.Fatalf("%s reply %x is not one MessagePack value: %v", operation, out, err)
	}
	return js.String(), nil
}

// wantReply invokes an operation and checks its reply, as JSON, exactly.
func wantReply(t *testing.T, h *Host, actorKey, operation string, payload []byte, want string) {
	t.Helper()
	got, err := invokeActor(t, h, actorKey, operation, payload)
	if err != nil {
		t.Fatalf("%s: %v", operation, err)
	}
	if got != want {
		t.Fatalf("%s reply:\n got %s\nwant %s", operation, got, want)
	}
}

// wantGuestError invokes an operation and checks that it fails with exactly the guest error text msg.
func wantGuestError(t *testing.T, h *Host, actorKey, operation string, payload []byte, msg string) {
	t.Helper()
	got, err := invokeActor(t, h, actorKey, operation, payload)
	if err == nil {
		t.Fatalf("%s succeeded with %s, want the error %q", operation, got, msg)
	}
	want := fmt.Sprintf("actor: guest error (operation %q): %s", operation, msg)
	if err.Error() != want {
		t.Fatalf("%s error:\n got %q\nwant %q", operation, err, want)
	}
}

// wantRefusalsAdded checks that the host's refused-call counters grew by exactly add since before.
func wantRefusalsAdded(t *testing.T, h *Host, before map[string]int64, add map[string]int64) {
	t.Helper()
	want := maps.Clone(before)
	for k, v := range add {
		want[k] += v
	}
	if got := h.RefusedCalls(); !maps.Equal(got, want) {
		t.Fatalf("refused calls %v, want %v", got, want)
	}
}

// hostCallError is the text actor/guest gives a failed host call.
func hostCallError(contract, operation, msg string) string {
	return fmt.Sprintf("guest: host call to %s (link \"default\", operation %q) failed: %s", contract, operation, msg)
}

// stored is Caps.Get's reply, as JSON, for a key that holds value.
func stored(value string) string {
	v, _ := json.Marshal(value) // a string always encodes; escaped as msgp.UnmarshalAsJSON escapes it
	return `{"exists":true,"value":` + string(v) + `}`
}

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestCapabilitiesExample runs examples/capabilities: two copies, A and B, with every capability it uses, and
// a copy C whose claims leave out wasmcloud:keyvalue, all on one host.
func TestCapabilitiesExample(t *testing.T) {
	wasm := testutil.BuildGuest(t, "examples/capabilities")
	all := []string{contract.ContractLogging, contract.ContractNumberGen, contract.ContractKeyValue, contract.ContractMessaging}
	signedA, keyA := guesttest.SignGuest(t, wasm, "caps-a", "", all...)
	signedB, keyB := guesttest.SignGuest(t, wasm, "caps-b", "", all...)
	signedC, keyC := guesttest.SignGuest(t, wasm, "caps-c", "", contract.ContractLogging, contract.ContractNumberGen, contract.ContractMessaging)

	s := runNATS(t)
	logs := &logBuffer{}
	h := startHostWithLog(t, s, clusterSeed(t), slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "WASMCLOUD_RPC_TIMEOUT_MS=10000")
	for _, a := range []struct {
		name   string
		signed []byte
	}{{"caps-a.wasm", signedA}, {"caps-b.wasm", signedB}, {"caps-c.wasm", signedC}} {
		if _, err := h.StartActorBytes(context.Background(), a.name, a.signed); err != nil {
			t.Fatalf("start %s: %v", a.name, err)
		}
	}

	t.Run("a key-value call without a link is refused", func(t *testing.T) {
		before := h.RefusedCalls()
		wantGuestError(t, h, keyB, "Caps.Get", strMap("key", "x"), `capabilities: Caps.Get "x": `+
			hostCallError(contract.ContractKeyValue, contract.OpKeyValueGet,
				fmt.Sprintf(`capability: no provider linked for wasmcloud:keyvalue (link name "default") to actor %s`, keyB)))
		wantRefusalsAdded(t, h, before, map[string]int64{"not_linked": 1})
	})

	kvLink := func(prefix string) map[string]string {
		return map[string]string{keyvalue.LinkBucket: "caps", keyvalue.LinkPrefix: prefix}
	}
	link(t, h, keyA, capability.BuiltinKeyValue, contract.ContractKeyValue, kvLink("a"))
	link(t, h, keyB, capability.BuiltinKeyValue, contract.ContractKeyValue, kvLink("b"))
	link(t, h, keyC, capability.BuiltinKeyValue, contract.ContractKeyValue, kvLink("c"))
	// A request's answer goes to an _INBOX subject: a link that lists publish patterns must list that too.
	link(t, h, keyA, capability.BuiltinMessaging, contract.ContractMessaging,
		map[string]string{messaging.LinkSubscription: "demo.echo", messaging.LinkPublish: "demo.>,_INBOX.>"})

	t.Run("Caps.Log", func(t *testing.T) {
		tests := []struct {
			name, level, wantLevel string
		}{
			{name: "debug", level: "debug", wantLevel: "DEBUG"},
			{name: "info", level: "info", wantLevel: "INFO"},
			{name: "warn", level: "warn", wantLevel: "WARN"},
			{name: "error", level: "error", wantLevel: "ERROR"},
			{name: "no level", level: "", wantLevel: "INFO"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := h.RefusedCalls()
				text := "written by caps-a at level " + tt.name
				wantReply(t, h, keyA, "Caps.Log", strMap("level", tt.level, "text", text), `{"ok":true}`)
				recs := logs.find(t, text)
				if len(recs) != 1 {
					t.Fatalf("%d log records with the text %q, want 1", len(recs), text)
				}
				if r := recs[0]; r[slog.LevelKey] != tt.wantLevel || r[attrActor] != keyA || r["source"] != "actor" {
					t.Errorf("log record %v: want level %s, actor %s, source actor", r, tt.wantLevel, keyA)
				}
				wantRefusalsAdded(t, h, before, nil)
			})
		}
	})

	t.Run("Caps.Numbers", func(t *testing.T) {
		guids, randoms, inRange := map[string]bool{}, map[uint32]bool{}, map[uint32]bool{}
		const calls = 20
		for range calls {
			got, err := invokeActor(t, h, keyA, "Caps.Numbers", nil)
			if err != nil {
				t.Fatal(err)
			}
			var n struct {
				GUID    string `json:"guid"`
				Random  uint32 `json:"random"`
				InRange uint32 `json:"in_range"`
			}
			dec := json.NewDecoder(strings.NewReader(got))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&n); err != nil {
				t.Fatalf("reply %s: %v", got, err)
			}
			if !guidPattern.MatchString(n.GUID) || n.InRange < 10 || n.InRange > 20 || !strings.Contains(got, `"random":`) {
				t.Fatalf("reply %s: want a version 4 UUID, a random number and a number from 10 to 20", got)
			}
			guids[n.GUID], randoms[n.Random], inRange[n.InRange] = true, true, true
		}
		// Fixed answers would pass the checks above; random ones differ (the chance of a false failure is
		// below 2^-60).
		if len(guids) != calls || len(randoms) < 2 || len(inRange) < 2 {
			t.Fatalf("%d distinct GUIDs, %d random numbers and %d numbers in range in %d calls", len(guids), len(randoms), len(inRange), calls)
		}
	})

	t.Run("Caps.KV", func(t *testing.T) {
		tests := []struct {
			name    string
			actor   string
			payload []byte
		}{
			{name: "plain key", actor: keyA, payload: strMap("key", "k1")},
			{name: "same key again", actor: keyA, payload: strMap("key", "k1")},
			{name: "same key in B", actor: keyB, payload: strMap("key", "k1")},
			{name: "default key", actor: keyA, payload: nil},
			{name: "path", actor: keyA, payload: strMap("key", "../b/k1")},
			{name: "star", actor: keyA, payload: strMap("key", "*")},
			{name: "full wildcard", actor: keyA, payload: strMap("key", ">")},
			{name: "dots", actor: keyB, payload: strMap("key", "a.b")},
			{name: "spaces and a newline", actor: keyA, payload: strMap("key", "a b\nc")},
			{name: "unicode", actor: keyA, payload: strMap("key", "ключ")},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantReply(t, h, tt.actor, "Caps.KV", tt.payload, capsKVResult)
			})
		}
		t.Run("the host's error text reaches the caller", func(t *testing.T) {
			wantGuestError(t, h, keyA, "Caps.Get", strMap("key", ""), `capabilities: Caps.Get "": `+
				hostCallError(contract.ContractKeyValue, contract.OpKeyValueGet, `keyvalue: Get "": empty key`))
		})
	})

	t.Run("prefixes isolate A and B", func(t *testing.T) {
		keys := []string{"x", "../b/x", "b/x", "*", ">", "a.b", "b.x", ".."}
		for _, key := range keys {
			t.Run(key, func(t *testing.T) {
				wantReply(t, h, keyA, "Caps.Set", strMap("key", key, "value", "A's "+key), `{"ok":true}`)
				wantReply(t, h, keyB, "Caps.Get", strMap("key", key), `{"exists":false,"value":""}`)
				wantReply(t, h, keyA, "Caps.Get", strMap("key", key), stored("A's "+key))
				wantReply(t, h, keyB, "Caps.Set", strMap("key", key, "value", "B's "+key), `{"ok":true}`)
				wantReply(t, h, keyB, "Caps.Get", strMap("key", key), stored("B's "+key))
				wantReply(t, h, keyA, "Caps.Get", strMap("key", key), stored("A's "+key))
			})
		}
		// No later write reached another key, of either copy.
		for _, key := range keys {
			for _, a := range []struct{ name, key string }{{"A", keyA}, {"B", keyB}} {
				wantReply(t, h, a.key, "Caps.Get", strMap("key", key), stored(a.name+"'s "+key))
			}
		}
	})

	t.Run("a key-value call without the claim is refused", func(t *testing.T) {
		before := h.RefusedCalls()
		notClaimed := "capability: actor's claims do not list the capability wasmcloud:keyvalue"
		wantGuestError(t, h, keyC, "Caps.Get", strMap("key", "x"),
			`capabilities: Caps.Get "x": `+hostCallError(contract.ContractKeyValue, contract.OpKeyValueGet, notClaimed))
		wantGuestError(t, h, keyC, "Caps.KV", strMap("key", "x"),
			`capabilities: Caps.KV: Del "x:list": `+hostCallError(contract.ContractKeyValue, contract.OpKeyValueDel, notClaimed))
		wantRefusalsAdded(t, h, before, map[string]int64{"not_claimed": 2})
		// The capabilities C claims still work.
		if _, err := invokeActor(t, h, keyC, "Caps.Numbers", nil); err != nil {
			t.Fatalf("Caps.Numbers of C: %v", err)
		}
	})

	nc := connect(t, s)

	t.Run("Caps.Publish", func(t *testing.T) {
		msgs := make(chan *nats.Msg, 16)
		for _, subject := range []string{"demo.out", "other.subject", "wasmbus.rpc.default.x"} {
			if _, err := nc.ChanSubscribe(subject, msgs); err != nil {
				t.Fatal(err)
			}
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		next := func(wantSubject, wantBody string) {
			t.Helper()
			select {
			case m := <-msgs:
				if m.Subject != wantSubject || string(m.Data) != wantBody {
					t.Fatalf("received %q on %s, want %q on %s", m.Data, m.Subject, wantBody, wantSubject)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("nothing received on %s", wantSubject)
			}
		}
		wantReply(t, h, keyA, "Caps.Publish", strMap("subject", "demo.out", "body", "hello"), `{"ok":true}`)
		next("demo.out", "hello")

		before := h.RefusedCalls()
		refusals := []struct {
			name, subject, reason string
		}{
			{name: "lattice subject", subject: "wasmbus.rpc.default.x", reason: `subject: "wasmbus.rpc.default.x": is one of the lattice's own subjects (wasmbus.>)`},
			{name: "outside the link's patterns", subject: "other.subject",
				reason: `"other.subject" is outside the link's publish values [demo.> _INBOX.>]`},
			{name: "wildcard", subject: "demo.*", reason: `subject: "demo.*": contains wildcard '*'`},
		}
		for _, tt := range refusals {
			t.Run(tt.name, func(t *testing.T) {
				wantGuestError(t, h, keyA, "Caps.Publish", strMap("subject", tt.subject, "body", "sneaky"),
					fmt.Sprintf("capabilities: Caps.Publish to %q: ", tt.subject)+
						hostCallError(contract.ContractMessaging, contract.OpMessagingPublish, "messaging: subject not allowed: "+tt.reason))
			})
		}
		wantRefusalsAdded(t, h, before, map[string]int64{capability.ReasonSubject: int64(len(refusals))})
		// Messages from one connection arrive in order: if a refused publish had gone out, it would come first.
		wantReply(t, h, keyA, "Caps.Publish", strMap("subject", "demo.out", "body", "after"), `{"ok":true}`)
		next("demo.out", "after")
	})

	t.Run("Caps.Publish without a messaging link is refused", func(t *testing.T) {
		before := h.RefusedCalls()
		wantGuestError(t, h, keyB, "Caps.Publish", strMap("subject", "demo.out", "body", "x"),
			`capabilities: Caps.Publish to "demo.out": `+hostCallError(contract.ContractMessaging, contract.OpMessagingPublish,
				fmt.Sprintf(`capability: no provider linked for wasmcloud:messaging (link name "default") to actor %s`, keyB)))
		wantRefusalsAdded(t, h, before, map[string]int64{"not_linked": 1})
	})

	t.Run("Caps.Request", func(t *testing.T) {
		sub, err := nc.Subscribe("demo.svc", func(m *nats.Msg) { _ = m.Respond(append([]byte("pong: "), m.Data...)) })
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		wantReply(t, h, keyA, "Caps.Request", strMap("subject", "demo.svc", "body", "ping"), `{"body":"pong: ping"}`)
		wantGuestError(t, h, keyA, "Caps.Request", strMap("subject", "other.svc", "body", "ping"),
			`capabilities: Caps.Request to "other.svc": `+hostCallError(contract.ContractMessaging, contract.OpMessagingRequest,
				`messaging: subject not allowed: "other.svc" is outside the link's publish values [demo.> _INBOX.>]`))
		wantGuestError(t, h, keyA, "Caps.Request", strMap("subject", "demo.nobody", "body", "ping"),
			`capabilities: Caps.Request to "demo.nobody": `+hostCallError(contract.ContractMessaging, contract.OpMessagingRequest,
				`messaging: request to demo.nobody: nats: no responders available for request`))
	})

	t.Run("a NATS request to the subscription is answered", func(t *testing.T) {
		// The subscription starts when the host has applied the link: retry until it answers.
		var answer []byte
		require.EventuallyNoError(t, 10*time.Second, func() error {
			m, err := nc.Request("demo.echo", []byte("hi"), 5*time.Second)
			if err == nil {
				answer = m.Data
			}
			return err
		}, "an answer on demo.echo")
		if string(answer) != "echo: hi" {
			t.Fatalf("answer %q, want %q", answer, "echo: hi")
		}
		// A message without a reply subject is delivered and ignored: no error is logged for it.
		if err := nc.Publish("demo.echo", []byte("no answer wanted")); err != nil {
			t.Fatal(err)
		}
		m, err := nc.Request("demo.echo", []byte("again"), 10*time.Second)
		if err != nil || string(m.Data) != "echo: again" {
			t.Fatalf("second request: %v, %v", m, err)
		}
		if recs := logs.find(t, "message not handled"); len(recs) != 0 {
			t.Fatalf("messages not handled: %v", recs)
		}
	})
}

// BenchmarkCapabilitiesExample measures invocations of examples/capabilities through the host's invoke path:
// Caps.Numbers makes three built-in numbergen calls, Caps.Get one key-value Get on JetStream.
func BenchmarkCapabilitiesExample(b *testing.B) {
	wasm := testutil.BuildGuest(b, "examples/capabilities")
	signed, key := guesttest.SignGuest(b, wasm, "caps", "", contract.ContractNumberGen, contract.ContractKeyValue)
	s := runNATS(b)
	h := startHostWithLog(b, s, clusterSeed(b), nil, "WASMCLOUD_RPC_TIMEOUT_MS=10000")
	ctx := context.Background()
	if _, err := h.StartActorBytes(ctx, "caps.wasm", signed); err != nil {
		b.Fatal(err)
	}
	l := control.LinkDefinition{ActorID: key, ProviderID: capability.BuiltinKeyValue, ContractID: contract.ContractKeyValue,
		LinkName: "default", Values: map[string]string{keyvalue.LinkBucket: "bench", keyvalue.LinkPrefix: "p"}}
	if _, err := h.data.PutLink(ctx, l); err != nil {
		b.Fatal(err)
	}
	require.Eventually(b, 5*time.Second, func() bool {
		_, ok := h.data.Link(key, contract.ContractKeyValue, "default")
		return ok
	}, "the link to be applied")
	if _, err := invokeActor(b, h, key, "Caps.Set", strMap("key", "k", "value", "v")); err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name, op string
		payload  []byte
	}{
		{"Numbers", "Caps.Numbers", nil},
		{"Get", "Caps.Get", strMap("key", "k")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// Each invocation needs its own ID: the host refuses replays.
				inv := &wire.Invocation{Origin: wire.Entity{PublicKey: exampleCaller}, Target: wire.Entity{PublicKey: key},
					Operation: bm.op, Msg: bm.payload}
				if _, err := h.invoke(ctx, inv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
