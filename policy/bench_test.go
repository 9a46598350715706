package policy

import (
	"context"
	"testing"
	"time"
)

// BenchmarkDecideCached measures Decide answered from the cache (no I/O): the cost a policy service
// adds to every start, invocation and link once its decision is warm. BenchmarkMapLookup is the floor.
func BenchmarkDecideCached(b *testing.B) {
	srv := runServer(b)
	nc := connect(b, srv)
	respond(b, nc, topic, func(id string, _ []byte) []byte { return reply(id, true, "") })
	s, _ := newService(b, Config{Topic: topic}, nc)
	s.now = time.Now // the real clock, not the test's settable one
	expires := int64(1_900_000_000)
	for _, bm := range []struct {
		name string
		req  Request
	}{
		{"start_actor", startActor(echoActor)},
		{"perform_invocation", Request{Action: ActionPerformInvocation,
			Source: Entity{PublicKey: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default", Issuer: wasmcloudAcc, IssuedOn: "1642791045", ExpiresAt: &expires},
			Target: Entity{PublicKey: echoActor, Issuer: wasmcloudAcc}}},
		{"put_link", putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "acme-orders", "prefix": "app1"})},
	} {
		b.Run(bm.name, func(b *testing.B) {
			mustPermit(b, s, bm.req)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				d, err := s.Decide(ctx, bm.req)
				if err != nil || !d.Cached {
					b.Fatalf("Decide = %+v, %v", d, err)
				}
			}
		})
	}
}

// BenchmarkMapLookup is the baseline: one lookup of a precomputed key of the same length as a
// perform_invocation cache key, in a map of that many decisions.
func BenchmarkMapLookup(b *testing.B) {
	r := Request{Action: ActionPerformInvocation,
		Source: Entity{PublicKey: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default", Issuer: wasmcloudAcc, IssuedOn: "1642791045"},
		Target: Entity{PublicKey: echoActor, Issuer: wasmcloudAcc}}
	key := string(appendKey(nil, &r))
	m := map[string]bool{key: true}
	b.ReportAllocs()
	for b.Loop() {
		if !m[key] {
			b.Fatal("missing")
		}
	}
}
