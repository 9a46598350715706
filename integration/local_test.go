package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// localMarks are the map keys and NATS headers an attacker might hope a host reads as "this invocation was
// made here": a host reads none of them.
var localMarks = []string{"local", "in_process", "inProcess", "InProcess", "unauthenticated", "trusted", "Local"}

// withMarks appends every local mark to an encoded invocation map, as a true boolean.
func withMarks(t testing.TB, msg []byte) []byte {
	t.Helper()
	n, rest, err := msgp.ReadMapHeaderBytes(msg)
	require.NoError(t, err)
	out := append(msgp.AppendMapHeader(nil, n+uint32(len(localMarks))), rest...)
	for _, k := range localMarks {
		out = msgp.AppendBool(msgp.AppendString(out, k), true)
	}
	return out
}

// markHeaders are NATS headers that say local in every spelling the marks use.
func markHeaders(hostID string) nats.Header {
	h := nats.Header{}
	for _, k := range []string{"Wasmcloud-Local", "Wasmcloud-In-Process", "Wasmcloud-Unauthenticated", "Wasmcloud-Trusted", "Local"} {
		h.Set(k, "true")
	}
	h.Set("Wasmcloud-Host-Id", hostID)
	return h
}

// unsignedToken returns a well-formed invocation token for inv that names issuer, with the metadata a genuine
// one would carry, and a signature of zeros: what someone who knows the host's cluster public key but not its
// seed can make.
func unsignedToken(t testing.TB, inv *wire.Invocation, issuer, lattice string) string {
	t.Helper()
	meta, err := json.Marshal(map[string]any{"target_url": inv.TargetURL(), "origin_url": inv.Origin.URL(),
		"hash": wire.HashHex(inv.Hash()), "host_id": inv.HostID, "lattice": lattice})
	require.NoError(t, err)
	now := time.Now().Unix()
	claims, err := json.Marshal(map[string]any{"jti": inv.ID, "iat": now, "exp": now + 30, "iss": issuer, "sub": inv.ID,
		"wascap": json.RawMessage(meta), "wascap_revision": 3})
	require.NoError(t, err)
	b64 := base64.RawURLEncoding
	return b64.EncodeToString([]byte(`{"typ":"jwt","alg":"Ed25519"}`)) + "." + b64.EncodeToString(claims) + "." +
		b64.EncodeToString(make([]byte, 64))
}

// TestAttackLocalMarkFromTheNetwork: what a host delivers to an actor of its own (an HTTP request, a call
// between two of its actors) carries no token, so a NATS user who holds no cluster key tries to pass for one:
// on the actors' RPC subjects, invocations as such a delivery would look (the built-in HTTP server or a
// neighbouring actor as origin, the host's own id), without a token, with a token that names the host's own
// cluster key but is not signed by it, with a token without a signature, and with every map key and header
// that could be read as "local". Each one is refused for what it is, with a signed response, counted, and
// never reaches the actor (hello counts its calls); requests sent without a reply subject too. The genuine
// local deliveries answer before and after, and so do signed calls from outside.
func TestAttackLocalMarkFromTheNetwork(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	admin := freeAddr(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_ADMIN_ADDRESS", admin)
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	callerPath, callerKey := guest(t, "examples/caller", "")
	startActorOn(t, e, h, helloPath, helloKey)
	startActorOn(t, e, h, callerPath, callerKey)
	addr := freeAddr(t)
	linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)

	const relayed = `{"relayed":"Hello, Ada!","via":"caller"}`
	genuine := func(when string) {
		t.Helper()
		require.Equal(t, "HTTP to echo "+when, served(t, addr, "/").status, http.StatusOK)
		require.Equal(t, "caller to hello on one host "+when, callOK(t, e, callerKey, "Caller.Relay", `{"target":"hello","name":"Ada"}`), relayed)
	}
	genuine("before")
	echoOK := `wasmcloud_actor_invocations_total{actor="` + echoKey + `",operation="HttpServer.HandleRequest",result="ok"}`
	before := scrape(t, admin)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	trusted := testCluster(t, c.seed)
	fromHTTP := func() *wire.Invocation {
		return &wire.Invocation{ID: wire.NewID(), HostID: h.ready.HostID,
			Origin: wire.Entity{PublicKey: p[contractHTTPServer], ContractID: contractHTTPServer, LinkName: "default"},
			Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: httpRequest([]byte("mallory"))}
	}
	fromNeighbour := func() *wire.Invocation {
		return &wire.Invocation{ID: wire.NewID(), HostID: h.ready.HostID, Origin: wire.Entity{PublicKey: callerKey},
			Target: wire.Entity{PublicKey: helloKey}, Operation: "Hello.SayHello", Msg: packMap(t, "name", "Mallory")}
	}
	ownKey := func(inv *wire.Invocation) { inv.EncodedClaims = unsignedToken(t, inv, c.pub, "default") }
	noSignature := func(inv *wire.Invocation) {
		tok := unsignedToken(t, inv, c.pub, "default")
		inv.EncodedClaims = tok[:len(tok)-86] // the 64-byte signature is 86 base64url characters
	}
	none := func(*wire.Invocation) {}

	tests := []struct {
		name    string
		inv     func() *wire.Invocation
		token   func(*wire.Invocation)
		marks   bool
		headers bool
		want    error
	}{
		{"as the HTTP server's delivery, no token", fromHTTP, none, false, false, rpc.ErrToken},
		{"as a neighbour's call, no token", fromNeighbour, none, false, false, rpc.ErrToken},
		{"no token, marked local in the map", fromHTTP, none, true, false, rpc.ErrToken},
		{"no token, marked local in headers", fromNeighbour, none, false, true, rpc.ErrToken},
		{"no token, marked local everywhere", fromNeighbour, none, true, true, rpc.ErrToken},
		{"a token without a signature", fromHTTP, noSignature, true, true, rpc.ErrToken},
		{"a token naming the host's key, not signed by it", fromHTTP, ownKey, false, false, rpc.ErrSignature},
		{"the same, marked local everywhere", fromNeighbour, ownKey, true, true, rpc.ErrSignature},
	}
	counts := map[error]int{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.inv()
			tc.token(inv)
			msg := &nats.Msg{Subject: "wasmbus.rpc.default." + inv.Target.PublicKey, Data: inv.AppendMsgpack(nil)}
			if tc.marks {
				msg.Data = withMarks(t, msg.Data)
			}
			if tc.headers {
				msg.Header = markHeaders(h.ready.HostID)
			}
			reply, err := nc.RequestMsg(msg, cliTimeout)
			require.NoError(t, err)
			resp, err := trusted.VerifyResponse(reply.Data, inv.ID)
			require.NoError(t, err, "the host signs its refusal")
			contains(t, "refusal", resp.Error, tc.want.Error())
			require.Equal(t, "payload of the refusal", len(resp.Msg), 0)
			counts[tc.want]++

			// The same without a reply subject: refused and counted all the same.
			inv = tc.inv()
			tc.token(inv)
			oneWay := &nats.Msg{Subject: msg.Subject, Data: inv.AppendMsgpack(nil), Header: msg.Header}
			if tc.marks {
				oneWay.Data = withMarks(t, oneWay.Data)
			}
			require.NoError(t, nc.PublishMsg(oneWay))
			counts[tc.want]++
		})
	}
	require.NoError(t, nc.Flush())

	reasons := map[string]float64{"malformed": float64(counts[rpc.ErrToken]), "signature": float64(counts[rpc.ErrSignature])}
	total := sumOf(before, "wasmcloud_refusals_total") + reasons["malformed"] + reasons["signature"]
	require.Eventually(t, pollTimeout, func() bool {
		return sumOf(scrape(t, admin), "wasmcloud_refusals_total") >= total
	}, "%v refusals to be counted", total)
	after := scrape(t, admin)
	for reason, n := range reasons {
		series := `wasmcloud_refusals_total{reason="` + reason + `"}`
		require.Equal(t, series, after[series], before[series]+n)
	}
	require.Equal(t, "all refusals", sumOf(after, "wasmcloud_refusals_total"), total)
	require.Equal(t, "echo's invocations", after[echoOK], before[echoOK])

	// Nothing reached the actors: hello served the one genuine relay, and now this question.
	require.Equal(t, "hello's calls", callOK(t, e, helloKey, "Hello.Calls", `{}`), `{"calls":2}`)
	genuine("after")
	require.Equal(t, "echo's invocations after", scrape(t, admin)[echoOK], before[echoOK]+1)
	require.Equal(t, "signed call from outside", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	require.Equal(t, "hello's calls after", callOK(t, e, helloKey, "Hello.Calls", `{}`), fmt.Sprintf(`{"calls":%d}`, 4))
}
