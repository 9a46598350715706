//go:build !wasip1

package guest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
)

const testActor = "actor/guest/internal/testactor"

// consoleLog collects an actor's console messages.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string // guarded by mu
}

func (l *consoleLog) log(msg string) {
	l.mu.Lock()
	l.msgs = append(l.msgs, msg)
	l.mu.Unlock()
}

func (l *consoleLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := l.msgs
	l.msgs = nil
	return msgs
}

// hostCallReq is the test actor's Test.HostCall payload.
func hostCallReq(binding, namespace, operation, payload string) []byte {
	return []byte(binding + "\x00" + namespace + "\x00" + operation + "\x00" + payload)
}

// TestGuestPackage runs the test actor, whose operations each exercise one part of package guest.
func TestGuestPackage(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var got []hostCall
	var mu sync.Mutex
	host := func(_ context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
		mu.Lock()
		got = append(got, hostCall{binding, namespace, operation, payload})
		mu.Unlock()
		switch operation {
		case "Test.Echo":
			return payload, nil
		case "Test.Empty":
			return nil, nil
		case "Test.Big":
			return big, nil
		}
		return nil, fmt.Errorf("%s is not linked", namespace)
	}
	logs := &consoleLog{}
	a, _ := startGuest(t, testActor, actor.ActorConfig{HostCall: host, ConsoleLog: logs.log})

	tests := []struct {
		name, op string
		payload  []byte
		want     []byte // reply; nil when msg is set
		msg      string // guest error
		logs     []string
		calls    []hostCall
	}{
		{name: "echo", op: "Test.Echo", payload: []byte("hi"), want: []byte("hi")},
		{name: "echo empty", op: "Test.Echo", payload: nil, want: []byte{}},
		{name: "echo 1 MiB", op: "Test.Echo", payload: big, want: big},
		{name: "nil reply", op: "Test.Empty", payload: []byte("x"), want: []byte{}},
		{name: "handler error", op: "Test.Fail", payload: []byte("why"), msg: "testactor: failed: why"},
		{name: "unknown operation", op: "Test.Nope", msg: "guest: method not handled: Test.Nope"},
		{name: "panic", op: "Test.Panic", payload: []byte("boom"),
			msg: `guest: handler panicked (operation "Test.Panic"): boom`},
		{name: "nil dereference", op: "Test.NilDeref",
			msg: `guest: handler panicked (operation "Test.NilDeref"): runtime error: invalid memory address or nil pointer dereference`},
		{name: "log", op: "Test.Log", payload: []byte("hello, host"), want: []byte{}, logs: []string{"hello, host"}},
		{name: "log empty", op: "Test.Log", want: []byte{}, logs: []string{""}},
		{name: "host call", op: "Test.HostCall", payload: hostCallReq("default", "test:ns", "Test.Echo", "ping"),
			want: []byte("ping"), calls: []hostCall{{"default", "test:ns", "Test.Echo", []byte("ping")}}},
		{name: "host call, empty everything", op: "Test.HostCall", payload: hostCallReq("", "", "Test.Echo", ""),
			want: []byte{}, calls: []hostCall{{"", "", "Test.Echo", []byte{}}}},
		{name: "host call, empty reply", op: "Test.HostCall", payload: hostCallReq("", "Mactor", "Test.Empty", "x"),
			want: []byte{}, calls: []hostCall{{"", "Mactor", "Test.Empty", []byte("x")}}},
		{name: "host call, 1 MiB reply", op: "Test.HostCall", payload: hostCallReq("", "a", "Test.Big", ""),
			want: big, calls: []hostCall{{"", "a", "Test.Big", []byte{}}}},
		{name: "host call fails over a link", op: "Test.HostCall",
			payload: hostCallReq("default", "wasmcloud:keyvalue", "KeyValue.Get", "k"),
			want: []byte(`error: guest: host call to wasmcloud:keyvalue (link "default", operation "KeyValue.Get") ` +
				`failed: wasmcloud:keyvalue is not linked`),
			calls: []hostCall{{"default", "wasmcloud:keyvalue", "KeyValue.Get", []byte("k")}}},
		{name: "host call fails to an actor", op: "Test.HostCall", payload: hostCallReq("", "other", "Other.Op", ""),
			want:  []byte(`error: guest: host call to other (operation "Other.Op") failed: other is not linked`),
			calls: []hostCall{{"", "other", "Other.Op", []byte{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Call(context.Background(), tt.op, tt.payload)
			if tt.msg != "" {
				assertGuestError(t, err, tt.op, tt.msg)
			} else {
				assertReply(t, resp, err, tt.want)
			}
			if msgs := logs.take(); strings.Join(msgs, "|") != strings.Join(tt.logs, "|") || len(msgs) != len(tt.logs) {
				t.Errorf("console log: got %q, want %q", msgs, tt.logs)
			}
			mu.Lock()
			calls := got
			got = nil
			mu.Unlock()
			if len(calls) != len(tt.calls) {
				t.Fatalf("host calls: got %d, want %d", len(calls), len(tt.calls))
			}
			for i, c := range calls {
				w := tt.calls[i]
				if c.binding != w.binding || c.namespace != w.namespace || c.operation != w.operation ||
					!bytes.Equal(c.payload, w.payload) {
					t.Errorf("host call %d:\n got %q %q %q %.40x\nwant %q %q %q %.40x", i,
						c.binding, c.namespace, c.operation, c.payload, w.binding, w.namespace, w.operation, w.payload)
				}
			}
			// Handler errors and panics are guest errors: the instance is kept.
			assertInstances(t, a, 1, 0)
		})
	}
}

// TestGuestFatalError checks that a fatal Go runtime error (here, running out of memory) traps: the
// instance is discarded and the next call gets a fresh one, initialised again.
func TestGuestFatalError(t *testing.T) {
	a, _ := startGuest(t, testActor, actor.ActorConfig{})
	ctx := context.Background()
	_, err := a.Call(ctx, "Test.OutOfMemory", nil)
	for _, target := range []error{actor.ErrTrap, actor.ErrMemoryLimit} {
		if !errors.Is(err, target) {
			t.Errorf("error %v does not match %v", err, target)
		}
	}
	var ge *actor.GuestError
	if errors.As(err, &ge) {
		t.Errorf("got a guest error %v, want a trap", ge)
	}
	assertInstances(t, a, 0, 0)
	resp, err := a.Call(ctx, "Test.Echo", []byte("again"))
	assertReply(t, resp, err, []byte("again"))
	assertInstances(t, a, 1, 0)
}

func BenchmarkGuestCall(b *testing.B) {
	a, _ := startGuest(b, testActor, actor.ActorConfig{})
	ctx := context.Background()
	for _, size := range []int{16, 4 << 10, 256 << 10} {
		payload := bytes.Repeat([]byte{'x'}, size)
		b.Run(fmt.Sprintf("echo/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := a.Call(ctx, "Test.Echo", payload)
				if err != nil || len(resp) != size {
					b.Fatalf("got %d bytes, %v", len(resp), err)
				}
			}
		})
	}
}

func BenchmarkHelloSayHello(b *testing.B) {
	a, _ := startGuest(b, "examples/hello", actor.ActorConfig{})
	ctx := context.Background()
	payload := strMap("name", "Ada")
	want := strMap("message", "Hello, Ada!")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := a.Call(ctx, "Hello.SayHello", payload)
		if err != nil || !bytes.Equal(resp, want) {
			b.Fatalf("got %q, %v", resp, err)
		}
	}
}

func BenchmarkCallerRelay(b *testing.B) {
	hello, _ := startGuest(b, "examples/hello", actor.ActorConfig{})
	route := func(ctx context.Context, _, _, op string, p []byte) ([]byte, error) { return hello.Call(ctx, op, p) }
	caller, _ := startGuest(b, "examples/caller", actor.ActorConfig{HostCall: route})
	ctx := context.Background()
	payload := strMap("target", "hello", "name", "Ada")
	want := strMap("relayed", "Hello, Ada!", "via", "caller")
	b.ReportAllocs()
	for b.Loop() {
		resp, err := caller.Call(ctx, "Caller.Relay", payload)
		if err != nil || !bytes.Equal(resp, want) {
			b.Fatalf("got %q, %v", resp, err)
		}
	}
}

// BenchmarkInstantiate measures starting a Go guest: instantiation and `_initialize`.
func BenchmarkInstantiate(b *testing.B) {
	m, _ := module(b, "examples/hello")
	r := sharedRuntime(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a, err := r.NewActor(ctx, m, actor.ActorConfig{})
		if err != nil {
			b.Fatal(err)
		}
		_ = a.Close(ctx)
	}
}
