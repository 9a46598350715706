package rpc

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// testClock is a settable clock shared by the clusters of one test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// deterministicKey derives a key pair of type t from a label, so golden files stay stable.
func deterministicKey(tb testing.TB, t nkey.Type, label string) *nkey.KeyPair {
	tb.Helper()
	seed := sha256.Sum256([]byte(label))
	kp, err := nkey.FromRawSeed(t, seed[:])
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

func seedOf(tb testing.TB, kp *nkey.KeyPair) []byte {
	tb.Helper()
	s, err := kp.Seed()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newCluster builds a Cluster whose cluster key derives from label, trusting the given extra issuers.
func newCluster(tb testing.TB, label string, clock *testClock, issuers ...string) *Cluster {
	tb.Helper()
	host := deterministicKey(tb, nkey.Server, label+" host")
	c, err := New(Config{
		ClusterSeed: seedOf(tb, deterministicKey(tb, nkey.Cluster, label)),
		Issuers:     issuers,
		HostID:      host.Public().String(),
		Now:         clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

const (
	echoKey     = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
	providerKey = "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
)

// testInvocation is a provider → actor call, as an HTTP server delivers a request.
func testInvocation(payload string) *wire.Invocation {
	return &wire.Invocation{
		Origin:    wire.Entity{PublicKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default"},
		Target:    wire.Entity{PublicKey: echoKey},
		Operation: "HttpServer.HandleRequest",
		Msg:       []byte(payload),
	}
}

func signed(tb testing.TB, c *Cluster, inv *wire.Invocation) []byte {
	tb.Helper()
	if err := c.Sign(inv); err != nil {
		tb.Fatal(err)
	}
	return inv.AppendMsgpack(nil)
}

// wantReason checks that err is the refusal reason target, and no other.
func wantReason(t *testing.T, err, target error) {
	t.Helper()
	require.ErrorIs(t, err, target)
	// Exactly one reason: no other refusal sentinel may match.
	for _, other := range allReasons {
		require.False(t, other != target && errors.Is(err, other), "error %v matches %v as well as %v", err, other, target)
	}
}

var allReasons = []error{ErrDecode, ErrToken, ErrSignature, ErrUntrustedIssuer, ErrExpired, ErrNotYetValid,
	ErrTargetMismatch, ErrOriginMismatch, ErrLength, ErrHashMismatch, ErrSubjectMismatch, ErrHostID, ErrReplayed,
	ErrReplayCacheFull, ErrChunked, ErrResponseID, ErrUnsignedResponse, ErrResponseToken, ErrRevoked, ErrLattice, ErrReplayRecord, ErrDelegation,
	ErrNotLocal}

func noSeedIn(t *testing.T, s string, seeds ...[]byte) {
	t.Helper()
	for _, seed := range seeds {
		if strings.Contains(s, string(seed[2:20])) {
			t.Fatalf("text leaks a seed: %s", s)
		}
	}
}
