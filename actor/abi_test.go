package actor

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// assertInstances checks the actor's idle and busy instance counts.
func assertInstances(tb testing.TB, a *Actor, wantIdle, wantBusy int) {
	tb.Helper()
	if idle, busy := a.Instances(); idle != wantIdle || busy != wantBusy {
		tb.Errorf("instances: %d idle, %d busy; want %d idle, %d busy", idle, busy, wantIdle, wantBusy)
	}
}

// assertEcho checks that the actor still answers an ordinary call.
func assertEcho(tb testing.TB, a *Actor) {
	tb.Helper()
	resp, err := a.Call(context.Background(), opEcho, []byte("still alive"))
	require.NoError(tb, err)
	assertBytes(tb, "echo", resp, []byte("still alive"))
}

// TestMisbehavingGuests runs guests that loop, exhaust memory, trap or break the ABI. Each must fail
// only its own call with the right error, have its instance discarded, and leave the Actor working.
func TestMisbehavingGuests(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		want    []error
		wantMsg []string
	}{
		{name: "infinite loop", op: opLoopForever, want: []error{ErrTimeout, context.DeadlineExceeded},
			wantMsg: []string{`operation "b.loop"`, "call timeout 100ms"}},
		{name: "unbounded memory growth", op: opGrowForever, want: []error{ErrTrap, ErrMemoryLimit},
			wantMsg: []string{"(64 pages)", "wasm error: unreachable"}},
		{name: "trap", op: opTrap, want: []error{ErrTrap}, wantMsg: []string{`operation "d.trap"`, "wasm error: unreachable"}},
		{name: "out-of-range pointer", op: opBadPointer, want: []error{ErrTrap},
			wantMsg: []string{"__guest_response: range [4294967040, 4294967552) is outside guest memory of 131072 bytes"}},
		{name: "oversized length", op: opHugeError, want: []error{ErrTrap},
			wantMsg: []string{"__guest_error: length 33554432 exceeds the limit of 16777216 bytes"}},
		{name: "host response without a host call", op: opStrayRead, want: []error{ErrTrap},
			wantMsg: []string{"__host_response: no host response to copy"}},
		{name: "failure without a guest error", op: opFailSilent, want: []error{ErrGuestFailed},
			wantMsg: []string{"__guest_call returned 0"}},
	}
	r := newTestRuntime(t, RuntimeConfig{MemoryLimitPages: 64})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only the looping guest should meet the deadline; the others get one they cannot hit
			// even on a loaded machine.
			timeout := time.Minute
			if tt.op == opLoopForever {
				timeout = 100 * time.Millisecond
			}
			a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{CallTimeout: timeout})
			assertEcho(t, a)
			assertInstances(t, a, 1, 0)
			resp, err := a.Call(context.Background(), tt.op, []byte("payload"))
			if resp != nil {
				t.Errorf("got response %q", resp)
			}
			assertErrorIs(t, err, tt.want, tt.wantMsg...)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
			assertInstances(t, a, 0, 0)
			assertEcho(t, a)
			assertInstances(t, a, 1, 0)
		})
	}
}

// TestGuestErrorKeepsInstance checks that a guest-reported error is a *GuestError and, unlike a trap,
// keeps the instance.
func TestGuestErrorKeepsInstance(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{})
	_, err := a.Call(context.Background(), "Nope.Unknown", []byte{0x80})
	assertGuestError(t, err, "Nope.Unknown", testGuestError)
	if got := err.Error(); got != `actor: guest error (operation "Nope.Unknown"): unknown operation` {
		t.Errorf("error text %q", got)
	}
	assertInstances(t, a, 1, 0)
}

// TestGuestHostCall drives __host_call and the response and error accessors with the test guest.
func TestGuestHostCall(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		reply     []byte
		replyErr  error
		noHandler bool
		wantResp  []byte
		wantGuest string  // expected *GuestError message
		want      []error // expected sentinels otherwise
		wantMsg   string
		keep      bool
	}{
		{name: "success", op: opHostCall, reply: []byte("reply bytes"), wantResp: []byte("reply bytes"), keep: true},
		{name: "empty reply", op: opHostCall, reply: nil, wantResp: []byte{}, keep: true},
		{name: "error read by the guest", op: opHostCall, replyErr: errors.New("provider unavailable"),
			wantGuest: "provider unavailable", keep: true},
		{name: "no handler", op: opHostCall, noHandler: true,
			wantGuest: "actor: no host call handler for test:ns Test.Op", keep: true},
		{name: "error not read by the guest", op: opIgnoreHost, replyErr: errors.New("provider unavailable"),
			want: []error{ErrHostCall}, wantMsg: "did not read the error: provider unavailable", keep: true},
		{name: "ignored success", op: opIgnoreHost, reply: []byte("unused"), wantResp: []byte{}, keep: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			cfg := ActorConfig{HostCall: func(ctx context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
				calls++
				if binding != "default" || namespace != "test:ns" || operation != "Test.Op" {
					t.Errorf("host call (%q, %q, %q)", binding, namespace, operation)
				}
				assertBytes(t, "host call payload", payload, []byte("request"))
				if _, ok := ctx.Deadline(); !ok {
					t.Errorf("host call context has no deadline")
				}
				return tt.reply, tt.replyErr
			}}
			if tt.noHandler {
				cfg.HostCall = nil
			}
			r := newTestRuntime(t, RuntimeConfig{})
			a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), cfg)
			resp, err := a.Call(context.Background(), tt.op, []byte("request"))
			switch {
			case tt.wantGuest != "":
				assertGuestError(t, err, tt.op, tt.wantGuest)
			case tt.want != nil:
				assertErrorIs(t, err, tt.want, tt.wantMsg)
			default:
				require.NoError(t, err)
				if resp == nil {
					t.Errorf("nil response")
				}
				assertBytes(t, "response", resp, tt.wantResp)
			}
			if wantCalls := map[bool]int{true: 0, false: 1}[tt.noHandler]; calls != wantCalls {
				t.Errorf("handler called %d times, want %d", calls, wantCalls)
			}
			if tt.keep {
				assertInstances(t, a, 1, 0)
			}
		})
	}
}

// TestConsoleLog checks that __console_log reaches ActorConfig.ConsoleLog, truncated to 64 KiB.
func TestConsoleLog(t *testing.T) {
	var got []string
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{ConsoleLog: func(msg string) { got = append(got, msg) }})
	long := bytes.Repeat([]byte("x"), maxLogBytes+1000)
	for _, msg := range [][]byte{[]byte("hello from the guest"), {}, long} {
		resp, err := a.Call(context.Background(), opLog, msg)
		require.NoError(t, err)
		assertBytes(t, "response", resp, []byte{})
	}
	want := []string{"hello from the guest", "", string(long[:maxLogBytes])}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %d bytes %.30q, want %d bytes %.30q", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}

	// Without a ConsoleLog the message is dropped and the call still succeeds.
	quiet := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{})
	_, err := quiet.Call(context.Background(), opLog, []byte("dropped"))
	require.NoError(t, err)
}

// TestWapcImports checks that a guest importing the ABI from "wapc" runs like a wasmbus one.
func TestWapcImports(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "guest", testGuest(moduleWapc, nil), ActorConfig{})
	assertEcho(t, a)
}

// TestStartFunction checks how `_start` is run once per instance: an exit with code 0 is fine and the
// instance stays usable; anything else fails NewActor with ErrInstantiate.
func TestStartFunction(t *testing.T) {
	tests := []struct {
		name    string
		start   []byte
		loops   bool
		want    []error
		wantMsg string
	}{
		{name: "returns", start: []byte{}},
		{name: "proc_exit(0)", start: cat(i32c(0), call(fnProcExit))},
		{name: "proc_exit(3)", start: cat(i32c(3), call(fnProcExit)), want: []error{ErrInstantiate, ErrTrap},
			wantMsg: "guest called proc_exit(3)"},
		{name: "traps", start: []byte{opUnreachable}, want: []error{ErrInstantiate, ErrTrap},
			wantMsg: `(operation "_start"): wasm error: unreachable`},
		{name: "reads a request", start: cat(i32c(0), i32c(0), call(fnGuestRequest)), want: []error{ErrInstantiate, ErrTrap},
			wantMsg: "__guest_request: unexpected call: no invocation is pending"},
		{name: "loops", start: []byte{opLoop, blockEmpty, opBr, 0, opEnd}, loops: true, want: []error{ErrInstantiate, ErrTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRuntime(t, RuntimeConfig{})
			m, err := r.Compile(context.Background(), "guest", testGuest(moduleWasmbus, tt.start))
			require.NoError(t, err)
			timeout := time.Minute // not to be hit, even on a loaded machine
			if tt.loops {
				timeout = 100 * time.Millisecond
			}
			a, err := r.NewActor(context.Background(), m, ActorConfig{CallTimeout: timeout})
			if tt.want == nil {
				require.NoError(t, err)
				defer a.Close(context.Background())
				assertEcho(t, a)
				assertEcho(t, a)
				assertInstances(t, a, 1, 0)
				return
			}
			if a != nil {
				t.Errorf("got an actor")
			}
			assertErrorIs(t, err, tt.want, tt.wantMsg)
		})
	}
}

// TestCallerContext checks that the caller's cancellation and deadline stop a running guest.
func TestCallerContext(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{CallTimeout: time.Minute})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := a.Call(ctx, opLoopForever, nil)
		assertErrorIs(t, err, []error{ErrTimeout, context.DeadlineExceeded})
		assertInstances(t, a, 0, 0)
		assertEcho(t, a)
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		var err error
		go func() {
			defer wg.Done()
			_, err = a.Call(ctx, opLoopForever, nil)
		}()
		require.Eventually(t, 10*time.Second, func() bool { _, busy := a.Instances(); return busy == 1 })
		cancel()
		wg.Wait()
		assertErrorIs(t, err, []error{context.Canceled}, "call cancelled")
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrTrap) {
			t.Errorf("cancellation reported as %v", err)
		}
		assertInstances(t, a, 0, 0)
		assertEcho(t, a)
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := a.Call(ctx, opEcho, nil)
		assertErrorIs(t, err, []error{context.Canceled})
		assertEcho(t, a)
	})
}
