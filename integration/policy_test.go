package integration

import (
	"path/filepath"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/opatest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// linkPolicy is the Rego link policy of the security guide's kind (policy/testdata): a key-value link is allowed
// when its bucket lies under the tenant prefix of its actor (kvcounter's tenant is "globex-", echo's "acme-").
var linkPolicy = []string{
	filepath.Join(testutil.Root(), "policy", "testdata", "link_policy.rego"),
	filepath.Join(testutil.Root(), "policy", "testdata", "link_data.json"),
}

// TestPolicyWithOPA runs a host whose policy service is a real OPA server with the link policy: a link inside
// the actor's tenant is stored and served, one outside it is refused with OPA's reason; with OPA gone, every
// new question is refused (fail closed), and the host keeps running.
func TestPolicyWithOPA(t *testing.T) {
	opa := opatest.Run(t, linkPolicy...)
	srv := runNATS(t, nil)
	e := latticeEnv(t, srv, newCluster(t))
	h := startHost(t, "host", e.with("WASMCLOUD_POLICY_SERVICE_ENDPOINT", opa.URL+"/v1/data/wasmcloud"))
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, testutil.Path("actors/kvcounter.wasm"), kvcounterKey)

	linkPut(t, e, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=globex-counters")
	contains(t, "link outside the tenant",
		ctlFails(t, e, "link", "put", kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=acme-counters", "--link-name", "other"),
		"policy: denied", `bucket "acme-counters" is outside "globex-"`)
	request := `{"method":"GET","path":"/","queryString":"","header":{},"body":""}`
	require.Equal(t, "call", callOK(t, e, kvcounterKey, "HttpServer.HandleRequest", request),
		`{"body":"{\"counter\":1}","header":{},"statusCode":200}`)
	h.logLine(t, `msg="policy service denied"`, "action=put_link")

	opa.Stop()
	contains(t, "link put with OPA gone",
		ctlFails(t, e, "link", "put", kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket=globex-more", "--link-name", "more"),
		"policy: service unavailable")
	// ctl waits for the outcome: the public event of a file reference says only that it was refused.
	contains(t, "start with OPA gone", ctlFails(t, e, "start", "actor", testutil.Path("actors/echo.wasm"), "--host", h.ready.HostID),
		"host: actor file refused")
	h.logLine(t, `msg="actor failed to start"`, "policy: service unavailable")
	// A call (from a CLI whose key is new, so nothing was decided about it) is refused as well.
	contains(t, "call with OPA gone", callFails(t, e, kvcounterKey, "HttpServer.HandleRequest", request), "policy: service unavailable")
	require.False(t, h.exited(), "the host exited")
	ctlOK(t, e, "hosts")
}

// TestPolicyActorAsService runs the real wasmCloud policy actor (testdata/actors/example_policy_s.wasm) as the
// lattice's policy service: host A serves it over a messaging subscription, host B asks it before starting
// actors. It permits actors signed by the official wasmCloud account and denies the others with its message.
func TestPolicyActorAsService(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	// The policy service comes first: its actor and link, through a host that asks no policy service.
	a := startHost(t, "host A", latticeEnv(t, srv, c))
	pa := builtinProviders(t, e, a.ready.HostID)
	startActorOn(t, e, a, testutil.Path("actors/example_policy_s.wasm"), policyKey)
	linkPut(t, e, policyKey, pa[contractMessaging], contractMessaging, "subscription=wasmcloud.policy.evaluator")
	b := startHost(t, "host B", latticeEnv(t, srv, c).with("WASMCLOUD_POLICY_TOPIC", "wasmcloud.policy.evaluator"))

	// echo is signed by the official account: permitted (the subscription may take a moment to apply).
	require.Eventually(t, pollTimeout, func() bool {
		ctlOK(t, e, "start", "actor", testutil.Path("actors/echo.wasm"), "--host", b.ready.HostID)
		return findLine(b.stderr.String(), `msg="actor started"`, "actor="+echoKey) != ""
	}, "echo to start on host B")
	echoAnswers(t, e, 2)

	// echo_unpriv is signed by another account: denied with the policy actor's message.
	contains(t, "start of echo_unpriv", ctlFails(t, e, "start", "actor", testutil.Path("actors/echo_unpriv_s.wasm"), "--host", b.ready.HostID),
		"host: actor file refused")
	b.logLine(t, `msg="actor failed to start"`, "Issuer was not the official wasmCloud issuer")
	require.Equal(t, "actors of host B", len(inventory(t, e, b.ready.HostID).Actors), 1)
}
