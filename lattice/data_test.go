package lattice

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

const echoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

// recorder is an Observer that remembers what it was told.
type recorder struct {
	mu      sync.Mutex
	links   []control.LinkDefinition
	forged  []string
	clashes []string
}

func (r *recorder) LinkChanged(_ context.Context, l control.LinkDefinition, set bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if set {
		r.links = append(r.links, l)
	}
}

func (r *recorder) AliasClash(_ context.Context, alias, owner, claimant string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clashes = append(r.clashes, alias+" "+owner+" "+claimant)
}

func (r *recorder) clashCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clashes)
}

func (r *recorder) ClaimsForged(_ context.Context, subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forged = append(r.forged, subject)
}

func (r *recorder) wasForged(subject string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.forged, subject)
}

// startData starts a Data of the lattice "default" on a JetStream server, and a connection for the test.
func startData(t *testing.T, obs Observer) (*Data, *nats.Conn) {
	t.Helper()
	srv := runServer(t, &server.Options{JetStream: true})
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return startDataOn(t, nc, testSigner(t, testClusterSeed), obs), nc
}

// testClusterSeed is the cluster of the hosts these tests play.
var testClusterSeed = func() []byte {
	kp, err := nkey.Generate(nkey.Cluster)
	if err != nil {
		panic(err)
	}
	seed, _ := kp.Seed()
	return seed
}()

// testSigner is the cluster state of a host of the cluster whose seed is seed.
func testSigner(t testing.TB, seed []byte) *rpc.Cluster {
	t.Helper()
	host, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	c, err := rpc.New(rpc.Config{ClusterSeed: seed, HostID: host.Public().String()})
	require.NoError(t, err)
	return c
}

// startDataOn starts a Data of the lattice "default" on nc, signing alias records with signer.
func startDataOn(t *testing.T, nc *nats.Conn, signer RecordSigner, obs Observer) *Data {
	t.Helper()
	d := NewData("default", "", signer, obs, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx, nc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return d
}

// publish does what a host does for an actor it started: it claims the actor's alias, then publishes its
// claims. It returns ClaimAlias's error.
func publish(t *testing.T, d *Data, c Claims) error {
	t.Helper()
	err := d.ClaimAlias(context.Background(), c.CallAlias, c.Issuer)
	require.NoError(t, d.PublishClaims(context.Background(), c))
	return err
}

// signedClaims returns the lattice claims of an actor whose token acct signed.
func signedClaims(t *testing.T, acct *nkey.KeyPair, mod nkey.PublicKey, name, alias string, caps ...string) Claims {
	t.Helper()
	meta := wascap.Actor{Name: name, Hash: "00", Tags: []string{}, Caps: caps, CallAlias: alias}
	token, err := wascap.Sign(wascap.Claims{ID: "jti", IssuedAt: time.Now().Unix(), Issuer: acct.Public().String(),
		Subject: mod.String()}, meta, acct)
	if err != nil {
		t.Fatal(err)
	}
	return Claims{Subject: mod.String(), Issuer: acct.Public().String(), Name: name, CallAlias: alias, Caps: caps, Token: token}
}

func mustPut(t *testing.T, kv jetstream.KeyValue, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), key, b); err != nil {
		t.Fatal(err)
	}
}

// Entries written to the lattice bucket by someone other than a host are checked before use.
func TestForgedLatticeData(t *testing.T) {
	obs := &recorder{}
	d, nc := startData(t, obs)
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, "LATTICEDATA_default")
	if err != nil {
		t.Fatal(err)
	}

	// A genuine claims entry of an aliased actor, then a forged one that widens caps and steals the alias.
	acct, _ := nkey.Generate(nkey.Account)
	mod, _ := nkey.Generate(nkey.Module)
	claims := signedClaims(t, acct, mod.Public(), "e", "genuine", "wasmcloud:httpserver")
	require.NoError(t, publish(t, d, claims))
	forged := storedClaims{Subject: mod.Public().String(), Issuer: acct.Public().String(), Name: "e", CallAlias: "genuine",
		Capabilities: []string{"wasmcloud:httpserver", "wasmcloud:keyvalue"}, Token: claims.Token}
	other, _ := nkey.Generate(nkey.Module)
	noToken := storedClaims{Subject: other.Public().String(), Name: "thief", CallAlias: "stolen"}
	mustPut(t, kv, "CLAIMS_"+forged.Subject+"X", forged) // key and subject disagree
	mustPut(t, kv, "CLAIMS_"+noToken.Subject, noToken)
	badLink := control.LinkDefinition{ActorID: echoKey, ProviderID: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		ContractID: "wasmcloud:keyvalue", LinkName: "default"}
	mustPut(t, kv, LinkKey(echoKey, "wasmcloud:httpserver", "default"), badLink) // stored under another link's key
	if _, err := kv.Put(ctx, "LINKDEF_GARBAGE", []byte("{not json")); err != nil {
		t.Fatal(err)
	}

	require.Eventually(t, 10*time.Second, func() bool {
		key, ok := d.Alias("genuine")
		return ok && key == mod.Public().String()
	}, "the genuine alias resolves")

	// Now overwrite the genuine entry with widened caps: the token no longer matches, so it is ignored.
	mustPut(t, kv, "CLAIMS_"+forged.Subject, forged)
	// The watch delivers in order: once a later, genuine entry is applied, the forged ones have been seen.
	markerKey, _ := nkey.Generate(nkey.Module)
	require.NoError(t, publish(t, d, signedClaims(t, acct, markerKey.Public(), "m", "marker")))
	require.Eventually(t, 10*time.Second, func() bool {
		_, ok := d.Alias("marker")
		return ok
	}, "the marker entry arrives")

	if _, ok := d.Alias("stolen"); ok {
		t.Fatal("an alias from an entry without a token resolves")
	}
	d.mu.RLock()
	caps := d.claims[mod.Public().String()].Capabilities
	d.mu.RUnlock()
	if len(caps) != 1 {
		t.Fatalf("forged caps accepted: %v", caps)
	}
	if len(d.Links()) != 0 {
		t.Fatalf("forged links accepted: %v", d.Links())
	}
	if !obs.wasForged(mod.Public().String()) {
		t.Fatal("the observer was not told that the signed claims were overwritten")
	}
}
