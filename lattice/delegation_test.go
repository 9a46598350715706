package lattice

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

func testDelegation(t testing.TB) Delegation {
	t.Helper()
	key, err := nkey.Generate(nkey.Cluster)
	require.NoError(t, err)
	host, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	return Delegation{SigningKey: key.Public().String(), ProviderKey: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		ContractID: "wasmcloud:example", LinkName: "default", HostID: host.Public().String(), Expires: time.Now().Add(time.Minute).Truncate(time.Second)}
}

// TestDelegationRecords: a delegation one host publishes reaches the others; a forged or edited record does
// not, and a withdrawn one is gone everywhere.
func TestDelegationRecords(t *testing.T) {
	d, nc := startData(t, nil)
	other := startDataOn(t, nc, testSigner(t, testClusterSeed), nil)
	stranger := startDataOn(t, nc, testSigner(t, nil), nil) // trusts another cluster
	ctx := context.Background()
	del := testDelegation(t)
	require.NoError(t, d.PutDelegation(ctx, del))
	got, ok := d.Delegation(del.SigningKey)
	require.True(t, ok, "the publishing host knows its delegation at once")
	require.Equal(t, "issuer", got.Issuer, testSigner(t, testClusterSeed).PublicKey())
	// When the record was signed: a revocation of its cluster key before then withdraws it (rpc).
	require.True(t, time.Since(got.IssuedAt) < time.Minute && time.Until(got.IssuedAt) < time.Minute, "issued at %s", got.IssuedAt)
	require.Eventually(t, 10*time.Second, func() bool {
		g, ok := other.Delegation(del.SigningKey)
		return ok && g.ProviderKey == del.ProviderKey && g.Expires.Equal(del.Expires)
	}, "the delegation to reach another host")
	_, ok = stranger.Delegation(del.SigningKey)
	require.False(t, ok, "a host of another cluster accepted the delegation")

	// A NATS user edits the record to widen it to another provider: ignored, the genuine one stays.
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, DataBucket("default"))
	require.NoError(t, err)
	e, err := kv.Get(ctx, delegationKey(del.SigningKey))
	require.NoError(t, err)
	var entry delegationEntry
	require.NoError(t, json.Unmarshal(e.Value(), &entry))
	entry.ProviderKey = "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC"
	forged, _ := json.Marshal(entry)
	_, err = kv.Put(ctx, delegationKey(del.SigningKey), forged)
	require.NoError(t, err)
	marker := testDelegation(t) // a later genuine record: once it arrives, the forgery was read too
	require.NoError(t, d.PutDelegation(ctx, marker))
	require.Eventually(t, 10*time.Second, func() bool { _, ok := other.Delegation(marker.SigningKey); return ok }, "the marker")
	g, _ := other.Delegation(del.SigningKey)
	require.Equal(t, "provider after a forged edit", g.ProviderKey, del.ProviderKey)

	require.NoError(t, d.DeleteDelegation(ctx, del.SigningKey))
	_, ok = d.Delegation(del.SigningKey)
	require.False(t, ok, "a withdrawn delegation is still known to its host")
	require.Eventually(t, 10*time.Second, func() bool { _, ok := other.Delegation(del.SigningKey); return !ok }, "the withdrawal to reach another host")
}

// FuzzCheckDelegation: no entry value makes the check panic, and a value is accepted only with a token of the
// trusted cluster key that says what the entry says.
func FuzzCheckDelegation(f *testing.F) {
	signer := testSigner(f, testClusterSeed)
	d := NewData("default", "", signer, nil, nil)
	del := testDelegation(f)
	require.NoError(f, d.PutDelegation(context.Background(), del)) // no JetStream: signs and keeps it
	meta := delegationMeta{Kind: delegationKind, Lattice: "default", ProviderKey: del.ProviderKey, ContractID: del.ContractID,
		LinkName: del.LinkName, HostID: del.HostID, Expires: del.Expires.Unix()}
	tok, err := signer.SignRecord(del.SigningKey, meta)
	require.NoError(f, err)
	good, _ := json.Marshal(delegationEntry{SigningKey: del.SigningKey, ProviderKey: del.ProviderKey, ContractID: del.ContractID,
		LinkName: del.LinkName, HostID: del.HostID, Expires: meta.Expires, Token: tok})
	key := delegationKey(del.SigningKey)
	_, err = checkDelegation(signer, "default", key, good)
	require.NoError(f, err)
	_, err = checkDelegation(signer, "other", key, good)
	require.ErrorContains(f, err, "does not say")
	_, err = checkDelegation(testSigner(f, nil), "default", key, good)
	require.ErrorContains(f, err, "not among the trusted")
	for _, seed := range [][]byte{good, nil, []byte("{}"), []byte("null"), []byte(`{"signing_key":1}`), []byte("[")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		got, err := checkDelegation(signer, "default", key, value)
		if err != nil {
			return
		}
		var e delegationEntry
		if json.Unmarshal(value, &e) != nil || e.Token == "" || got.SigningKey != del.SigningKey || got.ProviderKey != del.ProviderKey {
			t.Fatalf("accepted %q", value)
		}
	})
}

// TestWithdrawnDelegationReplayed: the last record of a withdrawn delegation (its provider stopped, or was
// revoked), written back into the bucket by a NATS user who kept it (the provider process itself, with the
// host's credentials, can), does not bring the delegation back: hosts that saw the withdrawal refuse the record
// and delete it again, so hosts that join later never read it. A fresh delegation still applies.
func TestWithdrawnDelegationReplayed(t *testing.T) {
	d, nc := startData(t, nil)
	other := startDataOn(t, nc, testSigner(t, testClusterSeed), nil)
	ctx := context.Background()
	kv := dataBucket(t, nc)
	del := testDelegation(t)
	del.Expires = time.Now().Add(2 * time.Minute).Truncate(time.Second)
	require.NoError(t, d.PutDelegation(ctx, del))
	require.Eventually(t, 10*time.Second, func() bool { _, ok := other.Delegation(del.SigningKey); return ok }, "the delegation")
	kept, err := kv.Get(ctx, delegationKey(del.SigningKey))
	require.NoError(t, err)

	require.NoError(t, d.DeleteDelegation(ctx, del.SigningKey))
	require.Eventually(t, 10*time.Second, func() bool { _, ok := other.Delegation(del.SigningKey); return !ok }, "the withdrawal")
	_, err = kv.Put(ctx, delegationKey(del.SigningKey), kept.Value())
	require.NoError(t, err)
	fresh := testDelegation(t) // a later genuine record: once it arrives, the replayed one was read too
	require.NoError(t, d.PutDelegation(ctx, fresh))
	for _, h := range []*Data{d, other} {
		require.Eventually(t, 10*time.Second, func() bool { _, ok := h.Delegation(fresh.SigningKey); return ok }, "the fresh delegation")
		_, ok := h.Delegation(del.SigningKey)
		require.False(t, ok, "a host took the withdrawn delegation back")
	}
	require.Eventually(t, 10*time.Second, func() bool {
		_, err := kv.Get(ctx, delegationKey(del.SigningKey))
		return err != nil
	}, "the replayed record to be deleted again")
	later := startDataOn(t, nc, testSigner(t, testClusterSeed), nil)
	_, ok := later.Delegation(fresh.SigningKey)
	require.True(t, ok, "a host that joins later reads the fresh delegation")
	_, ok = later.Delegation(del.SigningKey)
	require.False(t, ok, "a host that joins later reads the withdrawn delegation")

	// A NATS user who deletes the record of a running provider does not keep it out: the renewal its host
	// signs next applies everywhere.
	var mu sync.Mutex
	now := time.Now()
	host, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	signer, err := rpc.New(rpc.Config{ClusterSeed: testClusterSeed, HostID: host.Public().String(), Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}})
	require.NoError(t, err)
	owner := startDataOn(t, nc, signer, nil)
	require.NoError(t, owner.PutDelegation(ctx, fresh))
	require.NoError(t, kv.Delete(ctx, delegationKey(fresh.SigningKey)))
	require.Eventually(t, 10*time.Second, func() bool { _, ok := other.Delegation(fresh.SigningKey); return !ok }, "the deletion")
	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	fresh.Expires = fresh.Expires.Add(30 * time.Second)
	require.NoError(t, owner.PutDelegation(ctx, fresh))
	for _, h := range []*Data{owner, other, later} {
		require.Eventually(t, 10*time.Second, func() bool { g, ok := h.Delegation(fresh.SigningKey); return ok && g.Expires.Equal(fresh.Expires) },
			"the renewal after a deletion")
	}
}
