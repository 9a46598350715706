package integration

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestActorToActorByAliasAcrossHosts runs hello (call alias "hello") on host A and caller on host B: the
// caller reaches hello through B by alias, the CLI reaches hello by alias, and an alias nobody claimed is
// a clear error in both places.
func TestActorToActorByAliasAcrossHosts(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	callerPath, callerKey := guest(t, "examples/caller", "")
	e := latticeEnv(t, srv, c)
	a := startHost(t, "host A", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", helloPath))
	b := startHost(t, "host B", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", callerPath))
	if a.ready.HostID == b.ready.HostID {
		t.Fatalf("both hosts have id %s", a.ready.HostID)
	}

	t.Run("caller on B relays to hello on A by alias", func(t *testing.T) {
		got := callOK(t, e, callerKey, "Caller.Relay", `{"target":"hello","name":"Ada"}`)
		require.Equal(t, "reply", got, `{"relayed":"Hello, Ada!","via":"caller"}`)
	})
	t.Run("caller on B relays to hello on A by key", func(t *testing.T) {
		got := callOK(t, e, callerKey, "Caller.Relay", `{"target":"`+helloKey+`","name":"Grace"}`)
		require.Equal(t, "reply", got, `{"relayed":"Hello, Grace!","via":"caller"}`)
	})
	t.Run("CLI calls hello by alias", func(t *testing.T) {
		got := callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`)
		require.Equal(t, "reply", got, `{"message":"Hello, Ada!"}`)
	})
	t.Run("CLI calls an unknown alias", func(t *testing.T) {
		got := callFails(t, e, "nosuchactor", "Hello.SayHello", `{"name":"Ada"}`)
		require.Equal(t, "stderr", got, `wasmcloud-host: client: unknown actor or call alias "nosuchactor"`)
	})
	t.Run("caller relays to an unknown alias", func(t *testing.T) {
		got := callFails(t, e, callerKey, "Caller.Relay", `{"target":"nosuchactor","name":"Ada"}`)
		contains(t, "stderr", got, "caller: relay to nosuchactor", `unknown actor or call alias "nosuchactor"`)
	})
	t.Run("hello served every call that reached it", func(t *testing.T) {
		// Two relays and one direct call reached hello; this is the fourth.
		require.Equal(t, "calls", callOK(t, e, helloKey, "Hello.Calls", ""), `{"calls":4}`)
	})
}
