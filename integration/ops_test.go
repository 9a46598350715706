package integration

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// scrape reads the host's /metrics as text and returns every sample by its series, as Prometheus prints it:
// `name{label="value",…}` (labels in name order) or `name`.
func scrape(t testing.TB, admin string) map[string]float64 {
	t.Helper()
	resp, err := httpClient.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	require.Equal(t, "scrape status", resp.StatusCode, http.StatusOK)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// sumOf adds every sample of a metric.
func sumOf(samples map[string]float64, name string) float64 {
	total := 0.0
	for series, v := range samples {
		if series == name || strings.HasPrefix(series, name+"{") {
			total += v
		}
	}
	return total
}

// readyz fetches /readyz and returns its status and report.
func readyz(t testing.TB, admin string) (int, map[string]any) {
	t.Helper()
	resp, err := httpClient.Get("http://" + admin + "/readyz")
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	defer resp.Body.Close()
	var report map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		t.Fatalf("readyz body: %v", err)
	}
	return resp.StatusCode, report
}

// TestMetrics runs a known sequence on one host and checks every counter of /metrics exactly: two actor
// starts, three echo calls and one call to an operation echo does not have, an invocation signed by a cluster
// this host does not trust and one whose token signature was forged, a link put and deleted.
func TestMetrics(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	admin := freeAddr(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_ADMIN_ADDRESS", admin, "WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm"))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/kvcounter.wasm"), kvcounterKey)

	const calls = 3
	for range calls {
		require.Equal(t, "reply", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	}
	callFails(t, e, echoKey, "Echo.Nothing", `{}`)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	trusted, untrusted := testCluster(t, c.seed), testCluster(t, newCluster(t).seed)
	forged := func(signer *rpc.Cluster, breakSignature bool) string {
		inv := &wire.Invocation{Origin: wire.Entity{PublicKey: signer.HostID()}, Target: wire.Entity{PublicKey: echoKey},
			Operation: "HttpServer.HandleRequest", Msg: httpRequest([]byte("x"))}
		require.NoError(t, signer.Sign(inv))
		if breakSignature {
			tok := []byte(inv.EncodedClaims)
			tok[len(tok)-2] = flipBase64(tok[len(tok)-2])
			inv.EncodedClaims = string(tok)
		}
		reply, err := nc.Request("wasmbus.rpc.default."+echoKey, inv.AppendMsgpack(nil), cliTimeout)
		require.NoError(t, err)
		resp, err := trusted.VerifyResponse(reply.Data, inv.ID)
		require.NoError(t, err)
		return resp.Error
	}
	contains(t, "refusal", forged(untrusted, false), rpc.ErrUntrustedIssuer.Error())
	contains(t, "refusal", forged(trusted, true), rpc.ErrSignature.Error())

	linkPut(t, e, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=metrics")
	ctlOK(t, e, "link", "del", kvcounterKey, contractKeyValue)
	// Policy denials, revocations and control refusals: TestMetricsOfTheTrustBoundary.

	want := map[string]float64{
		`wasmcloud_actor_starts_total{actor="` + echoKey + `",result="ok"}`:                                               1,
		`wasmcloud_actor_starts_total{actor="` + kvcounterKey + `",result="ok"}`:                                          1,
		`wasmcloud_actor_invocations_total{actor="` + echoKey + `",operation="HttpServer.HandleRequest",result="ok"}`:     calls,
		`wasmcloud_actor_invocations_total{actor="` + echoKey + `",operation="other",result="error"}`:                     1,
		`wasmcloud_actor_errors_total{actor="` + echoKey + `",operation="other"}`:                                         1,
		`wasmcloud_actor_invocation_duration_seconds_count{actor="` + echoKey + `",operation="HttpServer.HandleRequest"}`: calls,
		`wasmcloud_refusals_total{reason="issuer"}`:                                                                       1,
		`wasmcloud_refusals_total{reason="signature"}`:                                                                    1,
		`wasmcloud_refusals_total{reason="replay"}`:                                                                       0,
		`wasmcloud_link_established_total{contract="wasmcloud:keyvalue"}`:                                                 1,
		`wasmcloud_link_removed_total{contract="wasmcloud:keyvalue"}`:                                                     1,
		`wasmcloud_host_up`:                                                                     1,
		`nats_auth_failure_total{connection="rpc"}`:                                             0,
		`nats_auth_failure_total{connection="ctl"}`:                                             0,
		`wasmcloud_policy_denial_total{action="perform_invocation"}`:                            0,
		`wasmcloud_actor_instances{actor="` + echoKey + `"}`:                                    1,
		`wasmcloud_start_actors_failed`:                                                         0,
		`wasmcloud_host_info{host_id="` + h.ready.HostID + `",lattice="default",version="dev"}`: 1,
	}
	got := scrape(t, admin)
	for series, v := range want {
		g, ok := got[series]
		if !ok {
			t.Errorf("no sample %s", series)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", series, g, v)
		}
	}
	require.Equal(t, "all refusals", sumOf(got, "wasmcloud_refusals_total"), 2.0)
	require.Equal(t, "all starts", sumOf(got, "wasmcloud_actor_starts_total"), 2.0)
	require.Equal(t, "all invocations", sumOf(got, "wasmcloud_actor_invocations_total"), calls+1.0)
	if got["wasmcloud_replay_cache_entries"] < calls || got["wasmcloud_replay_cache_capacity"] < 1e6 {
		t.Errorf("replay cache %v of %v, want at least %d of the default 1000000", got["wasmcloud_replay_cache_entries"],
			got["wasmcloud_replay_cache_capacity"], calls)
	}
	if got["go_goroutines"] == 0 || got["process_resident_memory_bytes"] == 0 {
		t.Error("no Go runtime or process metrics")
	}

	status, report := readyz(t, admin)
	require.Equal(t, "readyz status", status, http.StatusOK)
	require.Equal(t, "readyz ready", report["ready"], any(true))
	a, err := httpGet(admin, "/healthz")
	require.NoError(t, err)
	require.Equal(t, "healthz", a, answer{status: http.StatusOK, body: "ok\n"})
	a, err = httpGet(admin, "/debug/pprof/")
	require.NoError(t, err)
	require.Equal(t, "profiles without WASMCLOUD_PPROF", a.status, http.StatusNotFound)
}

// TestPprof checks WASMCLOUD_PPROF through the binary: refused at start unless the admin listener is on
// loopback, and then the Go profiles of the daemon are served beside the metrics.
func TestPprof(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_PPROF", "true")
	_, port, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	stderr := startFails(t, "host on every interface", e.with("WASMCLOUD_ADMIN_ADDRESS", "0.0.0.0:"+port))
	contains(t, "stderr", stderr, "wasmcloud-host: invalid configuration:",
		`WASMCLOUD_PPROF: true with WASMCLOUD_ADMIN_ADDRESS "0.0.0.0:`+port+`", which is not a loopback address`)
	stderr = startFails(t, "host without admin listener", e)
	contains(t, "stderr", stderr, "WASMCLOUD_PPROF: true without WASMCLOUD_ADMIN_ADDRESS")

	admin := freeAddr(t)
	startHost(t, "host", e.with("WASMCLOUD_ADMIN_ADDRESS", admin))
	index, err := httpGet(admin, "/debug/pprof/")
	require.NoError(t, err)
	require.Equal(t, "index status", index.status, http.StatusOK)
	contains(t, "index", index.body, "goroutine")
	goroutines, err := httpGet(admin, "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	contains(t, "goroutine profile", goroutines.body, "host.(*Host)")
	heap, err := httpGet(admin, "/debug/pprof/heap")
	require.NoError(t, err)
	require.Equal(t, "heap status", heap.status, http.StatusOK)
	require.True(t, strings.HasPrefix(heap.body, "\x1f\x8b"), "heap profile is not gzipped protobuf: %.20q", heap.body)
	metrics, err := httpGet(admin, "/metrics")
	require.NoError(t, err)
	require.Equal(t, "metrics status", metrics.status, http.StatusOK)
}

// TestStartActorsThatFail starts a host whose WASMCLOUD_START_ACTORS names echo, a file that does not exist
// and a module whose code was changed after signing: the host serves echo, logs and counts both failures, and
// /readyz lists them. ctl start actor of a reference that cannot start waits for the outcome and exits 1 with
// the host's reason.
func TestStartActorsThatFail(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	admin := freeAddr(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.wasm")
	flipped := filepath.Join(dir, "flipped.wasm")
	require.NoError(t, os.WriteFile(flipped, flipCode(t, testutil.Actor(t, "echo.wasm")), 0o644))
	e := latticeEnv(t, srv, c).with("WASMCLOUD_ADMIN_ADDRESS", admin,
		"WASMCLOUD_START_ACTORS", missing+","+testutil.Path("actors/echo.wasm")+","+flipped)
	h := startHost(t, "host", e)

	require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	contains(t, "missing file logged", h.logLine(t, `msg="actor failed to start"`, "ref="+missing), "no such file")
	contains(t, "tampered module logged", h.logLine(t, `msg="actor failed to start"`, "ref="+flipped), "hash does not match")

	got := scrape(t, admin)
	require.Equal(t, "failed starts", got[`wasmcloud_actor_starts_total{actor="unknown",result="error"}`], 2.0)
	require.Equal(t, "start actors not running", got["wasmcloud_start_actors_failed"], 2.0)
	status, report := readyz(t, admin)
	require.Equal(t, "readyz status", status, http.StatusOK)
	states := map[string]string{}
	for _, s := range report["start_actors"].([]any) {
		m := s.(map[string]any)
		states[m["ref"].(string)] = m["state"].(string)
	}
	require.DeepEqual(t, "start actor states", states, map[string]string{missing: "failed", testutil.Path("actors/echo.wasm"): "running",
		flipped: "failed"})

	// Events about file references say only that the file was refused; the host's log says why.
	line := ctlFails(t, e, "start", "actor", missing, "--host", h.ready.HostID)
	contains(t, "ctl start actor", line, "start "+missing+" on host "+h.ready.HostID, "start_failed: host: actor file refused")
	line = ctlFails(t, e, "start", "actor", flipped, "--host", h.ready.HostID, "--wait-timeout", "1m")
	contains(t, "ctl start actor", line, "start_failed: host: actor file refused")
}

// TestWatchdog runs the host as systemd would with WatchdogSec=3: it says READY=1, then pings the watchdog.
func TestWatchdog(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "wd")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	startHost(t, "host", latticeEnv(t, srv, c).with("NOTIFY_SOCKET", sock, "WATCHDOG_USEC", "3000000"))

	var seen []string
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(pollTimeout)))
	buf := make([]byte, 4096)
	for !strings.Contains(strings.Join(seen, "|"), "WATCHDOG=1") {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("notifications so far %q: %v", seen, err)
		}
		seen = append(seen, string(buf[:n]))
	}
	if !strings.HasPrefix(seen[0], "READY=1") {
		t.Fatalf("first notification %q, want READY=1", seen[0])
	}
}

// TestClosedConnectionExits makes the NATS server close the host's RPC connection for good (a link whose
// subscription is longer than the server's maximum control line, set low here): the host says which connection closed and
// exits 1, so that its service manager restarts it.
func TestClosedConnectionExits(t *testing.T) {
	// A maximum control line that every client's CONNECT and the host's own subscriptions fit in, and a
	// subject of at most 1,024 bytes (the longest a link may name) does not.
	srv := runNATS(t, &server.Options{JetStream: true, MaxControlLine: 640})
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	wasm := testutil.BuildGuest(t, "examples/hello")
	path, key := signWithCaps(t, wasm, "hello", contractMessaging)
	h := launch(t, "host", e.with("WASMCLOUD_START_ACTORS", path))
	h.logLine(t, `msg="actor started"`, "actor="+key)
	p := builtinProviders(t, e, readyHostID(t, h))
	long := "x." + strings.Repeat("a", 900)
	ctlOK(t, e, "link", "put", key, p[contractMessaging], contractMessaging, "subscription="+long, "--skip-wait")
	require.Equal(t, "exit status", h.wait(t, readyTimeout), 1)
	h.checkOutput(t)
	line := h.logLine(t, `msg="host failing"`)
	contains(t, "failure line", line, "the rpc connection was closed", "maximum control line exceeded", "restarts the host")
	h.logLine(t, `msg="stopped after a failure"`)
}

// readyHostID waits for a launched host's readiness line and returns its host id.
func readyHostID(t testing.TB, h *hostProc) string {
	t.Helper()
	var line string
	require.Eventually(t, readyTimeout, func() bool {
		var ok bool
		line, ok = h.readyLine()
		return ok
	}, h.name+" ready")
	m := readyPattern.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("malformed readiness line %q", line)
	}
	h.ready = readyLine{HostID: m[1], ClusterKey: m[2], Lattice: m[3], NATSURL: m[4]}
	return m[1]
}
