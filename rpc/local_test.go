package rpc

import (
	"bytes"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// TestLocal: an invocation made for an actor in the same process is prepared like a signed one (id, host id,
// content length, the unauthenticated mark) but without a token, is admitted any number of times without a
// place in a replay cache, and hands back its own payload.
func TestLocal(t *testing.T) {
	self := newCluster(t, "cluster one", newClock())
	for _, unauth := range []bool{false, true} {
		inv := testInvocation("local")
		l, err := self.NewLocal(inv, SignOptions{Unauthenticated: unauth})
		require.NoError(t, err)
		_, ok := wire.ParseID(inv.ID)
		require.True(t, ok, "id %q", inv.ID)
		require.Equal(t, "host id", inv.HostID, self.HostID())
		require.Equal(t, "content length", inv.ContentLength, uint64(len("local")))
		require.Equal(t, "claims", inv.EncodedClaims, "")
		for range 3 {
			got, payload, err := self.AdmitLocal(l)
			require.NoError(t, err)
			require.True(t, got == inv, "AdmitLocal returned another invocation")
			require.Equal(t, "payload", string(payload), "local")
			require.Equal(t, "unauthenticated", got.Unauthenticated, unauth)
		}
	}
	require.Equal(t, "ids held", self.ReplayCache().Len()+self.UnauthenticatedReplayCache().Len(), 0)

	empty := &wire.Invocation{Target: wire.Entity{PublicKey: echoKey}, Operation: "X.Y", ID: "kept"}
	l, err := self.NewLocal(empty, SignOptions{})
	require.NoError(t, err)
	_, payload, err := self.AdmitLocal(l)
	require.NoError(t, err)
	require.True(t, payload != nil && len(payload) == 0, "payload of an empty invocation %v", payload)
	require.Equal(t, "a given id is kept", empty.ID, "kept")
}

// TestLocalRefusals: a Local is admitted only by the Cluster that made it, while the key it was made under is
// trusted and not revoked; a wiped key makes none.
func TestLocalRefusals(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	other := newCluster(t, "cluster two", clock, self.PublicKey())
	newLocal := func(c *Cluster) Local {
		t.Helper()
		l, err := c.NewLocal(testInvocation("x"), SignOptions{})
		require.NoError(t, err)
		return l
	}

	_, _, err := self.AdmitLocal(Local{})
	wantReason(t, err, ErrNotLocal)
	_, _, err = other.AdmitLocal(newLocal(self))
	wantReason(t, err, ErrNotLocal)

	// Revoked for invocations made before a time: one made after it passes.
	before := newLocal(self)
	self.SetRevocations(revoke.New(map[string]time.Time{self.PublicKey(): clock.Now().Add(time.Second)}))
	_, _, err = self.AdmitLocal(before)
	wantReason(t, err, ErrRevoked)
	clock.Advance(2 * time.Second)
	_, _, err = self.AdmitLocal(newLocal(self))
	require.NoError(t, err)
	self.SetRevocations(nil)

	// A key rotation: a Local of the old key is refused once that key is no longer trusted.
	old := newLocal(self)
	_, _, err = self.AdmitLocal(old)
	require.NoError(t, err)
	require.NoError(t, self.SetKey(seedOf(t, deterministicKey(t, nkey.Cluster, "cluster one, rotated"))))
	_, _, err = self.AdmitLocal(old)
	wantReason(t, err, ErrUntrustedIssuer)
	_, _, err = self.AdmitLocal(newLocal(self))
	require.NoError(t, err)

	self.Wipe()
	_, err = self.NewLocal(testInvocation("x"), SignOptions{})
	require.ErrorIs(t, err, ErrWiped)
}

// withKeys appends key-value pairs (string keys, boolean true values) to an encoded invocation map.
func withKeys(t *testing.T, msg []byte, keys ...string) []byte {
	t.Helper()
	n, rest, err := msgp.ReadMapHeaderBytes(msg)
	require.NoError(t, err)
	out := msgp.AppendMapHeader(nil, n+uint32(len(keys)))
	out = append(out, rest...)
	for _, k := range keys {
		out = msgp.AppendBool(msgp.AppendString(out, k), true)
	}
	return out
}

// TestLocalHasNoWireForm: what a Local holds, sent as bytes, is an invocation without a token, and Verify
// refuses it like any other, whatever keys are added to say it is local; a signed invocation with such keys
// is verified like one without, and still takes its place in the replay cache.
func TestLocalHasNoWireForm(t *testing.T) {
	self := newCluster(t, "cluster one", newClock())
	inv := testInvocation("local")
	_, err := self.NewLocal(inv, SignOptions{Unauthenticated: true})
	require.NoError(t, err)
	bare := inv.AppendMsgpack(nil)
	marks := []string{"local", "in_process", "inProcess", "InProcess", "unauthenticated", "Unauthenticated", "trusted"}
	for _, msg := range [][]byte{bare, withKeys(t, bare, marks...)} {
		_, _, err := self.Verify(ctx, msg, VerifyOptions{})
		wantReason(t, err, ErrToken)
	}

	signedMsg := withKeys(t, signed(t, self, testInvocation("signed")), marks...)
	got, payload, err := self.Verify(ctx, signedMsg, VerifyOptions{})
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, []byte("signed")), "payload %q", payload)
	require.False(t, got.Unauthenticated, "an unauthenticated mark taken from a map key")
	require.Equal(t, "ids held", self.ReplayCache().Len(), 1)
	_, _, err = self.Verify(ctx, signedMsg, VerifyOptions{})
	wantReason(t, err, ErrReplayed)
}
