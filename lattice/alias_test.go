package lattice

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestAliasOwnership: a call alias belongs to the first account that claims it, whatever order later hosts
// read the bucket in, whoever else claims it, and whatever a NATS user writes to the bucket.
func TestAliasOwnership(t *testing.T) {
	obs := &recorder{}
	d, nc := startData(t, obs)
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, DataBucket("default"))
	require.NoError(t, err)

	ownerAcct, _ := nkey.Generate(nkey.Account)
	thiefAcct, _ := nkey.Generate(nkey.Account)
	ownerMod, _ := nkey.Generate(nkey.Module)
	thiefMod, _ := nkey.Generate(nkey.Module)
	owner := signedClaims(t, ownerAcct, ownerMod.Public(), "owner", "hello")
	thief := signedClaims(t, thiefAcct, thiefMod.Public(), "thief", "hello")
	resolves := func(d *Data, want string) {
		t.Helper()
		require.Eventually(t, 10*time.Second, func() bool {
			key, ok := d.Alias("hello")
			return ok && key == want
		}, "hello to resolve to %s", want)
	}

	require.NoError(t, publish(t, d, owner))
	resolves(d, owner.Subject)

	// Another account's actor claims the alias: it is refused the alias, and calls stay with the owner.
	err = publish(t, d, thief)
	require.ErrorIs(t, err, ErrAliasTaken)
	require.Equal(t, "owner named", err.(*AliasTakenError).Owner, ownerAcct.Public().String())
	// The owner's actor restarts: its claims entry is written again, after the thief's.
	require.NoError(t, publish(t, d, owner))
	resolves(d, owner.Subject)

	// A host started now reads the thief's entry before the owner's newer one, and still agrees.
	later := startDataOn(t, nc, testSigner(t, testClusterSeed), nil)
	resolves(later, owner.Subject)
	found, ok, err := FindAlias(ctx, nc, "default", "", testSigner(t, testClusterSeed), "hello")
	require.NoError(t, err)
	require.True(t, ok && found == owner.Subject, "FindAlias = %s, %v", found, ok)
	// A tool that trusts another cluster trusts no record.
	_, ok, err = FindAlias(ctx, nc, "default", "", testSigner(t, nil), "hello")
	require.NoError(t, err)
	require.False(t, ok, "an alias resolved through a record signed by an untrusted cluster key")

	record := func() aliasRecord {
		t.Helper()
		e, err := kv.Get(ctx, aliasKey("hello"))
		require.NoError(t, err)
		var r aliasRecord
		require.NoError(t, json.Unmarshal(e.Value(), &r))
		return r
	}
	ownedByOwner := func() bool {
		e, err := kv.Get(ctx, aliasKey("hello"))
		if err != nil {
			return false
		}
		var r aliasRecord
		return json.Unmarshal(e.Value(), &r) == nil && r.Issuer == ownerAcct.Public().String()
	}

	// A NATS user deletes the record: the hosts that saw the owner write it again.
	require.NoError(t, kv.Delete(ctx, aliasKey("hello")))
	require.Eventually(t, 10*time.Second, ownedByOwner, "the deleted record to be restored")
	resolves(later, owner.Subject)

	// A NATS user writes a record for the thief's account without a cluster key's signature: restored.
	forged := record()
	forged.Issuer = thiefAcct.Public().String()
	b, _ := json.Marshal(forged)
	_, err = kv.Put(ctx, aliasKey("hello"), b)
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, ownedByOwner, "the forged record to be replaced")
	resolves(d, owner.Subject)

	// A host of the cluster writes a younger record for the thief (it raced a deletion): the older claim wins.
	clashes := obs.clashCount()
	raced := startDataOn(t, nc, testSigner(t, testClusterSeed), nil)
	younger, err := raced.aliasRecord("hello", aliasOwner{issuer: thiefAcct.Public().String(), since: time.Now().UnixNano()})
	require.NoError(t, err)
	_, err = kv.Put(ctx, aliasKey("hello"), younger)
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, ownedByOwner, "the younger claim to yield")
	require.Eventually(t, 10*time.Second, func() bool { return obs.clashCount() > clashes }, "the clash to be reported")
	resolves(d, owner.Subject)
	resolves(raced, owner.Subject)
	resolves(later, owner.Subject)
}

// FuzzCheckAlias: no bytes under an alias key make a record that checks out without a trusted signature.
func FuzzCheckAlias(f *testing.F) {
	f.Add("hello", []byte(`{"call_alias":"hello","issuer":"A","since":1,"jwt":"x.y.z"}`))
	f.Add("", []byte(`{}`))
	f.Add("x", []byte(`not json`))
	signer := testSigner(f, testClusterSeed)
	f.Fuzz(func(t *testing.T, alias string, value []byte) {
		if _, err := checkAlias(signer, "default", aliasKey(alias), value); err == nil {
			t.Fatalf("record %q for alias %q accepted", value, alias)
		}
	})
}
