package host

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestEmbeddedServerUser: the embedded server admits the hosts of one state directory and nobody else.
func TestEmbeddedServerUser(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	state := t.TempDir()
	seed := clusterSeed(t)
	env := func(embedded, dir string) []string {
		return []string{"WASMCLOUD_RPC_PORT=" + port, "WASMCLOUD_CTL_PORT=" + port, "WASMCLOUD_NATS_EMBEDDED=" + embedded,
			"WASMCLOUD_STATE_DIR=" + dir, "WASMCLOUD_CLUSTER_SEED=" + seed, "WASMCLOUD_ALLOW_FILE_LOAD=true"}
	}
	start := func(environ []string) (*Host, error) {
		cfg, err := config.LoadFrom(environ)
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Start(ctx); err != nil {
			return nil, err
		}
		t.Cleanup(func() { shutdown(t, h) })
		return h, nil
	}

	a, err := start(env("true", state))
	require.NoError(t, err)
	require.True(t, a.Info().Embedded, "host a runs the embedded server")
	b, err := start(env("false", state))
	require.NoError(t, err, "a host of the same state directory")
	startFixture(t, a, "echo.wasm")
	require.Eventually(t, 10*time.Second, func() bool {
		for _, c := range b.data.ClaimsList().Claims {
			if c["sub"] == echoKey {
				return true
			}
		}
		return false
	}, "host b to see echo's claims through JetStream")

	_, err = nats.Connect("nats://127.0.0.1:" + port)
	require.ErrorIs(t, err, nats.ErrAuthorization)
	_, err = start(env("false", t.TempDir()))
	require.ErrorIs(t, err, nats.ErrAuthorization)
	require.ErrorContains(t, err, "WASMCLOUD_STATE_DIR")
}
