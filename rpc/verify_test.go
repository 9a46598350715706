package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

var ctx = context.Background()

func TestVerifyAcceptsOwnAndTrustedKeys(t *testing.T) {
	clock := newClock()
	other := newCluster(t, "cluster two", clock)
	self := newCluster(t, "cluster one", clock, other.PublicKey())

	for name, sender := range map[string]*Cluster{"own key": self, "trusted second key": other} {
		t.Run(name, func(t *testing.T) {
			inv := testInvocation(`{"hello":"world"}`)
			msg := signed(t, sender, inv)
			got, payload, err := self.Verify(ctx, msg, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != inv.ID || got.Operation != inv.Operation || string(payload) != `{"hello":"world"}` || got.HostID != sender.HostID() {
				t.Fatalf("verified %+v / %q", got, payload)
			}
		})
	}
}

// reencode decodes a signed message, lets edit change it, and encodes it again with the original token.
func reencode(t *testing.T, msg []byte, edit func(*wire.Invocation)) []byte {
	t.Helper()
	var inv wire.Invocation
	if err := inv.UnmarshalMsgpack(msg); err != nil {
		t.Fatal(err)
	}
	edit(&inv)
	return inv.AppendMsgpack(nil)
}

// withToken re-signs claims of the invocation with kp (bypassing Sign's defaults), for tokens Sign never makes.
func withToken(t *testing.T, inv *wire.Invocation, kp *nkey.KeyPair, c wascap.Claims, meta wascap.Invocation) []byte {
	t.Helper()
	tok, err := wascap.Sign(c, meta, kp)
	if err != nil {
		t.Fatal(err)
	}
	inv.EncodedClaims = tok
	return inv.AppendMsgpack(nil)
}

func TestVerifyRefusals(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	foreign := newCluster(t, "foreign", clock)
	now := clock.Now()

	// goodMeta returns the metadata Sign would write for inv.
	goodMeta := func(inv *wire.Invocation) wascap.Invocation {
		return wascap.Invocation{TargetURL: inv.TargetURL(), OriginURL: inv.Origin.URL(), Hash: wire.HashHex(inv.Hash())}
	}
	// zeroX builds an invocation as a 0.x peer sends it: no exp, our cluster key as signer.
	zeroX := func(iat time.Time, edit func(*wascap.Claims, *wire.Invocation)) []byte {
		inv := testInvocation("payload")
		inv.ID = wire.NewID()
		inv.HostID = self.HostID()
		inv.ContentLength = uint64(len(inv.Msg))
		c := wascap.Claims{Subject: inv.ID, IssuedAt: iat.Unix()}
		if edit != nil {
			edit(&c, inv)
		}
		return withToken(t, inv, self.key, c, goodMeta(inv))
	}
	valid := func() []byte { return signed(t, self, testInvocation("payload")) }
	otherServer := deterministicKey(t, nkey.Server, "someone else").Public().String()

	tests := []struct {
		name string
		msg  func() []byte
		opts VerifyOptions
		want error
	}{
		{"garbage", func() []byte { return []byte("not msgpack") }, VerifyOptions{}, ErrDecode},
		{"empty", func() []byte { return nil }, VerifyOptions{}, ErrDecode},
		{"truncated", func() []byte { m := valid(); return m[:len(m)/2] }, VerifyOptions{}, ErrDecode},
		{"truncated token", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.EncodedClaims = i.EncodedClaims[:len(i.EncodedClaims)-20] })
		}, VerifyOptions{}, ErrToken},
		{"token without metadata", func() []byte {
			inv := testInvocation("x")
			inv.ID = wire.NewID()
			tok, _ := wascap.Sign(wascap.Claims{Subject: inv.ID, IssuedAt: now.Unix()}, nil, self.key)
			inv.EncodedClaims, inv.HostID = tok, self.HostID()
			return inv.AppendMsgpack(nil)
		}, VerifyOptions{}, ErrToken},
		{"forged with a foreign cluster key", func() []byte { return signed(t, foreign, testInvocation("payload")) }, VerifyOptions{}, ErrUntrustedIssuer},
		{"signed by an account key", func() []byte {
			inv := testInvocation("payload")
			inv.ID, inv.HostID = wire.NewID(), self.HostID()
			acct := deterministicKey(t, nkey.Account, "acct")
			return withToken(t, inv, acct, wascap.Claims{Subject: inv.ID, IssuedAt: now.Unix()}, goodMeta(inv))
		}, VerifyOptions{}, ErrSignature},
		{"signature of another token", func() []byte {
			a, b := valid(), valid()
			var ia, ib wire.Invocation
			_ = ia.UnmarshalMsgpack(a)
			_ = ib.UnmarshalMsgpack(b)
			sigB := ib.EncodedClaims[strings.LastIndexByte(ib.EncodedClaims, '.'):]
			return reencode(t, a, func(i *wire.Invocation) {
				i.EncodedClaims = i.EncodedClaims[:strings.LastIndexByte(i.EncodedClaims, '.')] + sigB
			})
		}, VerifyOptions{}, ErrSignature},
		{"tampered payload", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.Msg = []byte("PAYLOAD") }) }, VerifyOptions{}, ErrHashMismatch},
		{"payload dropped (0.x skipped the hash for empty bodies)", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.Msg, i.ContentLength = []byte{}, 0 })
		}, VerifyOptions{}, ErrHashMismatch},
		{"tampered target", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) {
				i.Target.PublicKey = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"
			})
		}, VerifyOptions{}, ErrTargetMismatch},
		{"tampered operation", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.Operation = "Admin.Delete" }) }, VerifyOptions{}, ErrTargetMismatch},
		{"tampered origin", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.Origin.LinkName = "other" }) }, VerifyOptions{}, ErrOriginMismatch},
		{"tampered host id (another server)", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.HostID = otherServer }) }, VerifyOptions{}, ErrHostID},
		{"tampered host id (garbage)", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.HostID = "NOPE" }) }, VerifyOptions{}, ErrHostID},
		{"0.x token with a garbage host id", func() []byte {
			return zeroX(now, func(_ *wascap.Claims, i *wire.Invocation) { i.HostID = strings.Repeat("N", 56) })
		}, VerifyOptions{}, ErrHostID},
		{"subject is not the id", func() []byte { return reencode(t, valid(), func(i *wire.Invocation) { i.ID = wire.NewID() }) }, VerifyOptions{}, ErrSubjectMismatch},
		{"id respelled without hyphens", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.ID = strings.ReplaceAll(i.ID, "-", "") })
		}, VerifyOptions{}, ErrSubjectMismatch},
		{"expired exp", func() []byte {
			return zeroX(now.Add(-20*time.Second), func(c *wascap.Claims, _ *wire.Invocation) { c.Expires = now.Add(-6 * time.Second).Unix() })
		}, VerifyOptions{}, ErrExpired},
		{"0.x token older than the window", func() []byte { return zeroX(now.Add(-36*time.Second), nil) }, VerifyOptions{}, ErrExpired},
		{"exp far in the future is capped at the window", func() []byte {
			return zeroX(now.Add(-36*time.Second), func(c *wascap.Claims, _ *wire.Invocation) { c.Expires = now.Add(time.Hour).Unix() })
		}, VerifyOptions{}, ErrExpired},
		{"no iat", func() []byte { return zeroX(time.Unix(0, 0), nil) }, VerifyOptions{}, ErrExpired},
		{"iat in the future", func() []byte { return zeroX(now.Add(6*time.Second), nil) }, VerifyOptions{}, ErrNotYetValid},
		{"nbf in the future", func() []byte {
			return zeroX(now, func(c *wascap.Claims, _ *wire.Invocation) { c.NotBefore = now.Add(time.Minute).Unix() })
		}, VerifyOptions{}, ErrNotYetValid},
		{"content_length below msg", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.ContentLength = 1 })
		}, VerifyOptions{}, ErrLength},
		{"chunked without a dechunker", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.Msg = []byte{} })
		}, VerifyOptions{}, ErrChunked},
		{"chunked, store returns other bytes", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.Msg = []byte{} })
		}, VerifyOptions{Dechunk: func(context.Context, *wire.Invocation) ([]byte, error) { return []byte("PAYLOAD"), nil }}, ErrHashMismatch},
		{"chunked, store fails", func() []byte {
			return reencode(t, valid(), func(i *wire.Invocation) { i.Msg = []byte{} })
		}, VerifyOptions{Dechunk: func(context.Context, *wire.Invocation) ([]byte, error) { return nil, errors.New("gone") }}, ErrChunked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.msg()
			before := self.ReplayCache().Len()
			_, payload, err := self.Verify(ctx, msg, tc.opts)
			wantReason(t, err, tc.want)
			if payload != nil {
				t.Fatal("a refused invocation returned a payload")
			}
			if self.ReplayCache().Len() != before {
				t.Fatal("a refused invocation was recorded in the replay cache")
			}
		})
	}
}

func TestVerifyZeroXPeers(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	now := clock.Now()
	for _, hostID := range []string{self.HostID(), self.PublicKey()} {
		inv := testInvocation("from an OTP host")
		inv.ID = strings.ReplaceAll(wire.NewID(), "-", "") // wasmbus-rpc sends simple ids
		inv.HostID = hostID                                // OTP sends its cluster key here
		inv.ContentLength = uint64(len(inv.Msg))
		meta := wascap.Invocation{TargetURL: inv.TargetURL(), OriginURL: inv.Origin.URL(), Hash: wire.HashHex(inv.Hash())}
		msg := withToken(t, inv, self.key, wascap.Claims{Subject: inv.ID, IssuedAt: now.Add(-10 * time.Second).Unix()}, meta)
		if _, _, err := self.Verify(ctx, msg, VerifyOptions{}); err != nil {
			t.Fatalf("host id %s: %v", hostID, err)
		}
	}
}

func TestVerifyChunked(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	big := bytes.Repeat([]byte("x"), 4096)
	inv := testInvocation(string(big))
	msg := reencode(t, signed(t, self, inv), func(i *wire.Invocation) { i.Msg = []byte{} })
	var asked string
	_, payload, err := self.Verify(ctx, msg, VerifyOptions{Dechunk: func(_ context.Context, i *wire.Invocation) ([]byte, error) {
		asked = i.ID
		return big, nil
	}})
	if err != nil || !bytes.Equal(payload, big) || asked != inv.ID {
		t.Fatalf("Verify = %v, payload %d bytes, asked %q", err, len(payload), asked)
	}
}

func TestReplay(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	msg := signed(t, self, testInvocation("once"))
	if _, _, err := self.Verify(ctx, msg, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := self.Verify(ctx, msg, VerifyOptions{})
	wantReason(t, err, ErrReplayed)

	// The same invocation with its map keys reordered is the same invocation.
	var inv wire.Invocation
	_ = inv.UnmarshalMsgpack(msg)
	reordered := reorderInvocation(&inv)
	_, _, err = self.Verify(ctx, reordered, VerifyOptions{})
	wantReason(t, err, ErrReplayed)

	// Once the token can no longer pass the time checks, a replay is refused as expired.
	clock.Advance(self.Validity() + DefaultSkew + time.Second)
	_, _, err = self.Verify(ctx, msg, VerifyOptions{})
	wantReason(t, err, ErrExpired)
}

// reorderInvocation encodes inv with its keys in reverse order, as no encoder of ours writes them.
func reorderInvocation(inv *wire.Invocation) []byte {
	var b []byte
	b = append(b, 0x88)
	str := func(s string) { b = append(b, 0xd9, byte(len(s))); b = append(b, s...) }
	str("content_length")
	b = append(b, 0xcd, byte(inv.ContentLength>>8), byte(inv.ContentLength))
	str("host_id")
	str(inv.HostID)
	str("encoded_claims")
	b = append(b, 0xda, byte(len(inv.EncodedClaims)>>8), byte(len(inv.EncodedClaims)))
	b = append(b, inv.EncodedClaims...)
	str("id")
	str(inv.ID)
	str("msg")
	b = append(b, 0xc4, byte(len(inv.Msg)))
	b = append(b, inv.Msg...)
	str("operation")
	str(inv.Operation)
	entity := func(e wire.Entity) {
		b = append(b, 0x83)
		str("contract_id")
		str(e.ContractID)
		str("link_name")
		str(e.LinkName)
		str("public_key")
		str(e.PublicKey)
	}
	str("target")
	entity(inv.Target)
	str("origin")
	entity(inv.Origin)
	return b
}

func TestReplayConcurrentDuplicates(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	const distinct, copies = 20, 8
	msgs := make([][]byte, distinct)
	for i := range msgs {
		msgs[i] = signed(t, self, testInvocation(fmt.Sprint("call ", i)))
	}
	var accepted, replayed atomic.Int32
	var wg sync.WaitGroup
	for c := 0; c < copies; c++ {
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := self.Verify(ctx, m, VerifyOptions{})
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrReplayed):
					replayed.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if accepted.Load() != distinct || replayed.Load() != distinct*(copies-1) {
		t.Fatalf("accepted %d, replayed %d", accepted.Load(), replayed.Load())
	}
}

func TestReplayCacheFullRefuses(t *testing.T) {
	clock := newClock()
	host := deterministicKey(t, nkey.Server, "h")
	self, err := New(Config{HostID: host.Public().String(), Now: clock.Now, ReplayCapacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	// Fill until a shard refuses; nothing accepted may be forgotten meanwhile.
	var accepted [][]byte
	for i := 0; ; i++ {
		m := signed(t, self, testInvocation(fmt.Sprint(i)))
		_, _, err := self.Verify(ctx, m, VerifyOptions{})
		if errors.Is(err, ErrReplayCacheFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, m)
		if i > 10_000 {
			t.Fatal("cache never filled")
		}
	}
	for _, m := range accepted {
		_, _, err := self.Verify(ctx, m, VerifyOptions{})
		wantReason(t, err, ErrReplayed)
	}
	// Once the remembered tokens expire, their entries make room again.
	clock.Advance(self.Validity() + DefaultSkew + time.Second)
	m := signed(t, self, testInvocation("later"))
	if _, _, err := self.Verify(ctx, m, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Ids whose leading bytes are all alike (ULID-derived, or sequential) still spread over every shard.
func TestReplayCacheSpreadsSequentialIDs(t *testing.T) {
	cache := NewReplayCache(64 * 100)
	for i := 0; i < 64*50; i++ {
		if err := cache.Add(replayKeyFor(0, fmt.Sprintf("%032x", i)), 0, 1); err != nil {
			t.Fatalf("entry %d of a half-empty cache: %v", i, err)
		}
	}
}

func TestNewConfig(t *testing.T) {
	host := deterministicKey(t, nkey.Server, "h").Public().String()
	acctSeed := seedOf(t, deterministicKey(t, nkey.Account, "a"))
	clusterSeed := seedOf(t, deterministicKey(t, nkey.Cluster, "c"))
	trusted := deterministicKey(t, nkey.Cluster, "t").Public().String()

	t.Run("ad hoc", func(t *testing.T) {
		c, err := New(Config{HostID: host})
		if err != nil || !c.AdHoc() || len(c.Issuers()) != 1 || c.Issuers()[0] != c.PublicKey() || c.PublicKey()[0] != 'C' {
			t.Fatalf("New = %v, adhoc %v, issuers %v", err, c.AdHoc(), c.Issuers())
		}
	})
	t.Run("seed and issuers", func(t *testing.T) {
		c, err := New(Config{HostID: host, ClusterSeed: clusterSeed, Issuers: []string{" " + trusted + " ", "", trusted}})
		if err != nil || c.AdHoc() {
			t.Fatal(err)
		}
		if got := c.Issuers(); len(got) != 2 || !strings.Contains(strings.Join(got, ","), trusted) {
			t.Fatalf("issuers %v", got)
		}
	})
	refusals := []struct {
		name string
		cfg  Config
		want error
	}{
		{"account seed", Config{HostID: host, ClusterSeed: acctSeed}, ErrClusterSeed},
		{"garbage seed", Config{HostID: host, ClusterSeed: []byte("SCnotaseed")}, ErrClusterSeed},
		{"issuer is an account key", Config{HostID: host, Issuers: []string{"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW"}}, ErrIssuers},
		{"issuer is a seed", Config{HostID: host, Issuers: []string{string(clusterSeed)}}, ErrIssuers},
		{"host id missing", Config{}, ErrHostKey},
		{"host id is a cluster key", Config{HostID: trusted}, ErrHostKey},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			noSeedIn(t, err.Error(), acctSeed, clusterSeed)
		})
	}
}

func TestSignAfterWipe(t *testing.T) {
	clock := newClock()
	self := newCluster(t, "cluster one", clock)
	self.Wipe()
	if err := self.Sign(testInvocation("x")); !errors.Is(err, ErrWiped) {
		t.Fatalf("Sign after Wipe = %v", err)
	}
	resp := self.ErrorResponse("id", ErrReplayed)
	if resp.Error != ErrReplayed.Error() || resp.Claims != "" || resp.InvocationID != "id" {
		t.Fatalf("ErrorResponse after Wipe = %+v", resp)
	}
}

// TestUnauthenticatedShare: invocations made on behalf of unauthenticated input fill a replay cache of their
// own. When it is full, they are refused, and invocations from cluster members still pass; a replay is
// refused in either share.
func TestUnauthenticatedShare(t *testing.T) {
	clock := newClock()
	host := deterministicKey(t, nkey.Server, "h")
	self, err := New(Config{HostID: host.Public().String(), Now: clock.Now, ReplayCapacity: 1024})
	require.NoError(t, err)
	sign := func(payload string, unauth bool) []byte {
		inv := testInvocation(payload)
		require.NoError(t, self.SignWith(inv, SignOptions{Unauthenticated: unauth}))
		return inv.AppendMsgpack(nil)
	}
	var flood [][]byte
	for i := 0; ; i++ {
		m := sign(fmt.Sprint("flood ", i), true)
		_, _, err := self.Verify(ctx, m, VerifyOptions{})
		if errors.Is(err, ErrReplayCacheFull) {
			break
		}
		require.NoError(t, err)
		flood = append(flood, m)
		require.True(t, i < 10_000, "the unauthenticated share never filled")
	}
	require.True(t, len(flood) <= self.UnauthenticatedReplayCache().Capacity(), "%d unauthenticated ids held", len(flood))
	require.Equal(t, "member ids held", self.ReplayCache().Len(), 0)
	for i := range 32 {
		m := sign(fmt.Sprint("member ", i), false)
		_, _, err := self.Verify(ctx, m, VerifyOptions{})
		require.NoError(t, err, "a cluster member's invocation after the flood")
		_, _, err = self.Verify(ctx, m, VerifyOptions{})
		wantReason(t, err, ErrReplayed)
	}
	_, _, err = self.Verify(ctx, flood[0], VerifyOptions{})
	wantReason(t, err, ErrReplayed)
}

// TestLatticeWideReplay: with a shared record of claims, an invocation accepted by one host of the lattice is
// refused by every other, also when its id is respelled; a record that cannot be reached refuses.
func TestLatticeWideReplay(t *testing.T) {
	clock := newClock()
	seed := seedOf(t, deterministicKey(t, nkey.Cluster, "shared"))
	host := func(label string) *Cluster {
		c, err := New(Config{ClusterSeed: seed, HostID: deterministicKey(t, nkey.Server, label).Public().String(), Now: clock.Now})
		require.NoError(t, err)
		return c
	}
	a, b := host("a"), host("b")
	var mu sync.Mutex
	claimed := map[string]time.Time{}
	record := VerifyOptions{Claim: func(_ context.Context, key string, until time.Time) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := claimed[key]; ok {
			return false, nil
		}
		claimed[key] = until
		return true, nil
	}}
	msg := signed(t, a, testInvocation("once"))
	_, _, err := a.Verify(ctx, msg, record)
	require.NoError(t, err)
	_, _, err = b.Verify(ctx, msg, record)
	wantReason(t, err, ErrReplayed)
	var inv wire.Invocation
	require.NoError(t, inv.UnmarshalMsgpack(msg))
	for _, until := range claimed {
		require.True(t, until.After(clock.Now()), "a claim that ends at once")
	}

	down := VerifyOptions{Claim: func(context.Context, string, time.Time) (bool, error) { return false, errors.New("no JetStream") }}
	_, _, err = b.Verify(ctx, signed(t, a, testInvocation("unrecorded")), down)
	wantReason(t, err, ErrReplayRecord)

	require.Equal(t, "one spelling of an id", ReplayKey("C", "5d0c1f7a-8e21-4b5b-a2a4-0c6f3b1e9d40"), ReplayKey("C", "5d0c1f7a8e214b5ba2a40c6f3b1e9d40"))
}

// TestRotation: a host's trusted issuers and signing key change without a restart, as a rotation of the
// cluster key needs: add the new key everywhere, switch the seed, remove the old key.
func TestRotation(t *testing.T) {
	clock := newClock()
	oldKP, newKP := deterministicKey(t, nkey.Cluster, "old"), deterministicKey(t, nkey.Cluster, "new")
	oldPub, newPub := oldKP.Public().String(), newKP.Public().String()
	host := func(label string, seed *nkey.KeyPair, issuers ...string) *Cluster {
		c, err := New(Config{ClusterSeed: seedOf(t, seed), Issuers: issuers, HostID: deterministicKey(t, nkey.Server, label).Public().String(), Now: clock.Now})
		require.NoError(t, err)
		return c
	}
	a, b := host("a", oldKP, oldPub), host("b", oldKP, oldPub)
	verify := func(to, from *Cluster, payload string) error {
		_, _, err := to.Verify(ctx, signed(t, from, testInvocation(payload)), VerifyOptions{})
		return err
	}
	// 1. Every host trusts the new key as well.
	require.NoError(t, a.SetIssuers([]string{oldPub, newPub}))
	require.NoError(t, b.SetIssuers([]string{oldPub, newPub}))
	// 2. Host a switches its seed: it signs with the new key, and b (still on the old one) and a trust each other.
	require.NoError(t, a.SetKey(seedOf(t, newKP)))
	require.Equal(t, "a's key", a.PublicKey(), newPub)
	require.NoError(t, verify(b, a, "a to b"))
	require.NoError(t, verify(a, b, "b to a"))
	// 3. b switches too, then both drop the old key: a token of the old key is refused.
	require.NoError(t, b.SetKey(seedOf(t, newKP)))
	require.NoError(t, a.SetIssuers([]string{newPub}))
	require.NoError(t, b.SetIssuers(nil)) // its own key is the new one
	require.NoError(t, verify(a, b, "after the rotation"))
	stale := host("stale", oldKP)
	wantReason(t, verify(a, stale, "from the old key"), ErrUntrustedIssuer)
	// A malformed issuer changes nothing.
	require.ErrorIs(t, a.SetIssuers([]string{newPub, "CNOTAKEY"}), ErrIssuers)
	require.DeepEqual(t, "issuers after a refused change", a.Issuers(), []string{newPub})
}

// TestRevokedClusterKey: invocations signed by a revoked cluster key before the revocation's time are refused;
// later ones, and other keys', pass.
func TestRevokedClusterKey(t *testing.T) {
	clock := newClock()
	other := newCluster(t, "cluster two", clock)
	self := newCluster(t, "cluster one", clock, other.PublicKey())
	before := signed(t, other, testInvocation("before"))
	self.SetRevocations(revoke.New(map[string]time.Time{other.PublicKey(): clock.Now().Add(time.Second)}))
	_, _, err := self.Verify(ctx, before, VerifyOptions{})
	wantReason(t, err, ErrRevoked)
	clock.Advance(2 * time.Second)
	_, _, err = self.Verify(ctx, signed(t, other, testInvocation("after")), VerifyOptions{})
	require.NoError(t, err)
	self.SetRevocations(revoke.New(map[string]time.Time{other.PublicKey(): revoke.Forever}))
	_, _, err = self.Verify(ctx, signed(t, other, testInvocation("never")), VerifyOptions{})
	wantReason(t, err, ErrRevoked)
	_, _, err = self.Verify(ctx, signed(t, self, testInvocation("own")), VerifyOptions{})
	require.NoError(t, err)
}
