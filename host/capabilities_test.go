package host

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const (
	kvcounterKey       = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"
	kvcounterUnprivKey = "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU"
	echoUnprivKey      = "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5"
	policyKey          = "MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3"
)

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// link stores a link through host h and waits until h has applied it.
func link(t testing.TB, h *Host, actorKey, provider, contract string, values map[string]string) {
	t.Helper()
	l := control.LinkDefinition{ActorID: actorKey, ProviderID: provider, ContractID: contract, LinkName: "default", Values: values}
	if _, err := h.data.PutLink(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	require.Eventually(t, 5*time.Second, func() bool {
		got, ok := h.data.Link(actorKey, contract, "default")
		return ok && maps.Equal(got.Values, values)
	}, "the link of %s to %s to be applied", actorKey, contract)
}

// get polls an HTTP address until it answers (the listener appears once the link is applied).
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	var (
		code int
		body []byte
	)
	require.EventuallyNoError(t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		code = resp.StatusCode
		body, _ = io.ReadAll(resp.Body)
		return nil
	}, "GET %s", addr)
	return code, string(body)
}

func counterOf(t *testing.T, body string) int {
	t.Helper()
	var v struct{ Counter int }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v.Counter
}

func TestKVCounterOverHTTP(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	a := startHost(t, s, seed)
	addr := freeAddr(t)
	startFixture(t, a, "kvcounter.wasm")
	link(t, a, kvcounterKey, capability.BuiltinKeyValue, contract.ContractKeyValue, map[string]string{keyvalue.LinkBucket: "counters", keyvalue.LinkPrefix: "app1"})
	link(t, a, kvcounterKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})

	for want := 1; want <= 3; want++ {
		code, body := get(t, addr, "/")
		if code != http.StatusOK || counterOf(t, body) != want {
			t.Fatalf("request %d: %d %s", want, code, body)
		}
	}
	// The count lives in JetStream: it survives the host, and another host serving the same link goes on.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	b := startHost(t, s, seed)
	startFixture(t, b, "kvcounter.wasm")
	if code, body := get(t, addr, "/"); code != http.StatusOK || counterOf(t, body) != 4 {
		t.Fatalf("after the restart: %d %s", code, body)
	}
}

func TestCapabilityRefusals(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))

	t.Run("kvcounter_unpriv's key-value call is refused", func(t *testing.T) {
		addr := freeAddr(t)
		startFixture(t, h, "kvcounter_unpriv_s.wasm")
		link(t, h, kvcounterUnprivKey, capability.BuiltinKeyValue, contract.ContractKeyValue, map[string]string{keyvalue.LinkBucket: "counters"})
		link(t, h, kvcounterUnprivKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		code, body := get(t, addr, "/")
		if code != http.StatusInternalServerError || !strings.Contains(body, "do not list the capability wasmcloud:keyvalue") {
			t.Fatalf("got %d %q", code, body)
		}
		if h.RefusedCalls()["not_claimed"] < 1 {
			t.Fatalf("refusal not counted: %v", h.RefusedCalls())
		}
	})
	t.Run("echo_unpriv gets no HTTP traffic", func(t *testing.T) {
		// The link reaches the bucket without the control interface's check (which refuses it at put): the
		// host does not serve it, since echo_unpriv's claims do not list wasmcloud:httpserver.
		logs := &logBuffer{}
		hl := startHostWithLog(t, s, clusterSeed(t), slog.New(slog.NewJSONHandler(logs, nil)))
		addr := freeAddr(t)
		startFixture(t, hl, "echo_unpriv_s.wasm")
		link(t, hl, echoUnprivKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		require.Eventually(t, 5*time.Second, func() bool {
			return len(logs.find(t, "link not served: the actor's claims do not list its contract")) == 1
		},
			"the link to be left unserved")
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("%s is bound for an actor without the claim", addr)
		}
	})
	t.Run("echo serves HTTP", func(t *testing.T) {
		addr := freeAddr(t)
		startFixture(t, h, "echo.wasm")
		link(t, h, echoKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		code, body := get(t, addr, "/hello?x=1")
		if code != http.StatusOK || !strings.Contains(body, `"path":"/hello"`) || !strings.Contains(body, `"query_string":"x=1"`) {
			t.Fatalf("got %d %q", code, body)
		}
		// Unlinking stops the listener.
		if _, _, err := h.data.DelLink(context.Background(), control.RemoveLinkDefinition{ActorID: echoKey,
			ContractID: contract.ContractHTTPServer, LinkName: "default"}); err != nil {
			t.Fatal(err)
		}
		require.Eventually(t, 5*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/")
			if err == nil {
				resp.Body.Close()
			}
			return err != nil
		}, "the listener to stop after the link was deleted")
	})
}

// policyRequest is transcript 1 of example_policy_s.wasm: a start_actor request for an actor signed by the
// official wasmCloud account, which the policy permits.
const policyRequest = `{"requestId":"11111111-2222-3333-4444-555555555555","source":{"publicKey":"VADNMSIML2XGO2X4TPIONTIC55R2UUQGPPDZPAVSC2QD7E76CR77SPW7","contractId":"wasmcloud:messaging","linkName":"default","capabilities":[],"issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","issuedOn":"September 21","expiresAt":null,"expired":false},"target":{"publicKey":"MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3","issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","contractId":"","linkName":""},"action":"start_actor","host":{"publicKey":"NBVEWE3W3B5SUG7JTRNO3TAZRJPSXKJHYJNW6VSVOSXTK3V6D5AXRXCG","issuer":"CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN","latticeId":"default","labels":{},"clusterIssuers":[]}}`

func TestPolicyActorOverMessaging(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	startFixture(t, h, "example_policy_s.wasm")
	link(t, h, policyKey, capability.BuiltinMessaging, contract.ContractMessaging, map[string]string{messaging.LinkSubscription: "wasmcloud.policy.evaluator"})
	nc := connect(t, s)
	var reply []byte
	require.EventuallyNoError(t, 10*time.Second, func() error {
		m, err := nc.Request("wasmcloud.policy.evaluator", []byte(policyRequest), 2*time.Second)
		if err == nil {
			reply = m.Data
		}
		return err
	}, "a policy decision")
	if string(reply) != `{"permitted":true,"message":null,"requestId":"11111111-2222-3333-4444-555555555555"}` {
		t.Fatalf("decision %s", reply)
	}
}

// A link that cannot be applied (its port is taken) is retried, and served once the port is free.
func TestFailedLinkIsRetried(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	blocker, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := blocker.Addr().String()
	startFixture(t, h, "echo.wasm")
	link(t, h, echoKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
	require.Eventually(t, 5*time.Second, func() bool {
		failed := h.caps.FailedLinks()
		return len(failed) == 1 && failed[0].ActorID == echoKey && failed[0].ContractID == contract.ContractHTTPServer
	}, "the link on a taken port to be recorded as failed")
	blocker.Close()
	h.caps.RetryFailed(context.Background()) // what the next heartbeat does
	if code, _ := get(t, addr, "/"); code != http.StatusOK {
		t.Fatalf("after the retry: %d", code)
	}
}
