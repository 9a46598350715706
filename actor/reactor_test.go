package actor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestGoReactor runs a guest built by the Go toolchain with -buildmode=c-shared. Such a module
// registers its handlers in package init, which only `_initialize` runs: were it not called, the
// first `__guest_call` would find the Go runtime uninitialised and trap.
func TestGoReactor(t *testing.T) {
	wasm := testutil.BuildGuest(t, "examples/hello")
	r := newTestRuntime(t, RuntimeConfig{})
	m, err := r.Compile(context.Background(), "hello", wasm)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	if !m.hasInit || m.hasStart || m.hasWapcInit {
		t.Errorf("exports: _initialize %v, _start %v, wapc_init %v; want only _initialize", m.hasInit, m.hasStart, m.hasWapcInit)
	}
	ctx := context.Background()
	for range 2 { // each Actor's instance is initialised on its own
		a, err := r.NewActor(ctx, m, ActorConfig{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = a.Close(ctx) })

		// {"name": "Ada"} -> {"message": "Hello, Ada!"}
		resp, err := a.Call(ctx, "Hello.SayHello", mustHex(t, "81a46e616d65a3416461"))
		require.NoError(t, err)
		assertBytes(t, "SayHello", resp, mustHex(t, "81a76d657373616765ab48656c6c6f2c2041646121"))
		_, err = a.Call(ctx, "Hello.Nope", nil)
		assertGuestError(t, err, "Hello.Nope", "guest: method not handled: Hello.Nope")
		// {"calls": 2}: the unknown operation is not counted, and state starts afresh per instance.
		resp, err = a.Call(ctx, "Hello.Calls", nil)
		require.NoError(t, err)
		assertBytes(t, "Calls", resp, mustHex(t, "81a563616c6c7302"))
		assertInstances(t, a, 1, 0)
	}
}

// Memory offsets of the names the init functions of initGuest log.
const (
	igInitialize = 300
	igStart      = 320
	igWapcInit   = 340
)

// initGuest assembles an echo guest with the given init exports. Each init export logs its own name
// and then runs its body from bodies (if any).
func initGuest(bodies map[string][]byte, types map[string]funcType, names ...string) []byte {
	const lPayloadLen = 1
	m := wasmModule{
		imports: abiImports(moduleWasmbus),
		funcs: []wasmFunc{{export: "__guest_call", typ: typeIII, body: cat(
			i32c(tgOp), i32c(tgPayload), call(fnGuestRequest),
			i32c(tgPayload), []byte{opLocalGet, lPayloadLen}, call(fnGuestResponse), i32c(1))}},
		memMin:    2,
		memExport: "memory",
		data:      map[uint32]string{igInitialize: "_initialize", igStart: "_start", igWapcInit: "wapc_init"},
	}
	offsets := map[string]int32{"_initialize": igInitialize, "_start": igStart, "wapc_init": igWapcInit}
	for _, name := range names {
		typ, ok := types[name]
		if !ok {
			typ = typeNone
		}
		body := cat(i32c(offsets[name]), i32c(int32(len(name))), call(fnConsoleLog), bodies[name])
		m.funcs = append(m.funcs, wasmFunc{export: name, typ: typ, body: body})
	}
	return m.assemble()
}

// TestInitOrder checks that `_initialize`, `_start` and `wapc_init` run once per instance, in that
// order, before the first call.
func TestInitOrder(t *testing.T) {
	tests := []struct {
		name    string
		exports []string
		want    []string
	}{
		{name: "reactor", exports: []string{"_initialize"}, want: []string{"_initialize"}},
		{name: "all three", exports: []string{"wapc_init", "_start", "_initialize"},
			want: []string{"_initialize", "_start", "wapc_init"}},
		{name: "reactor with wapc_init", exports: []string{"wapc_init", "_initialize"},
			want: []string{"_initialize", "wapc_init"}},
		{name: "none", exports: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var logged []string
			r := newTestRuntime(t, RuntimeConfig{})
			a := newTestActor(t, r, "guest", initGuest(nil, nil, tt.exports...), ActorConfig{
				MaxInstances: 2,
				ConsoleLog: func(msg string) {
					mu.Lock()
					logged = append(logged, msg)
					mu.Unlock()
				},
			})
			assertEcho(t, a)
			assertEcho(t, a)
			mu.Lock()
			got := slices.Clone(logged)
			mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Errorf("init calls: got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestInitializeFails checks that `_initialize` is handled like `_start`: an exit with code 0 is
// fine, anything else fails NewActor with ErrInstantiate, and a bad signature fails Compile.
func TestInitializeFails(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		typ     *funcType
		loops   bool
		compile bool // the error comes from Compile
		want    []error
		wantMsg string
	}{
		{name: "returns", body: []byte{}},
		{name: "proc_exit(0)", body: cat(i32c(0), call(fnProcExit))},
		{name: "proc_exit(2)", body: cat(i32c(2), call(fnProcExit)), want: []error{ErrInstantiate, ErrTrap},
			wantMsg: `(operation "_initialize"): guest called proc_exit(2)`},
		{name: "traps", body: []byte{opUnreachable}, want: []error{ErrInstantiate, ErrTrap},
			wantMsg: `(operation "_initialize"): wasm error: unreachable`},
		{name: "reads a request", body: cat(i32c(0), i32c(0), call(fnGuestRequest)), want: []error{ErrInstantiate, ErrTrap},
			wantMsg: "__guest_request: unexpected call: no invocation is pending"},
		{name: "loops", body: []byte{opLoop, blockEmpty, opBr, 0, opEnd}, loops: true, want: []error{ErrInstantiate, ErrTimeout},
			wantMsg: `(operation "_initialize")`},
		{name: "takes a parameter", typ: &typeI, compile: true, want: []error{ErrInvalidModule},
			wantMsg: "module guest: export _initialize must take and return nothing"},
		{name: "returns a value", body: i32c(0), typ: &typeToI, compile: true, want: []error{ErrInvalidModule},
			wantMsg: "module guest: export _initialize must take and return nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			types := map[string]funcType{}
			if tt.typ != nil {
				types["_initialize"] = *tt.typ
			}
			wasm := initGuest(map[string][]byte{"_initialize": tt.body}, types, "_initialize", "_start")
			r := newTestRuntime(t, RuntimeConfig{})
			m, err := r.Compile(context.Background(), "guest", wasm)
			if tt.compile {
				if m != nil {
					t.Errorf("got a module")
				}
				assertErrorIs(t, err, tt.want, tt.wantMsg)
				return
			}
			require.NoError(t, err)
			timeout := time.Minute // not to be hit, even on a loaded machine
			if tt.loops {
				timeout = 100 * time.Millisecond
			}
			var mu sync.Mutex
			var logged []string
			a, err := r.NewActor(context.Background(), m, ActorConfig{CallTimeout: timeout, ConsoleLog: func(msg string) {
				mu.Lock()
				logged = append(logged, msg)
				mu.Unlock()
			}})
			mu.Lock()
			got := slices.Clone(logged)
			mu.Unlock()
			if tt.want == nil {
				require.NoError(t, err)
				defer a.Close(context.Background())
				assertEcho(t, a)
				assertInstances(t, a, 1, 0)
				if want := []string{"_initialize", "_start"}; !slices.Equal(got, want) {
					t.Errorf("init calls: got %q, want %q", got, want)
				}
				return
			}
			if a != nil {
				t.Errorf("got an actor")
			}
			assertErrorIs(t, err, tt.want, tt.wantMsg)
			if want := []string{"_initialize"}; !slices.Equal(got, want) { // _start never ran
				t.Errorf("init calls: got %q, want %q", got, want)
			}
		})
	}
}
