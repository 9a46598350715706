package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// ctlToken makes the token of a control request from the format RATIONALE.md documents, with nkeys,
// encoding/json and base64 only, as another implementation would: a wascap JWT whose iss is the signer, sub
// the NATS subject, iat and exp bound its life, jti is unique, and whose metadata binds the SHA-256 of the
// exact body.
func ctlToken(t testing.TB, signer key, subject string, body []byte, iat time.Time) string {
	t.Helper()
	kp, err := nkeys.FromSeed([]byte(signer.seed))
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	sum := sha256.Sum256(body)
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		t.Fatal(err)
	}
	claims, err := json.Marshal(map[string]any{
		"iss": signer.pub, "sub": subject, "iat": iat.Unix(), "exp": iat.Add(time.Minute).Unix(), "jti": hex.EncodeToString(jti[:]),
		"wascap": map[string]string{"type": "ctl_request", "body_sha256": hex.EncodeToString(sum[:])},
	})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString([]byte(`{"typ":"jwt","alg":"Ed25519"}`)) + "." + b64.EncodeToString(claims)
	sig, err := kp.Sign([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// ctlMsg is one raw control request: a subject, a body and the token header (none when empty).
type ctlMsg struct {
	subject string
	body    []byte
	token   string
}

// send sends m and returns the host's acknowledgement.
func (m ctlMsg) send(t testing.TB, nc *nats.Conn) control.CtlAck {
	t.Helper()
	msg := nats.NewMsg(m.subject)
	msg.Data = m.body
	if m.token != "" {
		msg.Header.Set(control.TokenHeader, m.token)
	}
	reply, err := nc.RequestMsg(msg, cliTimeout)
	if err != nil {
		t.Fatalf("request %s: %v", m.subject, err)
	}
	var ack control.CtlAck
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		t.Fatalf("reply on %s is %q: %v", m.subject, reply.Data, err)
	}
	return ack
}

// refused sends m and checks that it is refused with want.
func (m ctlMsg) refused(t testing.TB, nc *nats.Conn, want string) {
	t.Helper()
	ack := m.send(t, nc)
	if ack.Accepted || !strings.HasPrefix(ack.Error, want) {
		t.Fatalf("%s: ack %+v, want a refusal starting with %q", m.subject, ack, want)
	}
}

// accepted sends m and checks that it is accepted.
func (m ctlMsg) accepted(t testing.TB, nc *nats.Conn) {
	t.Helper()
	if ack := m.send(t, nc); !ack.Accepted {
		t.Fatalf("%s: refused: %s", m.subject, ack.Error)
	}
}

// stateOf describes what the hosts run and which links the lattice holds, through the queries that stay open
// to anyone: two equal descriptions mean nothing changed.
func stateOf(t testing.TB, nc *nats.Conn, lattice string, hosts ...*hostProc) string {
	t.Helper()
	var b strings.Builder
	query := func(subject string, v any) {
		reply, err := nc.Request("wasmbus.ctl."+lattice+"."+subject, nil, cliTimeout)
		if err != nil {
			t.Fatalf("query %s: %v", subject, err)
		}
		if err := json.Unmarshal(reply.Data, v); err != nil {
			t.Fatalf("query %s: %q: %v", subject, reply.Data, err)
		}
	}
	for _, h := range hosts {
		var inv control.HostInventory
		query("get."+h.ready.HostID+".inv", &inv)
		for _, a := range inv.Actors {
			fmt.Fprintf(&b, "%s runs %s from %s, %d instances\n", h.name, a.ID, a.ImageRef, len(a.Instances))
		}
	}
	var links control.LinkDefinitionList
	query("get.links", &links)
	slices.SortFunc(links.Links, func(x, y control.LinkDefinition) int { return strings.Compare(x.ID, y.ID) })
	for _, l := range links.Links {
		v, _ := json.Marshal(l.Values)
		fmt.Fprintf(&b, "link %s %s %s %s %s\n", l.ActorID, l.ContractID, l.LinkName, l.ProviderID, v)
	}
	return b.String()
}

// echoRevisions signs echo.wasm twice with one account and one module key, at revisions 1 and 2, and returns
// the two files and the module key.
func echoRevisions(t testing.TB, account key) (v1, v2, moduleKey string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "echo.in.wasm")
	if err := os.WriteFile(in, testutil.Actor(t, "echo.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	moduleKey = publicKey(t, nkey.Module)
	acct := "@" + writeSecret(t, "account.nk", []byte(account.seed))
	for rev, out := range map[int]*string{1: &v1, 2: &v2} {
		*out = filepath.Join(dir, "echo-"+strconv.Itoa(rev)+".wasm")
		r := cli(t, nil, "claims", "sign", in, "-o", *out, "--issuer", acct, "--subject", moduleKey, "--name", "echo",
			"--cap", contractHTTPServer, "--cap", contractKeyValue, "--rev", strconv.Itoa(rev))
		if r.code != 0 {
			t.Fatalf("claims sign: exit status %d, stderr %q", r.code, r.stderr)
		}
	}
	return v1, v2, moduleKey
}

// TestSignedControl drives hosts whose control interface is signed (WASMCLOUD_CTL_ISSUERS), as an attacker
// with NATS access and as the operator: every request that changes the lattice is refused, with its reason and
// without any effect, when it carries no token, a token of an untrusted key, a tampered body, an expired token,
// or a token already used (also at another host); the same requests signed by the operator key are accepted;
// links written into the lattice bucket directly are ignored while the genuine link keeps working.
func TestSignedControl(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	op, stranger := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	account := newKey(t, nkeys.PrefixByteAccount)
	v1, v2, key := echoRevisions(t, account)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS", op.pub)
	signed := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "operator.nk", []byte(op.seed+"\n")))
	h1 := startHost(t, "host 1", e.with("WASMCLOUD_START_ACTORS", v1))
	h2 := startHost(t, "host 2", e)
	id1, id2 := h1.ready.HostID, h2.ready.HostID
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const p = "wasmbus.ctl.default."
	b := builtinProviders(t, e, id1)
	alive := func(t *testing.T, hosts ...*hostProc) {
		t.Helper()
		for _, h := range hosts {
			if h.exited() {
				t.Fatalf("%s exited", h.name)
			}
		}
		require.Equal(t, "call echo", callOK(t, e, key, "HttpServer.HandleRequest", echoRequest), echoReply)
	}

	t.Run("the operator's ctl links, an unsigned ctl is refused", func(t *testing.T) {
		linkPut(t, signed, key, b[contractKeyValue], contractKeyValue, "bucket=genuine")
		contains(t, "unsigned ctl", ctlFails(t, e, "link", "put", key, b[contractKeyValue], contractKeyValue, "bucket=other"),
			"refused: control: request not signed (this client has no control issuer key to sign with)")
		h1.logLine(t, `msg="control requests must be signed"`)
	})

	three := uint16(3)
	requests := []struct {
		name    string
		subject string
		body    any
		applied func(t *testing.T) // checks that the accepted request took effect
	}{
		{"start actor", p + "cmd." + id2 + ".la", control.StartActorCommand{ActorRef: helloPath, Count: 1}, func(t *testing.T) {
			w.wait(t, "actors_started", about(id2, helloKey))
		}},
		{"scale actor", p + "cmd." + id1 + ".scale", control.ScaleActorCommand{ActorID: key, Count: &three}, func(t *testing.T) {
			w.wait(t, "actor_scaled", from(id1))
		}},
		{"update actor", p + "cmd." + id1 + ".upd", control.UpdateActorCommand{ActorID: key, NewActorRef: v2}, func(t *testing.T) {
			w.wait(t, "actor_updated", about(id1, key))
		}},
		{"link put", p + "linkdefs.put", control.LinkDefinition{ActorID: key, ProviderID: b[contractKeyValue], ContractID: contractKeyValue,
			LinkName: "second", Values: map[string]string{"bucket": "second"}}, func(t *testing.T) {
			w.wait(t, "linkdef_set", func(e latticeEvent) bool { return e.str("link_name") == "second" })
		}},
		{"link del", p + "linkdefs.del", control.RemoveLinkDefinition{ActorID: key, ContractID: contractKeyValue, LinkName: "default"}, func(t *testing.T) {
			w.wait(t, "linkdef_deleted", func(e latticeEvent) bool { return e.str("link_name") == "default" })
		}},
		{"registries put", p + "registries.put", control.RegistryCredentialMap{"registry.invalid": {Username: "u", Password: "p"}}, nil},
		{"stop actor", p + "cmd." + id1 + ".sa", control.StopActorCommand{ActorRef: key}, func(t *testing.T) {
			w.wait(t, "actors_stopped", about(id1, key))
		}},
		{"stop host", p + "cmd." + id2 + ".stop", control.StopHostCommand{}, func(t *testing.T) {
			require.Equal(t, "host 2 exit status", h2.wait(t, stopTimeout), 0)
		}},
	}
	bodies := make([][]byte, len(requests))
	for i, r := range requests {
		bodies[i], _ = json.Marshal(r.body)
	}

	t.Run("refused without effect", func(t *testing.T) {
		before := stateOf(t, nc, "default", h1, h2)
		for i, r := range requests {
			body := bodies[i]
			tampered := append(slices.Clone(body), ' ') // the same request to a JSON decoder, not to the token
			cases := []struct {
				name string
				msg  ctlMsg
				want string
			}{
				{"no token", ctlMsg{r.subject, body, ""}, "control: request not signed"},
				{"not a token", ctlMsg{r.subject, body, "e30.e30.e30"}, "control: request not signed"},
				{"untrusted signer", ctlMsg{r.subject, body, ctlToken(t, stranger, r.subject, body, time.Now())}, "control: signer not trusted"},
				{"tampered body", ctlMsg{r.subject, tampered, ctlToken(t, op, r.subject, body, time.Now())}, "control: body does not match its token"},
				{"expired", ctlMsg{r.subject, body, ctlToken(t, op, r.subject, body, time.Now().Add(-5*time.Minute))}, "control: token expired"},
				{"signed for another subject", ctlMsg{r.subject, body, ctlToken(t, op, p+"cmd."+id1+".other", body, time.Now())},
					"control: subject does not match its token"},
			}
			for _, tc := range cases {
				t.Run(r.name+"/"+tc.name, func(t *testing.T) {
					tc.msg.refused(t, nc, tc.want)
					require.Equal(t, "lattice state", stateOf(t, nc, "default", h1, h2), before)
				})
			}
		}
		alive(t, h1, h2)
		h1.logLine(t, `msg="refused an unauthorised control request"`, "reason=control_signature")
	})

	// run sends request i signed by the operator, checks that it took effect, and that its replay is refused
	// without effect.
	run := func(t *testing.T, i int) ctlMsg {
		r := requests[i]
		m := ctlMsg{r.subject, bodies[i], ctlToken(t, op, r.subject, bodies[i], time.Now())}
		m.accepted(t, nc)
		if r.applied != nil {
			r.applied(t)
		}
		return m
	}
	for i := range 6 { // all but the two stops
		t.Run("signed by the operator/"+requests[i].name, func(t *testing.T) {
			m := run(t, i)
			live := []*hostProc{h1, h2}
			after := stateOf(t, nc, "default", live...)
			m.refused(t, nc, "control: token replayed")
			require.Equal(t, "lattice state after the replay", stateOf(t, nc, "default", live...), after)
		})
	}
	t.Run("what the operator's requests did", func(t *testing.T) {
		checkRuns(t, inventory(t, e, id1), key, v2, 3)
		checkRuns(t, inventory(t, e, id2), helloKey, helloPath, 1)
		links := ctlJSON[[]control.LinkDefinition](t, e, "link", "get")
		if len(links) != 1 || links[0].LinkName != "second" {
			t.Fatalf("links %+v, want only the one named second", links)
		}
		alive(t, h1, h2)
	})

	t.Run("links written into the bucket directly", func(t *testing.T) {
		testInjectedLinks(t, srv, w, signed, h1, h2, key, b)
	})

	t.Run("signed by the operator/stop actor", func(t *testing.T) {
		m := run(t, 6)
		after := stateOf(t, nc, "default", h1, h2)
		m.refused(t, nc, "control: token replayed")
		require.Equal(t, "lattice state after the replay", stateOf(t, nc, "default", h1, h2), after)
	})
	t.Run("signed by the operator/stop host", func(t *testing.T) {
		m := run(t, 7)
		// Replayed to the other host, whose subject the token does not bind.
		ctlMsg{p + "cmd." + id1 + ".stop", m.body, m.token}.refused(t, nc, "control: subject does not match its token")
		contains(t, "ctl hosts", ctlOK(t, e, "hosts"), id1)
		if h1.exited() {
			t.Fatal("host 1 stopped")
		}
	})
	w.check(t, id1, id2)
}

// testInjectedLinks links echo to the HTTP server through the signed ctl, then writes link entries into the
// lattice bucket as any NATS user with JetStream access could: a new link, a changed one, a deleted one. Both
// hosts ignore and report each (linkdef_refused), and echo keeps answering on the genuine address.
func testInjectedLinks(t *testing.T, srv *server.Server, w *eventWatcher, signed env, h1, h2 *hostProc, key string, b builtins) {
	addr, elsewhere := freeAddr(t), freeAddr(t)
	linkPut(t, signed, key, b[contractHTTPServer], contractHTTPServer, "address="+addr)
	require.Equal(t, "echo over HTTP", served(t, addr, "/").status, 200)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	kv := latticeBucket(t, nc)
	httpKey := linkKey(key, contractHTTPServer, "default")
	genuine, err := kv.Get(t.Context(), httpKey)
	if err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	if err := json.Unmarshal(genuine.Value(), &entry); err != nil {
		t.Fatal(err)
	}
	if tok, _ := entry["ctl_token"].(string); tok == "" {
		t.Fatalf("the link entry %s carries no signed request", genuine.Value())
	}
	put := func(key string, v any) {
		t.Helper()
		bs, _ := json.Marshal(v)
		if _, err := kv.Put(t.Context(), key, bs); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	// refusedBy waits for a host to report the forgery. One host may be the only one: a host that reads the
	// key only after another host wrote the genuine entry back never sees the forged one (the bucket keeps
	// one revision per key).
	refusedBy := func(t *testing.T, k, reason string) {
		t.Helper()
		w.wait(t, "linkdef_refused", func(e latticeEvent) bool {
			return (e.env.Source == h1.ready.HostID || e.env.Source == h2.ready.HostID) && e.str("key") == k && e.str("reason") == reason
		})
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		require.Equal(t, "echo over HTTP", served(t, addr, "/").status, 200)
		connRefused(t, elsewhere)
		links := ctlJSON[[]control.LinkDefinition](t, signed, "link", "get")
		for _, l := range links {
			if l.ContractID == contractMessaging || l.Values["address"] == elsewhere {
				t.Fatalf("a forged link applies: %+v", l)
			}
		}
	}

	t.Run("a new link", func(t *testing.T) {
		k := linkKey(key, contractMessaging, "default")
		put(k, control.LinkDefinition{ActorID: key, ProviderID: b[contractMessaging], ContractID: contractMessaging, LinkName: "default",
			Values: map[string]string{"subscription": "wasmbus.>"}})
		refusedBy(t, k, "linkdef_unsigned")
		unchanged(t)
	})
	t.Run("a changed link", func(t *testing.T) {
		forged := map[string]any{}
		for k, v := range entry {
			forged[k] = v
		}
		forged["values"] = map[string]string{"address": elsewhere} // with the genuine token, which says otherwise
		put(httpKey, forged)
		refusedBy(t, httpKey, "linkdef_signature")
		unchanged(t)
	})
	t.Run("a deleted link", func(t *testing.T) {
		if err := kv.Delete(t.Context(), httpKey); err != nil {
			t.Fatal(err)
		}
		refusedBy(t, httpKey, "linkdef_delete")
		unchanged(t)
		require.Eventually(t, pollTimeout, func() bool {
			e, err := kv.Get(t.Context(), httpKey)
			return err == nil && string(e.Value()) == string(genuine.Value())
		}, "the genuine entry written back")
	})
}

// TestLinkReplayAcrossTheQueueGroup: linkdefs.put is answered by one host of a queue group, so a captured
// request replayed later may reach another host; the lattice-wide record refuses it there too.
func TestLinkReplayAcrossTheQueueGroup(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	op := newKey(t, nkeys.PrefixByteOperator)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS", op.pub, "WASMCLOUD_LATTICE_PREFIX", "q")
	hosts := map[string]*hostProc{}
	for _, name := range []string{"host 1", "host 2"} {
		h := startHost(t, name, e.with("WASMCLOUD_STATE_DIR", t.TempDir()))
		hosts[h.ready.HostID] = h
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sets, err := nc.SubscribeSync("wasmbus.evt.q.linkdef_set")
	if err != nil {
		t.Fatal(err)
	}
	const subject = "wasmbus.ctl.q.linkdefs.put"
	body, _ := json.Marshal(control.LinkDefinition{ActorID: echoKey, ProviderID: publicKey(t, nkey.Service), ContractID: contractKeyValue,
		LinkName: "default", Values: map[string]string{"bucket": "b"}})
	m := ctlMsg{subject, body, ctlToken(t, op, subject, body, time.Now())}
	m.accepted(t, nc)
	ev, err := sets.NextMsg(pollTimeout)
	if err != nil {
		t.Fatalf("no linkdef_set event: %v", err)
	}
	var env struct{ Source string }
	if err := json.Unmarshal(ev.Data, &env); err != nil || hosts[env.Source] == nil {
		t.Fatalf("linkdef_set from %q, want one of the hosts (%v)", env.Source, err)
	}
	// Stop the host that answered: the replay can only reach the other one.
	answered := hosts[env.Source]
	require.Equal(t, answered.name+" exit status", answered.stop(t), 0)
	delete(hosts, env.Source)
	var other *hostProc
	for _, h := range hosts {
		other = h
	}
	before := stateOf(t, nc, "q", other)
	m.refused(t, nc, "control: token replayed")
	require.Equal(t, "lattice state", stateOf(t, nc, "q", other), before)
	other.logLine(t, `msg="refused an unauthorised control request"`, "reason=control_replay", "subject="+subject)
}

// TestTrustedActorIssuers: with WASMCLOUD_ACTOR_ISSUERS set, an actor signed by another account is refused
// before it is compiled, with an actors_start_failed event, and one signed by a listed account starts.
func TestTrustedActorIssuers(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	trusted, other := newKey(t, nkeys.PrefixByteAccount), newKey(t, nkeys.PrefixByteAccount)
	good, _, goodKey := echoRevisions(t, trusted)
	bad, _, badKey := echoRevisions(t, other)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_ACTOR_ISSUERS", trusted.pub))
	id := h.ready.HostID

	// ctl waits for the outcome and fails with what the event says: the event of a file reference says only
	// that the file was refused; the host's log says why.
	contains(t, "ctl start actor", ctlFails(t, e, "start", "actor", bad, "--host", id), "host: actor file refused")
	failed := w.wait(t, "actors_start_failed", func(e latticeEvent) bool { return e.env.Source == id && e.str("image_ref") == bad })
	contains(t, "actors_start_failed error", failed.str("error"), "host: actor file refused")
	h.logLine(t, `msg="actor failed to start"`, "actor="+badKey, "host: actor issuer not trusted: "+other.pub)

	ctlJSON[ctlStarted](t, e, "start", "actor", good, "--host", id)
	started := w.wait(t, "actors_started", about(id, goodKey))
	require.Equal(t, "started", started.str("image_ref"), good)
	checkRuns(t, inventory(t, e, id), goodKey, good, 1)
	w.check(t, id)
}
