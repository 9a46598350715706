package host

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
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
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, ok := h.data.Link(actorKey, contract, "default"); ok && maps.Equal(got.Values, values) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("link of %s to %s never applied", actorKey, contract)
		}
	}
}

// get polls an HTTP address until it answers (the listener appears once the link is applied).
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", addr, err)
		}
	}
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
	link(t, a, kvcounterKey, BuiltinKeyValue, contract.ContractKeyValue, map[string]string{linkBucket: "counters", linkPrefix: "app1"})
	link(t, a, kvcounterKey, BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})

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
		link(t, h, kvcounterUnprivKey, BuiltinKeyValue, contract.ContractKeyValue, map[string]string{linkBucket: "counters"})
		link(t, h, kvcounterUnprivKey, BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		code, body := get(t, addr, "/")
		if code != http.StatusInternalServerError || !strings.Contains(body, "do not list the capability wasmcloud:keyvalue") {
			t.Fatalf("got %d %q", code, body)
		}
		if h.RefusedCalls()["not_claimed"] < 1 {
			t.Fatalf("refusal not counted: %v", h.RefusedCalls())
		}
	})
	t.Run("echo_unpriv gets no HTTP traffic", func(t *testing.T) {
		addr := freeAddr(t)
		startFixture(t, h, "echo_unpriv_s.wasm")
		link(t, h, echoUnprivKey, BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		if code, body := get(t, addr, "/"); code != http.StatusBadGateway || strings.Contains(body, "capability") {
			t.Fatalf("got %d %q", code, body)
		}
	})
	t.Run("echo serves HTTP", func(t *testing.T) {
		addr := freeAddr(t)
		startFixture(t, h, "echo.wasm")
		link(t, h, echoKey, BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
		code, body := get(t, addr, "/hello?x=1")
		if code != http.StatusOK || !strings.Contains(body, `"path":"/hello"`) || !strings.Contains(body, `"query_string":"x=1"`) {
			t.Fatalf("got %d %q", code, body)
		}
		// Unlinking stops the listener.
		if _, _, err := h.data.DelLink(context.Background(), control.RemoveLinkDefinition{ActorID: echoKey,
			ContractID: contract.ContractHTTPServer, LinkName: "default"}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := http.Get("http://" + addr + "/"); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("still listening after the link was deleted")
			}
		}
	})
}

// policyRequest is transcript 1 of example_policy_s.wasm: a start_actor request for an actor signed by the
// official wasmCloud account, which the policy permits.
const policyRequest = `{"requestId":"11111111-2222-3333-4444-555555555555","source":{"publicKey":"VADNMSIML2XGO2X4TPIONTIC55R2UUQGPPDZPAVSC2QD7E76CR77SPW7","contractId":"wasmcloud:messaging","linkName":"default","capabilities":[],"issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","issuedOn":"September 21","expiresAt":null,"expired":false},"target":{"publicKey":"MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3","issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","contractId":"","linkName":""},"action":"start_actor","host":{"publicKey":"NBVEWE3W3B5SUG7JTRNO3TAZRJPSXKJHYJNW6VSVOSXTK3V6D5AXRXCG","issuer":"CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN","latticeId":"default","labels":{},"clusterIssuers":[]}}`

func TestPolicyActorOverMessaging(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	startFixture(t, h, "example_policy_s.wasm")
	link(t, h, policyKey, BuiltinMessaging, contract.ContractMessaging, map[string]string{linkSubscription: "wasmcloud.policy.evaluator"})
	nc := connect(t, s)
	var reply []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m, err := nc.Request("wasmcloud.policy.evaluator", []byte(policyRequest), 2*time.Second)
		if err == nil {
			reply = m.Data
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no policy decision: %v", err)
		}
	}
	if string(reply) != `{"permitted":true,"message":null,"requestId":"11111111-2222-3333-4444-555555555555"}` {
		t.Fatalf("decision %s", reply)
	}
}

func TestMessagingSubjects(t *testing.T) {
	l := control.LinkDefinition{Values: map[string]string{}}
	withPublish := control.LinkDefinition{Values: map[string]string{linkPublish: "orders.*, audit.>"}}
	tests := []struct {
		link    control.LinkDefinition
		subject string
		ok      bool
	}{
		{l, "_INBOX.abc.1", true},
		{l, "orders.new", false},
		{withPublish, "orders.new", true},
		{withPublish, "orders.new.eu", false},
		{withPublish, "audit.a.b.c", true},
		{withPublish, "_INBOX.x", false},
		{withPublish, "wasmbus.rpc.default.M", false},
		{l, "wasmbus.ctl.default.cmd.N.stop", false},
		{withPublish, "$JS.API.STREAM.DELETE.x", false},
		{withPublish, "orders.*", false},
		{withPublish, "orders..x", false},
		{withPublish, "", false},
	}
	for _, tc := range tests {
		if err := checkSubject(tc.link, tc.subject); (err == nil) != tc.ok {
			t.Errorf("checkSubject(%v, %q) = %v, want ok=%v", tc.link.Values, tc.subject, err, tc.ok)
		}
	}
}

func TestNumberGen(t *testing.T) {
	out, err := numberGen(contract.OpNumberGenRandomInRange, (&contract.RangeLimit{Min: 5, Max: 7}).AppendMsgpack(nil))
	if err != nil {
		t.Fatal(err)
	}
	v, err := contract.UnmarshalU32(out)
	if err != nil || v < 5 || v > 7 {
		t.Fatalf("RandomInRange = %d, %v", v, err)
	}
	if _, err := numberGen(contract.OpNumberGenRandomInRange, (&contract.RangeLimit{Min: 7, Max: 5}).AppendMsgpack(nil)); err == nil {
		t.Fatal("min above max accepted")
	}
	out, _ = numberGen(contract.OpNumberGenGenerateGuid, nil)
	if g, err := contract.UnmarshalString(out); err != nil || len(g) != 36 {
		t.Fatalf("GUID %q, %v", g, err)
	}
	if _, err := numberGen("NumberGen.Nope", nil); err == nil {
		t.Fatal("unknown operation accepted")
	}
}

// The built-in providers' keys are part of the user contract (README): they must never change.
func TestBuiltinKeysAreStable(t *testing.T) {
	for got, want := range map[string]string{
		BuiltinHTTPServer: "VCF5SU6YJF4VOJX65JHPTP75IBN422J3YXXPCRHP3AVJ5QYBFODRSMLQ",
		BuiltinKeyValue:   "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		BuiltinMessaging:  "VAVJ2JVMYS4N4QGOVWB7YALBHIP54B7AH3X5HDSTWGRQGOKZIDG4YLXS",
	} {
		if got != want {
			t.Errorf("built-in provider key %s, want %s", got, want)
		}
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
	link(t, h, echoKey, BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h.prov.mu.Lock()
		_, failed := h.prov.failed[lattice.LinkKey(echoKey, contract.ContractHTTPServer, "default")]
		h.prov.mu.Unlock()
		if failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link on a taken port was not recorded as failed")
		}
	}
	blocker.Close()
	h.retryLinks() // what the next heartbeat does
	if code, _ := get(t, addr, "/"); code != http.StatusOK {
		t.Fatalf("after the retry: %d", code)
	}
}
