//go:build !wasip1

package guest_test

// These tests build the example actors and the test actor for wasip1 with the go command, sign them,
// and run them in the host's real runtime (package actor, on wazero).

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/guesttest"
)

// shared is the runtime of every test in this package, with each guest compiled once: compiling a
// 3 MB Go module takes seconds, and much longer under the race detector. TestMain closes it.
var shared struct {
	once sync.Once
	rt   *actor.Runtime
	err  error

	mu      sync.Mutex
	modules map[string]*sharedModule // guarded by mu; by package
}

// sharedModule is a guest built, signed and compiled once.
type sharedModule struct {
	once sync.Once
	mod  *actor.Module
	err  error
	key  string // the actor's public key
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.rt != nil {
		_ = shared.rt.Close(context.Background())
	}
	os.Exit(code)
}

// sharedRuntime returns the shared runtime.
func sharedRuntime(tb testing.TB) *actor.Runtime {
	tb.Helper()
	shared.once.Do(func() {
		shared.rt, shared.err = actor.NewRuntime(context.Background(), actor.RuntimeConfig{})
	})
	if shared.err != nil {
		tb.Fatalf("NewRuntime: %v", shared.err)
	}
	return shared.rt
}

// module builds pkg, signs it (with the call alias "hello" for examples/hello) and compiles it, once
// per test process. It returns the module and the actor's public key.
func module(tb testing.TB, pkg string) (*actor.Module, string) {
	tb.Helper()
	r := sharedRuntime(tb)
	shared.mu.Lock()
	if shared.modules == nil {
		shared.modules = make(map[string]*sharedModule)
	}
	sm, ok := shared.modules[pkg]
	if !ok {
		sm = &sharedModule{}
		shared.modules[pkg] = sm
	}
	shared.mu.Unlock()
	wasm := testutil.BuildGuest(tb, pkg) // skips the test if the toolchain cannot build guests
	sm.once.Do(func() {
		alias := ""
		if pkg == "examples/hello" {
			alias = "hello"
		}
		signed, key := guesttest.SignGuest(tb, wasm, pkg, alias)
		sm.mod, sm.err = r.Compile(context.Background(), pkg, signed)
		sm.key = key
	})
	if sm.err != nil || sm.mod == nil {
		tb.Fatalf("compile %s: %v", pkg, sm.err)
	}
	return sm.mod, sm.key
}

// startGuest starts an actor of guest package pkg, closed when the test ends. It returns the actor
// and its public key.
func startGuest(tb testing.TB, pkg string, cfg actor.ActorConfig) (*actor.Actor, string) {
	tb.Helper()
	m, key := module(tb, pkg)
	a, err := sharedRuntime(tb).NewActor(context.Background(), m, cfg)
	if err != nil {
		tb.Fatalf("NewActor %s: %v", pkg, err)
	}
	tb.Cleanup(func() { _ = a.Close(context.Background()) })
	return a, key
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// strMap encodes a MessagePack map of strings with its keys in the order given.
func strMap(kv ...string) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(kv)/2))
	for i := 0; i+1 < len(kv); i += 2 {
		b = msgp.AppendString(msgp.AppendString(b, kv[i]), kv[i+1])
	}
	return b
}

// assertReply checks that a call succeeded with exactly want.
func assertReply(tb testing.TB, got []byte, err error, want []byte) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("reply:\n got %x (%q)\nwant %x (%q)", got, got, want, want)
	}
}

// assertGuestError checks that err is a *actor.GuestError with exactly this operation and message.
func assertGuestError(tb testing.TB, err error, op, msg string) {
	tb.Helper()
	var ge *actor.GuestError
	if !errors.As(err, &ge) {
		tb.Fatalf("got %v, want a *actor.GuestError", err)
	}
	if ge.Operation != op || ge.Message != msg {
		tb.Errorf("got GuestError{%q, %q},\nwant GuestError{%q, %q}", ge.Operation, ge.Message, op, msg)
	}
}

// assertInstances checks the actor's idle and busy instance counts.
func assertInstances(tb testing.TB, a *actor.Actor, wantIdle, wantBusy int) {
	tb.Helper()
	if idle, busy := a.Instances(); idle != wantIdle || busy != wantBusy {
		tb.Errorf("instances: %d idle, %d busy; want %d idle, %d busy", idle, busy, wantIdle, wantBusy)
	}
}

// callsReply is the encoding of Hello.Calls' reply {"calls": n} for n < 128.
func callsReply(n byte) []byte { return append([]byte("\x81\xa5calls"), n) }

func TestHelloSayHello(t *testing.T) {
	hello, _ := startGuest(t, "examples/hello", actor.ActorConfig{})
	const sayHello = "Hello.SayHello"
	tests := []struct {
		name    string
		payload []byte
		want    []byte // reply; nil when msg is set
		msg     string // guest error
	}{
		{name: "name", payload: strMap("name", "Ada"),
			want: unhex(t, "81 a7 6d657373616765 ab 48656c6c6f2c2041646121")}, // {"message": "Hello, Ada!"}
		{name: "empty name", payload: strMap("name", ""), want: strMap("message", "Hello, world!")},
		{name: "no name", payload: strMap(), want: strMap("message", "Hello, world!")},
		{name: "empty payload", payload: nil, want: strMap("message", "Hello, world!")},
		{name: "other keys skipped", payload: unhex(t, "82 a3 616765 24 a4 6e616d65 a6 477261636520"),
			want: strMap("message", "Hello, Grace !")}, // {"age": 36, "name": "Grace "}
		{name: "unicode", payload: strMap("name", "Łukasz"), want: strMap("message", "Hello, Łukasz!")},
		{name: "not a map", payload: []byte{0x2a},
			msg: `hello: Hello.SayHello payload: want a map: msgp: attempted to decode type "int" with method for "map"`},
		{name: "name not a string", payload: unhex(t, "81 a4 6e616d65 07"),
			msg: `hello: Hello.SayHello payload: name: msgp: attempted to decode type "int" with method for "str"`},
		{name: "truncated", payload: unhex(t, "81 a4 6e616d65 a3 4164"),
			msg: `hello: Hello.SayHello payload: name: msgp: too few bytes left to read object`},
		{name: "trailing bytes", payload: append(strMap("name", "Ada"), 0xc0),
			msg: `hello: Hello.SayHello payload: trailing bytes after the map`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hello.Call(context.Background(), sayHello, tt.payload)
			if tt.msg != "" {
				assertGuestError(t, err, sayHello, tt.msg)
				return
			}
			assertReply(t, got, err, tt.want)
		})
	}
	// A guest error keeps the instance: the same one served every call.
	assertInstances(t, hello, 1, 0)
	got, err := hello.Call(context.Background(), "Hello.Calls", nil)
	assertReply(t, got, err, callsReply(byte(len(tests)+1)))
}

func TestHelloCalls(t *testing.T) {
	hello, _ := startGuest(t, "examples/hello", actor.ActorConfig{})
	ctx := context.Background()

	got, err := hello.Call(ctx, "Hello.Calls", nil)
	assertReply(t, got, err, unhex(t, "81 a5 63616c6c73 01")) // {"calls": 1}: this call counts
	for range 3 {
		_, err := hello.Call(ctx, "Hello.SayHello", strMap("name", "Ada"))
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = hello.Call(ctx, "Hello.SayHello", []byte{0x2a}) // malformed, but it reached the actor
	assertGuestError(t, err, "Hello.SayHello",
		`hello: Hello.SayHello payload: want a map: msgp: attempted to decode type "int" with method for "map"`)
	_, err = hello.Call(ctx, "Hello.Goodbye", nil) // answered by package guest, not counted
	assertGuestError(t, err, "Hello.Goodbye", "guest: method not handled: Hello.Goodbye")
	got, err = hello.Call(ctx, "Hello.Calls", []byte("ignored"))
	assertReply(t, got, err, callsReply(6))

	// The count belongs to the instance: another instance of the module starts from zero.
	other, _ := startGuest(t, "examples/hello", actor.ActorConfig{})
	got, err = other.Call(ctx, "Hello.Calls", nil)
	assertReply(t, got, err, callsReply(1))

	// More than 127 calls needs a wider integer.
	for range 200 {
		if _, err := other.Call(ctx, "Hello.Calls", nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err = other.Call(ctx, "Hello.Calls", nil)
	assertReply(t, got, err, unhex(t, "81 a5 63616c6c73 cc ca")) // 202 as a uint8
}

// hostCall is one host call the caller actor made.
type hostCall struct {
	binding, namespace, operation string
	payload                       []byte
}

// router is the host-call callback of TestCallerRelay: it sends actor-to-actor calls for the hello
// actor's key or call alias to it, fails everything else, and records what it was asked.
type router struct {
	hello    *actor.Actor
	helloKey string

	mu    sync.Mutex
	calls []hostCall // guarded by mu
}

func (rt *router) hostCall(ctx context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
	rt.mu.Lock()
	rt.calls = append(rt.calls, hostCall{binding, namespace, operation, payload})
	rt.mu.Unlock()
	if binding == "" && (namespace == "hello" || namespace == rt.helloKey) {
		return rt.hello.Call(ctx, operation, payload)
	}
	return nil, fmt.Errorf("no actor with public key or call alias %q", namespace)
}

// take returns the recorded calls and forgets them.
func (rt *router) take() []hostCall {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	calls := rt.calls
	rt.calls = nil
	return calls
}

func TestCallerRelay(t *testing.T) {
	hello, helloKey := startGuest(t, "examples/hello", actor.ActorConfig{})
	rt := &router{hello: hello, helloKey: helloKey}
	caller, _ := startGuest(t, "examples/caller", actor.ActorConfig{HostCall: rt.hostCall})
	const relay = "Caller.Relay"

	tests := []struct {
		name    string
		payload []byte
		want    []byte // reply; nil when msg is set
		msg     string // guest error
		calls   []hostCall
	}{
		{name: "by call alias", payload: strMap("target", "hello", "name", "Ada"),
			// {"relayed": "Hello, Ada!", "via": "caller"}
			want:  unhex(t, "82 a7 72656c61796564 ab 48656c6c6f2c2041646121 a3 766961 a6 63616c6c6572"),
			calls: []hostCall{{"", "hello", "Hello.SayHello", unhex(t, "81 a4 6e616d65 a3 416461")}}},
		{name: "by public key", payload: strMap("name", "Grace", "target", helloKey),
			want:  strMap("relayed", "Hello, Grace!", "via", "caller"),
			calls: []hostCall{{"", helloKey, "Hello.SayHello", strMap("name", "Grace")}}},
		{name: "no name", payload: strMap("target", "hello"),
			want:  strMap("relayed", "Hello, world!", "via", "caller"),
			calls: []hostCall{{"", "hello", "Hello.SayHello", strMap("name", "")}}},
		{name: "unknown target", payload: strMap("target", "nobody", "name", "Ada"),
			msg: `caller: relay to nobody: guest: host call to nobody (operation "Hello.SayHello") failed: ` +
				`no actor with public key or call alias "nobody"`,
			calls: []hostCall{{"", "nobody", "Hello.SayHello", strMap("name", "Ada")}}},
		{name: "no target", payload: strMap("name", "Ada"),
			msg: "caller: Caller.Relay payload: target is missing or empty"},
		{name: "malformed", payload: []byte("{}"),
			msg: `caller: Caller.Relay payload: want a map: msgp: attempted to decode type "int" with method for "map"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := caller.Call(context.Background(), relay, tt.payload)
			if tt.msg != "" {
				assertGuestError(t, err, relay, tt.msg)
			} else {
				assertReply(t, got, err, tt.want)
			}
			calls := rt.take()
			if len(calls) != len(tt.calls) {
				t.Fatalf("host calls: got %d (%+v), want %d", len(calls), calls, len(tt.calls))
			}
			for i, c := range calls {
				w := tt.calls[i]
				if c.binding != w.binding || c.namespace != w.namespace || c.operation != w.operation ||
					!bytes.Equal(c.payload, w.payload) {
					t.Errorf("host call %d:\n got %q %q %q %x\nwant %q %q %q %x", i,
						c.binding, c.namespace, c.operation, c.payload, w.binding, w.namespace, w.operation, w.payload)
				}
			}
		})
	}
	// Three relays reached hello, and this call is the fourth invocation it served.
	got, err := hello.Call(context.Background(), "Hello.Calls", nil)
	assertReply(t, got, err, callsReply(4))
	assertInstances(t, caller, 1, 0)
}
