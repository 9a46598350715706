package rpc

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Delegation says that a capability provider instance signs its invocations with a key of its own instead of
// the cluster seed: the host that runs the provider generates the key, hands only it to the provider, and
// publishes the delegation, signed with its cluster key, in the lattice (lattice.Data keeps the verified ones).
// A token signed by SigningKey is then accepted, until Expires, only for an invocation whose origin is exactly
// that provider (ProviderKey, ContractID, LinkName) and whose host_id is HostID.
type Delegation struct {
	// SigningKey is the provider instance's public key (C…), the issuer of its invocation tokens.
	SigningKey string
	// ProviderKey, ContractID and LinkName name the provider instance the key may speak for.
	ProviderKey, ContractID, LinkName string
	// HostID is the host that runs the provider; the provider puts it in host_id.
	HostID string
	// Issuer is the cluster key that signed the delegation record; it must be one this host trusts.
	Issuer string
	// IssuedAt is when Issuer signed the record: a revocation of Issuer for tokens issued before a later
	// time (or for good) withdraws the delegation, whatever its expiry. Zero: any revocation of Issuer does.
	IssuedAt time.Time
	// Expires ends the delegation; a host renews it while the provider runs, and withdraws it when it stops.
	Expires time.Time
}

// Delegations returns the delegation in force for a signing key, if any: one whose record verified, that was not
// withdrawn. Verify checks its issuer and expiry itself.
type Delegations func(signingKey string) (Delegation, bool)

// SetDelegations sets where Verify looks up provider delegations (nil: none, every token must come from a
// trusted cluster key). It may be called once the lattice state is available, while invocations are verified.
func (c *Cluster) SetDelegations(d Delegations) {
	if d == nil {
		c.delegations.Store(nil)
		return
	}
	c.delegations.Store(&d)
}

// delegation returns the delegation of a signing key that is in force now: its record was signed by a cluster
// key this host trusts and that is not revoked for records issued when it was, and it has not expired. An
// expired or untrusted one is reported as an error of its own (ErrDelegation), a revoked one as ErrRevoked,
// so that an operator can tell a provider whose key lapsed from a stranger's key.
func (c *Cluster) delegation(signingKey string, now time.Time) (*Delegation, error) {
	p := c.delegations.Load()
	if p == nil {
		return nil, nil
	}
	d, ok := (*p)(signingKey)
	if !ok || d.SigningKey != signingKey {
		return nil, nil
	}
	if _, trusted := c.issuer(d.Issuer); !trusted {
		return nil, fmt.Errorf("%w: the delegation of %s was signed by %s, which is not trusted", ErrDelegation, signingKey, printable(d.Issuer))
	}
	// The record was verified when it was read, but a revocation may have come since: a record its cluster key
	// signed before the key was revoked must not outlive the revocation until its own expiry.
	if err := c.revoked.Load().Check("cluster key", d.Issuer, d.IssuedAt); err != nil {
		return nil, fmt.Errorf("%w: the delegation of %s: %w", ErrRevoked, signingKey, err)
	}
	if now.After(d.Expires.Add(c.skew)) {
		return nil, fmt.Errorf("%w: the delegation of %s to provider %s expired at %s", ErrDelegation, signingKey, d.ProviderKey,
			d.Expires.UTC().Format(time.RFC3339))
	}
	return &d, nil
}

// checkScope refuses an invocation signed with a provider's delegated key unless it comes from that provider.
func checkScope(d *Delegation, originKey, originContract, originLink string) error {
	if originKey != d.ProviderKey || originContract != d.ContractID || originLink != d.LinkName {
		return fmt.Errorf("%w: key %s speaks for provider %s (%s, link name %q), not for origin %s (%q, link name %q)", ErrDelegation,
			d.SigningKey, d.ProviderKey, d.ContractID, d.LinkName, printable(originKey), originContract, originLink)
	}
	return nil
}

// delegatedIndex is the replay-cache issuer index of a delegated key: above every trusted issuer's index (the
// top bit set), derived from the key so that each delegated key keeps its own ids apart.
func delegatedIndex(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32() | 1<<31
}
