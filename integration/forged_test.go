package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// TestForgedReplayedTamperedNeverReachActor sends invocations to hello straight over NATS, the way an
// attacker on the lattice could: only the valid one reaches the actor, every other one is answered with
// a refusal that names the reason, and hello's own count of served calls proves it.
func TestForgedReplayedTamperedNeverReachActor(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	startHost(t, "host", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", helloPath))

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	trusted := testCluster(t, c.seed)
	untrusted := testCluster(t, newCluster(t).seed)
	subject := "wasmbus.rpc.default." + helloKey

	// invocation returns a Hello.SayHello invocation signed by signer.
	invocation := func(signer *rpc.Cluster, name string) *wire.Invocation {
		inv := &wire.Invocation{
			Origin:    wire.Entity{PublicKey: signer.HostID()},
			Target:    wire.Entity{PublicKey: helloKey},
			Operation: "Hello.SayHello",
			Msg:       packMap(t, "name", name),
		}
		if err := signer.Sign(inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	// send sends msg and returns the host's response, whose signature (by the host's cluster key, which
	// the test trusts) must check out.
	send := func(t *testing.T, msg []byte, id string) *wire.Response {
		t.Helper()
		reply, err := nc.Request(subject, msg, 10*time.Second)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		resp, err := trusted.VerifyResponse(reply.Data, id)
		if err != nil {
			t.Fatalf("response: %v", err)
		}
		return resp
	}
	refused := func(t *testing.T, resp *wire.Response, id string, reason error) {
		t.Helper()
		if len(resp.Msg) != 0 {
			t.Fatalf("refusal carries a payload: %x", resp.Msg)
		}
		contains(t, "response error", resp.Error, "invocation "+id+": "+reason.Error())
	}

	valid := invocation(trusted, "Ada")
	validMsg := valid.AppendMsgpack(nil)
	t.Run("valid", func(t *testing.T) {
		resp := send(t, validMsg, valid.ID)
		require.Equal(t, "response error", resp.Error, "")
		require.Equal(t, "message", unpackMap(t, resp.Msg)["message"], any("Hello, Ada!"))
	})
	t.Run("replayed", func(t *testing.T) {
		refused(t, send(t, validMsg, valid.ID), valid.ID, rpc.ErrReplayed)
	})
	t.Run("untrusted cluster key", func(t *testing.T) {
		inv := invocation(untrusted, "Mallory")
		resp := send(t, inv.AppendMsgpack(nil), inv.ID)
		refused(t, resp, inv.ID, rpc.ErrUntrustedIssuer)
		contains(t, "response error", resp.Error, untrusted.PublicKey())
	})
	t.Run("payload changed after signing", func(t *testing.T) {
		inv := invocation(trusted, "Ada")
		inv.Msg = packMap(t, "name", "Eve") // same length: only the hash can tell
		resp := send(t, inv.AppendMsgpack(nil), inv.ID)
		refused(t, resp, inv.ID, rpc.ErrHashMismatch)
	})
	t.Run("operation changed after signing", func(t *testing.T) {
		inv := invocation(trusted, "Ada")
		inv.Operation = "Hello.Calls"
		// The operation is part of the target URL the token signs, which is checked before the hash.
		refused(t, send(t, inv.AppendMsgpack(nil), inv.ID), inv.ID, rpc.ErrTargetMismatch)
	})
	t.Run("signature of another invocation", func(t *testing.T) {
		inv, other := invocation(trusted, "Ada"), invocation(trusted, "Bob")
		inv.EncodedClaims = other.EncodedClaims
		refused(t, send(t, inv.AppendMsgpack(nil), inv.ID), inv.ID, rpc.ErrHashMismatch)
	})
	t.Run("token signature forged", func(t *testing.T) {
		inv := invocation(trusted, "Ada")
		tok := []byte(inv.EncodedClaims)
		last := len(tok) - 2 // inside the signature segment
		tok[last] = flipBase64(tok[last])
		inv.EncodedClaims = string(tok)
		refused(t, send(t, inv.AppendMsgpack(nil), inv.ID), inv.ID, rpc.ErrSignature)
	})
	t.Run("only the valid invocation reached hello", func(t *testing.T) {
		inv := &wire.Invocation{
			Origin:    wire.Entity{PublicKey: trusted.HostID()},
			Target:    wire.Entity{PublicKey: helloKey},
			Operation: "Hello.Calls",
		}
		if err := trusted.Sign(inv); err != nil {
			t.Fatal(err)
		}
		resp := send(t, inv.AppendMsgpack(nil), inv.ID)
		require.Equal(t, "response error", resp.Error, "")
		// The valid SayHello and this call.
		require.Equal(t, "calls", fmt.Sprint(unpackMap(t, resp.Msg)["calls"]), "2")
	})
}

// testCluster makes the test's own signer from a cluster seed, with a server key of its own as host id.
func testCluster(t testing.TB, seed string) *rpc.Cluster {
	t.Helper()
	c, err := rpc.New(rpc.Config{ClusterSeed: []byte(seed), HostID: newKey(t, nkeys.PrefixByteServer).pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Wipe)
	return c
}

// flipBase64 returns another base64url character than b.
func flipBase64(b byte) byte {
	if b == 'A' {
		return 'B'
	}
	return 'A'
}
