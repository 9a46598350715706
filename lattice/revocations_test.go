package lattice

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestRevocationOverwritten: a NATS user who can write the lattice bucket cannot undo a lattice-wide
// revocation by overwriting its entry rather than deleting it: with garbage, with a revocation a stranger
// signed, or with an older, weaker revocation the operator signed for the same key. A host that holds the
// revocation writes it back, so a host that joins later still applies it; another key's revocation, signed
// by the operator, still applies.
func TestRevocationOverwritten(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	op, stranger := newCtlKey(t), newCtlKey(t)
	host := startSignedData(t, srv, nil, op)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	kv := dataBucket(t, nc)
	ctx := context.Background()
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	before := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	put := func(t *testing.T, d *Data, r control.RevokeRequest, k ctlKey) {
		t.Helper()
		require.NoError(t, d.PutRevocation(ctx, r, k.sign(t, subj.Revoke(), r, time.Now())))
	}
	// holds reports whether d revokes key at exactly at.
	holds := func(d *Data, key string, at time.Time) bool {
		got, ok := d.Revocations().Before(key)
		return ok && got.Equal(at)
	}

	tests := []struct {
		name  string
		write func(t *testing.T, key string)
	}{
		{name: "garbage", write: func(t *testing.T, key string) {
			_, err := kv.Put(ctx, prefixRevoke+key, []byte("not a revocation"))
			require.NoError(t, err)
		}},
		{name: "a revocation signed by a stranger", write: func(t *testing.T, key string) {
			r := control.RevokeRequest{Key: key, Before: before.Format(time.RFC3339)}
			mustPut(t, kv, prefixRevoke+key, revokeEntry{Token: stranger.sign(t, subj.Revoke(), r, time.Now()).Token,
				Request: stranger.sign(t, subj.Revoke(), r, time.Now()).Body})
		}},
		{name: "an older, weaker revocation the operator signed", write: func(t *testing.T, key string) {
			r := control.RevokeRequest{Key: key, Before: before.Format(time.RFC3339)}
			req := op.sign(t, subj.Revoke(), r, time.Now().Add(-time.Minute))
			mustPut(t, kv, prefixRevoke+key, revokeEntry{Token: req.Token, Request: req.Body})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := publicKeyOf(t)
			put(t, host, control.RevokeRequest{Key: key}, op)
			require.Eventually(t, 10*time.Second, func() bool { return holds(host, key, revoke.Forever) }, "the revocation applied")
			tt.write(t, key)
			// A marker after the overwrite: once the host read it, it read the overwrite too.
			marker := publicKeyOf(t)
			put(t, host, control.RevokeRequest{Key: marker}, op)
			require.Eventually(t, 10*time.Second, func() bool { return holds(host, marker, revoke.Forever) }, "the marker applied")
			require.True(t, holds(host, key, revoke.Forever), "the host still revokes the key for good")
			later := startSignedData(t, srv, nil, op)
			require.Eventually(t, 10*time.Second, func() bool { return holds(later, key, revoke.Forever) && holds(later, marker, revoke.Forever) },
				"a host that joins later to revoke the key for good")
		})
	}
}

// publicKeyOf returns a fresh module key to revoke.
func publicKeyOf(t testing.TB) string {
	t.Helper()
	kp, err := nkey.Generate(nkey.Module)
	require.NoError(t, err)
	return kp.Public().String()
}

// TestRevocationNoLongerVerifiable: a host holding a revocation whose signer it no longer trusts (dropped at a
// reload) keeps applying it, and reading its entry again (a new watch) writes nothing: writing back an entry
// the host itself refuses would make it read that entry, refuse it and write it back without end.
func TestRevocationNoLongerVerifiable(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	op, next := newCtlKey(t), newCtlKey(t)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: []string{op.pub, next.pub}})
	require.NoError(t, err)
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	d := NewData("default", "", nil, nil, nil)
	d.RequireSignedLinks(v, subj)
	ctx := context.Background()
	require.NoError(t, d.Start(ctx, nc))
	defer func() { require.NoError(t, d.Stop(ctx)) }()
	kv := dataBucket(t, nc)
	revokeAs := func(k ctlKey, key string) {
		t.Helper()
		r := control.RevokeRequest{Key: key}
		require.NoError(t, d.PutRevocation(ctx, r, k.sign(t, subj.Revoke(), r, time.Now())))
		require.Eventually(t, 10*time.Second, func() bool { _, ok := d.Revocations().Before(key); return ok }, "the revocation of %s", key)
	}
	key := publicKeyOf(t)
	revokeAs(op, key)
	before, err := kv.Get(ctx, prefixRevoke+key)
	require.NoError(t, err)

	require.NoError(t, v.SetIssuers([]string{next.pub}))
	d.Resync()
	marker := publicKeyOf(t)
	revokeAs(next, marker) // applied after the new watch read the older entry
	after, err := kv.Get(ctx, prefixRevoke+key)
	require.NoError(t, err)
	require.Equal(t, "revision of the entry", after.Revision(), before.Revision())
	_, ok := d.Revocations().Before(key)
	require.True(t, ok, "the revocation is still applied")
}

// FuzzCheckRevocation: a REVOKE_ entry is accepted only when it holds a token a trusted key signed for the
// revocation subject over a request naming the very key it is stored under; nothing else, however malformed,
// revokes anything or panics.
func FuzzCheckRevocation(f *testing.F) {
	op := newCtlKey(f)
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: []string{op.pub}})
	if err != nil {
		f.Fatal(err)
	}
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	s := &linkSigning{verifier: v, revoke: subj.Revoke()}
	req := op.sign(f, subj.Revoke(), control.RevokeRequest{Key: echoKey}, time.Now())
	good, _ := json.Marshal(revokeEntry{Token: req.Token, Request: req.Body})
	other, _ := json.Marshal(revokeEntry{Token: req.Token, Request: []byte(`{"key":"` + echoKey + `","before":"2020-01-01T00:00:00Z"}`)})
	for _, seed := range [][]byte{good, other, nil, []byte("{}"), []byte(`{"ctl_token":"a.b.c","ctl_request":"e30="}`), []byte("null"), []byte("[")} {
		f.Add(prefixRevoke+echoKey, seed)
	}
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		revoked, _, err := s.checkRevocation(key, value)
		if err != nil {
			return
		}
		var e revokeEntry
		if json.Unmarshal(value, &e) != nil || e.Token == "" {
			t.Fatalf("accepted %q", value)
		}
		if key != prefixRevoke+revoked || revoked != echoKey {
			t.Fatalf("entry %q under %q revokes %q", value, key, revoked)
		}
	})
}
