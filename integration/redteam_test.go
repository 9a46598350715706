package integration

// Red-team attacks on the confinement of issue 10 that the attack suite did not cover. Each test performs an
// attack through the built binary and asserts what a zero-trust host must guarantee; each fails against the
// code it was written for (see the report of the red-team review).

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// TestRedteamLongSubjectClosesRPCConnection: an actor of an untrusted account, linked with publish=orders.>,
// publishes on orders.<5000 letters>. The subject is inside its grant and passes every check of the subject
// policy, but a PUB line longer than the server's max_control_line (4096 bytes by default) makes the server
// close the host's RPC connection, and nats.go then closes it for good (no reconnect). Afterwards the host
// answers no invocation: one message from a linked actor takes a whole host off the lattice.
func TestRedteamLongSubjectClosesRPCConnection(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	path, key := attacker(t, "longsubject")
	startActorOn(t, e, h, path, key)
	linkPut(t, e, key, p[contractMessaging], contractMessaging, "publish=orders.>", "subscription=orders.*")
	echoAnswers(t, e, 1)

	long := "orders." + strings.Repeat("a", 5000)
	r := cli(t, e, "call", key, "Caps.Publish", "--data", `{"subject":"`+long+`","body":"x"}`)
	require.Equal(t, "exit status of the publish", r.code, 1)
	contains(t, "refusal", r.stderr, "messaging: subject not allowed", "more than 1024")

	// Whatever became of the publish, the host must still serve its actors.
	require.False(t, h.exited(), "the host exited")
	echoAnswers(t, e, 3)
}

// TestRedteamForgedNoResponders: a NATS user who holds no cluster key answers an actor's subject with an
// empty message whose header says "Status: 503", the status the NATS server uses for "no responders". The
// Requester used to take that as the end of the call, so every call failed with "no host serves the actor"
// although a host served it; now the call waits for the reply that verifies.
func TestRedteamForgedNoResponders(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	echoAnswers(t, e, 1)

	forger, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer forger.Close()
	_, err = forger.Subscribe("wasmbus.rpc.default."+echoKey, func(m *nats.Msg) {
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{"Status": []string{"503"}}})
	})
	require.NoError(t, err)
	require.NoError(t, forger.Flush())

	echoAnswers(t, e, 5)
}

// TestRedteamReplyFlood: a NATS user who holds no cluster key answers each request on an actor's subject with
// a stream of forged replies (signed, with a cluster key nobody trusts). The Requester used to keep 16 replies
// per request and drop the rest while its caller checked them, so the genuine reply, arriving in the middle of
// the stream, was dropped and the call timed out. Now implausible replies are dropped as they arrive and never
// take the genuine one's place.
func TestRedteamReplyFlood(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	echoAnswers(t, e, 1)

	untrusted, err := rpc.New(rpc.Config{HostID: newKey(t, nkeys.PrefixByteServer).pub})
	require.NoError(t, err)
	defer untrusted.Wipe()
	forger, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer forger.Close()
	var sent atomic.Int64
	defer func() { t.Logf("forged replies sent: %d", sent.Load()) }()
	stop := make(chan struct{})
	var flood sync.WaitGroup
	defer flood.Wait()
	defer close(stop)
	_, err = forger.Subscribe("wasmbus.rpc.default."+echoKey, func(m *nats.Msg) {
		var inv wire.Invocation
		if inv.UnmarshalMsgpack(m.Data) != nil {
			return
		}
		resp := &wire.Response{Msg: []byte("forged")}
		if untrusted.SignResponse(resp, inv.ID) != nil {
			return
		}
		forged := resp.AppendMsgpack(nil)
		flood.Go(func() {
			// Thousands of forgeries per request, around the genuine reply.
			for range 8 {
				select {
				case <-stop:
					return
				default:
				}
				for range 256 {
					_ = forger.Publish(m.Reply, forged)
				}
				sent.Add(256)
			}
		})
	})
	require.NoError(t, err)
	require.NoError(t, forger.Flush())

	// The forgeries are dropped as they arrive (their signer is not trusted), so the genuine reply is taken.
	for i := range 4 {
		r := cli(t, e, "call", echoKey, "HttpServer.HandleRequest", "--data", echoRequest)
		require.Equal(t, fmt.Sprintf("call %d under a flood of forged replies: stderr %q", i, r.stderr), r.code, 0)
		require.Equal(t, fmt.Sprintf("reply %d", i), strings.TrimSpace(r.stdout), echoReply)
	}
}

// TestRedteamReplayAfterDeletingOnceRecord: a NATS user who captured an invocation computes its key in the
// lattice-wide replay record (issuer and id are in the clear) and tries to make it claimable again before each
// replay: a delete marker, a purge marker, a purge of the key's subject. The record was a key-value bucket,
// where a delete marker freed the key; it is now a stream that refuses purges and counts any message on a
// key's subject as its claim, so the replay is refused by both hosts and the counter advances once.
func TestRedteamReplayAfterDeletingOnceRecord(t *testing.T) {
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
	var inv wire.Invocation
	require.NoError(t, inv.UnmarshalMsgpack(capture))
	tok, err := wascap.Parse(inv.EncodedClaims)
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(rpc.ReplayKey(tok.Claims.Issuer, inv.ID)))
	onceKey := hex.EncodeToString(sum[:])
	js, err := jetstream.New(spy)
	require.NoError(t, err)
	once, err := js.KeyValue(t.Context(), lattice.OnceBucket("default"))
	require.NoError(t, err)
	_, err = once.Get(t.Context(), onceKey)
	require.NoError(t, err, "the record of the genuine call")

	// Delete the record before each replay; the host that ran the original refuses from its own cache, the
	// other one has only the record to go by. Load balancing picks the other host soon.
	stream, err := js.Stream(t.Context(), "KV_"+lattice.OnceBucket("default"))
	require.NoError(t, err)
	for i := range 16 {
		// Every way a NATS user has to make the key claimable again: a delete marker, a purge marker, a purge
		// of the key's subject through the JetStream API. None may succeed in freeing it.
		_ = once.Delete(t.Context(), onceKey)
		_ = once.Purge(t.Context(), onceKey)
		_ = stream.Purge(t.Context(), jetstream.WithPurgeSubject("$KV."+lattice.OnceBucket("default")+"."+onceKey))
		reply, err := spy.Request("wasmbus.rpc.default."+kvcounterKey, capture, cliTimeout)
		require.NoError(t, err, "replay %d", i)
		var resp wire.Response
		require.NoError(t, resp.UnmarshalMsgpack(reply.Data))
		if resp.Error == "" {
			t.Errorf("replay %d ran again: %q", i, resp.Msg)
			break
		}
		contains(t, fmt.Sprintf("answer to replay %d", i), resp.Error, "rpc: invocation replayed")
	}
	require.Equal(t, "second genuine call", callOK(t, e, kvcounterKey, "HttpServer.HandleRequest", request), counter(2))
}

// TestRedteamAliasHijackByDeletingOwnerClaims: a NATS user who can write the lattice bucket, but holds no
// cluster key, hands a call alias to another account. Hosts restore the ownership record only while the
// owner "still claims" the alias in their mirror of the bucket, so the attacker first deletes the owner's
// claims entry (deletions are applied without any restore), then the ownership record (now nobody restores
// it), then overwrites the thief's claims entry with an unsigned one, so that the thief's host restores the
// thief's claims. Before the fix, that restore also claimed the alias for the thief's account. Now a deleted
// signed claims entry is kept (and restored by the host that runs the actor), the owner's record is restored,
// and restoring claims never claims an alias.
func TestRedteamAliasHijackByDeletingOwnerClaims(t *testing.T) {
	srv := runNATS(t, nil)
	w := watchEvents(t, srv)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	thiefPath, thiefKey := signActor(t, testutil.BuildGuest(t, "examples/capabilities"), "thief", "hello")
	a := startHost(t, "host A", latticeEnv(t, srv, c))
	b := startHost(t, "host B", latticeEnv(t, srv, c))
	startActorOn(t, e, a, helloPath, helloKey)
	owner := w.wait(t, "actors_started", func(ev latticeEvent) bool { return ev.str("public_key") == helloKey })
	ownerAccount := owner.data["claims"].(map[string]any)["issuer"].(string)
	startActorOn(t, e, b, thiefPath, thiefKey)
	w.wait(t, "call_alias_clash", func(ev latticeEvent) bool { return ev.str("claimant") == thiefKey })
	require.Equal(t, "by alias before the attack", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	kv := latticeBucket(t, nc)
	const aliasRecordKey = "ALIAS_aGVsbG8" // "hello" in unpadded base64url
	require.NoError(t, kv.Delete(t.Context(), "CLAIMS_"+helloKey))
	require.NoError(t, kv.Delete(t.Context(), aliasRecordKey))
	forged, _ := json.Marshal(map[string]any{"subject": thiefKey, "issuer": "", "capabilities": []string{}})
	_, err = kv.Put(t.Context(), "CLAIMS_"+thiefKey, forged)
	require.NoError(t, err)

	// Some host writes an ownership record again (the thief's host does, at once); it must name the owner.
	var record struct {
		Issuer string `json:"issuer"`
	}
	require.EventuallyNoError(t, pollTimeout, func() error {
		entry, err := kv.Get(t.Context(), aliasRecordKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(entry.Value(), &record)
	}, "an ownership record of the alias")
	if record.Issuer != ownerAccount {
		t.Errorf("owner of alias hello after the attack = %s, want %s (the owner's account)", record.Issuer, ownerAccount)
	}
	require.Equal(t, "by alias after the attack", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
}

// TestRedteamHTTPSlowBodies: a request used to take one of the address's max_concurrent slots before its body
// was read and keep it until the body was complete, so 64 connections that each announced a 100-byte body and
// sent one byte held every slot for minutes. Now bodies are paid for from a byte budget as they arrive, and a
// slot is held only while the actor handles a request.
func TestRedteamHTTPSlowBodies(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "before", served(t, addr, "/").status, http.StatusOK)

	for range 64 { // the default max_concurrent
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
		require.NoError(t, err)
	}
	for i := range 5 {
		a, err := httpGet(addr, fmt.Sprintf("/genuine/%d", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("genuine request %d while 64 bodies trickle in (body %q)", i, a.body), a.status, http.StatusOK)
	}
}

// TestRedteamHTTPIdleConnections: an address accepts max_connections connections (256 by default); 256 that
// each sent one ordinary request and then stayed idle used to hold every place for the idle timeout. Now a new
// connection at the limit closes the one idle longest.
func TestRedteamHTTPIdleConnections(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "before", served(t, addr, "/").status, http.StatusOK)

	for i := range 256 { // the default max_connections
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET /idle/%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, fmt.Sprintf("idle connection %d's request", i), resp.StatusCode, http.StatusOK)
	}
	for i := range 3 {
		a, err := httpGet(addr, fmt.Sprintf("/genuine/%d", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("genuine request %d while 256 connections idle (body %q)", i, a.body), a.status, http.StatusOK)
	}
}

// TestRedteamInjectedLongSubscription: a NATS user who can write the lattice bucket writes a messaging link
// whose subscription is orders.<5000 letters> (a valid pattern outside the lattice's subjects, so the host
// applies it). The host's SUB line exceeds the server's max_control_line, the server closes the host's RPC
// connection, and nats.go does not reconnect: the host stops answering invocations, and so does every host
// that starts the actor later and applies the link.
func TestRedteamInjectedLongSubscription(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	path, key := attacker(t, "longsubscription")
	startActorOn(t, e, h, path, key)
	echoAnswers(t, e, 1)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	injected := control.LinkDefinition{ActorID: key, ProviderID: p[contractMessaging], ContractID: contractMessaging,
		LinkName: "default", Values: map[string]string{"subscription": "orders." + strings.Repeat("a", 5000)}}
	b, _ := json.Marshal(injected)
	_, err = latticeBucket(t, nc).Put(t.Context(), linkKey(key, contractMessaging, "default"), b)
	require.NoError(t, err)
	// The host refuses to apply the link: subjects are bounded well below the server's control line.
	h.logLine(t, `msg="could not apply a link`, "actor="+key, "more than 1024")
	require.False(t, h.exited(), "the host exited")
	echoAnswers(t, e, 3)
	require.Equal(t, "the RPC connection", findLine(h.stderr.String(), "connection=rpc", "maximum control line exceeded"), "")
}

// TestRedteamReplayAcrossLattices: invocation tokens bind the target actor, the operation, the payload and
// the sending host, and (since this test) the lattice; the lattice-wide replay record is per lattice. Two lattices on
// one NATS system that share a cluster key (one key "signs every invocation" of an operator's hosts) run the
// same actor: a NATS user captures an invocation in lattice staging and replays it in lattice default within
// the token's validity; no host of default has seen it, its record is empty, and the invocation runs again.
func TestRedteamReplayAcrossLattices(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	staging := latticeEnv(t, srv, c).with("WASMCLOUD_LATTICE_PREFIX", "staging")
	echo := testutil.Path("actors/echo.wasm")
	startHost(t, "host in staging", staging.with("WASMCLOUD_START_ACTORS", echo))
	startHost(t, "host in default", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", echo))

	spy, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer spy.Close()
	captured := make(chan []byte, 16)
	_, err = spy.Subscribe("wasmbus.rpc.staging."+echoKey, func(m *nats.Msg) { captured <- m.Data })
	require.NoError(t, err)
	require.NoError(t, spy.Flush())

	require.Equal(t, "genuine call in staging", callOK(t, staging, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	capture := <-captured
	reply, err := spy.Request("wasmbus.rpc.default."+echoKey, capture, cliTimeout)
	require.NoError(t, err)
	var resp wire.Response
	require.NoError(t, resp.UnmarshalMsgpack(reply.Data))
	if resp.Error == "" {
		t.Fatalf("the invocation captured in lattice staging ran in lattice default: %q", resp.Msg)
	}
	contains(t, "refusal", resp.Error, "rpc: invocation signed for another lattice")
	echoAnswers(t, latticeEnv(t, srv, c), 2)
}

// TestRedteamLongValidityRefusesEveryCall (correctness, not an attack): the lattice replay record used to
// refuse a claim that must live longer than one hour, so with WASMCLOUD_INVOCATION_VALIDITY=2h every
// invocation from the network was refused although the configuration was accepted at start. The record's
// limit now follows the validity.
func TestRedteamLongValidityRefusesEveryCall(t *testing.T) {
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t)).with("WASMCLOUD_INVOCATION_VALIDITY", "2h")
	startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	echoAnswers(t, e, 1)
}

// TestRedteamTenantBucketFillsJetStream: a key-value link to a tenant bucket used to create the bucket without
// any limit, so an actor linked to it could write until the JetStream store was full, and the lattice's own
// buckets, which share the store, took no more writes: an operator's `ctl link put` failed. Buckets the host
// creates are now bounded (WASMCLOUD_KV_BUCKET_MAX_BYTES, WASMCLOUD_KV_MAX_VALUE_SIZE).
func TestRedteamTenantBucketFillsJetStream(t *testing.T) {
	srv := runNATS(t, &server.Options{JetStream: true, JetStreamMaxStore: 32 << 20})
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	// The operator sizes the buckets actors get below what the store holds.
	h := startHost(t, "host", e.with("WASMCLOUD_KV_BUCKET_MAX_BYTES", "8M"))
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	path, key := attacker(t, "filler")
	startActorOn(t, e, h, path, key)
	linkPut(t, e, key, p[contractKeyValue], contractKeyValue, "bucket=tenant_a", "prefix=app")

	// The actor's calls, made as a cluster member would make them (the actor could as well write in a loop
	// of its own, on every message or HTTP request it handles).
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	member, err := rpc.New(rpc.Config{ClusterSeed: []byte(c.key.seed), HostID: newKey(t, nkeys.PrefixByteServer).pub})
	require.NoError(t, err)
	defer member.Wipe()
	value := strings.Repeat("x", 800<<10)
	var stopped error
	for i := range 80 {
		payload := packMap(t, "key", fmt.Sprintf("k%d", i), "value", value)
		if _, err := client.Invoke(t.Context(), nc, member, "default", key, "Caps.Set", payload, cliTimeout); err != nil {
			stopped = err
			t.Logf("write %d refused: %v", i, err)
			break
		}
	}
	require.True(t, stopped != nil, "the tenant bucket took 64 MB")
	contains(t, "refusal", stopped.Error(), "maximum bytes")

	// The operator manages the lattice as before.
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
}
