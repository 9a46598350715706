package integration

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// defaultNATS is the address the embedded server listens on when no NATS variable is set.
const defaultNATS = "127.0.0.1:4222"

// TestEmbeddedAuto starts two hosts the way a user does on a laptop, with no NATS configuration at all:
// the first starts an embedded nats-server on the default address, the second joins it, and the CLI
// reaches actors on both. They share a state directory (as the default one is shared by the processes of one
// user), where the first host generated the user the embedded server admits; a process with another state
// directory (another user) is refused. It needs 127.0.0.1:4222 free and is skipped otherwise.
func TestEmbeddedAuto(t *testing.T) {
	c := newCluster(t)
	state := t.TempDir()
	// alone is the environment of a process that configures no NATS server.
	alone := func(mode string) env {
		return env{
			"WASMCLOUD_NATS_EMBEDDED":     mode,
			"WASMCLOUD_STATE_DIR":         state,
			"WASMCLOUD_CLUSTER_SEED_FILE": c.file,
			"WASMCLOUD_ALLOW_FILE_LOAD":   "true",
		}
	}
	if !portFree() {
		t.Run("true while the port is taken", func(t *testing.T) { embeddedPortTaken(t, alone("true")) })
		t.Skipf("%s is taken by another process, so a host in auto mode would join it rather than start a server", defaultNATS)
	}
	helloPath, helloKey := guest(t, "examples/hello", "hello")

	h1 := startHost(t, "host 1", alone("auto").with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	require.Equal(t, "host 1 nats_url", h1.ready.NATSURL, "nats://"+defaultNATS)
	h1.logLine(t, `msg="started embedded nats-server"`, "url=nats://"+defaultNATS)

	h2 := startHost(t, "host 2", alone("auto").with("WASMCLOUD_START_ACTORS", helloPath))
	require.Equal(t, "host 2 nats_url", h2.ready.NATSURL, "nats://"+defaultNATS)
	if line := findLine(h2.stderr.String(), "embedded nats-server"); line != "" {
		t.Fatalf("host 2 mentions an embedded server of its own: %s", line)
	}

	cliEnv := alone("auto") // call never starts a server; it connects to the default address
	t.Run("echo on host 1", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, cliEnv, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})
	t.Run("hello on host 2 by alias", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, cliEnv, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
		require.Equal(t, "reply", callOK(t, cliEnv, helloKey, "Hello.Calls", ""), `{"calls":2}`)
	})
	t.Run("the embedded server's user is private", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(state, "nats-user.nk"))
		if err != nil {
			t.Fatal(err)
		}
		require.Equal(t, "mode", fi.Mode().Perm(), os.FileMode(0o600))
	})
	t.Run("another user is refused", func(t *testing.T) {
		stranger := alone("auto").with("WASMCLOUD_STATE_DIR", t.TempDir())
		// nats.go passes on the server's spelling, "Authorization Violation".
		contains(t, "call", strings.ToLower(callFails(t, stranger, echoKey, "HttpServer.HandleRequest", echoRequest)), "authorization violation", "wasmcloud_state_dir")
		contains(t, "ctl", strings.ToLower(ctlFails(t, stranger, "hosts")), "authorization violation")
		if _, err := nats.Connect("nats://" + defaultNATS); !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("a client without credentials: %v, want authorization violation", err)
		}
	})
	t.Run("ctl of the same user", func(t *testing.T) {
		contains(t, "ctl hosts", ctlOK(t, cliEnv, "hosts"), h1.ready.HostID, h2.ready.HostID)
	})
	t.Run("true while the port is taken", func(t *testing.T) { embeddedPortTaken(t, alone("true")) })
	t.Run("stop host 2, then host 1", func(t *testing.T) {
		for _, h := range []*hostProc{h2, h1} {
			require.Equal(t, h.name+" exit status", h.stop(t), 0)
			h.logLine(t, "msg=stopped")
		}
		require.Eventually(t, pollTimeout, portFree, defaultNATS+" free again")
	})
}

// embeddedPortTaken starts a host that must run an embedded server on the taken default address.
func embeddedPortTaken(t *testing.T, e env) {
	line := errorLine(t, startFails(t, "host 3", e))
	contains(t, "error line", line, "embedded nats-server on "+defaultNATS, "address already in use")
}

// portFree reports whether nothing listens on the default NATS address.
func portFree() bool {
	ln, err := net.Listen("tcp", defaultNATS)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}
