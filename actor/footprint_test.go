package actor

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// footprint turns on TestFootprint, which is slow and measures the whole test process: run it on its own,
// one subtest per process, as README's performance section shows.
var footprint = flag.Bool("footprint", false, "run TestFootprint (slow; reports the process's resident memory)")

// rss returns the process's resident set size and its peak so far, in bytes, from /proc/self/status.
func rss(tb testing.TB) (now, peak uint64) {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			tb.Fatalf("/proc/self/status: %s: %v", s.Text(), err)
		}
		if name == "VmRSS" {
			now = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return now, peak
}

const mib = 1 << 20

// verifyAndStart is what a host does to start an actor from bytes, without NATS: verify the signed claims,
// compile, create the actor with its first instance, and answer one call.
func verifyAndStart(tb testing.TB, r *Runtime, name string, wasm []byte, instances int) (*Module, *Actor) {
	tb.Helper()
	ctx := context.Background()
	if _, err := Verify(name, wasm, VerifyOptions{}); err != nil {
		tb.Fatal(err)
	}
	m, err := r.Compile(ctx, name, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := r.NewActor(ctx, m, ActorConfig{MaxInstances: instances})
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := a.Call(ctx, "HttpServer.HandleRequest", httpRequest([]byte("hello")))
	if err != nil || !bytes.HasPrefix(resp, statusOK) {
		tb.Fatalf("echo: %v, response %.40x", err, resp)
	}
	return m, a
}

// TestFootprint measures start-up time and resident memory at scale: 50 distinct actors (echo.wasm
// signed 50 times) with a cold and then a warm compilation cache, and 1,000 live instances of echo.wasm, each
// having answered a call. It is opt-in (-footprint) and reports figures; it asserts nothing about them.
func TestFootprint(t *testing.T) {
	if !*footprint {
		t.Skip("opt-in: go test ./actor -run 'TestFootprint/<name>' -footprint -v")
	}
	ctx := context.Background()
	echo := testutil.Actor(t, "echo.wasm")
	t.Run("50-actors", func(t *testing.T) {
		mods := resigned(t, echo, 50)
		dir := filepath.Join(t.TempDir(), "cache")
		for _, pass := range []string{"cold", "warm"} {
			runtime.GC()
			before, _ := rss(t)
			start := time.Now()
			r, err := NewRuntime(ctx, RuntimeConfig{CacheDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var first time.Duration
			for i, wasm := range mods {
				verifyAndStart(t, r, fmt.Sprintf("echo-%d", i), wasm, 1)
				if i == 0 {
					first = time.Since(start)
				}
			}
			took := time.Since(start)
			runtime.GC()
			after, peak := rss(t)
			t.Logf("%s cache: first actor started in %s (runtime included), 50 in %s (%.1f ms each); RSS %.1f MiB (+%.1f MiB, %.2f MiB per actor), peak %.1f MiB",
				pass, first.Round(100*time.Microsecond), took.Round(time.Millisecond), float64(took.Milliseconds())/50, float64(after)/mib,
				float64(int64(after)-int64(before))/mib, float64(int64(after)-int64(before))/mib/50, float64(peak)/mib)
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("1000-instances", func(t *testing.T) {
		const n = 1000
		runtime.GC()
		before, _ := rss(t)
		r := newTestRuntime(t, RuntimeConfig{})
		_, a := verifyAndStart(t, r, "echo.wasm", echo, n)
		// Check out every instance at once, so the pool must hold n of them, and let each answer a call.
		insts := make([]*instance, 0, n)
		req := httpRequest([]byte("hello"))
		for range n {
			inst, err := a.pool.acquire(ctx, a.newInstance)
			if err != nil {
				t.Fatal(err)
			}
			if _, keep, err := a.invoke(ctx, inst, "HttpServer.HandleRequest", req); err != nil || !keep {
				t.Fatalf("call: %v", err)
			}
			insts = append(insts, inst)
		}
		if _, busy := a.Instances(); busy != n {
			t.Fatalf("%d instances checked out, want %d", busy, n)
		}
		runtime.GC()
		debug.FreeOSMemory()
		after, peak := rss(t)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("%d instances: RSS %.1f MiB (+%.1f MiB, %.2f MiB per instance), peak %.1f MiB; Go heap in use %.1f MiB",
			n, float64(after)/mib, float64(int64(after)-int64(before))/mib, float64(int64(after)-int64(before))/mib/n, float64(peak)/mib,
			float64(ms.HeapInuse)/mib)
		for _, inst := range insts {
			a.pool.release(ctx, inst, true)
		}
	})
}
