package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/opatest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// TestMetricsOfTheTrustBoundary: what the operator controls refuse is counted where an alert can see it, each
// under its own reason and exactly once: a call the policy service (a real OPA) denies, an invocation signed
// by a revoked cluster key, an unsigned control request and one signed by a key the hosts do not trust. The
// legitimate calls and the operator's commands around them still work, and count nothing.
func TestMetricsOfTheTrustBoundary(t *testing.T) {
	dir := t.TempDir()
	rego := filepath.Join(dir, "deny.rego")
	if err := os.WriteFile(rego, []byte(`package wasmcloud

default allow := false

allow if input.action != "perform_invocation"

allow if input.target.publicKey != "`+kvcounterKey+`"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	opa := opatest.Run(t, rego)
	srv := runNATS(t, nil)
	c, revoked := newCluster(t), newCluster(t)
	op, stranger := newKey(t, nkeys.PrefixByteOperator), newKey(t, nkeys.PrefixByteOperator)
	revocations := filepath.Join(dir, "revocations")
	writeFile(t, revocations, "# leaked on the 1st\n"+revoked.pub+"\n", 0o644)
	admin := freeAddr(t)
	e := latticeEnv(t, srv, c).with("WASMCLOUD_CTL_ISSUERS", op.pub)
	signed := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "operator.nk", []byte(op.seed+"\n")))
	asStranger := e.with("WASMCLOUD_CTL_ISSUER_SEED_FILE", writeSecret(t, "stranger.nk", []byte(stranger.seed+"\n")))
	h := startHost(t, "host", e.with("WASMCLOUD_ADMIN_ADDRESS", admin, "WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm"),
		"WASMCLOUD_POLICY_SERVICE_ENDPOINT", opa.URL+"/v1/data/wasmcloud", "WASMCLOUD_CLUSTER_ISSUERS", revoked.pub,
		"WASMCLOUD_REVOCATIONS_FILE", revocations))
	startActorOn(t, signed, h, testutil.Path("actors/kvcounter.wasm"), kvcounterKey)
	p := builtinProviders(t, e, h.ready.HostID)

	// Legitimate: echo answers, the operator links.
	require.Equal(t, "call echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	linkPut(t, signed, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=metrics")

	// Refused: a call the policy denies, an invocation of the revoked cluster key, control requests nobody
	// trusted signed.
	contains(t, "denied call", callFails(t, e, kvcounterKey, "HttpServer.HandleRequest", echoRequest), "policy: denied")
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	byRevoked := testCluster(t, revoked.seed)
	inv := &wire.Invocation{Origin: wire.Entity{PublicKey: byRevoked.HostID()}, Target: wire.Entity{PublicKey: echoKey},
		Operation: "HttpServer.HandleRequest", Msg: httpRequest([]byte("x"))}
	require.NoError(t, byRevoked.Sign(inv))
	reply, err := nc.Request("wasmbus.rpc.default."+echoKey, inv.AppendMsgpack(nil), cliTimeout)
	require.NoError(t, err)
	resp, err := testCluster(t, c.seed).VerifyResponse(reply.Data, inv.ID)
	require.NoError(t, err)
	contains(t, "revoked cluster key", resp.Error, rpc.ErrRevoked.Error())
	contains(t, "unsigned ctl", ctlFails(t, e, "link", "put", kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=other", "--link-name", "x"),
		"control: request not signed")
	contains(t, "stranger's ctl", ctlFails(t, asStranger, "link", "put", kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=other", "--link-name", "x"),
		"signer not trusted")

	// Legitimate again, after the attacks: echo answers, the link is the operator's.
	require.Equal(t, "call echo after", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	got := scrape(t, admin)
	for series, v := range map[string]float64{
		`wasmcloud_refusals_total{reason="policy"}`:                                                                   1,
		`wasmcloud_policy_denial_total{action="perform_invocation"}`:                                                  1,
		`wasmcloud_refusals_total{reason="revoked"}`:                                                                  1,
		`wasmcloud_refusals_total{reason="control_signature"}`:                                                        1,
		`wasmcloud_refusals_total{reason="control_untrusted"}`:                                                        1,
		`wasmcloud_link_established_total{contract="wasmcloud:keyvalue"}`:                                             1,
		`wasmcloud_actor_invocations_total{actor="` + echoKey + `",operation="HttpServer.HandleRequest",result="ok"}`: 2,
	} {
		require.Equal(t, series, got[series], v)
	}
	require.Equal(t, "all refusals", sumOf(got, "wasmcloud_refusals_total"), 4.0)
	require.Equal(t, "all policy denials", sumOf(got, "wasmcloud_policy_denial_total"), 1.0)
	links := ctlJSON[[]control.LinkDefinition](t, e, "link", "get")
	require.Equal(t, "links", len(links), 1)
	require.Equal(t, "the link's bucket", links[0].Values["bucket"], "metrics")
}
