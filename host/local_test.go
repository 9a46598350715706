package host

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/guesttest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// refusals returns the host's wasmcloud_refusals_total, by reason.
func refusals(t *testing.T, h *Host) map[string]float64 {
	t.Helper()
	families, err := h.Metrics().Registry().Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != metrics.NameRefusals {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// wantRefusalReasonsAdded checks that the refusal counters grew by exactly add since before.
func wantRefusalReasonsAdded(t *testing.T, h *Host, before map[string]float64, add map[string]float64) {
	t.Helper()
	want := maps.Clone(before)
	for k, v := range add {
		want[k] += v
	}
	got := refusals(t, h)
	for k, v := range got {
		if v == 0 && want[k] == 0 {
			delete(got, k)
			delete(want, k)
		}
	}
	require.DeepEqual(t, "refusals by reason", got, want)
}

// relayRequest is Caller.Relay's payload: call Hello.SayHello on target with name.
func relayRequest(target, name string) []byte {
	b := msgp.AppendMapHeader(nil, 2)
	b = msgp.AppendString(msgp.AppendString(b, "target"), target)
	return msgp.AppendString(msgp.AppendString(b, "name"), name)
}

// TestLocalDeliveries: deliveries to an actor on the same host (a built-in provider's, another actor's) carry
// no token and never reach NATS, but pass every other check an invocation from NATS gets: the actor must claim
// the provider's contract, the capability gate refuses what the actor's claims and links do not allow, the
// refusals are counted by the same reasons, the own cluster key's revocation refuses them, and work done on
// behalf of an HTTP request keeps its unauthenticated mark into the calls it makes to other hosts.
func TestLocalDeliveries(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	a := startHost(t, s, seed)
	b := startHost(t, s, seed)
	ctx := context.Background()
	startFixture(t, a, "echo.wasm")
	startFixture(t, a, "kvcounter.wasm")
	callerWasm := testutil.BuildGuest(t, "examples/caller")
	helloWasm := testutil.BuildGuest(t, "examples/hello")
	signedCaller, callerKey := guesttest.SignGuest(t, callerWasm, "caller", "", contract.ContractHTTPServer)
	signedHelloA, helloA := guesttest.SignGuest(t, helloWasm, "hello-a", "")
	signedHelloB, helloB := guesttest.SignGuest(t, helloWasm, "hello-b", "")
	for _, start := range []struct {
		h      *Host
		name   string
		signed []byte
	}{{a, "caller.wasm", signedCaller}, {a, "hello-a.wasm", signedHelloA}, {b, "hello-b.wasm", signedHelloB}} {
		_, err := start.h.StartActorBytes(ctx, start.name, start.signed)
		require.NoError(t, err)
	}
	// A provider reaches only the actors linked to it.
	for _, key := range []string{echoKey, kvcounterKey, callerKey} {
		link(t, a, key, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": freeAddr(t)})
	}
	seen := spy(t, s)
	provider := func(contractID string) wire.Entity {
		return wire.Entity{PublicKey: capability.BuiltinHTTPServer, ContractID: contractID, LinkName: "default"}
	}
	deliver := capHost{a}.Deliver
	relay := func(ctx context.Context, target string) ([]byte, error) {
		return a.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: exampleCaller}, Target: wire.Entity{PublicKey: callerKey},
			Operation: "Caller.Relay", Msg: relayRequest(target, "Ada")})
	}
	relayed := msgp.AppendString(msgp.AppendString(msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 2),
		"relayed"), "Hello, Ada!"), "via"), "caller")

	t.Run("provider delivery the actor claims", func(t *testing.T) {
		out, err := deliver(ctx, provider(contract.ContractHTTPServer), echoKey, "HttpServer.HandleRequest", echoRequest)
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, echoReply), "echo's reply %x", out)
	})
	t.Run("provider delivery of a contract the actor does not claim", func(t *testing.T) {
		before := refusals(t, a)
		_, err := deliver(ctx, provider(contract.ContractKeyValue), echoKey, "HttpServer.HandleRequest", echoRequest)
		require.True(t, err != nil && strings.Contains(err.Error(), ErrMissingCapability.Error()), "error %v", err)
		wantRefusalReasonsAdded(t, a, before, map[string]float64{string(metrics.ReasonClaim): 1})
	})
	t.Run("provider delivery to an actor not linked to it", func(t *testing.T) {
		before := refusals(t, a)
		other := provider(contract.ContractHTTPServer)
		other.LinkName = "other"
		_, err := deliver(ctx, other, echoKey, "HttpServer.HandleRequest", echoRequest)
		require.True(t, err != nil && strings.Contains(err.Error(), ErrNotLinked.Error()), "error %v", err)
		wantRefusalReasonsAdded(t, a, before, map[string]float64{string(metrics.ReasonLink): 1})
	})
	t.Run("the gate still refuses a capability call without a link", func(t *testing.T) {
		before := refusals(t, a)
		out, err := deliver(ctx, provider(contract.ContractHTTPServer), kvcounterKey, "HttpServer.HandleRequest", echoRequest)
		require.NoError(t, err)
		require.True(t, bytes.Contains(out, []byte("no provider linked for wasmcloud:keyvalue")), "kvcounter's reply %q", out)
		wantRefusalReasonsAdded(t, a, before, map[string]float64{string(metrics.ReasonLink): 1})
	})
	t.Run("actor to actor on one host", func(t *testing.T) {
		out, err := relay(ctx, helloA)
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, relayed), "caller's reply %x", out)
	})
	t.Run("nothing local reached NATS or a replay cache", func(t *testing.T) {
		require.NoError(t, a.rpcConn.Flush())
		require.Equal(t, "messages on actor subjects", seen.Load(), int32(0))
		require.Equal(t, "ids held", a.cluster.ReplayCache().Len()+a.cluster.UnauthenticatedReplayCache().Len(), 0)
	})

	t.Run("the unauthenticated mark goes on to other hosts", func(t *testing.T) {
		// Caller.Relay from an HTTP request: caller (host a) calls hello on host b, signed as unauthenticated.
		auth, unauth := b.cluster.ReplayCache().Len(), b.cluster.UnauthenticatedReplayCache().Len()
		out, err := deliver(ctx, provider(contract.ContractHTTPServer), callerKey, "Caller.Relay", relayRequest(helloB, "Ada"))
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, relayed), "caller's reply %x", out)
		require.Equal(t, "unauthenticated ids on host b", b.cluster.UnauthenticatedReplayCache().Len(), unauth+1)
		require.Equal(t, "cluster ids on host b", b.cluster.ReplayCache().Len(), auth)
		// The same relay from a cluster member is not marked.
		out, err = relay(ctx, helloB)
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, relayed), "caller's reply %x", out)
		require.Equal(t, "cluster ids on host b", b.cluster.ReplayCache().Len(), auth+1)
		require.Equal(t, "unauthenticated ids on host b", b.cluster.UnauthenticatedReplayCache().Len(), unauth+1)
	})

	t.Run("a revoked own cluster key refuses local deliveries", func(t *testing.T) {
		before := refusals(t, a)
		a.setRevocations(ctx, revoke.New(map[string]time.Time{a.cluster.PublicKey(): revoke.Forever}), nil)
		_, err := deliver(ctx, provider(contract.ContractHTTPServer), echoKey, "HttpServer.HandleRequest", echoRequest)
		require.True(t, err != nil && strings.Contains(err.Error(), rpc.ErrRevoked.Error()), "error %v", err)
		_, err = relay(ctx, helloA)
		require.True(t, err != nil && strings.Contains(err.Error(), rpc.ErrRevoked.Error()), "error %v", err)
		wantRefusalReasonsAdded(t, a, before, map[string]float64{string(metrics.ReasonRevoked): 2})
		a.setRevocations(ctx, revoke.New(nil), nil)
		out, err := deliver(ctx, provider(contract.ContractHTTPServer), echoKey, "HttpServer.HandleRequest", echoRequest)
		require.NoError(t, err)
		require.True(t, bytes.Equal(out, echoReply), "echo's reply %x", out)
	})
}
