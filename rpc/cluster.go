// Package rpc signs and verifies wasmCloud 0.x invocations between hosts, protects them from replay, and signs
// the responses.
//
// Every invocation carries a wascap token signed with the cluster seed; a receiver dispatches it only after
// Verify has checked, in a fixed order, the message, the token, its signature, that its issuer is trusted, its
// time bounds, the target and origin it names, the hash over target, origin, operation and the whole payload,
// that its subject is the invocation id, the host id, and that it was not accepted before. The wire format
// stays 0.x's; where 0.x was weak this package is stricter in ways 0.x peers do not notice: tokens we sign
// expire, a token is honoured for at most the validity window whatever its exp says, the sender's host id is
// bound into our tokens, and responses carry a token of their own in an extra map key 0.x peers ignore.
//
// An invocation a host makes for an actor of its own (an HTTP request, a subscribed message, a call between
// two of its actors) never becomes bytes and carries no token: NewLocal makes it a Local, a value only this
// package can build and no decoder produces, and AdmitLocal hands it back while the key it was made under is
// trusted and not revoked. Everything that arrives from the network goes through Verify.
package rpc

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
)

// Defaults for Config's zero values.
const (
	DefaultValidity       = 30 * time.Second
	DefaultSkew           = 5 * time.Second
	DefaultReplayCapacity = 1_000_000
)

// Config describes a host's place in the cluster trust domain.
type Config struct {
	// ClusterSeed is the encoded cluster seed (SC…). Empty: an ad hoc key is generated, so only this host's
	// own invocations verify. New does not keep or modify the slice; the caller wipes it.
	ClusterSeed []byte
	// Issuers are further cluster public keys (C…) whose invocations are trusted. The host's own cluster key is
	// always trusted.
	Issuers []string
	// HostID is this host's server public key (N…), written into every invocation it sends.
	HostID string
	// Lattice is the lattice this host belongs to: bound into the tokens it signs, and required of tokens
	// that bind one. Empty: none is bound or required (tools that call several lattices).
	Lattice string
	// Validity is how long a token is honoured after its iat; tokens we sign expire after it. Zero: 30 s.
	Validity time.Duration
	// Skew is the clock difference tolerated between hosts. Zero: 5 s. Negative: none.
	Skew time.Duration
	// ReplayCapacity bounds the replay cache (entries). Zero: one million.
	ReplayCapacity int
	// RequireSignedResponses refuses responses without a responder token (for example from 0.x hosts).
	RequireSignedResponses bool
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Cluster is the host's cluster identity and trust state: the key that signs its invocations and responses,
// the issuers it trusts, and the ids it has accepted. It is safe for concurrent use.
type Cluster struct {
	// mu guards key, pub and adhoc, and the private half of key: Sign holds it shared, Wipe and SetKey
	// exclusively.
	mu                     sync.RWMutex
	key                    *nkey.KeyPair
	pub                    string // key's public half, encoded once
	adhoc                  bool
	hostID                 string
	lattice                string
	validity               time.Duration
	skew                   time.Duration
	requireSignedResponses bool
	now                    func() time.Time

	// trust is the current set of trusted cluster keys; SetIssuers and SetKey replace it whole, so Verify reads
	// one consistent set without a lock.
	trust atomic.Pointer[issuerSet]
	// indexMu guards indexes, each key's index in the replay cache: once given, an index is kept for the
	// process's life, so that a key trusted again after a reload finds the ids it was remembered with.
	indexMu sync.Mutex
	indexes map[string]uint32
	// configured are the issuers given to New or SetIssuers (without the own key). Guarded by indexMu.
	configured []string
	// revoked holds the revoked keys (nil: none); SetRevocations replaces it.
	revoked atomic.Pointer[revoke.List]
	replay  *ReplayCache
	// replayUnauth remembers the invocations made on behalf of unauthenticated input (their tokens say so):
	// a flood of HTTP requests or subscribed messages fills this share, never the cluster members' one.
	replayUnauth *ReplayCache
	// delegations looks up the signing keys of provider instances (SetDelegations); nil: none.
	delegations atomic.Pointer[Delegations]
}

// issuerSet is a set of trusted cluster keys, never changed once built.
type issuerSet struct {
	byKey map[string]trustedIssuer
}

func (c *Cluster) issuer(key string) (trustedIssuer, bool) {
	t, ok := c.trust.Load().byKey[key]
	return t, ok
}

type trustedIssuer struct {
	key   nkey.PublicKey
	index uint32
}

// New builds the cluster state. It returns an error naming the problem (never the seed) when the seed is not a
// cluster seed, an issuer is not a cluster public key, or the host id is not a server key.
func New(cfg Config) (*Cluster, error) {
	c := &Cluster{
		hostID:                 cfg.HostID,
		lattice:                cfg.Lattice,
		validity:               cfg.Validity,
		skew:                   cfg.Skew,
		requireSignedResponses: cfg.RequireSignedResponses,
		now:                    cfg.Now,
		indexes:                make(map[string]uint32),
	}
	if c.validity <= 0 {
		c.validity = DefaultValidity
	}
	switch {
	case c.skew == 0:
		c.skew = DefaultSkew
	case c.skew < 0:
		c.skew = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	capacity := cfg.ReplayCapacity
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	if _, err := nkey.ParsePublicOf(cfg.HostID, nkey.Server); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHostKey, err)
	}
	var err error
	if len(cfg.ClusterSeed) == 0 {
		c.key, err = nkey.Generate(nkey.Cluster)
		c.adhoc = true
	} else {
		c.key, err = nkey.ParseSeedOf(cfg.ClusterSeed, nkey.Cluster)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClusterSeed, err)
	}
	c.pub = c.key.Public().String()
	if err := c.SetIssuers(cfg.Issuers); err != nil {
		c.key.Wipe()
		return nil, err
	}
	c.replay = NewReplayCache(capacity)
	c.replayUnauth = NewReplayCache(capacity / 2)
	return c, nil
}

// printable returns s for an error message unless it could be a seed.
func printable(s string) string {
	if nkey.LooksLikeSeed(s) || strings.HasPrefix(strings.ToUpper(s), "S") {
		return "(a seed, not shown)"
	}
	return s
}

// PublicKey returns the cluster public key (C…) this host signs with.
func (c *Cluster) PublicKey() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pub
}

// AdHoc reports whether the cluster key was generated because none was configured: then no other host can
// produce invocations this host accepts, nor accept this host's.
func (c *Cluster) AdHoc() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.adhoc
}

// HostID returns the server key written into outgoing invocations.
func (c *Cluster) HostID() string { return c.hostID }

// Issuers returns the trusted cluster keys, sorted: the own key and the configured ones.
func (c *Cluster) Issuers() []string {
	set := c.trust.Load().byKey
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// SetIssuers replaces the configured trusted cluster keys (the own key stays trusted). Verification uses the
// new set from the next invocation on; nothing is changed when an entry is not a cluster public key.
func (c *Cluster) SetIssuers(issuers []string) error {
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	var configured []string
	for _, s := range issuers {
		if s = strings.TrimSpace(s); s != "" {
			configured = append(configured, s)
		}
	}
	set, err := c.buildSet(c.PublicKey(), configured)
	if err != nil {
		return err
	}
	c.configured = configured
	c.trust.Store(set)
	return nil
}

// buildSet builds the trusted set of own and configured keys. c.indexMu must be held.
func (c *Cluster) buildSet(own string, configured []string) (*issuerSet, error) {
	set := &issuerSet{byKey: map[string]trustedIssuer{}}
	for _, s := range append([]string{own}, configured...) {
		if _, ok := set.byKey[s]; ok {
			continue
		}
		pk, err := nkey.ParsePublicOf(s, nkey.Cluster)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrIssuers, printable(s), err)
		}
		index, ok := c.indexes[s]
		if !ok {
			index = uint32(len(c.indexes))
			c.indexes[s] = index
		}
		set.byKey[s] = trustedIssuer{key: pk, index: index}
	}
	return set, nil
}

// SetKey replaces the key this host signs with by the cluster seed seed (a rotation: the host signs with the
// new key from the next invocation on, trusts it as its own, and trusts the old one only if it is among the
// configured issuers). The old key is wiped. The caller wipes seed.
func (c *Cluster) SetKey(seed []byte) error {
	kp, err := nkey.ParseSeedOf(seed, nkey.Cluster)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClusterSeed, err)
	}
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	pub := kp.Public().String()
	set, err := c.buildSet(pub, c.configured)
	if err != nil {
		kp.Wipe()
		return err
	}
	c.mu.Lock()
	old := c.key
	c.key, c.pub, c.adhoc = kp, pub, false
	c.trust.Store(set)
	c.mu.Unlock()
	old.Wipe()
	return nil
}

// SetRevocations replaces the revoked keys: invocations, responses and records signed by a revoked cluster key
// before its revocation's time are refused (ErrRevoked) from the next one on. Nil revokes nothing.
func (c *Cluster) SetRevocations(l *revoke.List) { c.revoked.Store(l) }

// Validity returns the validity window of invocation tokens.
func (c *Cluster) Validity() time.Duration { return c.validity }

// ReplayCache returns the cache of accepted invocation ids (for metrics and tests).
func (c *Cluster) ReplayCache() *ReplayCache { return c.replay }

// UnauthenticatedReplayCache returns the cache of accepted ids of invocations made on behalf of
// unauthenticated input (for metrics and tests). It holds half as many entries as ReplayCache.
func (c *Cluster) UnauthenticatedReplayCache() *ReplayCache { return c.replayUnauth }

// Seed returns a copy of the encoded cluster seed, for the one case that hands it over: provider processes
// when WASMCLOUD_PROVIDER_CLUSTER_SEED is set, as 0.x does. The caller wipes it.
func (c *Cluster) Seed() ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.key.Wiped() {
		return nil, ErrWiped
	}
	return c.key.Seed()
}

// Wipe overwrites the cluster private key. Sign must not be called afterwards; verification keeps working.
func (c *Cluster) Wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key.Wipe()
}
