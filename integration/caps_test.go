package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestKVCounterAcrossRestartsAndHosts runs the OTP kvcounter actor behind the built-in HTTP server and
// key-value providers, linked with `ctl link put` as an operator would: each GET adds one to a counter kept
// in JetStream, so the count goes on when the host restarts, and again when the actor moves to another host
// that serves the same link.
func TestKVCounterAcrossRestartsAndHosts(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e1 := latticeEnv(t, srv, c)
	h1 := startHost(t, "host 1", e1)
	p := builtinProviders(t, e1, h1.ready.HostID)
	kvcounter := testutil.Path("actors/kvcounter.wasm")
	addr := freeAddr(t)
	const bucket, prefix = "caps_counters", "kvcounter"

	startActorOn(t, e1, h1, kvcounter, kvcounterKey)
	// Key-value first: the hosts apply links in the order they were stored, so the HTTP listener, which
	// appears with the second link, never serves a request before the first is known.
	linkPut(t, e1, kvcounterKey, p[contractKeyValue], contractKeyValue, "bucket="+bucket, "prefix="+prefix)
	linkPut(t, e1, kvcounterKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)

	count := 0
	next := func(t *testing.T) {
		t.Helper()
		count++
		a := served(t, addr, "/")
		require.Equal(t, fmt.Sprintf("status of request %d", count), a.status, http.StatusOK)
		require.Equal(t, fmt.Sprintf("body of request %d", count), a.body, fmt.Sprintf(`{"counter":%d}`, count))
	}

	t.Run("each GET counts one", func(t *testing.T) {
		for range 3 {
			next(t)
		}
	})

	// Hosts are started here rather than in the subtests, whose cleanups would stop them when they end.
	require.Equal(t, "host 1 exit status", h1.stop(t), 0)
	connRefused(t, addr)
	h1b := startHost(t, "host 1 restarted", e1)
	t.Run("the count survives a restart", func(t *testing.T) {
		startActorOn(t, e1, h1b, kvcounter, kvcounterKey)
		next(t)
	})

	e2 := latticeEnv(t, srv, c)
	h2 := startHost(t, "host 2", e2)
	t.Run("the count goes on on a second host", func(t *testing.T) {
		stopped := ctlJSON[[]ctlStopped](t, e1, "stop", "actor", kvcounterKey, "--host", h1b.ready.HostID)
		require.Equal(t, "stop", fmt.Sprint(stopped), fmt.Sprint([]ctlStopped{{HostID: h1b.ready.HostID, ActorID: kvcounterKey}}))
		connRefused(t, addr) // the first host let the address go with the actor
		startActorOn(t, e2, h2, kvcounter, kvcounterKey)
		next(t)
		require.Equal(t, "actors of the first host", strings.Join(actorIDs(inventory(t, e1, h1b.ready.HostID)), ","), "")
		checkRuns(t, inventory(t, e1, h2.ready.HostID), kvcounterKey, kvcounter, 1)
	})

	t.Run("the count lives in the link's bucket under its prefix", func(t *testing.T) {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), pollTimeout)
		defer cancel()
		kv, err := js.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatalf("bucket %s: %v", bucket, err)
		}
		keys, err := kv.Keys(ctx)
		if err != nil {
			t.Fatalf("keys of %s: %v", bucket, err)
		}
		if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+".") {
			t.Fatalf("bucket %s holds keys %q, want one under %s.", bucket, keys, prefix)
		}
		v, err := kv.Get(ctx, keys[0])
		if err != nil {
			t.Fatal(err)
		}
		require.Equal(t, "stored count", string(v.Value()), fmt.Sprint(count))
	})
}

// policyRequest is transcript 1 of example_policy_s.wasm (copied from host/capabilities_test.go): a
// start_actor request for an actor signed by the official wasmCloud account, which the policy permits.
const policyRequest = `{"requestId":"11111111-2222-3333-4444-555555555555","source":{"publicKey":"VADNMSIML2XGO2X4TPIONTIC55R2UUQGPPDZPAVSC2QD7E76CR77SPW7","contractId":"wasmcloud:messaging","linkName":"default","capabilities":[],"issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","issuedOn":"September 21","expiresAt":null,"expired":false},"target":{"publicKey":"MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3","issuer":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","contractId":"","linkName":""},"action":"start_actor","host":{"publicKey":"NBVEWE3W3B5SUG7JTRNO3TAZRJPSXKJHYJNW6VSVOSXTK3V6D5AXRXCG","issuer":"CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN","latticeId":"default","labels":{},"clusterIssuers":[]}}`

// policyDecision is the policy actor's answer to policyRequest.
const policyDecision = `{"permitted":true,"message":null,"requestId":"11111111-2222-3333-4444-555555555555"}`

// TestBuiltinProviders drives the built-in providers of one host through the binary: claims decide what an
// actor may call and what may call it, echo answers HTTP until its link is deleted, and the OTP policy actor
// answers NATS requests through a messaging link.
func TestBuiltinProviders(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// injectLink writes a link straight into the lattice bucket, past the control interface's checks, as a
	// NATS user who can write the bucket could.
	injectLink := func(actorKey, contract string, values map[string]string) {
		t.Helper()
		b, _ := json.Marshal(control.LinkDefinition{ActorID: actorKey, ProviderID: p[contract], ContractID: contract,
			LinkName: "default", Values: values})
		if _, err := latticeBucket(t, nc).Put(t.Context(), linkKey(actorKey, contract, "default"), b); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("kvcounter_unpriv's key-value call is refused", func(t *testing.T) {
		addr := freeAddr(t)
		startActorOn(t, e, h, testutil.Path("actors/kvcounter_unpriv_s.wasm"), kvcounterUnprivKey)
		// Refused at put: its claims do not list the contract. Injected, the call through it is refused.
		contains(t, "link put", ctlFails(t, e, "link", "put", kvcounterUnprivKey, p[contractKeyValue], contractKeyValue, "bucket=caps_unpriv"),
			"actor does not have capability claim for wasmcloud:keyvalue")
		injectLink(kvcounterUnprivKey, contractKeyValue, map[string]string{"bucket": "caps_unpriv"})
		linkPut(t, e, kvcounterUnprivKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
		a := served(t, addr, "/")
		require.Equal(t, "status", a.status, http.StatusInternalServerError)
		contains(t, "body", a.body, "claims do not list the capability wasmcloud:keyvalue")
		line := h.logLine(t, `msg="refused capability call"`, "actor="+kvcounterUnprivKey)
		contains(t, "log line", line, "level=WARN", "contract="+contractKeyValue, "link_name=default",
			"claims do not list the capability wasmcloud:keyvalue")
	})

	t.Run("echo_unpriv gets no HTTP request", func(t *testing.T) {
		addr := freeAddr(t)
		startActorOn(t, e, h, testutil.Path("actors/echo_unpriv_s.wasm"), echoUnprivKey)
		// Refused at put; injected, the link is not served: no port is bound for an actor without the claim.
		contains(t, "link put", ctlFails(t, e, "link", "put", echoUnprivKey, p[contractHTTPServer], contractHTTPServer, "address="+addr),
			"actor does not have capability claim for wasmcloud:httpserver")
		injectLink(echoUnprivKey, contractHTTPServer, map[string]string{"address": addr})
		h.logLine(t, `msg="link not served: the actor's claims do not list its contract"`, "actor="+echoUnprivKey)
		if _, err := httpGet(addr, "/"); err == nil {
			t.Fatalf("%s answers for an actor without the httpserver claim", addr)
		}
	})

	t.Run("echo serves HTTP until its link is deleted", func(t *testing.T) {
		addr := freeAddr(t)
		startActorOn(t, e, h, testutil.Path("actors/echo.wasm"), echoKey)
		linkPut(t, e, echoKey, p[contractHTTPServer], contractHTTPServer, "address="+addr)
		a := served(t, addr, "/hello?x=1&y=two")
		require.Equal(t, "status", a.status, http.StatusOK)
		require.Equal(t, "body", a.body, `{"body":[],"method":"GET","path":"/hello","query_string":"x=1&y=two"}`)

		ctlJSON[any](t, e, "link", "del", echoKey, contractHTTPServer)
		connRefused(t, addr)
	})

	t.Run("policy actor answers over messaging", func(t *testing.T) {
		startActorOn(t, e, h, testutil.Path("actors/example_policy_s.wasm"), policyKey)
		linkPut(t, e, policyKey, p[contractMessaging], contractMessaging, "subscription=wasmcloud.policy.evaluator")
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		var reply *nats.Msg
		require.Eventually(t, pollTimeout, func() bool {

			reply, err = nc.Request("wasmcloud.policy.evaluator", []byte(policyRequest), 5*time.Second)
			return err == nil
		}, "a policy decision")

		require.Equal(t, "decision", string(reply.Data), policyDecision)
	})
}

// TestCapabilitiesExample runs the Go example actor that uses the built-in capabilities (examples/capabilities)
// through `call`: key-value, numbers and logging, and two copies linked with different key-value prefixes that
// do not see each other's keys.
func TestCapabilitiesExample(t *testing.T) {
	const pkg = "examples/capabilities"
	if _, err := os.Stat(filepath.Join(testutil.Root(), filepath.FromSlash(pkg))); err != nil {
		t.Skipf("%s does not exist yet (%v): nothing to test", pkg, err)
	}
	wasm := testutil.BuildGuest(t, pkg)
	caps := []string{"wasmcloud:builtin:logging", "wasmcloud:builtin:numbergen", contractKeyValue, contractMessaging}
	pathA, keyA := signWithCaps(t, wasm, "caps-a", caps...)
	pathB, keyB := signWithCaps(t, wasm, "caps-b", caps...)

	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e)
	p := builtinProviders(t, e, h.ready.HostID)
	startActorOn(t, e, h, pathA, keyA)
	startActorOn(t, e, h, pathB, keyB)
	linkPut(t, e, keyA, p[contractKeyValue], contractKeyValue, "bucket=caps_example", "prefix=a")
	linkPut(t, e, keyB, p[contractKeyValue], contractKeyValue, "bucket=caps_example", "prefix=b")

	// Operations, payloads and replies: see the package comment of examples/capabilities.
	t.Run("Caps.KV runs every key-value operation", func(t *testing.T) {
		// The example clears what it touches first, so a second run replies exactly the same.
		for run := 1; run <= 2; run++ {
			require.Equal(t, fmt.Sprintf("reply of run %d", run), callOK(t, e, keyA, "Caps.KV", `{"key":"k1"}`), capsKVReply)
		}
	})
	t.Run("Caps.Numbers", func(t *testing.T) {
		var guids []string
		for range 2 {
			var got struct {
				GUID    string  `json:"guid"`
				Random  *uint32 `json:"random"`
				InRange uint32  `json:"in_range"`
			}
			reply := callOK(t, e, keyA, "Caps.Numbers", "")
			if err := json.Unmarshal([]byte(reply), &got); err != nil {
				t.Fatalf("reply %q: %v", reply, err)
			}
			if !guidPattern.MatchString(got.GUID) || got.Random == nil || got.InRange < 10 || got.InRange > 20 {
				t.Fatalf("reply %q: want a GUID, a random u32 and a number from 10 to 20", reply)
			}
			guids = append(guids, got.GUID)
		}
		if guids[0] == guids[1] {
			t.Fatalf("two calls generated the same GUID %s", guids[0])
		}
	})
	t.Run("Caps.Log writes to the host's log", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, e, keyA, "Caps.Log", `{"level":"warn","text":"written by caps-a"}`), `{"ok":true}`)
		line := h.logLine(t, `msg="written by caps-a"`)
		contains(t, "log line", line, "level=WARN", "actor="+keyA, "source=actor")
	})
	t.Run("prefixes isolate the two copies", func(t *testing.T) {
		require.Equal(t, "a sets", callOK(t, e, keyA, "Caps.Set", `{"key":"k","value":"from a"}`), `{"ok":true}`)
		require.Equal(t, "b reads before it sets", callOK(t, e, keyB, "Caps.Get", `{"key":"k"}`), `{"exists":false,"value":""}`)
		require.Equal(t, "b sets", callOK(t, e, keyB, "Caps.Set", `{"key":"k","value":"from b"}`), `{"ok":true}`)
		require.Equal(t, "a reads", callOK(t, e, keyA, "Caps.Get", `{"key":"k"}`), `{"exists":true,"value":"from a"}`)
		require.Equal(t, "b reads", callOK(t, e, keyB, "Caps.Get", `{"key":"k"}`), `{"exists":true,"value":"from b"}`)
	})
}

// capsKVReply is what `call` prints for Caps.KV: the reply of each key-value operation, keys sorted.
const capsKVReply = `{"contains":true,"contains_after_del":false,"del":true,"get":"40","get_exists":true,` +
	`"increment":[41,42],"list_add":[1,2,3],"list_clear":true,"list_del":true,"list_range":["one","two","three"],` +
	`"set_add":[1,1,0],"set_add_other":[1,1,1],"set_clear":[true,true],"set_del":1,"set_intersection":["banana"],` +
	`"set_query":["apple","banana"],"set_union":["apple","banana","cherry"]}`

// guidPattern matches a UUID in its 36-character text form.
var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
