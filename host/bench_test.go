package host

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// BenchmarkLatticeCall measures a whole signed round trip — sign, NATS, verify, replay check, the echo actor in
// wazero, signed response, response verification — from one host to an actor on another, next to raw NATS
// request/reply of the same bytes on the same server (the baseline the ratio is taken against), and to a call
// that stays on one host (no NATS, no token, the same checks otherwise). signed/across-hosts records each invocation in the lattice-wide
// replay record (the default); signed/across-hosts/replay-scope-host does not.
func BenchmarkLatticeCall(b *testing.B) {
	// inFlight goroutines per core call at once in the parallel variants (64 in flight on 2 cores).
	inFlight := max(1, 64/runtime.GOMAXPROCS(0))
	s := runNATS(b)
	seed := clusterSeed(b)
	a := startHost(b, s, seed)
	other := startHost(b, s, seed)
	if _, err := a.StartActorBytes(context.Background(), "echo.wasm", testutil.Actor(b, "echo.wasm")); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	caller := &actor.Claims{Subject: "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP"}
	call := func(h *Host) {
		out, err := h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: caller.Subject},
			Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest})
		if err != nil || !bytes.Equal(out, echoReply) {
			b.Fatalf("call: %v", err)
		}
	}

	b.Run("baseline/nats-request-reply", func(b *testing.B) {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		sub, err := nc.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(echoReply) })
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		req := make([]byte, 1100) // about the size of a signed invocation
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nc.Request("bench.echo", req, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline/nats-request-reply/parallel", func(b *testing.B) {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		sub, err := nc.Subscribe("bench.echo.parallel", func(m *nats.Msg) { _ = m.Respond(echoReply) })
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		req := make([]byte, 1100)
		b.ReportAllocs()
		b.SetParallelism(inFlight)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := nc.Request("bench.echo.parallel", req, 5*time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("signed/across-hosts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call(other)
		}
	})
	// 64 calls in flight (on 2 cores): the load the receiving host is measured under.
	b.Run("signed/across-hosts/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(inFlight)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				out, err := other.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: caller.Subject},
					Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest})
				if err != nil || !bytes.Equal(out, echoReply) {
					b.Errorf("call: %v", err)
					return
				}
			}
		})
	})
	// The same call in a lattice whose hosts keep replay protection to themselves: the difference to
	// signed/across-hosts is the cost of the lattice-wide replay record (one JetStream create per call).
	hostOnly := startHost(b, s, seed, "WASMCLOUD_LATTICE_PREFIX=hostonly", "WASMCLOUD_REPLAY_SCOPE=host")
	if _, err := hostOnly.StartActorBytes(ctx, "echo.wasm", testutil.Actor(b, "echo.wasm")); err != nil {
		b.Fatal(err)
	}
	otherHostOnly := startHost(b, s, seed, "WASMCLOUD_LATTICE_PREFIX=hostonly", "WASMCLOUD_REPLAY_SCOPE=host")
	b.Run("signed/across-hosts/replay-scope-host", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call(otherHostOnly)
		}
	})
	b.Run("signed/same-host", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call(a)
		}
	})
}

// BenchmarkPolicyDecision measures what the policy service costs an invocation once its decisions are cached:
// a call on one host without a policy service (the baseline), and the same call on a host that asks one (the
// decision for the caller and the actor is cached after the first call, so each call costs a cache lookup).
func BenchmarkPolicyDecision(b *testing.B) {
	s := runNATS(b)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe("bench.policy", func(m *nats.Msg) {
		var req struct {
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(m.Data, &req)
		_ = m.Respond([]byte(`{"requestId":"` + req.RequestID + `","permitted":true}`))
	}); err != nil {
		b.Fatal(err)
	}
	seed := clusterSeed(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"baseline/no-policy-service", nil},
		{"policy-service/warm-cache", []string{"WASMCLOUD_POLICY_TOPIC=bench.policy", "WASMCLOUD_LATTICE_PREFIX=withpolicy"}},
	} {
		h := startHost(b, s, seed, tc.env...)
		if _, err := h.StartActorBytes(ctx, "echo.wasm", testutil.Actor(b, "echo.wasm")); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP"},
					Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest})
				if err != nil || !bytes.Equal(out, echoReply) {
					b.Fatalf("call: %v", err)
				}
			}
		})
	}
}
