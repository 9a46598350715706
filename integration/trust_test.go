package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// reload sends SIGHUP to the host and waits for a log line of the reload that follows with every part.
func (p *hostProc) reload(t testing.TB, parts ...string) string {
	t.Helper()
	off := len(p.stderr.String())
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %s: %v", p.name, err)
	}
	var found string
	require.Eventually(t, pollTimeout, func() bool {
		found = findLine(p.stderr.String()[off:], parts...)
		return found != ""
	}, p.name+" reload log line with "+strings.Join(parts, " "))
	return found
}

// writeFile replaces the content of a file an operator edits in place (an issuers list, a seed file, a
// revocations file), keeping its mode.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// load calls, from outside any host, until stopped: Caller.Relay on one host (which calls hello on another
// through its call alias) and Hello.SayHello straight. It signs with its own cluster state, which the test
// rotates along with the hosts, like one more member of the cluster.
type load struct {
	cluster  *rpc.Cluster
	ok       atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	done     sync.WaitGroup
}

func startLoad(t *testing.T, nc *nats.Conn, seed string, callerKey, helloKey, alias string) *load {
	t.Helper()
	caller, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	c, err := rpc.New(rpc.Config{ClusterSeed: []byte(seed), HostID: caller.Public().String(), Lattice: "default",
		ReplayCapacity: 1 << 16, RequireSignedResponses: true})
	require.NoError(t, err)
	l := &load{cluster: c, stop: make(chan struct{})}
	calls := []struct {
		target, op string
		payload    []byte
		want       string
	}{
		{callerKey, "Caller.Relay", packMap(t, "target", alias, "name", "relayed"), "Hello, relayed!"},
		{helloKey, "Hello.SayHello", packMap(t, "name", "direct"), "Hello, direct!"},
	}
	for w := range 2 {
		l.done.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				call := calls[(w+i)%len(calls)]
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				reply, err := client.Invoke(ctx, nc, c, "default", call.target, call.op, call.payload, 10*time.Second)
				cancel()
				if err == nil && !strings.Contains(string(reply), call.want) {
					err = fmt.Errorf("reply %q", reply)
				}
				if err != nil {
					l.mu.Lock()
					l.failures = append(l.failures, fmt.Sprintf("%s: %v", call.op, err))
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

// progress waits until n more calls than now have answered.
func (l *load) progress(t testing.TB, n int64) {
	t.Helper()
	want := l.ok.Load() + n
	require.Eventually(t, pollTimeout, func() bool { return l.ok.Load() >= want }, "%d more calls to answer", n)
}

func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

// TestClusterKeyRotation rotates the cluster key of three hosts under continuous load, with reloads only:
// every host trusts the new key, then each in turn signs with it, then every host drops the old one. Not one
// call fails, a call alias keeps its owner (its record is signed again with the new key), and afterwards the
// retired key opens nothing.
func TestClusterKeyRotation(t *testing.T) {
	srv := runNATS(t, nil)
	oldKey, newKey := newCluster(t), newKey(t, nkeys.PrefixByteCluster)
	const alias = "rotation-hello"
	helloPath, helloKey := guest(t, "examples/hello", alias)
	callerPath, callerKey := guest(t, "examples/caller", "")

	type member struct {
		h                 *hostProc
		seedFile, issuers string
	}
	var members []member
	for i, actors := range []string{callerPath, helloPath, helloPath} {
		dir := t.TempDir()
		m := member{seedFile: filepath.Join(dir, "cluster.nk"), issuers: filepath.Join(dir, "cluster-issuers")}
		writeFile(t, m.seedFile, oldKey.seed+"\n", 0o600)
		writeFile(t, m.issuers, "# the cluster keys this host trusts besides its own\n", 0o644)
		e := latticeEnv(t, srv, oldKey).with("WASMCLOUD_CLUSTER_SEED_FILE", m.seedFile,
			"WASMCLOUD_CLUSTER_ISSUERS_FILE", m.issuers, "WASMCLOUD_START_ACTORS", actors)
		m.h = startHost(t, fmt.Sprint("host ", i), e)
		members = append(members, m)
	}
	for _, m := range members[1:] {
		m.h.logLine(t, `msg="actor started"`, "actor="+helloKey)
	}
	members[0].h.logLine(t, `msg="actor started"`, "actor="+callerKey)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	l := startLoad(t, nc, oldKey.seed, callerKey, helloKey, alias)
	l.progress(t, 20)

	// 1. Every host, and the load, trusts the new key as well.
	for _, m := range members {
		writeFile(t, m.issuers, oldKey.pub+"\n"+newKey.pub+"\n", 0o644)
		m.h.reload(t, `msg=reloaded`, "cluster issuers: ", newKey.pub)
	}
	require.NoError(t, l.cluster.SetIssuers([]string{oldKey.pub, newKey.pub}))
	l.progress(t, 20)

	// 2. Each host in turn signs with the new key; the load switches half-way.
	for i, m := range members {
		writeFile(t, m.seedFile, newKey.seed+"\n", 0o600)
		m.h.reload(t, `msg=reloaded`, "cluster key: "+oldKey.pub+" -> "+newKey.pub)
		if i == 1 {
			require.NoError(t, l.cluster.SetKey([]byte(newKey.seed)))
		}
		l.progress(t, 10)
	}

	// The first host to sign with the new key signed the alias record again with it.
	members[0].h.logLine(t, `msg="call alias records signed again after a trust change"`, "records=1")

	// 3. Every host, and the load, drops the old key.
	for _, m := range members {
		writeFile(t, m.issuers, newKey.pub+"\n", 0o644)
		m.h.reload(t, `msg=reloaded`, "cluster issuers: ")
	}
	require.NoError(t, l.cluster.SetIssuers(nil))
	l.progress(t, 20)
	l.halt()
	require.Equal(t, "failed calls during the rotation", strings.Join(l.failures, "\n"), "")
	t.Logf("%d calls answered during the rotation", l.ok.Load())

	newOnly := latticeEnv(t, srv, cluster{key: newKey, file: writeSecret(t, "new.nk", []byte(newKey.seed+"\n"))})
	t.Run("the retired key opens nothing", func(t *testing.T) {
		got := callFails(t, latticeEnv(t, srv, oldKey), helloKey, "Hello.SayHello", `{"name":"old"}`)
		contains(t, "stderr", got, "rpc: issuer is not among the trusted cluster issuers: "+oldKey.pub)
	})
	t.Run("the alias keeps its owner under the new key alone", func(t *testing.T) {
		// A client that trusts only the new key finds the owner's record.
		require.Equal(t, "call through the alias", callOK(t, newOnly, alias, "Hello.SayHello", `{"name":"Bo"}`), `{"message":"Hello, Bo!"}`)
		// A host that never knew the old key, with an actor of another account that claims the alias (one
		// that cannot answer Hello.SayHello, so a call it took over would fail).
		thief, _ := guest(t, "examples/caller", alias)
		d := startHost(t, "host 3", newOnly.with("WASMCLOUD_START_ACTORS", thief))
		d.logLine(t, `msg="actor started"`)
		for range 5 {
			require.Equal(t, "call through the alias", callOK(t, newOnly, alias, "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
		}
		d.logLine(t, `msg="call alias clash`, "call_alias="+alias)
	})
}

// TestReloadKeepsWhatIsInForce: a reload whose configuration does not load changes nothing (the host keeps
// serving with the keys it had), and one that loads applies exactly what changed.
func TestReloadKeepsWhatIsInForce(t *testing.T) {
	srv := runNATS(t, nil)
	own, other := newCluster(t), newCluster(t)
	dir := t.TempDir()
	issuers, seedFile := filepath.Join(dir, "cluster-issuers"), filepath.Join(dir, "cluster.nk")
	writeFile(t, issuers, other.pub+"\n", 0o644)
	writeFile(t, seedFile, own.seed+"\n", 0o600)
	h := startHost(t, "host", latticeEnv(t, srv, own).with("WASMCLOUD_CLUSTER_SEED_FILE", seedFile,
		"WASMCLOUD_CLUSTER_ISSUERS_FILE", issuers, "WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	asOther := latticeEnv(t, srv, other).with("WASMCLOUD_CLUSTER_ISSUERS", own.pub)
	answers := func(e env) {
		t.Helper()
		require.Equal(t, "call echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	}
	answers(asOther)

	h.reload(t, `msg="reloaded: nothing changed"`)
	for _, bad := range []struct{ name, file, content, want string }{
		{"issuers file holds a garbage line", issuers, "CNOTAKEY\n", "WASMCLOUD_CLUSTER_ISSUERS_FILE"},
		{"issuers file holds an account key", issuers, newKey(t, nkeys.PrefixByteAccount).pub + "\n", "WASMCLOUD_CLUSTER_ISSUERS_FILE"},
		{"issuers file holds the cluster seed", issuers, own.seed + "\n", "WASMCLOUD_CLUSTER_ISSUERS_FILE"},
		{"seed file holds another kind of seed", seedFile, newKey(t, nkeys.PrefixByteAccount).seed + "\n", "WASMCLOUD_CLUSTER_SEED"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			mode := os.FileMode(0o644)
			if bad.file == seedFile {
				mode = 0o600
			}
			writeFile(t, bad.file, bad.content, mode)
			line := h.reload(t, `msg="reload refused`)
			contains(t, "refusal", line, bad.want)
			// Nothing changed: the other cluster's calls still answer, and the host's responses are still
			// signed by its own key (the CLI trusts only that one).
			answers(asOther)
			answers(latticeEnv(t, srv, own))
			writeFile(t, issuers, other.pub+"\n", 0o644)
			writeFile(t, seedFile, own.seed+"\n", 0o600)
		})
	}
	checkNoSecrets(t, "host stderr", h.stderr.String())

	// A configuration that loads applies: the other cluster is no longer trusted.
	writeFile(t, issuers, "", 0o644)
	h.reload(t, `msg=reloaded`, "cluster issuers: "+own.pub)
	contains(t, "refused call", callFails(t, asOther, echoKey, "HttpServer.HandleRequest", echoRequest),
		"rpc: issuer is not among the trusted cluster issuers: "+other.pub)
	answers(latticeEnv(t, srv, own))
	if h.exited() {
		t.Fatal("the host exited")
	}
}

// TestRevokeLatticeWide: a revocation an operator signed stops the revoked actor on every host and keeps it
// from starting again, while the rest of the lattice runs on; one nobody trusted signed changes nothing,
// however it arrives. A host's revocations file, reloaded, applies to that host alone.
func TestRevokeLatticeWide(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	op, stranger := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	helloPath, helloKey := guest(t, "examples/hello", "")
	echo := testutil.Path("actors/echo.wasm")
	revocations := filepath.Join(t.TempDir(), "revocations")
	writeFile(t, revocations, "# keys this host refuses\n", 0o644)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS", op.pub)
	signed := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "operator.nk", []byte(op.seed+"\n")))
	h1 := startHost(t, "host 1", e.with("WASMCLOUD_START_ACTORS", helloPath+","+echo, "WASMCLOUD_REVOCATIONS_FILE", revocations))
	h2 := startHost(t, "host 2", e.with("WASMCLOUD_START_ACTORS", helloPath+","+echo))
	for _, h := range []*hostProc{h1, h2} {
		h.logLine(t, `msg="actor started"`, "actor="+helloKey)
		h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	}
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	helloAnswers := func(n int) {
		t.Helper()
		for range n {
			require.Equal(t, "hello", callOK(t, e, helloKey, "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
		}
	}
	const subject = "wasmbus.ctl.default.revocations.put"
	body, _ := json.Marshal(control.RevokeRequest{Key: helloKey})

	t.Run("refused without a trusted signature", func(t *testing.T) {
		contains(t, "ctl revoke without a seed", ctlFails(t, e, "revoke", helloKey), "WASMCLOUD_CTL_ISSUER_SEED_FILE")
		for _, m := range []ctlMsg{
			{subject: subject, body: body},
			{subject: subject, body: body, token: ctlToken(t, stranger, subject, body, time.Now())},
			{subject: subject, body: body, token: ctlToken(t, op, "wasmbus.ctl.default.linkdefs.put", body, time.Now())},
		} {
			if ack := m.send(t, nc); ack.Accepted {
				t.Fatalf("revocation with token %.20q accepted", m.token)
			}
		}
		// Straight into the bucket, with a stranger's signed request: no host applies it.
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		kv, err := js.KeyValue(context.Background(), "LATTICEDATA_default")
		require.NoError(t, err)
		forged, _ := json.Marshal(map[string]any{"ctl_token": ctlToken(t, stranger, subject, body, time.Now()), "ctl_request": body})
		_, err = kv.Put(context.Background(), "REVOKE_"+helloKey, forged)
		require.NoError(t, err)
		h1.logLine(t, "REVOKE_"+helloKey)
		h2.logLine(t, "REVOKE_"+helloKey)
		helloAnswers(4)
		require.Equal(t, "actor_revoked events", w.index("actor_revoked", nil), -1)
	})

	var h3 *hostProc
	t.Run("the operator's revocation stops the actor everywhere", func(t *testing.T) {
		got := ctlOK(t, signed, "revoke", helloKey)
		require.Equal(t, "ctl revoke", strings.TrimSpace(got), "Revoked "+helloKey+" for good")
		for _, h := range []*hostProc{h1, h2} {
			w.wait(t, "actor_revoked", func(ev latticeEvent) bool {
				return ev.env.Source == h.ready.HostID && ev.str("public_key") == helloKey
			})
			w.wait(t, "actors_stopped", about(h.ready.HostID, helloKey))
		}
		callFails(t, e, helloKey, "Hello.SayHello", `{"name":"Ada"}`)
		require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
		// It cannot start again. (The reply says only that the file was refused, as for any file reference;
		// the host's log says why.)
		contains(t, "start a revoked actor", ctlFails(t, signed, "start", "actor", helloPath, "--host", h1.ready.HostID), "actors_start_failed", "actor file refused")
		h1.logLine(t, `msg="actor file refused"`, "revoked")
		// A host that joins later applies the revocation it finds in the lattice.
		h3 = startHost(t, "host 3", e)
		contains(t, "start on a new host", ctlFails(t, signed, "start", "actor", helloPath, "--host", h3.ready.HostID), "actor file refused")
		h3.logLine(t, `msg="actor file refused"`, "revoked")
	})

	t.Run("a host's own revocations file, reloaded", func(t *testing.T) {
		writeFile(t, revocations, echoKey+"\n", 0o644)
		h1.reload(t, `msg=reloaded`, "revocations file: 1 keys")
		w.wait(t, "actor_revoked", func(ev latticeEvent) bool {
			return ev.env.Source == h1.ready.HostID && ev.str("public_key") == echoKey
		})
		// Host 2 still runs echo, and answers.
		for range 3 {
			require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
		}
		if i := w.index("actor_revoked", func(ev latticeEvent) bool { return ev.env.Source == h2.ready.HostID && ev.str("public_key") == echoKey }); i >= 0 {
			t.Fatal("host 2 stopped echo for host 1's revocations file")
		}
	})
	ids := []string{h1.ready.HostID, h2.ready.HostID}
	if h3 != nil {
		ids = append(ids, h3.ready.HostID)
	}
	w.check(t, ids...)
}

// TestCtlKeyRotation rotates the control issuer key: trust the new key, sign the links and revocations again
// with it (`ctl resign`), drop the old key. A host that trusts only the new key then serves the link and
// applies the revocation; a revocation nobody trusted signed is not signed again.
func TestCtlKeyRotation(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	oldOp, newOp, stranger := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	helloPath, helloKey := guest(t, "examples/hello", "")
	issuers := filepath.Join(t.TempDir(), "ctl-issuers")
	writeFile(t, issuers, oldOp.pub+"\n", 0o644)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS_FILE", issuers)
	asOld := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "old.nk", []byte(oldOp.seed+"\n")))
	asNew := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "new.nk", []byte(newOp.seed+"\n")))
	h1 := startHost(t, "host 1", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h1.logLine(t, `msg="actor started"`, "actor="+echoKey)
	b := builtinProviders(t, e, h1.ready.HostID)
	addr := freeAddr(t)
	linkPut(t, asOld, echoKey, b[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "served before the rotation", served(t, addr, "/").status, 200)
	ctlOK(t, asOld, "revoke", helloKey)

	// A revocation of echo that a stranger signed, written straight into the bucket: no host applies it,
	// and resign must not launder it.
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(context.Background(), "LATTICEDATA_default")
	require.NoError(t, err)
	const subject = "wasmbus.ctl.default.revocations.put"
	body, _ := json.Marshal(control.RevokeRequest{Key: echoKey})
	forged, _ := json.Marshal(map[string]any{"ctl_token": ctlToken(t, stranger, subject, body, time.Now()), "ctl_request": body})
	_, err = kv.Put(context.Background(), "REVOKE_"+echoKey, forged)
	require.NoError(t, err)

	// 1. Trust both keys.
	writeFile(t, issuers, oldOp.pub+"\n"+newOp.pub+"\n", 0o644)
	h1.reload(t, `msg=reloaded`, "control issuers: ", newOp.pub)
	// 2. Sign everything again with the new key.
	got := ctlJSON[struct {
		Links       int `json:"links"`
		Revocations int `json:"revocations"`
		Skipped     int `json:"skipped_revocations"`
	}](t, asNew, "resign")
	require.Equal(t, "links signed again", got.Links, 1)
	require.Equal(t, "revocations signed again", got.Revocations, 1)
	require.Equal(t, "revocations skipped", got.Skipped, 1)
	// 3. Drop the old key.
	writeFile(t, issuers, newOp.pub+"\n", 0o644)
	h1.reload(t, `msg=reloaded`, "control issuers: "+newOp.pub)
	contains(t, "old key refused", ctlFails(t, asOld, "revoke", echoKey), "refused")

	// A host that trusts only the new key takes over: it serves the link and refuses the revoked actor.
	ctlOK(t, asNew, "stop", "host", h1.ready.HostID)
	require.Equal(t, "host 1 exit status", h1.wait(t, stopTimeout), 0)
	h2 := startHost(t, "host 2", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h2.logLine(t, `msg="actor started"`, "actor="+echoKey)
	require.Equal(t, "served after the rotation", served(t, addr, "/").status, 200)
	contains(t, "start the revoked actor", ctlFails(t, asNew, "start", "actor", helloPath, "--host", h2.ready.HostID), "actor file refused")
	h2.logLine(t, `msg="actor file refused"`, "revoked")
	require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
}

// TestAttackResignLaundering: `ctl resign` signs again only the links whose entry in the lattice bucket carries a
// request that a trusted control key signed, as the hosts hold them, never what an answer to get.links says:
// whoever answers get.links first (any NATS user subscribed to the control subject, or an 0.x host reporting
// an entry written straight into the bucket) would otherwise have the operator's new key sign a link of their
// choosing, here one of a thief's actor to another tenant's key-value bucket. The genuine link is signed again
// and keeps serving once the old key is dropped.
func TestAttackResignLaundering(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	oldOp, newOp := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	issuers := filepath.Join(t.TempDir(), "ctl-issuers")
	writeFile(t, issuers, oldOp.pub+"\n"+newOp.pub+"\n", 0o644)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS_FILE", issuers)
	asOld := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "old.nk", []byte(oldOp.seed+"\n")))
	asNew := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "new.nk", []byte(newOp.seed+"\n")))
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	b := builtinProviders(t, e, h.ready.HostID)
	addr := freeAddr(t)
	linkPut(t, asOld, echoKey, b[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "served before the rotation", served(t, addr, "/").status, 200)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	genuine := control.LinkDefinition{ActorID: echoKey, ProviderID: b[contractHTTPServer], ContractID: contractHTTPServer, LinkName: "default",
		Values: map[string]string{"address": addr}}
	thief := publicKey(t, nkey.Module)
	forged := control.LinkDefinition{ActorID: thief, ProviderID: b[contractKeyValue], ContractID: contractKeyValue, LinkName: "default",
		Values: map[string]string{"bucket": "tenant_a"}}
	answer, _ := json.Marshal(control.LinkDefinitionList{Links: []control.LinkDefinition{genuine, forged}})
	// Nine members of the hosts' queue group: most requests reach only the attacker.
	for range 9 {
		sub, err := nc.QueueSubscribe("wasmbus.ctl.default.get.links", "wasmbus.ctl.default", func(m *nats.Msg) { _ = m.Respond(answer) })
		require.NoError(t, err)
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	require.NoError(t, nc.Flush())
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(context.Background(), "LATTICEDATA_default")
	require.NoError(t, err)
	for i := 0; ; i++ {
		got := ctlJSON[struct {
			Links        int `json:"links"`
			SkippedLinks int `json:"skipped_links"`
		}](t, asNew, "resign")
		_, err = kv.Get(context.Background(), linkKey(forged.ActorID, forged.ContractID, forged.LinkName))
		require.True(t, errors.Is(err, jetstream.ErrKeyNotFound), "the forged link was stored: %v", err)
		require.Equal(t, "links signed again", got.Links, 1)
		if got.SkippedLinks == 1 {
			break // the attacker's answer was the one read, and its link was not signed
		}
		require.True(t, i < 20, "the attacker's answer was never read")
	}

	// Drop the old key: the genuine link, signed again with the new one, still serves.
	writeFile(t, issuers, newOp.pub+"\n", 0o644)
	h.reload(t, `msg=reloaded`, "control issuers: "+newOp.pub)
	ctlOK(t, asNew, "stop", "host", h.ready.HostID)
	require.Equal(t, "host exit status", h.wait(t, stopTimeout), 0)
	h2 := startHost(t, "host 2", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h2.logLine(t, `msg="actor started"`, "actor="+echoKey)
	require.Equal(t, "served after the rotation", served(t, addr, "/").status, 200)
}

// TestAttackRevokedControlKeyLinks: revoking a control key that leaked withdraws, on the hosts that run, the
// links it signed (here a thief's link exposing echo on an HTTP address), as it does on hosts that start
// later: a link is only in force while the key that signed it may sign. The operator's other key keeps
// commanding the lattice, and echo keeps answering.
func TestAttackRevokedControlKeyLinks(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	op, leaked := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS", op.pub+","+leaked.pub)
	asOp := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "op.nk", []byte(op.seed+"\n")))
	asThief := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "leaked.nk", []byte(leaked.seed+"\n")))
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	b := builtinProviders(t, e, h.ready.HostID)
	exposed := freeAddr(t)
	linkPut(t, asThief, echoKey, b[contractHTTPServer], contractHTTPServer, "address="+exposed)
	require.Equal(t, "served through the thief's link", served(t, exposed, "/").status, 200)

	ctlOK(t, asOp, "revoke", leaked.pub)
	connRefused(t, exposed)
	contains(t, "the revoked key", ctlFails(t, asThief, "link", "put", echoKey, b[contractHTTPServer], contractHTTPServer, "address="+exposed), "refused")

	echoAnswers(t, e, 3)
	addr := freeAddr(t)
	linkPut(t, asOp, echoKey, b[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "served through the operator's link", served(t, addr, "/").status, 200)
	connRefused(t, exposed)
}

// TestReloadHalfBroken: a reload that changes the cluster issuers and whose control issuers file holds a key
// no verifier can use (a small-order curve point, with a valid checksum) is refused as a whole: the cluster
// issuer it adds is not trusted either, and the same files, corrected, then reload.
func TestReloadHalfBroken(t *testing.T) {
	srv := runNATS(t, nil)
	own, other := newCluster(t), newCluster(t)
	op := newKey(t, nkeys.PrefixByteOperator)
	dir := t.TempDir()
	clusterIssuers, ctlIssuers := filepath.Join(dir, "cluster-issuers"), filepath.Join(dir, "ctl-issuers")
	writeFile(t, clusterIssuers, "", 0o644)
	writeFile(t, ctlIssuers, op.pub+"\n", 0o644)
	h := startHost(t, "host", latticeEnv(t, srv, own).with("WASMCLOUD_CLUSTER_ISSUERS_FILE", clusterIssuers,
		"WASMCLOUD_CTL_ISSUERS_FILE", ctlIssuers, "WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	asOther := latticeEnv(t, srv, other).with("WASMCLOUD_CLUSTER_ISSUERS", own.pub)
	untrusted := "rpc: issuer is not among the trusted cluster issuers: " + other.pub
	contains(t, "a call of the other cluster", callFails(t, asOther, echoKey, "HttpServer.HandleRequest", echoRequest), untrusted)

	var identity [32]byte
	identity[0] = 1 // the neutral element of edwards25519: a small-order point
	smallOrder, err := nkeys.Encode(nkeys.PrefixByteOperator, identity[:])
	require.NoError(t, err)
	writeFile(t, clusterIssuers, other.pub+"\n", 0o644)
	writeFile(t, ctlIssuers, op.pub+"\n"+string(smallOrder)+"\n", 0o644)
	contains(t, "refusal", h.reload(t, `msg="reload refused`), "WASMCLOUD_CTL_ISSUERS_FILE", "line 2")
	contains(t, "a call of the other cluster after a refused reload", callFails(t, asOther, echoKey, "HttpServer.HandleRequest", echoRequest), untrusted)

	writeFile(t, ctlIssuers, op.pub+"\n", 0o644)
	h.reload(t, `msg=reloaded`, "cluster issuers: ")
	require.Equal(t, "call echo", callOK(t, asOther, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
}

// TestReloadStopsWhatIsNoLongerTrusted: an account dropped from WASMCLOUD_ACTOR_ISSUERS_FILE at a reload
// takes its running actors with it, as a revocation would; the actors of the accounts still listed keep
// answering, and the dropped account's actor cannot start again.
func TestReloadStopsWhatIsNoLongerTrusted(t *testing.T) {
	const echoAccount, unprivAccount = "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW", "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM"
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	issuers := filepath.Join(t.TempDir(), "actor-issuers")
	writeFile(t, issuers, echoAccount+"\n"+unprivAccount+"\n", 0o644)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_ACTOR_ISSUERS_FILE", issuers, "WASMCLOUD_START_ACTORS",
		testutil.Path("actors/echo.wasm")+","+testutil.Path("actors/echo_unpriv_s.wasm")))
	h.logLine(t, `msg="actor started"`, "actor="+echoKey)
	h.logLine(t, `msg="actor started"`, "actor="+echoUnprivKey)

	writeFile(t, issuers, echoAccount+"\n", 0o644)
	h.reload(t, "msg=reloaded", "actor issuers: "+echoAccount)
	w.wait(t, "actors_stopped", about(h.ready.HostID, echoUnprivKey))
	h.logLine(t, `msg="stopping an actor whose account is no longer trusted"`, "actor="+echoUnprivKey, "issuer="+unprivAccount)
	require.Equal(t, "actors", strings.Join(actorIDs(inventory(t, e, h.ready.HostID)), ","), echoKey)
	require.Equal(t, "call echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	contains(t, "start the dropped account's actor", ctlFails(t, e, "start", "actor", testutil.Path("actors/echo_unpriv_s.wasm"),
		"--host", h.ready.HostID), "host: actor file refused")
	h.logLine(t, `msg="actor failed to start"`, "WASMCLOUD_ACTOR_ISSUERS")
}
