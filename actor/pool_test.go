package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestConcurrentCalls runs 8 goroutines × 50 calls of kvcounter (which makes a host call per request)
// against a pool of 2 instances. Every reply must be exact, no instance may serve two calls at once,
// and no more than 2 instances may ever exist.
func TestConcurrentCalls(t *testing.T) {
	const goroutines, calls, maxInstances = 8, 50, 2
	type kvCase struct {
		request, payload, response string
		reply                      byte
	}
	cases := []kvCase{
		{
			request:  "85a4626f6479a568656c6c6fa668656164657280a66d6574686f64a3474554a470617468a12fab7175657279537472696e67a0",
			payload:  "82a36b6579a9636f756e7465723a3aa576616c756501",
			reply:    42,
			response: "83a4626f6479c40e7b22636f756e746572223a34327da668656164657280aa737461747573436f6465ccc8",
		},
		{
			request:  "85a66d6574686f64a4504f5354a470617468a82f666f6f2f626172ab7175657279537472696e67ac616d6f756e743d3526783d79a668656164657280a4626f6479c4086869207468657265",
			payload:  "82a36b6579b0636f756e7465723a3a666f6f3a626172a576616c756505",
			reply:    46,
			response: "83a4626f6479c40e7b22636f756e746572223a34367da668656164657280aa737461747573436f6465ccc8",
		},
	}
	replies := map[string]byte{}
	for _, c := range cases {
		replies[string(mustHex(t, c.payload))] = c.reply
	}

	var mu sync.Mutex
	inUse := map[*callState]bool{} // guarded by mu
	seen := map[*callState]bool{}  // guarded by mu
	var overlaps atomic.Int32
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "kvcounter.wasm", testutil.Actor(t, "kvcounter.wasm"), ActorConfig{
		MaxInstances: maxInstances,
		HostCall: func(ctx context.Context, _, _, _ string, payload []byte) ([]byte, error) {
			st, _ := ctx.Value(stateKey{}).(*callState)
			mu.Lock()
			if inUse[st] {
				overlaps.Add(1)
			}
			inUse[st], seen[st] = true, true
			mu.Unlock()
			defer func() { mu.Lock(); inUse[st] = false; mu.Unlock() }()
			reply, ok := replies[string(payload)]
			if !ok {
				return nil, fmt.Errorf("unexpected payload %x", payload)
			}
			return []byte{reply}, nil
		},
	})

	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				c := cases[(g+i)%len(cases)]
				resp, err := a.Call(context.Background(), "HttpServer.HandleRequest", mustHex(t, c.request))
				switch {
				case err != nil:
					errs <- err
				case string(resp) != string(mustHex(t, c.response)):
					errs <- fmt.Errorf("goroutine %d call %d: response %x, want %s", g, i, resp, c.response)
				}
				if idle, busy := a.Instances(); idle+busy > maxInstances {
					errs <- fmt.Errorf("%d idle + %d busy instances, limit %d", idle, busy, maxInstances)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d host calls ran on an instance already in a call", n)
	}
	if len(seen) == 0 || len(seen) > maxInstances {
		t.Errorf("calls ran on %d instances, want 1..%d", len(seen), maxInstances)
	}
	if idle, busy := a.Instances(); busy != 0 || idle < 1 || idle > maxInstances {
		t.Errorf("after the run: %d idle, %d busy", idle, busy)
	}
}

// blockingHost returns a HostCall that signals entered and then blocks until release is closed.
func blockingHost(entered chan<- struct{}, release <-chan struct{}) HostCallFunc {
	return func(ctx context.Context, _, _, _ string, _ []byte) ([]byte, error) {
		entered <- struct{}{}
		select {
		case <-release:
			return []byte("released"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

type callResult struct {
	resp []byte
	err  error
}

// goCall starts a call and returns a channel with its result.
func goCall(ctx context.Context, a *Actor, op string) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		resp, err := a.Call(ctx, op, []byte("request"))
		ch <- callResult{resp, err}
	}()
	return ch
}

// await returns a call's result, failing the test if it does not arrive within 10 s.
func await(tb testing.TB, ch <-chan callResult) callResult {
	tb.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		tb.Fatal("call did not return within 10s")
		return callResult{}
	}
}

// TestPoolWait checks that a call waits for a busy pool as long as its context allows.
func TestPoolWait(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "guest", testGuest(moduleWasmbus, nil), ActorConfig{MaxInstances: 1, HostCall: blockingHost(entered, release)})
	first := goCall(context.Background(), a, opHostCall)
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, opEcho, nil)
	assertErrorIs(t, err, []error{context.DeadlineExceeded}, "wait for an instance")
	if errors.Is(err, ErrTimeout) {
		t.Errorf("waiting reported as a guest timeout: %v", err)
	}

	waiting := goCall(context.Background(), a, opEcho)
	close(release)
	res := await(t, first)
	require.NoError(t, res.err)
	assertBytes(t, "first", res.resp, []byte("released"))
	res = await(t, waiting)
	require.NoError(t, res.err)
	assertBytes(t, "waiting", res.resp, []byte("request"))
	assertInstances(t, a, 1, 0)
}

// TestActorClose checks the shutdown of an Actor: calls in progress finish, waiting calls and later
// calls fail with ErrClosed, instances are closed, and Close is idempotent.
func TestActorClose(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	r := newTestRuntime(t, RuntimeConfig{})
	m, err := r.Compile(context.Background(), "guest", testGuest(moduleWasmbus, nil))
	require.NoError(t, err)
	a, err := r.NewActor(context.Background(), m, ActorConfig{MaxInstances: 1, HostCall: blockingHost(entered, release)})
	require.NoError(t, err)

	inFlight := goCall(context.Background(), a, opHostCall)
	<-entered
	waiting := goCall(context.Background(), a, opEcho)

	closed := make(chan error, 1)
	go func() { closed <- a.Close(context.Background()) }()
	require.Eventually(t, 10*time.Second, a.pool.isClosed)
	res := await(t, waiting)
	assertErrorIs(t, res.err, []error{ErrClosed}, `operation "a.echo"`)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a call was in progress", err)
	default:
	}

	close(release)
	res = await(t, inFlight)
	require.NoError(t, res.err)
	assertBytes(t, "in-flight response", res.resp, []byte("released"))
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	assertInstances(t, a, 0, 0)

	_, err = a.Call(context.Background(), opEcho, nil)
	assertErrorIs(t, err, []error{ErrClosed})
	require.NoError(t, a.Close(context.Background()))
}

// TestActorCloseAborts checks that Close stops waiting when its context ends and aborts the guest.
func TestActorCloseAborts(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	m, err := r.Compile(context.Background(), "guest", testGuest(moduleWasmbus, nil))
	require.NoError(t, err)
	a, err := r.NewActor(context.Background(), m, ActorConfig{MaxInstances: 2, CallTimeout: time.Hour})
	require.NoError(t, err)

	looping := goCall(context.Background(), a, opLoopForever)
	require.Eventually(t, 10*time.Second, func() bool { _, busy := a.Instances(); return busy == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = a.Close(ctx)
	assertErrorIs(t, err, []error{context.DeadlineExceeded}, "calls in progress")

	res := await(t, looping)
	assertErrorIs(t, res.err, []error{ErrClosed}, `operation "b.loop"`)
	assertInstances(t, a, 0, 0)
	require.NoError(t, a.Close(context.Background()))
}

// TestActorsIsolated checks that a trapping actor does not disturb another one on the same runtime.
func TestActorsIsolated(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	bad := newTestActor(t, r, "bad", testGuest(moduleWasmbus, nil), ActorConfig{CallTimeout: 50 * time.Millisecond})
	good := newTestActor(t, r, "echo.wasm", testutil.Actor(t, "echo.wasm"), ActorConfig{})
	for _, op := range []string{opTrap, opLoopForever, opBadPointer} {
		_, err := bad.Call(context.Background(), op, nil)
		if err == nil {
			t.Fatalf("%s succeeded", op)
		}
		resp, err := good.Call(context.Background(), "Actor.HealthRequest", []byte{0x80})
		require.NoError(t, err)
		assertBytes(t, "health", resp, mustHex(t, "81a76865616c746879c3"))
	}
}
