package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// delegatedProvider is a provider instance that signs with a key of its own, delegated by the host running it.
type delegatedProvider struct {
	signer *Cluster // signs as the provider does: with its own key, host_id = the delegating host
	deleg  Delegation
}

func newDelegatedProvider(t *testing.T, clock *testClock, host *Cluster, label string) delegatedProvider {
	t.Helper()
	key := deterministicKey(t, nkey.Cluster, label)
	signer, err := New(Config{ClusterSeed: seedOf(t, key), HostID: host.HostID(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return delegatedProvider{signer: signer, deleg: Delegation{
		SigningKey: key.Public().String(), ProviderKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default",
		HostID: host.HostID(), Issuer: host.PublicKey(), IssuedAt: clock.Now(), Expires: clock.Now().Add(2 * time.Minute),
	}}
}

func lookup(ds ...Delegation) Delegations {
	return func(key string) (Delegation, bool) {
		for _, d := range ds {
			if d.SigningKey == key {
				return d, true
			}
		}
		return Delegation{}, false
	}
}

func TestVerifyDelegatedProviderKey(t *testing.T) {
	clock := newClock()
	host := newCluster(t, "host", clock)
	receiver := newCluster(t, "receiver", clock, host.PublicKey())
	p := newDelegatedProvider(t, clock, host, "provider instance")
	ctx := context.Background()

	// Without the delegation, the provider's key is a stranger's.
	_, _, err := receiver.Verify(ctx, signed(t, p.signer, testInvocation("a")), VerifyOptions{})
	wantReason(t, err, ErrUntrustedIssuer)

	receiver.SetDelegations(lookup(p.deleg))
	inv, payload, err := receiver.Verify(ctx, signed(t, p.signer, testInvocation("b")), VerifyOptions{})
	require.NoError(t, err)
	require.Equal(t, "payload", string(payload), "b")
	require.True(t, inv.Unauthenticated, "a provider's invocation counts as unauthenticated input")

	tests := []struct {
		name   string
		mutate func(inv *wire.Invocation)
		deleg  func(d *Delegation)
		want   error
	}{
		{name: "another provider's origin", mutate: func(inv *wire.Invocation) {
			inv.Origin.PublicKey = "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC"
		}, want: ErrDelegation},
		{name: "an actor as origin", mutate: func(inv *wire.Invocation) { inv.Origin = wire.Entity{PublicKey: echoKey} }, want: ErrDelegation},
		{name: "another link name", mutate: func(inv *wire.Invocation) { inv.Origin.LinkName = "other" }, want: ErrDelegation},
		{name: "another contract", mutate: func(inv *wire.Invocation) { inv.Origin.ContractID = "wasmcloud:keyvalue" }, want: ErrDelegation},
		{name: "expired delegation", deleg: func(d *Delegation) { d.Expires = clock.Now().Add(-time.Minute) }, want: ErrDelegation},
		{name: "delegation by an untrusted cluster", deleg: func(d *Delegation) {
			d.Issuer = deterministicKey(t, nkey.Cluster, "stranger").Public().String()
		}, want: ErrDelegation},
		{name: "delegation for another host", deleg: func(d *Delegation) {
			d.HostID = deterministicKey(t, nkey.Server, "other host").Public().String()
		}, want: ErrDelegation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.deleg
			if tt.deleg != nil {
				tt.deleg(&d)
			}
			receiver.SetDelegations(lookup(d))
			inv := testInvocation("c")
			if tt.mutate != nil {
				tt.mutate(inv)
			}
			_, _, err := receiver.Verify(ctx, signed(t, p.signer, inv), VerifyOptions{})
			wantReason(t, err, tt.want)
		})
	}

	// Withdrawn: nothing in force any more.
	receiver.SetDelegations(lookup())
	_, _, err = receiver.Verify(ctx, signed(t, p.signer, testInvocation("d")), VerifyOptions{})
	wantReason(t, err, ErrUntrustedIssuer)
	receiver.SetDelegations(nil)
	_, _, err = receiver.Verify(ctx, signed(t, p.signer, testInvocation("e")), VerifyOptions{})
	wantReason(t, err, ErrUntrustedIssuer)
}

func TestDelegatedReplay(t *testing.T) {
	clock := newClock()
	host := newCluster(t, "host", clock)
	receiver := newCluster(t, "receiver", clock, host.PublicKey())
	p := newDelegatedProvider(t, clock, host, "provider instance")
	receiver.SetDelegations(lookup(p.deleg))
	msg := signed(t, p.signer, testInvocation("x"))
	_, _, err := receiver.Verify(context.Background(), msg, VerifyOptions{})
	require.NoError(t, err)
	_, _, err = receiver.Verify(context.Background(), msg, VerifyOptions{})
	wantReason(t, err, ErrReplayed)
	require.Equal(t, "cluster share of the replay cache", receiver.ReplayCache().Len(), 0)
}

func TestProviderReply(t *testing.T) {
	clock := newClock()
	host := newCluster(t, "host", clock)
	caller, err := New(Config{ClusterSeed: seedOf(t, deterministicKey(t, nkey.Cluster, "caller")), Issuers: []string{host.PublicKey()},
		HostID: host.HostID(), Now: clock.Now, RequireSignedResponses: true})
	require.NoError(t, err)
	p := newDelegatedProvider(t, clock, host, "provider instance")
	target := wire.Entity{PublicKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default"}

	unsigned := (&wire.Response{InvocationID: "id1", Msg: []byte("ok"), ContentLength: 2}).AppendMsgpack(nil)
	r := caller.NewProviderReply("id1", target, nil)
	require.True(t, r.Plausible(unsigned), "an unsigned reply of a 0.x provider is plausible")
	require.NoError(t, r.Accept(unsigned))
	out, err := r.Result()
	require.NoError(t, err)
	require.Equal(t, "payload", string(out), "ok")
	// An actor's reply must still be signed.
	require.False(t, caller.NewReply("id1", nil).Plausible(unsigned), "an unsigned actor reply is plausible")

	// Signed by the provider's delegated key: accepted once the delegation is known, for that provider only.
	resp := &wire.Response{Msg: []byte("signed")}
	require.NoError(t, p.signer.SignResponse(resp, "id2"))
	b := resp.AppendMsgpack(nil)
	require.ErrorIs(t, caller.NewProviderReply("id2", target, nil).Accept(b), ErrResponseToken)
	caller.SetDelegations(lookup(p.deleg))
	require.NoError(t, caller.NewProviderReply("id2", target, nil).Accept(b))
	other := target
	other.LinkName = "other"
	require.ErrorIs(t, caller.NewProviderReply("id2", other, nil).Accept(b), ErrResponseToken)
	require.ErrorIs(t, caller.NewReply("id2", nil).Accept(b), ErrResponseToken)
}

// TestDelegationOfARevokedCluster: a delegation record signed by a cluster key that is revoked afterwards
// stops speaking for its provider at once. Whoever held the leaked cluster key could otherwise have
// published, before the revocation, a delegation with a far expiry for a key of their own, and kept signing
// invocations with it on every host that read the record, revocation or not. The delegations of the other
// trusted cluster keep working.
func TestDelegationOfARevokedCluster(t *testing.T) {
	clock := newClock()
	leaked := newCluster(t, "leaked cluster", clock)
	good := newCluster(t, "good cluster", clock)
	receiver := newCluster(t, "receiver", clock, leaked.PublicKey(), good.PublicKey())
	thief := newDelegatedProvider(t, clock, leaked, "thief's key")
	thief.deleg.Expires = clock.Now().Add(100 * 365 * 24 * time.Hour) // whatever the thief wrote
	thief.deleg.IssuedAt = clock.Now().Add(-time.Hour)
	honest := newDelegatedProvider(t, clock, good, "honest provider")
	receiver.SetDelegations(lookup(thief.deleg, honest.deleg))
	ctx := context.Background()
	_, _, err := receiver.Verify(ctx, signed(t, thief.signer, testInvocation("before")), VerifyOptions{})
	require.NoError(t, err)

	// Revoked for good, and revoked for what it signed before now: the record was signed before either.
	for _, at := range []time.Time{revoke.Forever, clock.Now()} {
		receiver.SetRevocations(revoke.New(map[string]time.Time{leaked.PublicKey(): at}))
		_, _, err = receiver.Verify(ctx, signed(t, thief.signer, testInvocation("after")), VerifyOptions{})
		wantReason(t, err, ErrRevoked)
		_, _, err = receiver.Verify(ctx, signed(t, honest.signer, testInvocation("honest")), VerifyOptions{})
		require.NoError(t, err)
		// Nor does the revoked cluster's delegated key answer for its provider.
		resp := &wire.Response{Msg: []byte("forged")}
		require.NoError(t, thief.signer.SignResponse(resp, "id-"+at.String()))
		target := wire.Entity{PublicKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default"}
		require.ErrorIs(t, receiver.NewProviderReply("id-"+at.String(), target, nil).Accept(resp.AppendMsgpack(nil)), ErrResponseToken)
	}

	// A record the key signed after a revocation "before" a past time is still its own.
	receiver.SetRevocations(revoke.New(map[string]time.Time{leaked.PublicKey(): clock.Now().Add(-2 * time.Hour)}))
	_, _, err = receiver.Verify(ctx, signed(t, thief.signer, testInvocation("later")), VerifyOptions{})
	require.NoError(t, err)
}
