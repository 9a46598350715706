package rpc

import (
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// Local is an invocation this process made for an actor in this process: an HTTP request or a subscribed
// message a built-in provider delivers, or a call between two actors of one host. It is a Go value and
// nothing else: it has no encoding, no decoder produces one, and its fields are unexported, so only
// NewLocal makes one. Bytes that arrive from the network can only go through Verify; nothing they say, no
// map key and no header, can turn them into a Local.
//
// A Local carries no token. A signature made by this process and checked by this process proves nothing
// (the process that checks it is the one that made it), and the checks that bind a token to an invocation
// (target, origin, hash, subject, host id, lattice, time) compare the invocation with values copied from that
// same invocation a moment earlier. AdmitLocal keeps what still means something inside one process: that
// the cluster key it was made under is still trusted and not revoked. Everything after admission (the
// target actor, the claims, the policy, the limits) is the caller's, on the same path as a verified
// invocation.
type Local struct {
	// c is the cluster that made the invocation: a Local is admitted only by it.
	c   *Cluster
	inv *wire.Invocation
	// issuer is the cluster key this host signed with when the Local was made, iat when (whole seconds, as in
	// a token), so that a rotation or a revocation since then applies as it would to a token.
	issuer string
	iat    time.Time
}

// NewLocal prepares an invocation for an actor in this process, as SignWith prepares one for the network but
// without a token: it sets a fresh id when ID is empty, HostID, ContentLength (len(Msg)) and Unauthenticated
// (from o). It returns ErrWiped once the cluster key was wiped (the host is shutting down). inv belongs to
// the Local from then on: the caller must not change it.
func (c *Cluster) NewLocal(inv *wire.Invocation, o SignOptions) (Local, error) {
	c.mu.RLock()
	wiped, issuer := c.key.Wiped(), c.pub
	c.mu.RUnlock()
	if wiped {
		return Local{}, ErrWiped
	}
	if inv.ID == "" {
		inv.ID = wire.NewID()
	}
	if inv.Msg == nil {
		inv.Msg = []byte{}
	}
	inv.HostID = c.hostID
	inv.ContentLength = uint64(len(inv.Msg))
	inv.Unauthenticated = o.Unauthenticated
	inv.EncodedClaims = ""
	return Local{c: c, inv: inv, issuer: issuer, iat: time.Unix(c.now().Unix(), 0)}, nil
}

// AdmitLocal is Verify for a Local: it returns the invocation and its payload when the cluster key the Local
// was made under is still trusted and not revoked for invocations issued when it was made, and refuses a
// Local that this Cluster did not make (ErrNotLocal; also the zero Local). No replay cache is involved:
// nothing that never left the process can have been captured. The errors match this package's Err* reasons
// as Verify's do.
func (c *Cluster) AdmitLocal(l Local) (*wire.Invocation, []byte, error) {
	if l.inv == nil || l.c != c {
		return nil, nil, ErrNotLocal
	}
	if _, ok := c.issuer(l.issuer); !ok {
		return l.inv, nil, fmt.Errorf("invocation %s: %w: %s", l.inv.ID, ErrUntrustedIssuer, l.issuer)
	}
	if err := c.revoked.Load().Check("cluster key", l.issuer, l.iat); err != nil {
		return l.inv, nil, fmt.Errorf("invocation %s: %w: %w", l.inv.ID, ErrRevoked, err)
	}
	return l.inv, l.inv.Msg, nil
}
