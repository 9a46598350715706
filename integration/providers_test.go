package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// contractEcho is the contract of the tests' provider (internal/testutil/testprovider).
const contractEcho = "example:echo"

var serviceKeyPattern = regexp.MustCompile(`provider (V[A-Z2-7]{55})`)

// packProvider packs the test provider's binary for this platform with `par create`, signed by a fresh
// account, and returns the archive's path, the provider key and the account's public key.
func packProvider(t testing.TB, bin []byte) (path, providerKey, issuer string) {
	t.Helper()
	dir := t.TempDir()
	binPath := filepath.Join(dir, "testprovider")
	if err := os.WriteFile(binPath, bin, 0o700); err != nil {
		t.Fatal(err)
	}
	account := newKey(t, nkeys.PrefixByteAccount)
	path = filepath.Join(dir, "echo.par.gz")
	r := cli(t, nil, "par", "create", "--capid", contractEcho, "--vendor", "tests", "--name", "echo", "--binary", binPath,
		"--issuer", "@"+writeSecret(t, "account.nk", []byte(account.seed)), "-o", path)
	if r.code != 0 {
		t.Fatalf("par create: exit status %d, stderr %q", r.code, r.stderr)
	}
	m := serviceKeyPattern.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("par create printed %q, want the provider key", r.stdout)
	}
	return path, m[1], account.pub
}

// providerDir returns the working directory of the one provider process a host runs: the directory under
// its state directory that holds the pid file the provider writes.
func providerPid(t testing.TB, e env) (pid int, dir string) {
	t.Helper()
	require.EventuallyNoError(t, pollTimeout, func() error {
		files, _ := filepath.Glob(filepath.Join(e["WASMCLOUD_STATE_DIR"], "providers", "*", "pid"))
		if len(files) != 1 {
			return fmt.Errorf("%d pid files", len(files))
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(string(b))
		dir = filepath.Dir(files[0])
		return err
	}, "the provider's pid file")
	return pid, dir
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestProviderAcrossHosts: a provider written for the tests from codecs this project did not write, packed
// with par create, runs on host A and serves an actor on host B over a real NATS server: the call goes to the
// 0.x subject, the link put reaches the provider, the provider's own invocation of an actor on B is verified
// through its delegated key, a killed provider is restarted, and a stopped one is gone with its delegation.
func TestProviderAcrossHosts(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	envA, envB := latticeEnv(t, srv, c), latticeEnv(t, srv, c)
	a, b := startHost(t, "host A", envA), startHost(t, "host B", envB)
	archive, providerKey, _ := packProvider(t, testutil.BuildProvider(t))
	capsPath, capsKey := signWithCaps(t, testutil.BuildGuest(t, "examples/capabilities"), "caps", contractEcho)
	helloPath, helloKey := signWithCaps(t, testutil.BuildGuest(t, "examples/hello"), "hello", contractEcho)
	startActorOn(t, envB, b, capsPath, capsKey)
	startActorOn(t, envB, b, helloPath, helloKey)

	got := ctlJSON[map[string]string](t, envB, "start", "provider", archive, "--host", a.ready.HostID)
	require.DeepEqual(t, "start provider", got, map[string]string{"host_id": a.ready.HostID, "provider_ref": archive, "link_name": "default"})
	a.logLine(t, `msg="provider started"`, "provider="+providerKey)
	w.wait(t, "provider_started", about(a.ready.HostID, providerKey))
	pid, dir := providerPid(t, envA)

	// Inventory: the provider with its contract and link name.
	inv := inventory(t, envB, a.ready.HostID)
	found := false
	for _, p := range inv.Providers {
		found = found || p.ID == providerKey && p.ContractID == contractEcho && p.LinkName == "default" && p.ImageRef == archive
	}
	require.True(t, found, "inventory lists the provider: %+v", inv.Providers)

	// Not linked yet: the gate refuses before anything is sent.
	callFails(t, envB, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Echo","body":"x"}`)
	linkPut(t, envB, capsKey, providerKey, contractEcho, "greeting=hi")
	linkPut(t, envB, helloKey, providerKey, contractEcho)
	a.logLine(t, "testprovider link put "+capsKey)

	// The actor on B calls the provider on A: the signed invocation goes over NATS to the provider's subject.
	require.EventuallyNoError(t, pollTimeout, func() error {
		r := cli(t, envB, "call", capsKey, "Caps.Call", "--data", `{"contract":"example:echo","operation":"Echo.Echo","body":"ping"}`)
		if r.code != 0 || strings.TrimSpace(r.stdout) != `{"reply":"ping"}` {
			return fmt.Errorf("status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		return nil
	}, "the provider to echo")
	links := callOK(t, envB, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Links"}`)
	contains(t, "links the provider received", links, capsKey, `"greeting":"hi"`, helloKey)

	// What the provider process got: an emptied environment and its own working directory.
	envReply := callOK(t, envB, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Env"}`)
	contains(t, "provider environment", envReply, `"env":0`, `"cwd":"`+dir+`"`, `"pid":`+strconv.Itoa(pid))

	// The provider invokes hello on B with its own, delegated key: verified like any invocation.
	hello := callOK(t, envB, capsKey, "Caps.CallBack", `{"contract":"example:echo","actor":"`+helloKey+`","operation":"Hello.SayHello","name":"provider"}`)
	contains(t, "callback reply", hello, "provider")
	// The delegated key may speak only for its provider: an actor without the claim is refused by B.
	echoPath, echoNoClaim := signWithCaps(t, testutil.BuildGuest(t, "examples/hello"), "hello2")
	startActorOn(t, envB, b, echoPath, echoNoClaim)
	refused := callFails(t, envB, capsKey, "Caps.CallBack", `{"contract":"example:echo","actor":"`+echoNoClaim+`","operation":"Hello.SayHello","name":"x"}`)
	contains(t, "callback to an actor without the claim", refused, "does not claim the capability")
	// Nor may it reach an actor that claims the contract but that no operator linked to it.
	unlinkedPath, unlinked := signWithCaps(t, testutil.BuildGuest(t, "examples/hello"), "hello3", contractEcho)
	startActorOn(t, envB, b, unlinkedPath, unlinked)
	refused = callFails(t, envB, capsKey, "Caps.CallBack", `{"contract":"example:echo","actor":"`+unlinked+`","operation":"Hello.SayHello","name":"x"}`)
	contains(t, "callback to an actor not linked to the provider", refused, "has no link to the provider")
	hello = callOK(t, envB, capsKey, "Caps.CallBack", `{"contract":"example:echo","actor":"`+helloKey+`","operation":"Hello.SayHello","name":"again"}`)
	contains(t, "callback reply after the refusals", hello, "again")

	// Killed: restarted, with backoff, and serving again.
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	w.wait(t, "provider_stopped", func(e latticeEvent) bool { return e.str("reason") == "crashed" })
	require.EventuallyNoError(t, pollTimeout, func() error {
		newPid, _ := providerPid(t, envA)
		if newPid == pid {
			return fmt.Errorf("still the old pid %d", pid)
		}
		r := cli(t, envB, "call", capsKey, "Caps.Call", "--data", `{"contract":"example:echo","operation":"Echo.Echo","body":"again"}`)
		if r.code != 0 {
			return fmt.Errorf("call: %s", r.stderr)
		}
		return nil
	}, "the provider to be restarted")
	pid, _ = providerPid(t, envA)

	// Stopped: the shutdown request, the process gone, its directory removed, its key no longer accepted.
	ctlOK(t, envB, "stop", "provider", providerKey)
	w.wait(t, "provider_stopped", func(e latticeEvent) bool { return e.str("reason") == "stop" })
	require.Eventually(t, pollTimeout, func() bool { return !alive(pid) }, "the provider process to exit")
	_, err := os.Stat(dir)
	require.True(t, os.IsNotExist(err), "the provider's directory was removed: %v", err)
	a.logLine(t, "testprovider shutting down")
	// The caller waits longer than host B, whose call to the provider fails after its RPC timeout.
	line := callFails(t, envB.with("WASMCLOUD_RPC_TIMEOUT_MS", "8000"), capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Echo","body":"gone"}`)
	contains(t, "call to a stopped provider", line, "did not answer")
	w.check(t, a.ready.HostID, b.ready.HostID)
}

// TestProviderArchiveRefused: an archive whose binary was tampered with, or signed by an account the host does
// not trust, never runs.
func TestProviderArchiveRefused(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	bin := testutil.BuildProvider(t)
	archive, providerKey, issuer := packProvider(t, bin)
	trusted := newKey(t, nkeys.PrefixByteAccount)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_PROVIDER_ISSUERS", trusted.pub)
	h := startHost(t, "host", e)

	ctlOK(t, e, "start", "provider", archive, "--host", h.ready.HostID)
	h.logLine(t, `msg="provider failed to start"`, "not trusted", issuer)
	w.wait(t, "provider_start_failed", from(h.ready.HostID))

	// A binary with one byte changed, repacked as the archive's own tar would hold it: the signed hash fails.
	tampered := bytes.Clone(bin)
	tampered[len(tampered)/2] ^= 0xff
	bad, _, _ := packProvider(t, tampered)
	swapped := filepath.Join(t.TempDir(), "swapped.par.gz")
	swapBinary(t, archive, bad, swapped)
	e2 := latticeEnv(t, srv, c)
	h2 := startHost(t, "host 2", e2)
	ctlOK(t, e2, "start", "provider", swapped, "--host", h2.ready.HostID)
	h2.logLine(t, `msg="provider failed to start"`, "does not match its signed hash")
	for _, env := range []env{e, e2} {
		files, _ := filepath.Glob(filepath.Join(env["WASMCLOUD_STATE_DIR"], "providers", "*", "*"))
		require.Equal(t, "files of refused providers", len(files), 0)
	}
	require.False(t, strings.Contains(h.stderr.String(), "provider="+providerKey+" "), "a refused provider was started")
}

// swapBinary writes to out the archive good with its token and the binary of other: a genuine token over a
// binary it did not sign.
func swapBinary(t testing.TB, good, other, out string) {
	t.Helper()
	goodTar, otherTar := gunzipTar(t, good), gunzipTar(t, other)
	merged := map[string][]byte{}
	for name, data := range goodTar {
		if name == "claims.jwt" {
			merged[name] = data
		}
	}
	for name, data := range otherTar {
		if name != "claims.jwt" {
			merged[name] = data
		}
	}
	writeTarGz(t, out, merged)
}

// TestExternalProvider: an actor on our host calls a provider that another process serves on the 0.x subject
// (no host of ours runs it; the process got the cluster seed, as from a 0.x host), and the host forwards the
// link put to it.
func TestExternalProvider(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e)
	capsPath, capsKey := signWithCaps(t, testutil.BuildGuest(t, "examples/capabilities"), "caps", contractEcho)
	startActorOn(t, e, h, capsPath, capsKey)

	providerKey := publicKey(t, nkey.Service)
	dir := t.TempDir()
	binPath := filepath.Join(dir, "testprovider")
	require.NoError(t, os.WriteFile(binPath, testutil.BuildProvider(t), 0o700))
	hd, _ := json.Marshal(map[string]any{
		"host_id": h.ready.HostID, "lattice_rpc_prefix": "default", "link_name": "default",
		"lattice_rpc_url": srv.ClientURL(), "provider_key": providerKey, "invocation_seed": c.seed,
		"cluster_issuers": []string{c.pub}, "link_definitions": []any{}, "env_values": map[string]string{},
		"instance_id": "external", "default_rpc_timeout_ms": 2000,
	})
	cmd := exec.Command(binPath)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(base64.StdEncoding.EncodeToString(hd) + "\n")
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, pollTimeout, func() bool { return strings.Contains(out.String(), "testprovider ready") }, "the external provider")

	linkPut(t, e, capsKey, providerKey, contractEcho)
	require.Eventually(t, pollTimeout, func() bool { return strings.Contains(out.String(), "link put "+capsKey) }, "the link put to reach the provider")
	got := callOK(t, e, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Echo","body":"hello"}`)
	require.Equal(t, "reply", got, `{"reply":"hello"}`)
}

// TestHTTPClientEgress: the built-in HTTP client, through the binary, against a loopback server: the listed
// address answers; an unlisted one, a redirect to an unlisted one, a name that resolves to loopback, and an
// oversize response are refused.
func TestHTTPClientEgress(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e)
	b := builtinProviders(t, e, h.ready.HostID)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "other") }))
	t.Cleanup(other.Close)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 4096))
		default:
			fmt.Fprint(w, "hello from the site")
		}
	}))
	t.Cleanup(site.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(site.URL, "http://"))
	capsPath, capsKey := signWithCaps(t, testutil.BuildGuest(t, "examples/capabilities"), "caps", contractHTTPClient)
	startActorOn(t, e, h, capsPath, capsKey)
	linkPut(t, e, capsKey, b[contractHTTPClient], contractHTTPClient, "allow="+site.URL, "max_response_bytes=1K")

	require.EventuallyNoError(t, pollTimeout, func() error {
		r := cli(t, e, "call", capsKey, "Caps.Fetch", "--data", `{"url":"`+site.URL+`/"}`)
		if r.code != 0 || strings.TrimSpace(r.stdout) != `{"body":"hello from the site","status":200}` {
			return fmt.Errorf("status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		return nil
	}, "the listed site to answer")
	for _, tt := range []struct{ name, url, want string }{
		{"unlisted host", other.URL + "/", "is not listed"},
		{"redirect to an unlisted host", site.URL + "/redirect", "redirect to"},
		{"oversize response", site.URL + "/big", "response too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			line := callFails(t, e, capsKey, "Caps.Fetch", `{"url":"`+tt.url+`"}`)
			contains(t, "refusal", line, tt.want)
		})
	}
	// A link that lists a name, not the loopback address it resolves to: checked on the dialed address.
	linkPut(t, e, capsKey, b[contractHTTPClient], contractHTTPClient, "allow=http://localhost:"+port)
	require.EventuallyNoError(t, pollTimeout, func() error {
		r := cli(t, e, "call", capsKey, "Caps.Fetch", "--data", `{"url":"http://localhost:`+port+`/"}`)
		if r.code != 1 || !strings.Contains(r.stderr, "loopback, private or reserved") {
			return fmt.Errorf("status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		return nil
	}, "a name resolving to loopback to be refused")
}

// gunzipTar returns the entries of a gzipped tar file.
func gunzipTar(t testing.TB, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[hdr.Name] = b
	}
}

// writeTarGz writes entries as a gzipped tar file.
func writeTarGz(t testing.TB, path string, entries map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(entries[name])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}
