package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/natstest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// The fault tests drive the binary through the faults an operator meets: a NATS server restarted under load,
// a JetStream cluster that loses a node, a lattice bucket that is not there when a host starts, a host killed
// with SIGKILL, a host stopped with SIGTERM under load. Each waits for recovery with a generous bound; none
// measures how long recovery took.

// restartable is an in-process nats-server on a fixed port that a test stops and starts again, with the same
// JetStream store.
type restartable struct {
	t     testing.TB
	port  int
	store string
	srv   *server.Server
}

func newRestartable(t testing.TB, jetStream bool) *restartable {
	t.Helper()
	addr := freeAddr(t)
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	r := &restartable{t: t, port: port, store: t.TempDir()}
	r.start(jetStream)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start(jetStream bool) {
	r.t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: r.port, NoSigs: true, NoLog: true,
		JetStream: jetStream, StoreDir: r.store})
	if err != nil {
		r.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		srv.Shutdown()
		r.t.Fatal("nats-server not ready")
	}
	r.srv = srv
}

func (r *restartable) stop() {
	if r.srv != nil {
		r.srv.Shutdown()
		r.srv.WaitForShutdown()
		r.srv = nil
	}
}

func (r *restartable) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", r.port) }

// urlEnv is the environment of a host (or CLI) whose both connections use the server list urls.
func urlEnv(t testing.TB, urls string, c cluster) env {
	t.Helper()
	return env{
		"WASMCLOUD_RPC_URLS":          urls,
		"WASMCLOUD_CTL_URLS":          urls,
		"WASMCLOUD_NATS_EMBEDDED":     "false",
		"WASMCLOUD_STATE_DIR":         t.TempDir(),
		"WASMCLOUD_CLUSTER_SEED_FILE": c.file,
		"WASMCLOUD_ALLOW_FILE_LOAD":   "true",
		"WASMCLOUD_LOG_LEVEL":         "info",
	}
}

// kvLoad sends GETs to kvcounter behind an HTTP link from several workers until stopped, and records every
// counter value it was answered with.
type kvLoad struct {
	addr string
	base int // increments made before the load started
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	seen   map[int]int // counter value → how often it was answered; guarded by mu
	ok     int         // guarded by mu
	failed int         // guarded by mu
}

func startKVLoad(t testing.TB, addr string, base, workers int) *kvLoad {
	l := &kvLoad{addr: addr, base: base, stop: make(chan struct{}), seen: map[int]int{}}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				n, err := kvGet(addr)
				l.mu.Lock()
				if err != nil {
					l.failed++
				} else {
					l.ok++
					l.seen[n]++
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // pace the retries while the fault lasts
				}
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

// kvGet sends one GET and returns the counter kvcounter answered with.
func kvGet(addr string) (int, error) {
	a, err := httpGet(addr, "/")
	if err != nil {
		return 0, err
	}
	if a.status != http.StatusOK {
		return 0, fmt.Errorf("status %d: %s", a.status, a.body)
	}
	var v struct {
		Counter int `json:"counter"`
	}
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		return 0, fmt.Errorf("body %q: %w", a.body, err)
	}
	return v.Counter, nil
}

func (l *kvLoad) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func (l *kvLoad) counts() (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.failed
}

// waitMore waits until n more GETs succeeded than when it was called.
func (l *kvLoad) waitMore(t testing.TB, n int, what string) {
	t.Helper()
	start, _ := l.counts()
	require.Eventually(t, 90*time.Second, func() bool {
		ok, _ := l.counts()
		return ok >= start+n
	}, what)
}

// check stops the load and checks that no increment was repeated (no value answered twice) or lost (the
// counter is at least the number of successful GETs, and exceeds it by at most the number that failed, whose
// increments may or may not have happened).
func (l *kvLoad) check(t testing.TB) {
	t.Helper()
	l.halt()
	final, err := kvGet(l.addr)
	require.NoError(t, err)
	l.mu.Lock()
	defer l.mu.Unlock()
	for v, n := range l.seen {
		if n > 1 {
			t.Errorf("counter value %d answered %d times: an increment was repeated or lost", v, n)
		}
	}
	ok := l.base + l.ok + 1 // and the final GET
	if final < ok || final-ok > l.failed {
		t.Errorf("counter %d after %d successful and %d failed GETs: increments lost or repeated", final, ok, l.failed)
	}
	t.Logf("%d GETs succeeded, %d failed during the fault; counter %d", ok, l.failed, final)
}

// kvcounterServed starts kvcounter's links on host h, key-value in bucket and HTTP on addr, and waits until it
// answers there (which counts one).
func kvcounterServed(t testing.TB, e env, h *hostProc, bucket, addr string) {
	t.Helper()
	p := builtinProviders(t, e, h.ready.HostID)
	linkPut(t, e, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket="+bucket)
	linkPut(t, e, kvcounterKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
	served(t, addr, "/")
}

// TestFaultNATSRestart restarts the NATS server under load: the host reconnects by itself and serves again
// without a restart, with its actor, links and counts intact.
func TestFaultNATSRestart(t *testing.T) {
	n := newRestartable(t, true)
	c := newCluster(t)
	e := urlEnv(t, n.url(), c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/kvcounter.wasm")))
	addr := freeAddr(t)
	kvcounterServed(t, e, h, "restart", addr)

	load := startKVLoad(t, addr, 1, 2)
	load.waitMore(t, 10, "GETs before the restart")
	n.stop()
	n.start(true)
	load.waitMore(t, 10, "GETs after the NATS server came back")
	load.check(t)
	if h.exited() {
		t.Fatalf("the host exited: %s", h.stderr)
	}
	h.logLine(t, `msg="nats reconnected"`, "connection=rpc")
	h.logLine(t, `msg="nats reconnected"`, "connection=ctl")
	require.Equal(t, "links", len(ctlJSON[[]control.LinkDefinition](t, e, "link", "get")), 2)
	checkRuns(t, inventory(t, e, h.ready.HostID), kvcounterKey, testutil.Path("actors/kvcounter.wasm"), 1)
}

// TestFaultJetStreamNodeLoss stops the node of a three-node JetStream cluster that leads the counter's
// bucket, under load: key-value calls work again within seconds, no count is lost or repeated, and link
// changes are accepted while the node is down. The host's buckets were created with three replicas.
func TestFaultJetStreamNodeLoss(t *testing.T) {
	cl := natstest.RunCluster(t, "faults", 3)
	c := newCluster(t)
	e := urlEnv(t, cl.URLs(), c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/kvcounter.wasm")))
	const bucket = "nodeloss"
	addr := freeAddr(t)
	kvcounterServed(t, e, h, bucket, addr)

	nc, err := nats.Connect(cl.URLs())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	for _, stream := range []string{"KV_" + bucket, "KV_" + lattice.DataBucket("default"), "KV_" + lattice.OnceBucket("default")} {
		s, err := js.Stream(t.Context(), stream)
		require.NoError(t, err)
		require.Equal(t, stream+" replicas", s.CachedInfo().Config.Replicas, 3)
	}

	load := startKVLoad(t, addr, 1, 2)
	load.waitMore(t, 10, "GETs before the node loss")
	leader := -1
	require.Eventually(t, pollTimeout, func() bool {
		for i := range cl.Len() {
			if s := cl.Server(i); s != nil && s.JetStreamIsStreamLeader("$G", "KV_"+bucket) {
				leader = i
				return true
			}
		}
		return false
	}, "a leader of the counter's stream")
	cl.Stop(leader)
	load.waitMore(t, 10, "GETs after the node loss")
	p := builtinProviders(t, e, h.ready.HostID)
	linkPut(t, e, kvcounterKey, p[contractKeyValue], contractKeyValue, "--link-name", "other", "bucket="+bucket+"-other")
	load.check(t)
	cl.Restart(leader)
}

// TestFaultLatticeBucketUnavailable starts a host while the lattice bucket cannot be reached (JetStream is
// off): the host serves its actor, never answers the lattice-wide queries with an empty copy, and once
// JetStream is back it loads the bucket and applies the link it holds.
func TestFaultLatticeBucketUnavailable(t *testing.T) {
	n := newRestartable(t, true)
	addr := freeAddr(t)
	const httpProvider = "VCF5SU6YJF4VOJX65JHPTP75IBN422J3YXXPCRHP3AVJ5QYBFODRSMLQ"
	func() { // a link stored while JetStream was there
		nc, err := nats.Connect(n.url())
		require.NoError(t, err)
		defer nc.Close()
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: lattice.DataBucket("default"), History: 1})
		require.NoError(t, err)
		key := lattice.LinkKey(echoKey, contractHTTPServer, "default")
		l := control.LinkDefinition{ID: strings.TrimPrefix(key, "LINKDEF_"), ActorID: echoKey, ProviderID: httpProvider,
			ContractID: contractHTTPServer, LinkName: "default", Values: map[string]string{"address": addr}}
		b, _ := json.Marshal(l)
		_, err = kv.Put(t.Context(), key, b)
		require.NoError(t, err)
	}()
	n.stop()
	n.start(false)

	c := newCluster(t)
	admin := freeAddr(t)
	// Without JetStream the lattice-wide replay record is unavailable too, and refuses every invocation (fail
	// closed); this test is about the lattice bucket, so replays are checked per host.
	e := urlEnv(t, n.url(), c).with("WASMCLOUD_REPLAY_SCOPE", "host")
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm"), "WASMCLOUD_ADMIN_ADDRESS", admin))
	h.logLine(t, `msg="lattice data unavailable; retrying"`)
	require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	for range 3 {
		r := cli(t, e, "ctl", "link", "get", "--json")
		if r.code == 0 {
			t.Fatalf("ctl link get answered %q while no host has the lattice bucket", r.stdout)
		}
		contains(t, "ctl link get", r.stderr, "no host answered")
	}
	status, report := readyz(t, admin)
	require.Equal(t, "readyz while the bucket is missing", status, http.StatusServiceUnavailable)
	require.Equal(t, "lattice_data_loaded", report["lattice_data_loaded"], any(false))

	require.NoError(t, n.srv.EnableJetStream(&server.JetStreamConfig{StoreDir: n.store}))
	a := served(t, addr, "/")
	require.Equal(t, "echo over the link from the bucket", a.status, http.StatusOK)
	links := ctlJSON[[]control.LinkDefinition](t, e, "link", "get")
	require.Equal(t, "links", len(links), 1)
	require.Eventually(t, pollTimeout, func() bool { s, _ := readyz(t, admin); return s == http.StatusOK }, "ready")
}

// TestFaultKill9 kills a host with SIGKILL and starts it again: its actor, its links and the count are back.
func TestFaultKill9(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", testutil.Path("actors/kvcounter.wasm"))
	h := startHost(t, "host", e)
	addr := freeAddr(t)
	kvcounterServed(t, e, h, "kill9", addr) // the first GET: 1
	for want := 2; want <= 3; want++ {
		n, err := kvGet(addr)
		require.NoError(t, err)
		require.Equal(t, "counter", n, want)
	}
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGKILL))
	h.wait(t, stopTimeout)
	connRefused(t, addr)

	h2 := startHost(t, "host again", e)
	a := served(t, addr, "/")
	require.Equal(t, "count after the restart", a.body, `{"counter":4}`)
	checkRuns(t, inventory(t, e, h2.ready.HostID), kvcounterKey, testutil.Path("actors/kvcounter.wasm"), 1)
	require.Equal(t, "links", len(ctlJSON[[]control.LinkDefinition](t, e, "link", "get")), 2)
}

// TestFaultSIGTERMUnderLoad stops one of two hosts that serve echo with SIGTERM while calls flow: no call
// fails, because the stopping host answers what it received and the other takes the rest.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm"))
	h1 := startHost(t, "host 1", e)
	startHost(t, "host 2", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	signer := testCluster(t, c.seed)
	var (
		mu       sync.Mutex
		ok       int
		failures []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				inv := &wire.Invocation{Origin: wire.Entity{PublicKey: signer.HostID()}, Target: wire.Entity{PublicKey: echoKey},
					Operation: "HttpServer.HandleRequest", Msg: httpRequest([]byte("x"))}
				if err := signer.Sign(inv); err != nil {
					panic(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
				reply, err := nc.RequestWithContext(ctx, "wasmbus.rpc.default."+echoKey, inv.AppendMsgpack(nil))
				cancel()
				problem := ""
				if err != nil {
					problem = err.Error()
				} else if resp, err := signer.VerifyResponse(reply.Data, inv.ID); err != nil {
					problem = err.Error()
				} else if resp.Error != "" {
					problem = resp.Error
				}
				mu.Lock()
				if problem != "" {
					failures = append(failures, problem)
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	done := func() int { mu.Lock(); defer mu.Unlock(); return ok }
	require.Eventually(t, pollTimeout, func() bool { return done() >= 50 }, "calls before SIGTERM")
	require.Equal(t, "host 1 exit status", h1.stop(t), 0)
	after := done()
	require.Eventually(t, pollTimeout, func() bool { return done() >= after+50 }, "calls after host 1 stopped")
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed, first: %s", len(failures), ok+len(failures), failures[0])
	}
	t.Logf("%d calls, none failed", ok)
}

// TestFaultNATSDownAtStart starts a host before its NATS server: it waits for the server instead of exiting,
// and is ready once the server is up.
func TestFaultNATSDownAtStart(t *testing.T) {
	n := newRestartable(t, true)
	n.stop()
	c := newCluster(t)
	e := urlEnv(t, n.url(), c)
	h := launch(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h.logLine(t, `msg="no NATS server reachable; retrying"`, "connection=rpc")
	n.start(true)
	readyHostID(t, h)
	require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	require.Equal(t, "exit status", h.stop(t), 0)
	h.checkOutput(t)
}

// TestFaultSIGTERMWhileNATSDown stops a host with SIGTERM while its NATS server is down: it does not wait for
// a drain that cannot happen, and exits 0 within the harness's stop bound.
func TestFaultSIGTERMWhileNATSDown(t *testing.T) {
	n := newRestartable(t, true)
	c := newCluster(t)
	e := urlEnv(t, n.url(), c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	n.stop()
	h.logLine(t, `msg="nats disconnected"`, "connection=rpc")
	require.Equal(t, "exit status", h.stop(t), 0)
	h.logLine(t, "msg=stopped")
}

// TestRefusalFlood sends many invocations signed by a cluster the host does not trust: every one is counted,
// and the log holds only a sample of them.
func TestRefusalFlood(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	admin := freeAddr(t)
	h := startHost(t, "host", latticeEnv(t, srv, c).with("WASMCLOUD_ADMIN_ADDRESS", admin,
		"WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	untrusted := testCluster(t, newCluster(t).seed)
	const flood = 200
	for range flood {
		inv := &wire.Invocation{Origin: wire.Entity{PublicKey: untrusted.HostID()}, Target: wire.Entity{PublicKey: echoKey},
			Operation: "HttpServer.HandleRequest", Msg: httpRequest([]byte("x"))}
		require.NoError(t, untrusted.Sign(inv))
		_, err := nc.Request("wasmbus.rpc.default."+echoKey, inv.AppendMsgpack(nil), cliTimeout)
		require.NoError(t, err)
	}
	require.Equal(t, "refusals counted", scrape(t, admin)[`wasmcloud_refusals_total{reason="issuer"}`], float64(flood))
	lines := strings.Count(h.stderr.String(), `msg="refused invocation"`)
	if lines < 1 || lines > 20 {
		t.Fatalf("%d log lines for %d refusals, want a sample of at most 20", lines, flood)
	}
}
