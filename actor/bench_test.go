package actor

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// httpRequest builds an HttpServer.HandleRequest payload like the transcripts' (body as bin).
func httpRequest(body []byte) []byte {
	b := msgp.AppendMapHeader(nil, 5)
	b = msgp.AppendString(b, "method")
	b = msgp.AppendString(b, "POST")
	b = msgp.AppendString(b, "path")
	b = msgp.AppendString(b, "/bench")
	b = msgp.AppendString(b, "queryString")
	b = msgp.AppendString(b, "")
	b = msgp.AppendString(b, "header")
	b = msgp.AppendMapHeader(b, 0)
	b = msgp.AppendString(b, "body")
	return msgp.AppendBytes(b, body)
}

// statusOK is the start of every 200 response echo.wasm sends: a 3-entry map with statusCode 200.
var statusOK = []byte("\x83\xaastatusCode\xcc\xc8")

func checkEchoResponse(b *testing.B, resp []byte, err error) {
	b.Helper()
	if err != nil || !bytes.HasPrefix(resp, statusOK) {
		b.Fatalf("echo: %v, response %.40x", err, resp)
	}
}

// BenchmarkEchoHandleRequest measures one HttpServer.HandleRequest through a pooled echo.wasm
// instance: the pool, the deadline, the ABI and the guest's own msgpack and JSON work.
func BenchmarkEchoHandleRequest(b *testing.B) {
	r := newTestRuntime(b, RuntimeConfig{})
	a := newTestActor(b, r, "echo.wasm", testutil.Actor(b, "echo.wasm"), ActorConfig{})
	for _, size := range []struct {
		name string
		n    int
	}{{"100B", 100}, {"10KiB", 10 << 10}} {
		b.Run(size.name, func(b *testing.B) {
			req := httpRequest(bytes.Repeat([]byte("a"), size.n))
			resp, err := a.Call(context.Background(), "HttpServer.HandleRequest", req)
			checkEchoResponse(b, resp, err)
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Call(context.Background(), "HttpServer.HandleRequest", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoParallel measures pool throughput: parallel callers sharing two echo.wasm instances.
func BenchmarkEchoParallel(b *testing.B) {
	r := newTestRuntime(b, RuntimeConfig{})
	a := newTestActor(b, r, "echo.wasm", testutil.Actor(b, "echo.wasm"), ActorConfig{MaxInstances: 2})
	req := httpRequest(bytes.Repeat([]byte("a"), 100))
	resp, err := a.Call(context.Background(), "HttpServer.HandleRequest", req)
	checkEchoResponse(b, resp, err)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.SetParallelism(1) // GOMAXPROCS callers: 2 on the CI machine, one per instance
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Call(context.Background(), "HttpServer.HandleRequest", req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkActorStart measures starting echo.wasm on a fresh Runtime up to its first answered call:
// cold compiles the module, warm loads the compiled code from a populated cache directory.
func BenchmarkActorStart(b *testing.B) {
	wasm := testutil.Actor(b, "echo.wasm")
	start := func(b *testing.B, cacheDir string) {
		ctx := context.Background()
		r, err := NewRuntime(ctx, RuntimeConfig{CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close(ctx)
		m, err := r.Compile(ctx, "echo.wasm", wasm)
		if err != nil {
			b.Fatal(err)
		}
		a, err := r.NewActor(ctx, m, ActorConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Call(ctx, "Actor.HealthRequest", []byte{0x80}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			start(b, "")
		}
	})
	b.Run("warm", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "cache")
		start(b, dir)
		b.ReportAllocs()
		for b.Loop() {
			start(b, dir)
		}
	})
}

// BenchmarkGuestCall compares the cost of a call through this package with a bare wazero call:
//   - direct: the test guest's exported add(i32, i32) called on one instance with no deadline, the
//     floor for entering and leaving wasm;
//   - direct-deadline: the same with a per-call context.WithTimeout, as WithCloseOnContextDone needs;
//   - actor: Actor.Call of the test guest's echo operation with a 100-byte payload: pool, deadline,
//     and two host callbacks (__guest_request, __guest_response) with their bounds checks and copy.
func BenchmarkGuestCall(b *testing.B) {
	ctx := context.Background()
	r := newTestRuntime(b, RuntimeConfig{})
	guest := testGuest(moduleWasmbus, nil)
	cm, err := r.rt.CompileModule(ctx, guest)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := r.rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	add := mod.ExportedFunction("add")
	stack := make([]uint64, 2)

	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			stack[0], stack[1] = 1, 2
			if err := add.CallWithStack(ctx, stack); err != nil || stack[0] != 3 {
				b.Fatal(err, stack[0])
			}
		}
	})
	b.Run("direct-deadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
			stack[0], stack[1] = 1, 2
			err := add.CallWithStack(cctx, stack)
			cancel()
			if err != nil || stack[0] != 3 {
				b.Fatal(err, stack[0])
			}
		}
	})
	b.Run("actor", func(b *testing.B) {
		a := newTestActor(b, r, "guest", guest, ActorConfig{})
		payload := bytes.Repeat([]byte("p"), 100)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := a.Call(ctx, opEcho, payload)
			if err != nil || len(resp) != len(payload) {
				b.Fatal(err, len(resp))
			}
		}
	})
}
