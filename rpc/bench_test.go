package rpc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

var sink any

// BenchmarkSignInvocation signs a 1 KiB invocation end to end (URLs, hash, claims JSON, Ed25519, msgpack)
// next to a bare Ed25519 signature of the same token size, the floor of this step.
func BenchmarkSignInvocation(b *testing.B) {
	clock := newClock()
	c := newCluster(b, "bench", clock)
	payload := string(bytes.Repeat([]byte("x"), 1024))
	buf := make([]byte, 0, 4096)
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inv := testInvocation(payload)
			if err := c.Sign(inv); err != nil {
				b.Fatal(err)
			}
			buf = inv.AppendMsgpack(buf[:0])
		}
	})
	b.Run("baseline/ed25519-sign", func(b *testing.B) {
		seed := sha256.Sum256([]byte("bench"))
		priv := ed25519.NewKeyFromSeed(seed[:])
		msg := bytes.Repeat([]byte("t"), 520)
		b.ReportAllocs()
		for b.Loop() {
			sink = ed25519.Sign(priv, msg)
		}
	})
}

// BenchmarkVerifyInvocation runs the whole verification pipeline on signed 1 KiB invocations next to a bare
// Ed25519 verification, the floor of this step. Each message is verified once (a second time would be a
// replay): a pool of signed messages is cycled, with the replay cache renewed between rounds off the clock.
func BenchmarkVerifyInvocation(b *testing.B) {
	clock := newClock()
	c := newCluster(b, "bench", clock)
	payload := string(bytes.Repeat([]byte("x"), 1024))
	pool := make([][]byte, 2048)
	for i := range pool {
		pool[i] = signed(b, c, testInvocation(payload))
	}
	b.Run("verify", func(b *testing.B) {
		// The framework may run this body more than once: start each run with an empty cache.
		c.replay = NewReplayCache(DefaultReplayCapacity)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(pool) {
				b.StopTimer()
				c.replay = NewReplayCache(DefaultReplayCapacity)
				i = 0
				b.StartTimer()
			}
			if _, _, err := c.Verify(ctx, pool[i], VerifyOptions{}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("baseline/ed25519-verify", func(b *testing.B) {
		kp := deterministicKey(b, nkey.Cluster, "bench")
		msg := bytes.Repeat([]byte("t"), 520)
		sig := kp.Sign(msg)
		pub := kp.Public().Bytes()
		b.ReportAllocs()
		for b.Loop() {
			sink = ed25519.Verify(pub, msg, sig)
		}
	})
}

// BenchmarkReplayCache measures Add on a cache already holding one million live ids, and reports the heap the
// cache takes per entry.
func BenchmarkReplayCache(b *testing.B) {
	const live = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cache := NewReplayCache(2 * live)
	const now, deadline = int64(1), int64(1 << 62)
	for i := 0; i < live; i++ {
		if err := cache.Add(replayKeyFor(0, fmt.Sprintf("%032x", i)), now, deadline); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / live
	keys := make([]replayKey, 1<<16)
	for i := range keys {
		keys[i] = replayKeyFor(1, wire.NewID())
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		err := cache.Add(keys[i%len(keys)], now, deadline)
		if err != nil && i < len(keys) {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(perEntry, "heap-B/entry")
	runtime.KeepAlive(cache)
}

// BenchmarkGCWithReplayCache shows what a million remembered ids cost each garbage collection: the entries
// hold no pointers, so the collector skips them.
func BenchmarkGCWithReplayCache(b *testing.B) {
	cache := NewReplayCache(1_000_000)
	for i := 0; i < 1_000_000; i++ {
		_ = cache.Add(replayKeyFor(0, fmt.Sprintf("%032x", i)), 1, 1<<62)
	}
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	runtime.KeepAlive(cache)
}

// BenchmarkReceive is what a host spends on the protocol for one signed 1 KiB invocation it receives, with
// both cores busy: Verify, then SignResponse of a 1 KiB reply and its msgpack encoding. Its floor,
// baseline/ed25519-verify+sign, is one bare Ed25519 verification and one signature of the same sizes (the key
// derived once), also in parallel; the ratio of the two is the host's protocol overhead over its crypto.
func BenchmarkReceive(b *testing.B) {
	clock := newClock()
	c := newCluster(b, "bench", clock)
	payload := string(bytes.Repeat([]byte("x"), 1024))
	reply := bytes.Repeat([]byte("y"), 1024)
	b.Run("verify+sign-response", func(b *testing.B) {
		// Each message is verified once: sign b.N distinct invocations first, off the clock.
		pool := make([][]byte, b.N)
		for i := range pool {
			pool[i] = signed(b, c, testInvocation(payload))
		}
		c.replay = NewReplayCache(DefaultReplayCapacity)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var out []byte
			for pb.Next() {
				inv, _, err := c.Verify(ctx, pool[next.Add(1)-1], VerifyOptions{})
				if err != nil {
					b.Error(err)
					return
				}
				resp := &wire.Response{Msg: reply}
				if err := c.SignResponse(resp, inv.ID); err != nil {
					b.Error(err)
					return
				}
				out = resp.AppendMsgpack(out[:0])
			}
		})
	})
	b.Run("baseline/ed25519-verify+sign", func(b *testing.B) {
		kp := deterministicKey(b, nkey.Cluster, "bench")
		msg := bytes.Repeat([]byte("t"), 520)
		sig := kp.Sign(msg)
		pub := kp.Public().Bytes()
		seed := sha256.Sum256([]byte("bench"))
		priv := ed25519.NewKeyFromSeed(seed[:])
		rmsg := bytes.Repeat([]byte("r"), 330)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !ed25519.Verify(pub, msg, sig) {
					b.Error("bad signature")
					return
				}
				if len(ed25519.Sign(priv, rmsg)) != ed25519.SignatureSize {
					b.Error("bad signature size")
					return
				}
			}
		})
	})
}
