package integration

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestTwoClusterKeys runs two hosts with different cluster seeds on one NATS server, where host B lists
// A's cluster key in WASMCLOUD_CLUSTER_ISSUERS and A trusts only itself: invocations signed with A's seed
// reach B's actors, invocations signed with B's seed never reach A's.
func TestTwoClusterKeys(t *testing.T) {
	srv := runNATS(t, nil)
	ca, cb := newCluster(t), newCluster(t)
	helloA, helloAKey := guest(t, "examples/hello", "")
	helloB, helloBKey := guest(t, "examples/hello", "")
	callerB, callerBKey := guest(t, "examples/caller", "")
	a := startHost(t, "host A", latticeEnv(t, srv, ca).with("WASMCLOUD_START_ACTORS", helloA))
	b := startHost(t, "host B", latticeEnv(t, srv, cb).with(
		"WASMCLOUD_START_ACTORS", helloB+","+callerB,
		"WASMCLOUD_CLUSTER_ISSUERS", ca.pub))
	require.Equal(t, "A's cluster key", a.ready.ClusterKey, ca.pub)
	require.Equal(t, "B's cluster key", b.ready.ClusterKey, cb.pub)
	asA, asB := latticeEnv(t, srv, ca), latticeEnv(t, srv, cb)

	t.Run("signed by A, to B's actor", func(t *testing.T) {
		// B trusts A, and the CLI (holding A's seed) does not trust B's responses: B signs them with its
		// own key. Listing B's key makes the CLI accept them, as an operator of A would.
		got := callOK(t, asA.with("WASMCLOUD_CLUSTER_ISSUERS", cb.pub), helloBKey, "Hello.SayHello", `{"name":"Ada"}`)
		require.Equal(t, "reply", got, `{"message":"Hello, Ada!"}`)
	})
	t.Run("signed by A, B's response not trusted", func(t *testing.T) {
		// The invocation is accepted (it reached hello), but the response is signed by a key the CLI
		// does not trust, so the CLI refuses to believe it.
		got := callFails(t, asA, helloBKey, "Hello.SayHello", `{"name":"Ada"}`)
		contains(t, "stderr", got, "rpc: response token does not verify", "responder key "+cb.pub+" is not trusted")
	})
	t.Run("signed by B, to A's actor", func(t *testing.T) {
		got := callFails(t, asB, helloAKey, "Hello.SayHello", `{"name":"Bob"}`)
		contains(t, "stderr", got, "rpc: issuer is not among the trusted cluster issuers: "+cb.pub)
	})
	t.Run("B's actor calls A's actor", func(t *testing.T) {
		// The caller's host signs the actor-to-actor call with B's key; A refuses it, and B, which trusts
		// A, passes A's signed refusal on to the caller.
		got := callFails(t, asB, callerBKey, "Caller.Relay", `{"target":"`+helloAKey+`","name":"Bob"}`)
		contains(t, "stderr", got, "caller: relay to "+helloAKey, "rpc: issuer is not among the trusted cluster issuers: "+cb.pub)
	})
	t.Run("nothing signed by B reached A's actor", func(t *testing.T) {
		require.Equal(t, "calls", callOK(t, asA, helloAKey, "Hello.Calls", ""), `{"calls":1}`)
	})
	t.Run("what was signed by A reached B's actor", func(t *testing.T) {
		require.Equal(t, "calls", callOK(t, asB, helloBKey, "Hello.Calls", ""), `{"calls":3}`)
	})
}
