package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// requestLog records the paths of the requests a test registry served.
type requestLog struct {
	mu    sync.Mutex
	paths []string // guarded by mu
}

func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.paths = append(l.paths, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.paths)
}

// TestActorsFromOCI runs echo pulled from a real OCI registry on loopback, as wash pushes it: placed by an
// auction with a constraint, listed with its reference, called and scaled. A reference pinned to another
// digest and an unpinned one are refused, the latter before anything is fetched.
func TestActorsFromOCI(t *testing.T) {
	var requests requestLog
	reg := ocitest.NewRegistry(t, ocitest.Options{Wrap: requests.wrap})
	ref, digest := reg.Push(t, "wasmcloud/echo:0.3.4", testutil.Actor(t, "echo.wasm"))
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	// File references are refused, so the module can only come from the registry.
	base := latticeEnv(t, srv, c).with("WASMCLOUD_OCI_ALLOWED_INSECURE", reg.Host, "WASMCLOUD_ALLOW_FILE_LOAD", "false")
	e := base
	eu := startHost(t, "host eu", base.with("HOST_REGION", "eu")).ready.HostID
	us := startHost(t, "host us", latticeEnv(t, srv, c).with("WASMCLOUD_OCI_ALLOWED_INSECURE", reg.Host,
		"WASMCLOUD_ALLOW_FILE_LOAD", "false", "HOST_REGION", "us")).ready.HostID

	t.Run("auction with a constraint", func(t *testing.T) {
		got := ctlJSON[ctlStarted](t, e, "start", "actor", ref, "--constraint", "region=us")
		require.Equal(t, "start", got, ctlStarted{HostID: us, ActorRef: ref, Count: 1})
		ev := w.wait(t, "actors_started", about(us, echoKey))
		require.Equal(t, "actors_started image_ref", ev.str("image_ref"), ref)
		checkRuns(t, inventory(t, e, us), echoKey, ref, 1)
		require.Equal(t, "actors of eu host", strings.Join(actorIDs(inventory(t, e, eu)), ","), "")
	})

	t.Run("call", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})

	t.Run("scale", func(t *testing.T) {
		// The CLI takes the reference from the host's inventory.
		got := ctlJSON[ctlScaled](t, e, "scale", "actor", echoKey, "2", "--host", us)
		require.Equal(t, "scale", got, ctlScaled{HostID: us, ActorID: echoKey, ActorRef: ref, Count: 2})
		ev := w.wait(t, "actor_scaled", about(us, echoKey))
		require.Equal(t, "actor_scaled image_ref", ev.str("image_ref"), ref)
		require.Equal(t, "actor_scaled max_instances", ev.num("max_instances"), 2)
		checkRuns(t, inventory(t, e, us), echoKey, ref, 2)
		require.Equal(t, "reply", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})

	t.Run("pinned to its digest", func(t *testing.T) {
		pinned := ref + "@" + digest
		got := ctlJSON[ctlStarted](t, e, "start", "actor", pinned, "--host", eu)
		require.Equal(t, "start", got, ctlStarted{HostID: eu, ActorRef: pinned, Count: 1})
		w.wait(t, "actors_started", about(eu, echoKey))
		checkRuns(t, inventory(t, e, eu), echoKey, pinned, 1)
		// Stop it again, so that both hosts are free for the refusals below.
		stopped := ctlJSON[[]ctlStopped](t, e, "stop", "actor", echoKey, "--host", eu)
		require.Equal(t, "stopped", len(stopped), 1)
		w.wait(t, "actors_stopped", about(eu, echoKey))
	})

	sum := sha256.Sum256([]byte("not the manifest"))
	wrongDigest := ref + "@sha256:" + hex.EncodeToString(sum[:])
	for _, tt := range []struct {
		name string
		args []string
		host string
	}{
		{name: "wrong digest, auction", args: []string{"--constraint", "region=eu"}, host: eu},
		{name: "wrong digest, direct", args: []string{"--host", us}, host: us},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The reference is pinned, so the host accepts it and fails when the manifest does not match; ctl
			// waits for that and reports it.
			line := ctlFails(t, e, append([]string{"start", "actor", wrongDigest}, tt.args...)...)
			contains(t, "ctl start actor", line, "on host "+tt.host, "oci: digest mismatch")
			ev := w.wait(t, "actors_start_failed", func(ev latticeEvent) bool {
				return about(tt.host, "")(ev) && ev.str("image_ref") == wrongDigest
			})
			contains(t, "actors_start_failed error", ev.str("error"), "oci: digest mismatch", wrongDigest)
		})
	}
	t.Run("wrong digest left the hosts as they were", func(t *testing.T) {
		checkRuns(t, inventory(t, e, us), echoKey, ref, 2)
		require.Equal(t, "actors of eu host", strings.Join(actorIDs(inventory(t, e, eu)), ","), "")
	})

	t.Run("unpinned references refused at once", func(t *testing.T) {
		for _, unpinned := range []string{reg.Ref("wasmcloud/echo:latest"), reg.Ref("wasmcloud/echo")} {
			served := requests.count()
			line := ctlFails(t, e, "start", "actor", unpinned)
			contains(t, "auction", line, "no host satisfies the constraints (none): no bid for "+unpinned)
			line = ctlFails(t, e, "start", "actor", unpinned, "--host", eu)
			contains(t, "direct start", line, "refused", "oci: unpinned reference", unpinned)
			require.Equal(t, "registry requests for "+unpinned, requests.count(), served)
		}
	})
	w.check(t, eu, us)
}
