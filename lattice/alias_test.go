package lattice

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
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

// TestAliasSurvivesKeyRotation: rotating the cluster key (trust the new key, sign with it, drop the old one)
// never leaves an alias record only the retired key signed. Without the refresh, a host that trusts only the
// new key would read the alias as nobody's and give it to the next account that claims it.
func TestAliasSurvivesKeyRotation(t *testing.T) {
	ctx := context.Background()
	srv := runServer(t, &server.Options{JetStream: true})
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)

	oldKP, _ := nkey.Generate(nkey.Cluster)
	newKP, _ := nkey.Generate(nkey.Cluster)
	oldSeed, _ := oldKP.Seed()
	newSeed, _ := newKP.Seed()
	oldPub, newPub := oldKP.Public().String(), newKP.Public().String()
	signerOf := func(seed []byte, trust ...string) *rpc.Cluster {
		host, _ := nkey.Generate(nkey.Server)
		c, err := rpc.New(rpc.Config{ClusterSeed: seed, HostID: host.Public().String(), Issuers: trust})
		require.NoError(t, err)
		return c
	}
	signer := func(alias string) string {
		kv, err := js.KeyValue(ctx, DataBucket("default"))
		require.NoError(t, err)
		e, err := kv.Get(ctx, aliasKey(alias))
		require.NoError(t, err)
		var r aliasRecord
		require.NoError(t, json.Unmarshal(e.Value(), &r))
		return recordSigner(r.Token)
	}
	ownerAcct, _ := nkey.Generate(nkey.Account)
	thiefAcct, _ := nkey.Generate(nkey.Account)

	// Two hosts on the old key; both aliases are owned, their records signed by the old key.
	c1, c2 := signerOf(oldSeed), signerOf(oldSeed)
	d1, d2 := startDataOn(t, nc, c1, nil), startDataOn(t, nc, c2, nil)
	owners := map[string]Claims{}
	for _, alias := range []string{"rotated", "dropped"} {
		mod, _ := nkey.Generate(nkey.Module)
		owners[alias] = signedClaims(t, ownerAcct, mod.Public(), alias, alias)
		require.NoError(t, publish(t, d1, owners[alias]))
		require.Eventually(t, 10*time.Second, func() bool { k, ok := d2.Alias(alias); return ok && k == owners[alias].Subject }, "d2 to see %s", alias)
		require.Equal(t, alias+" signer", signer(alias), oldPub)
	}

	// Step 1: every host trusts the new key. Nothing is rewritten: the old key still signs.
	require.NoError(t, c1.SetIssuers([]string{newPub}))
	require.NoError(t, c2.SetIssuers([]string{newPub}))
	require.Equal(t, "records refreshed on trust added", d1.RefreshAliases(ctx, false)+d2.RefreshAliases(ctx, false), 0)

	// Step 2: host 1 signs with the new key, and signs its records again with it.
	require.NoError(t, c1.SetKey(newSeed))
	require.NoError(t, c1.SetIssuers([]string{oldPub}))
	require.Equal(t, "records refreshed on key change", d1.RefreshAliases(ctx, true), 2)
	require.Equal(t, "rotated signer", signer("rotated"), newPub)
	// A record another host writes later with the old key (host 2 has not rotated yet) stays until the old
	// key is dropped.
	d2.mu.RLock()
	since := d2.aliasOwners["dropped"].since
	d2.mu.RUnlock()
	b, err := d2.aliasRecord("dropped", aliasOwner{issuer: ownerAcct.Public().String(), since: since})
	require.NoError(t, err)
	kv, _ := js.KeyValue(ctx, DataBucket("default"))
	_, err = kv.Put(ctx, aliasKey("dropped"), b)
	require.NoError(t, err)
	require.Equal(t, "dropped signer", signer("dropped"), oldPub)

	// Step 3: host 1 drops the old key: the record it no longer trusts is signed again.
	require.NoError(t, c1.SetIssuers(nil))
	require.Equal(t, "records refreshed on trust dropped", d1.RefreshAliases(ctx, false), 1)
	require.Equal(t, "dropped signer", signer("dropped"), newPub)

	// A host that trusts only the new key resolves both aliases to their owner, and refuses another account.
	d3 := startDataOn(t, nc, signerOf(newSeed), nil)
	for alias, owner := range owners {
		require.Eventually(t, 10*time.Second, func() bool { k, ok := d3.Alias(alias); return ok && k == owner.Subject }, "d3 to resolve %s", alias)
		mod, _ := nkey.Generate(nkey.Module)
		require.ErrorIs(t, publish(t, d3, signedClaims(t, thiefAcct, mod.Public(), "thief", alias)), ErrAliasTaken)
	}
}
