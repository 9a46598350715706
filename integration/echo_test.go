package integration

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestEcho runs the OTP echo fixture on one host and calls it with the CLI, as the README shows.
func TestEcho(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))

	t.Run("readiness line", func(t *testing.T) {
		require.Equal(t, "cluster_key", h.ready.ClusterKey, c.pub)
		require.Equal(t, "lattice", h.ready.Lattice, "default")
		require.Equal(t, "nats_url", h.ready.NATSURL, srv.ClientURL())
		oneLine(t, "stdout", h.stdout.String()) // logs go to stderr; stdout has the readiness line only
	})
	t.Run("call by key", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})
}
