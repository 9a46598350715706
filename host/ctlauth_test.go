package host

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// operator is a control issuer key for tests: its public key goes into WASMCLOUD_CTL_ISSUERS, its signer signs.
type operator struct {
	pub    string
	signer *control.Signer
}

func newOperator(t testing.TB, typ nkey.Type) operator {
	t.Helper()
	kp, err := nkey.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	s, err := control.NewSigner(seed, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Wipe)
	return operator{pub: kp.Public().String(), signer: s}
}

// token signs body for subject, issued at iat (now when zero).
func (o operator) token(t testing.TB, subject string, body []byte, iat time.Time) string {
	t.Helper()
	if iat.IsZero() {
		iat = time.Now()
	}
	tok, err := o.signer.SignAt(subject, body, iat)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signedRequest sends body to subject with token in the control token header (none when empty) and decodes
// the acknowledgement.
func signedRequest(t testing.TB, nc *nats.Conn, subject string, body []byte, token string) control.CtlAck {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = body
	if token != "" {
		m.Header.Set(control.TokenHeader, token)
	}
	reply, err := nc.RequestMsg(m, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var ack control.CtlAck
	if err := json.Unmarshal(reply.Data, &ack); err != nil {
		t.Fatalf("%s: reply %s: %v", subject, reply.Data, err)
	}
	return ack
}

// TestEveryLatticeChangeIsSigned: the routes of the control interface are signed unless they are one of the
// queries; a route someone adds is signed unless they mark it as a query on purpose.
func TestEveryLatticeChangeIsSigned(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	c := lattice.NewCtlSubjects("wasmbus.ctl", "default")
	var queries, signed []string
	for _, r := range h.ctlRoutes() {
		if r.query {
			queries = append(queries, r.subject)
		} else {
			signed = append(signed, r.subject)
		}
	}
	require.DeepEqual(t, "queries", queries, []string{c.PingHosts(), c.Inventory(h.HostID()), c.Claims(), c.Links(), c.Auction(), c.ProviderAuction()})
	require.Equal(t, "signed routes", len(signed), 11) // the 0.x commands (provider start and stop too) and revocations.put
}

func TestSignedControl(t *testing.T) {
	s := runNATS(t)
	op := newOperator(t, nkey.Operator)
	acct := newOperator(t, nkey.Account)
	stranger := newOperator(t, nkey.Operator)
	log, logs := captureLog()
	seed := clusterSeed(t)
	issuers := "WASMCLOUD_CTL_ISSUERS=" + op.pub + "," + acct.pub
	a := startHostWithLog(t, s, seed, log, issuers)
	startFixture(t, a, "echo.wasm")
	nc := connect(t, s)
	id := a.HostID()
	echoPath := testutil.Path("actors/echo.wasm")
	three, zero := uint16(3), uint16(0)
	provider := "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	link := control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:httpserver", LinkName: "default",
		Values: map[string]string{"port": "0"}}

	// Each request would change the lattice if it were accepted.
	requests := []struct {
		name, subject string
		body          []byte
	}{
		{"start actor", ctl + "cmd." + id + ".la", mustJSON(control.StartActorCommand{ActorRef: echoPath, Count: 1})},
		{"stop actor", ctl + "cmd." + id + ".sa", mustJSON(control.StopActorCommand{ActorRef: echoKey})},
		{"scale actor", ctl + "cmd." + id + ".scale", mustJSON(control.ScaleActorCommand{ActorID: echoKey, Count: &three})},
		{"update actor", ctl + "cmd." + id + ".upd", mustJSON(control.UpdateActorCommand{ActorID: echoKey, NewActorRef: echoPath})},
		{"link put", ctl + "linkdefs.put", mustJSON(link)},
		{"link del", ctl + "linkdefs.del", mustJSON(control.RemoveLinkDefinition{ActorID: echoKey, ContractID: "wasmcloud:keyvalue", LinkName: "default"})},
		{"registries put", ctl + "registries.put", mustJSON(control.RegistryCredentialMap{"registry.invalid": {Username: "u", Password: "p"}})},
		{"stop host", ctl + "cmd." + id + ".stop", mustJSON(control.StopHostCommand{})},
	}
	// unchanged checks that echo still runs once, with no link, and the host was not asked to stop.
	unchanged := func(t *testing.T) {
		t.Helper()
		inv := ctlRequest[control.HostInventory](t, nc, ctl+"get."+id+".inv", nil)
		if len(inv.Actors) != 1 || inv.Actors[0].ID != echoKey || len(inv.Actors[0].Instances) != 1 {
			t.Fatalf("inventory changed: %+v", inv.Actors)
		}
		if l := ctlRequest[control.LinkDefinitionList](t, nc, ctl+"get.links", nil); len(l.Links) != 0 {
			t.Fatalf("links changed: %+v", l.Links)
		}
		select {
		case <-a.StopRequested():
			t.Fatal("the host was asked to stop")
		default:
		}
	}
	counts := map[string]int64{refusedSignature: 0, refusedUntrusted: 0, refusedBody: 0, refusedReplay: 0, refusedExpired: 0, refusedRevoked: 0}

	refusals := []struct {
		name   string
		token  func(subject string, body []byte) string
		body   func([]byte) []byte
		want   error
		reason string
	}{
		{"no token", func(string, []byte) string { return "" }, nil, control.ErrNotSigned, refusedSignature},
		{"garbage token", func(string, []byte) string { return "not.a.token" }, nil, control.ErrNotSigned, refusedSignature},
		{"untrusted signer", func(s string, b []byte) string { return stranger.token(t, s, b, time.Time{}) }, nil, control.ErrUntrustedSigner, refusedUntrusted},
		{"tampered body", func(s string, b []byte) string { return op.token(t, s, b, time.Time{}) },
			func(b []byte) []byte { return append(b[:len(b)-1:len(b)-1], `,"x":1}`...) }, control.ErrBodyMismatch, refusedBody},
		{"token for another subject", func(s string, b []byte) string { return op.token(t, ctl+"cmd."+id+".other", b, time.Time{}) },
			nil, control.ErrSubjectMismatch, refusedBody},
		{"expired", func(s string, b []byte) string { return op.token(t, s, b, time.Now().Add(-2*time.Minute)) }, nil, control.ErrExpired, refusedExpired},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			for _, ref := range refusals {
				t.Run(ref.name, func(t *testing.T) {
					body := r.body
					tok := ref.token(r.subject, body)
					if ref.body != nil {
						body = ref.body(body)
					}
					ack := signedRequest(t, nc, r.subject, body, tok)
					wantAck(t, ack, false, ref.want.Error())
					counts[ref.reason]++
					unchanged(t)
				})
			}
		})
	}
	require.DeepEqual(t, "refusals by reason", a.RefusedControl(), counts)

	t.Run("queries stay open", func(t *testing.T) {
		ctlRequest[control.ClaimsList](t, nc, ctl+"get.claims", nil)
		ctlRequest[control.HostInventory](t, nc, ctl+"get."+id+".inv", nil)
	})

	t.Run("signed by a trusted key: accepted once", func(t *testing.T) {
		for _, r := range []struct {
			name, subject string
			body          []byte
			signer        operator
		}{
			{"scale", ctl + "cmd." + id + ".scale", mustJSON(control.ScaleActorCommand{ActorID: echoKey, Count: &three}), op},
			{"link put by the account key", ctl + "linkdefs.put", mustJSON(link), acct},
			{"registries", ctl + "registries.put", mustJSON(control.RegistryCredentialMap{"registry.invalid": {Username: "u", Password: "p"}}), op},
			{"link del", ctl + "linkdefs.del", mustJSON(control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}), op},
			{"stop actor", ctl + "cmd." + id + ".sa", mustJSON(control.StopActorCommand{ActorRef: echoKey, Count: zero}), op},
			{"stop host", ctl + "cmd." + id + ".stop", mustJSON(control.StopHostCommand{}), op}, // the daemon would exit; the test's host stays
		} {
			t.Run(r.name, func(t *testing.T) {
				tok := r.signer.token(t, r.subject, r.body, time.Time{})
				wantAck(t, signedRequest(t, nc, r.subject, r.body, tok), true, "")
				wantAck(t, signedRequest(t, nc, r.subject, r.body, tok), false, control.ErrReplayed.Error())
				counts[refusedReplay]++
			})
		}
		require.Eventually(t, 5*time.Second, func() bool { return a.running(echoKey) == nil }, "echo stopped")
		require.DeepEqual(t, "refusals by reason", a.RefusedControl(), counts)
	})

	t.Run("the log is not flooded", func(t *testing.T) {
		n := strings.Count(logs.String(), "refused an unauthorised control request")
		// One line per reason within the interval, however many requests were refused.
		if n > len(refusalReasons) {
			t.Fatalf("%d log lines about refusals:\n%s", n, logs)
		}
		for i := 0; i < 20; i++ {
			signedRequest(t, nc, ctl+"cmd."+id+".stop", []byte(`{}`), "")
		}
		if m := strings.Count(logs.String(), "refused an unauthorised control request"); m != n {
			t.Fatalf("20 more refusals wrote %d more log lines", m-n)
		}
		if strings.Contains(logs.String(), string(mustJSON(op))) {
			t.Fatal("log shows the operator")
		}
	})

	t.Run("a link put replayed to another host of the queue group", func(t *testing.T) {
		body := mustJSON(control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:httpserver", LinkName: "replayed",
			Values: map[string]string{}})
		tok := op.token(t, ctl+"linkdefs.put", body, time.Time{})
		wantAck(t, signedRequest(t, nc, ctl+"linkdefs.put", body, tok), true, "") // only a answers
		b := startHost(t, s, seed, issuers)
		shutdown(t, a) // the replay can only reach b
		wantAck(t, signedRequest(t, nc, ctl+"linkdefs.put", body, tok), false, control.ErrReplayed.Error())
		require.Equal(t, "b's replay refusals", b.RefusedControl()[refusedReplay], int64(1))
	})
}

func shutdown(t *testing.T, h *Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUnsignedControlWarns(t *testing.T) {
	s := runNATS(t)
	log, logs := captureLog()
	h := startHostWithLog(t, s, clusterSeed(t), log)
	require.Equal(t, "warnings", strings.Count(logs.String(), "WASMCLOUD_CTL_ISSUERS is not set"), 1)
	require.Equal(t, "warnings", strings.Count(logs.String(), "WASMCLOUD_ACTOR_ISSUERS is not set"), 1)
	nc := connect(t, s)
	wantAck(t, signedRequest(t, nc, ctl+"cmd."+h.HostID()+".stop", []byte(`{}`), ""), true, "")
	require.DeepEqual(t, "refusals", slices.Collect(maps.Values(h.RefusedControl())), []int64{0, 0, 0, 0, 0, 0})
}

func TestTokenRecord(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := newTokenRecord(2)
	require.NoError(t, r.add("a", now, now.Add(time.Second)))
	require.ErrorIs(t, r.add("a", now, now.Add(time.Second)), control.ErrReplayed)
	require.NoError(t, r.add("b", now, now.Add(time.Minute)))
	require.ErrorIs(t, r.add("c", now, now.Add(time.Minute)), errReplayRecord) // full of live tokens
	later := now.Add(2 * time.Second)
	require.NoError(t, r.add("c", later, later.Add(time.Minute))) // a expired and was swept
	require.ErrorIs(t, r.add("b", later, later.Add(time.Minute)), control.ErrReplayed)
	require.NoError(t, r.add("a", later.Add(time.Hour), later.Add(2*time.Hour))) // every token expired
}

// captureLog returns a debug-level text logger and the buffer it writes to.
func captureLog() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// TestForgedLinkEntries: with control signed, a link written straight into the lattice bucket is ignored,
// reported as linkdef_refused and counted, and the genuine link stays in force.
func TestForgedLinkEntries(t *testing.T) {
	s := runNATS(t)
	op := newOperator(t, nkey.Operator)
	h := startHost(t, s, clusterSeed(t), "WASMCLOUD_CTL_ISSUERS="+op.pub)
	nc := connect(t, s)
	events := watchEvents(t, nc)
	provider := "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	link := control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "default",
		Values: map[string]string{"bucket": "mine"}}
	body := mustJSON(link)
	wantAck(t, signedRequest(t, nc, ctl+"linkdefs.put", body, op.token(t, ctl+"linkdefs.put", body, time.Time{})), true, "")
	require.Eventually(t, 5*time.Second, func() bool { _, ok := h.data.Link(echoKey, link.ContractID, "default"); return ok }, "the link")

	kv := latticeKV(t, nc)
	forged := link
	forged.Values = map[string]string{"bucket": "theirs"}
	key := lattice.LinkKey(echoKey, link.ContractID, "default")
	mustPut(t, kv, key, forged)
	ev := events.waitFor(t, "linkdef_refused", nil)
	require.Equal(t, "key", ev["key"], any(key))
	require.Equal(t, "reason", ev["reason"], any(lattice.RefusedLinkUnsigned))
	require.NoError(t, kv.Delete(context.Background(), key))
	events.waitFor(t, "linkdef_refused", func(d map[string]any) bool { return d["reason"] == lattice.RefusedLinkDelete })
	require.Eventually(t, 5*time.Second, func() bool { return h.RefusedLatticeData()[lattice.RefusedLinkDelete] == 1 }, "the deletion counted")
	require.Equal(t, "unsigned", h.RefusedLatticeData()[lattice.RefusedLinkUnsigned], int64(1))
	l, ok := h.data.Link(echoKey, link.ContractID, "default")
	require.True(t, ok, "the link is still in force")
	require.Equal(t, "bucket", l.Values["bucket"], "mine")
	require.Equal(t, "links", len(ctlRequest[control.LinkDefinitionList](t, nc, ctl+"get.links", nil).Links), 1)
}

// latticeKV opens the lattice bucket of "default".
func latticeKV(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), lattice.DataBucket("default"))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestActorIssuers(t *testing.T) {
	s := runNATS(t)
	echo, err := actor.Verify("echo.wasm", testutil.Actor(t, "echo.wasm"), actor.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := newOperator(t, nkey.Account).pub
	nc := connect(t, s)
	events := watchEvents(t, nc)

	t.Run("another account's actor is refused before it is compiled", func(t *testing.T) {
		h := startHost(t, s, clusterSeed(t), "WASMCLOUD_ACTOR_ISSUERS="+other)
		// Not a file reference, whose public events say only that the file was refused.
		_, err := h.StartActorBytes(context.Background(), "registry.invalid/echo:0.1.0", testutil.Actor(t, "echo.wasm"))
		require.ErrorIs(t, err, ErrUntrustedActorIssuer)
		require.ErrorContains(t, err, echo.Issuer)
		failed := events.waitFor(t, "actors_start_failed", func(d map[string]any) bool { return d["host_id"] == h.HostID() })
		require.Equal(t, "public_key", failed["public_key"], any(echoKey))
		if !strings.Contains(failed["error"].(string), "host: actor issuer not trusted") {
			t.Fatalf("actors_start_failed %v", failed)
		}
		require.Equal(t, "actors", len(h.Actors()), 0)
	})
	t.Run("a listed account's actor starts", func(t *testing.T) {
		h := startHost(t, s, clusterSeed(t), "WASMCLOUD_ACTOR_ISSUERS="+other+","+echo.Issuer)
		startFixture(t, h, "echo.wasm")
	})
}
