package integration

// The attack suite: each test plays an attacker against the built binary on a loopback lattice — an actor
// signed by an account nobody trusts but linked by an operator, and a NATS user who holds no cluster key —
// and asserts both sides: the attack is refused, and nothing legitimate was lost (calls still answer with
// the right payload, counters advance exactly once per genuine request, links stay as the operator set them).

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// attacker builds examples/capabilities (an actor that publishes, requests, subscribes and uses key-value
// as its links allow, and answers every message it receives) and signs it with a fresh account that nobody
// lists anywhere.
func attacker(t testing.TB, name string) (path, key string) {
	t.Helper()
	return signWithCaps(t, testutil.BuildGuest(t, "examples/capabilities"), name,
		"wasmcloud:builtin:logging", "wasmcloud:builtin:numbergen", contractKeyValue, contractMessaging)
}

// echoAnswers calls echo n times through the CLI and requires the genuine reply every time.
func echoAnswers(t testing.TB, e env, n int) {
	t.Helper()
	for i := range n {
		require.Equal(t, fmt.Sprintf("echo reply %d", i), callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	}
}

// TestAttackWildcardSubscriptions: a messaging link cannot subscribe an actor to the lattice's own subjects
// by any spelling (wildcards, the inbox, another lattice's RPC), nor put it in another actor's or the host's
// queue group, whether the link is put through the control interface or written straight into the bucket.
func TestAttackWildcardSubscriptions(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	path, key := attacker(t, "wildcards")
	startActorOn(t, e, h, path, key)

	for _, values := range [][]string{
		{"subscription=>"},
		{"subscription=*.>"},
		{"subscription=*.rpc.default." + echoKey},
		{"subscription=wasmbus.rpc.default." + echoKey},
		{"subscription=*.ctl.>"},
		{"subscription=wasmbus.ctl.default.>"},
		{"subscription=_INBOX.>"},
		{"subscription=$JS.API.>"},
		{"subscription=demo.>", "queue=wasmbus.rpc.default." + echoKey},
		{"subscription=demo.>", "queue=wasmcloud-actor." + echoKey + ".default"},
	} {
		args := append([]string{"link", "put", key, p[contractMessaging], contractMessaging}, values...)
		contains(t, "refusal of "+strings.Join(values, " "), ctlFails(t, e, args...), "messaging: subject not allowed")
	}

	// A NATS user writes the link straight into the bucket: the host refuses to apply it.
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	injected := control.LinkDefinition{ActorID: key, ProviderID: p[contractMessaging], ContractID: contractMessaging,
		LinkName: "default", Values: map[string]string{"subscription": ">"}}
	b, _ := json.Marshal(injected)
	_, err = latticeBucket(t, nc).Put(t.Context(), linkKey(key, contractMessaging, "default"), b)
	require.NoError(t, err)
	h.logLine(t, `msg="could not apply a link`, "actor="+key, "subject not allowed")

	// Nothing was lost: every call to echo answers, with echo's own reply.
	echoAnswers(t, e, 10)
	ctlOK(t, e, "hosts")
}

// TestAttackForgedReplies: a NATS user who answers an actor's subject first, with unsigned replies, neither
// gets a caller to print its payload nor makes a call fail: the caller waits for the reply that verifies.
func TestAttackForgedReplies(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))

	forger, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer forger.Close()
	var forged sync.WaitGroup
	_, err = forger.Subscribe("wasmbus.rpc.default."+echoKey, func(m *nats.Msg) {
		var inv wire.Invocation
		if inv.UnmarshalMsgpack(m.Data) != nil {
			return
		}
		forged.Add(1)
		defer forged.Done()
		resp := wire.Response{InvocationID: inv.ID, Msg: []byte("forged"), ContentLength: 6}
		_ = m.Respond(resp.AppendMsgpack(nil))
	})
	require.NoError(t, err)
	require.NoError(t, forger.Flush())

	echoAnswers(t, e, 10)
	forged.Wait()
}

// TestAttackLatticeBuckets: a key-value link cannot name the lattice's own buckets, at put or on a call
// through a link written straight into the bucket, and an operator can restrict links to a list of
// buckets. The genuine links stay as the operator set them.
func TestAttackLatticeBuckets(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e.with("WASMCLOUD_KV_ALLOWED_BUCKETS", "tenant_*"))
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
	path, key := attacker(t, "buckets")
	startActorOn(t, e, h, path, key)

	for _, bucket := range []string{"LATTICEDATA_default", "LATTICEDATA_other", "CONFIGDATA_default", "WASMCLOUD_ONCE_default", "elsewhere"} {
		contains(t, "refusal of bucket "+bucket,
			ctlFails(t, e, "link", "put", key, p[contractKeyValue], contractKeyValue, "bucket="+bucket),
			"keyvalue: bucket not allowed")
	}

	// Written straight into the bucket, the link exists, but every call through it is refused.
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	kv := latticeBucket(t, nc)
	injected := control.LinkDefinition{ActorID: key, ProviderID: p[contractKeyValue], ContractID: contractKeyValue,
		LinkName: "default", Values: map[string]string{"bucket": "LATTICEDATA_default"}}
	b, _ := json.Marshal(injected)
	_, err = kv.Put(t.Context(), linkKey(key, contractKeyValue, "default"), b)
	require.NoError(t, err)
	// The key whose encoding under no prefix is LINKDEF_<echo's HTTP link>: what the attack of the issue used.
	target := linkKey(echoKey, contractHTTPServer, "default")
	require.Eventually(t, pollTimeout, func() bool {
		r := cli(t, e, "call", key, "Caps.Set", "--data", `{"key":"x","value":"{}"}`)
		return r.code == 1 && strings.Contains(r.stderr, "keyvalue: bucket not allowed")
	}, "the call through the injected link to be refused")
	entry, err := kv.Get(t.Context(), target)
	require.NoError(t, err)
	var kept control.LinkDefinition
	require.NoError(t, json.Unmarshal(entry.Value(), &kept))
	require.Equal(t, "echo's link address", kept.Values["address"], addr)
	require.Equal(t, "echo over HTTP", served(t, addr, "/").status, http.StatusOK)

	// A bucket the operator allows works.
	linkPut(t, e, key, p[contractKeyValue], contractKeyValue, "bucket=tenant_a", "prefix=app")
	require.Equal(t, "set", callOK(t, e, key, "Caps.Set", `{"key":"k","value":"v"}`), `{"ok":true}`)
	require.Equal(t, "get", callOK(t, e, key, "Caps.Get", `{"key":"k"}`), `{"exists":true,"value":"v"}`)
}

// TestAttackConfiguredControlPrefix: the reserved subjects follow the configuration: with the control
// interface under acme.ctl, an actor allowed to publish on acme.> still cannot reach it.
func TestAttackConfiguredControlPrefix(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t)).with("WASMCLOUD_CTL_TOPIC_PREFIX", "acme.ctl")
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	path, key := attacker(t, "prefix")
	startActorOn(t, e, h, path, key)
	linkPut(t, e, key, p[contractMessaging], contractMessaging, "publish=acme.>")

	stop := "acme.ctl.default.cmd." + h.ready.HostID + ".stop"
	r := cli(t, e, "call", key, "Caps.Publish", "--data", `{"subject":"`+stop+`","body":"{}"}`)
	require.Equal(t, "exit status", r.code, 1)
	contains(t, "refusal", r.stderr, "messaging: subject not allowed", "lattice's own subjects (acme.ctl.>)")

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	sub, err := nc.SubscribeSync("acme.orders")
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	require.Equal(t, "publish inside the link", callOK(t, e, key, "Caps.Publish", `{"subject":"acme.orders","body":"o"}`), `{"ok":true}`)
	m, err := sub.NextMsg(cliTimeout)
	require.NoError(t, err)
	require.Equal(t, "published", string(m.Data), "o")
	require.False(t, h.exited(), "the host stopped")
	ctlOK(t, e, "hosts")
}

// rss returns the resident set size of a process in bytes.
func rss(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestAttackHTTPDeclaredLength: 200 connections that announce a 10 MB body and send 1 KB cost the host about
// what they sent, not what they announced; a genuine request meanwhile is served, and so are requests after.
func TestAttackHTTPDeclaredLength(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr, "max_concurrent=300")
	require.Equal(t, "before", served(t, addr, "/").status, http.StatusOK)

	before := rss(t, h.cmd.Process.Pid)
	peak := before
	// Three rounds: memory the first round left to the garbage collector is reused (and so touched) by the
	// next, so what the rounds allocate shows in the resident set.
	for round := range 3 {
		const clients = 200
		var conns []net.Conn
		for range clients {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			conns = append(conns, c)
			_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n%s", strings.Repeat("x", 1024))
			require.NoError(t, err)
		}
		// A genuine request while the others wait for their bodies: it is served.
		a, err := httpGet(addr, fmt.Sprintf("/during/%d", round))
		require.NoError(t, err)
		require.Equal(t, "during", a.status, http.StatusOK)
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
			peak = max(peak, rss(t, h.cmd.Process.Pid))
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}
	// 200 × 10 MB would be 2 GB; what arrived is 200 KB per round.
	require.True(t, peak-before < 100<<20, "RSS grew from %d to %d bytes", before, peak)
	require.Equal(t, "after", served(t, addr, "/after").status, http.StatusOK)
}

// TestAttackFileReferenceOracle: with file references allowed, the public event for a file the host cannot
// start says only that it was refused, the same for a path that does not exist, a file that is no module,
// and a device that never ends; the reasons stay in the host's log, and the host keeps serving.
func TestAttackFileReferenceOracle(t *testing.T) {
	srv := runNATS(t, nil)
	w := watchEvents(t, srv)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "secret.wasm")
	require.NoError(t, os.WriteFile(notWasm, []byte("not a module"), 0o600))
	refs := []string{filepath.Join(dir, "missing.wasm"), notWasm, "/dev/zero", dir + "/"}
	var errs []string
	for _, ref := range refs {
		// ctl waits for the outcome and fails with what the event says.
		contains(t, "ctl start actor", ctlFails(t, e, "start", "actor", ref, "--host", h.ready.HostID), "host: actor file refused")
		ev := w.wait(t, "actors_start_failed", func(ev latticeEvent) bool { return ev.str("image_ref") == ref })
		errs = append(errs, ev.str("error"))
		require.Equal(t, "public key in the event for "+ref, ev.str("public_key"), "")
	}
	for i, msg := range errs {
		require.Equal(t, "event error for "+refs[i], msg, "host: actor file refused (the host's log says why)")
	}
	h.logLine(t, `msg="actor file refused"`, "no such file or directory")
	h.logLine(t, `msg="actor file refused"`, "/dev/zero", "not a regular file")
	echoAnswers(t, e, 3)
}

// TestAttackReplayCacheFlood: HTTP requests nobody authenticated cannot fill the replay cache that protects
// the cluster members' calls: after a flood of requests, every cluster member's call still answers. (Requests
// served on the actor's own host take no place in the cache; across hosts they have a share of their own,
// which rpc's tests fill.)
func TestAttackReplayCacheFlood(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	// 640 entries, 10 per shard: the cluster calls below cannot fill a shard by chance, the 400 flood
	// requests could fill the whole cache if they took entries.
	h := startHost(t, "host", e.with("WASMCLOUD_REPLAY_CACHE_SIZE", "640"))
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "first request", served(t, addr, "/").status, http.StatusOK)

	var wg sync.WaitGroup
	var failed sync.Map
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				a, err := httpGet(addr, fmt.Sprintf("/flood/%d/%d", w, i))
				if err != nil || a.status != http.StatusOK {
					failed.Store(fmt.Sprint(w, i), fmt.Sprint(a.status, err))
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(k, v any) bool {
		t.Errorf("flood request %v: %v", k, v)
		return true
	})
	echoAnswers(t, e, 5)
}

// TestAttackAliasTakeover: an actor of another account that claims a call alias never receives the alias's
// calls: not after the owner's actor restarts, not on the host where the claimant runs, not on a host
// started later, and not after a NATS user deletes the ownership record. The clash is an event.
func TestAttackAliasTakeover(t *testing.T) {
	srv := runNATS(t, nil)
	w := watchEvents(t, srv)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	thiefPath, thiefKey := signActor(t, testutil.BuildGuest(t, "examples/capabilities"), "thief", "hello")
	callerPath, callerKey := guest(t, "examples/caller", "")
	a := startHost(t, "host A", latticeEnv(t, srv, c))
	b := startHost(t, "host B", latticeEnv(t, srv, c))

	startActorOn(t, e, a, helloPath, helloKey)
	owner := w.wait(t, "actors_started", func(ev latticeEvent) bool { return ev.str("public_key") == helloKey })
	ownerAccount := owner.data["claims"].(map[string]any)["issuer"].(string)
	startActorOn(t, e, b, thiefPath, thiefKey)

	// The owner's actor restarts: its claims entry is written again, after the thief's.
	ctlOK(t, e, "stop", "actor", helloKey, "--host", a.ready.HostID)
	a.logLine(t, `msg="actor stopped"`, "actor="+helloKey)
	startActorOn(t, e, a, helloPath, helloKey)

	// A host started now, with a caller; and the caller on host B, where the thief runs.
	cHost := startHost(t, "host C", latticeEnv(t, srv, c))
	startActorOn(t, e, cHost, callerPath, callerKey)
	calls := 0
	for range 3 {
		require.Equal(t, "CLI by alias", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
		calls++
		require.Equal(t, "caller by alias", callOK(t, e, callerKey, "Caller.Relay", `{"target":"hello","name":"Ada"}`),
			`{"relayed":"Hello, Ada!","via":"caller"}`)
		calls++
	}
	callerBPath, callerBKey := guest(t, "examples/caller", "")
	startActorOn(t, e, b, callerBPath, callerBKey)
	require.Equal(t, "caller next to the thief", callOK(t, e, callerBKey, "Caller.Relay", `{"target":"hello","name":"Ada"}`),
		`{"relayed":"Hello, Ada!","via":"caller"}`)
	calls++

	// A NATS user deletes the ownership record; the hosts restore it, and the alias stays with the owner.
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	kv := latticeBucket(t, nc)
	require.NoError(t, kv.Delete(t.Context(), "ALIAS_aGVsbG8"))
	require.EventuallyNoError(t, pollTimeout, func() error {
		_, err := kv.Get(t.Context(), "ALIAS_aGVsbG8")
		return err
	}, "the ownership record to be restored")
	require.Equal(t, "CLI by alias after the deletion", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
	calls++
	require.Equal(t, "calls that reached hello", callOK(t, e, helloKey, "Hello.Calls", ""), fmt.Sprintf(`{"calls":%d}`, calls+1))

	// The clash was told to the lattice and logged.
	clash := w.wait(t, "call_alias_clash", func(ev latticeEvent) bool { return ev.str("claimant") == thiefKey })
	require.Equal(t, "owner in the clash event", clash.str("owner"), ownerAccount)
	b.logLine(t, `msg="call alias clash`, "call_alias=hello", "claimant="+thiefKey)
}

// TestAttackSeedsInConfiguration: a seed pasted in any letter case where a public key belongs is not echoed,
// and a seed file other users can read is refused with the file and the fix named.
func TestAttackSeedsInConfiguration(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	lower := strings.ToLower(c.key.seed)
	out := startFails(t, "seed in the issuers", e.with("WASMCLOUD_CLUSTER_ISSUERS", lower))
	contains(t, "stderr", out, "WASMCLOUD_CLUSTER_ISSUERS", "looks like a seed and is not shown")

	shared := writeSecret(t, "shared.nk", []byte(c.key.seed+"\n"))
	require.NoError(t, os.Chmod(shared, 0o644))
	out = startFails(t, "readable seed file", e.with("WASMCLOUD_CLUSTER_SEED_FILE", shared))
	contains(t, "stderr", out, "WASMCLOUD_CLUSTER_SEED_FILE", "readable by group or others (mode 0644)", "chmod 600 "+shared)
}

// TestAttackReplayAcrossHosts: an invocation captured on the wire and replayed is refused by every host of
// the lattice, not only by the one that ran it: with kvcounter on two hosts, the counter advances exactly
// once per genuine call however often the capture is replayed.
func TestAttackReplayAcrossHosts(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	kvcounter := testutil.Path("actors/kvcounter.wasm")
	a := startHost(t, "host A", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", kvcounter))
	startHost(t, "host B", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", kvcounter))
	p := builtinProviders(t, e, a.ready.HostID)
	linkPut(t, e, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=replay_counts")

	spy, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer spy.Close()
	captured := make(chan []byte, 16)
	_, err = spy.Subscribe("wasmbus.rpc.default."+kvcounterKey, func(m *nats.Msg) { captured <- m.Data })
	require.NoError(t, err)
	require.NoError(t, spy.Flush())

	request := `{"method":"GET","path":"/","queryString":"","header":{},"body":""}`
	counter := func(n int) string {
		return fmt.Sprintf(`{"body":"{\"counter\":%d}","header":{},"statusCode":200}`, n)
	}
	require.Equal(t, "first genuine call", callOK(t, e, kvcounterKey, "HttpServer.HandleRequest", request), counter(1))
	capture := <-captured
	for i := range 8 {
		reply, err := spy.Request("wasmbus.rpc.default."+kvcounterKey, capture, cliTimeout)
		require.NoError(t, err, "replay %d", i)
		var resp wire.Response
		require.NoError(t, resp.UnmarshalMsgpack(reply.Data))
		contains(t, fmt.Sprintf("answer to replay %d", i), resp.Error, "rpc: invocation replayed")
	}
	require.Equal(t, "second genuine call", callOK(t, e, kvcounterKey, "HttpServer.HandleRequest", request), counter(2))
}
