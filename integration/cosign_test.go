package integration

import (
	"path/filepath"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// cosignDigest is the manifest digest of echo as the cosign CLI's recording pushed it to every repository
// (internal/cosign/testdata/cli/README.md).
const cosignDigest = "sha256:a2321fce9270d39bda621b31b7db547813e15fd2a9575ea5f7c9b61a43a6096f"

// TestCosignThroughTheBinary: a host configured with a cosign public key runs only artifacts the real cosign
// CLI signed with that key, in both of cosign's layouts, and refuses the unsigned and those another key
// signed; a key file rewritten in place and reloaded moves the trust to the other key without a restart.
func TestCosignThroughTheBinary(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	reg.Replay(t, filepath.Join(testutil.Root(), "internal", "cosign", "testdata", "cli"), testutil.Root())
	keyFile := filepath.Join(t.TempDir(), "cosign.pub")
	writeFile(t, keyFile, string(testutil.ReadFile(t, "../internal/cosign/testdata/cli/ecdsa.pub")), 0o644)

	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	// The tools' environment (e) does without the key file, which the last step spoils.
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_OCI_ALLOWED_INSECURE", reg.Host, "WASMCLOUD_ALLOW_FILE_LOAD", "false",
		"WASMCLOUD_COSIGN_PUBLIC_KEYS", keyFile))
	id := h.ready.HostID
	ref := func(repo string) string { return reg.Ref(repo+":0.1.0") + "@" + cosignDigest }

	runs := func(t *testing.T, repo string) {
		t.Helper()
		got := ctlJSON[ctlStarted](t, e, "start", "actor", ref(repo), "--host", id)
		require.Equal(t, "start "+repo, got, ctlStarted{HostID: id, ActorRef: ref(repo), Count: 1})
		w.wait(t, "actors_started", about(id, echoKey))
		require.Equal(t, "call "+repo, callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
		stopped := ctlJSON[[]ctlStopped](t, e, "stop", "actor", echoKey, "--host", id)
		require.Equal(t, "stopped "+repo, len(stopped), 1)
		w.wait(t, "actors_stopped", about(id, echoKey))
	}
	refused := func(t *testing.T, repo string) {
		t.Helper()
		line := ctlFails(t, e, "start", "actor", ref(repo), "--host", id)
		contains(t, "ctl start "+repo, line, "cosign:")
		ev := w.wait(t, "actors_start_failed", func(ev latticeEvent) bool {
			return about(id, "")(ev) && ev.str("image_ref") == ref(repo)
		})
		contains(t, "actors_start_failed "+repo, ev.str("error"), "cosign:")
		require.Equal(t, "actors after refusing "+repo, len(actorIDs(inventory(t, e, id))), 0)
	}

	for _, repo := range []string{"signed/ecdsa", "signed/bundle-ecdsa", "signed/oci11-ecdsa"} {
		t.Run("signed by the trusted key: "+repo, func(t *testing.T) { runs(t, repo) })
	}
	for _, repo := range []string{"unsigned/echo", "signed/other", "signed/ed25519"} {
		t.Run("refused: "+repo, func(t *testing.T) { refused(t, repo) })
	}

	t.Run("key rotated by a reload", func(t *testing.T) {
		writeFile(t, keyFile, string(testutil.ReadFile(t, "../internal/cosign/testdata/cli/other.pub")), 0o644)
		h.reload(t, "msg=reloaded", "cosign trust: key ")
		runs(t, "signed/other")
		refused(t, "signed/ecdsa")
	})

	t.Run("a key file that no longer loads keeps the trust in force", func(t *testing.T) {
		writeFile(t, keyFile, "not a key\n", 0o644)
		line := h.reload(t, `msg="reload refused`)
		contains(t, "refusal", line, "WASMCLOUD_COSIGN_PUBLIC_KEYS")
		runs(t, "signed/other")
		refused(t, "unsigned/echo")
	})
	checkNoSecrets(t, "host stderr", h.stderr.String())
}
