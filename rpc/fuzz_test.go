package rpc

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// fuzzOriginals are the invocations the fuzz seeds were signed from, keyed by id. Anything the pipeline
// accepts must be one of them, unchanged.
type fuzzOriginal struct {
	origin, target, op string
	payload            []byte
}

// FuzzVerify feeds mutated signed invocations through the whole pipeline. Besides never panicking, an input
// that verifies must be exactly an invocation that was signed: same id, origin, target, operation and payload.
func FuzzVerify(f *testing.F) {
	clock := newClock()
	signer := newCluster(f, "fuzz", clock)
	originals := map[string]fuzzOriginal{}
	// Fixed ids: fuzz workers are separate processes that rebuild this table, and must agree with the corpus.
	add := func(inv *wire.Invocation) {
		inv.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(originals))
		msg := signed(f, signer, inv)
		originals[inv.ID] = fuzzOriginal{inv.Origin.URL(), inv.TargetURL(), inv.Operation, bytes.Clone(inv.Msg)}
		f.Add(msg)
	}
	add(testInvocation(""))
	add(testInvocation(`{"a":1}`))
	big := testInvocation(string(bytes.Repeat([]byte("z"), 300)))
	add(big)
	f.Add([]byte{0x80})
	f.Add([]byte{})

	seed := seedOf(f, deterministicKey(f, nkey.Cluster, "fuzz"))
	host := signer.HostID()
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := New(Config{ClusterSeed: seed, HostID: host, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		inv, payload, err := c.Verify(ctx, msg, VerifyOptions{})
		if err != nil {
			return
		}
		o, ok := originals[inv.ID]
		if !ok || o.origin != inv.Origin.URL() || o.target != inv.TargetURL() || o.op != inv.Operation || !bytes.Equal(o.payload, payload) {
			t.Fatalf("accepted an invocation that was never signed: %+v", inv)
		}
		if _, _, err := c.Verify(ctx, msg, VerifyOptions{}); err == nil {
			t.Fatal("accepted the same invocation twice")
		}
	})
}

// FuzzVerifyResponse checks that response verification never panics and accepts only what was signed.
func FuzzVerifyResponse(f *testing.F) {
	clock := newClock()
	c := newCluster(f, "fuzz", clock)
	const id = "0b2a6f5e-1c4b-4a39-9d7e-2f4f8d2d9c11"
	for _, r := range []*wire.Response{{Msg: []byte("ok")}, {Error: "no"}} {
		if err := c.SignResponse(r, id); err != nil {
			f.Fatal(err)
		}
		f.Add(r.AppendMsgpack(nil))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp, err := c.VerifyResponse(msg, id)
		if err != nil || resp.Claims == "" {
			return
		}
		if !(string(resp.Msg) == "ok" && resp.Error == "") && !(len(resp.Msg) == 0 && resp.Error == "no") {
			t.Fatalf("accepted a response that was never signed: %+v", resp)
		}
	})
}
