package rpc

import (
	"context"
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// Sign prepares an outgoing invocation: it sets a fresh id when ID is empty, sets HostID and ContentLength
// (len(Msg)), and attaches a token signed with the cluster key whose subject and jti are the id, whose exp is
// iat plus the validity window, and which binds the target and origin URLs, the invocation hash and (our
// extension) the host id.
func (c *Cluster) Sign(inv *wire.Invocation) error { return c.SignWith(inv, SignOptions{}) }

// SignOptions are per-invocation choices of SignWith.
type SignOptions struct {
	// Unauthenticated marks an invocation made on behalf of unauthenticated input (an HTTP request, a
	// subscribed message, or an actor handling one): receivers keep its id in a replay cache of its own.
	Unauthenticated bool
}

// SignWith is Sign with options.
func (c *Cluster) SignWith(inv *wire.Invocation, o SignOptions) error {
	if inv.ID == "" {
		inv.ID = wire.NewID()
	}
	if inv.Msg == nil {
		inv.Msg = []byte{}
	}
	inv.HostID = c.hostID
	inv.ContentLength = uint64(len(inv.Msg))
	now := c.now()
	meta := wascap.Invocation{
		TargetURL:       inv.TargetURL(),
		OriginURL:       inv.Origin.URL(),
		Hash:            wire.HashHex(inv.Hash()),
		HostID:          c.hostID,
		Unauthenticated: o.Unauthenticated,
		Lattice:         c.lattice,
	}
	tok, err := c.sign(wascap.Claims{
		ID:       inv.ID,
		Subject:  inv.ID,
		IssuedAt: now.Unix(),
		Expires:  now.Add(c.validity).Unix(),
		Revision: wascap.Revision,
	}, meta)
	if err != nil {
		return err
	}
	inv.EncodedClaims = tok
	return nil
}

func (c *Cluster) sign(claims wascap.Claims, meta any) (string, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.key.Wiped() {
		return "", ErrWiped
	}
	return wascap.Sign(claims, meta, c.key)
}

// Dechunker fetches the complete payload of an invocation whose body was chunked into the object store
// (content_length > len(msg)).
type Dechunker func(ctx context.Context, inv *wire.Invocation) ([]byte, error)

// VerifyOptions are per-call inputs to Verify.
type VerifyOptions struct {
	// Dechunk fetches chunked payloads. Nil: chunked invocations are refused with ErrChunked.
	Dechunk Dechunker
	// Claim, when set, records an accepted invocation lattice-wide, after this host's own replay cache took
	// it: it reports whether key (issuer and id, as ReplayKey spells them) was claimed for the first time,
	// until the last instant its token can pass the time checks. An invocation another host accepted already
	// is refused as ErrReplayed; one that cannot be recorded, as ErrReplayRecord. Invocations are load-balanced
	// over the hosts that run an actor, so without it a captured invocation replayed to another host runs
	// twice.
	Claim func(ctx context.Context, key string, until time.Time) (fresh bool, err error)
}

// Verify decodes an inbound invocation and runs every check before anything may be dispatched, in this order:
// decode, token structure, signature, issuer trusted (or a provider key whose delegation is in force, see
// Delegation), time bounds, target and origin URLs (a delegated key: the origin is its provider), hash over the
// complete payload (never skipped, also for empty and chunked bodies), subject equals the invocation id, host
// id (a delegated key: the provider's host), not seen before. It returns the invocation and its complete payload (inv.Msg, or the dechunked body), or
// an error matching exactly one of this package's Err* reasons. Only an invocation that passed every other
// check is recorded in the replay cache, so refused messages cannot fill it.
//
// The returned invocation's Msg aliases msg.
func (c *Cluster) Verify(ctx context.Context, msg []byte, o VerifyOptions) (*wire.Invocation, []byte, error) {
	inv := new(wire.Invocation)
	if err := inv.UnmarshalMsgpack(msg); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	payload, err := c.check(ctx, inv, o)
	if err != nil {
		return inv, nil, fmt.Errorf("invocation %s: %w", inv.ID, err)
	}
	return inv, payload, nil
}

func (c *Cluster) check(ctx context.Context, inv *wire.Invocation, o VerifyOptions) ([]byte, error) {
	tok, err := wascap.Parse(inv.EncodedClaims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	var meta wascap.Invocation
	if err := tok.DecodeMetadata(&meta); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}

	// Signature, under the key the token names. Trusted keys were parsed once in New.
	trusted, isTrusted := c.issuer(tok.Claims.Issuer)
	if isTrusted {
		err = tok.Verify(trusted.key)
	} else {
		_, err = tok.VerifyIssuer(nkey.Cluster)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	now := c.now()
	// A key no cluster trusts may still be a provider instance's own key, delegated by a trusted host: then it
	// speaks only for that provider (checked with the origin below).
	var deleg *Delegation
	if !isTrusted {
		if deleg, err = c.delegation(tok.Claims.Issuer, now); err != nil {
			return nil, err
		}
		if deleg == nil {
			return nil, fmt.Errorf("%w: %s", ErrUntrustedIssuer, tok.Claims.Issuer)
		}
		trusted.index = delegatedIndex(tok.Claims.Issuer)
	}
	if err := c.revoked.Load().Check("cluster key", tok.Claims.Issuer, time.Unix(tok.Claims.IssuedAt, 0)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRevoked, err)
	}

	deadline, err := c.checkTime(&tok.Claims, now)
	if err != nil {
		return nil, err
	}

	// The URLs are built in a buffer on the stack: comparing string(b) allocates nothing.
	var urlBuf [256]byte
	target := append(append(inv.Target.AppendURL(urlBuf[:0]), '/'), inv.Operation...)
	if meta.TargetURL != string(target) {
		return nil, fmt.Errorf("%w: token %q, invocation %q", ErrTargetMismatch, meta.TargetURL, target)
	}
	if origin := inv.Origin.AppendURL(urlBuf[:0]); meta.OriginURL != string(origin) {
		return nil, fmt.Errorf("%w: token %q, invocation %q", ErrOriginMismatch, meta.OriginURL, origin)
	}
	if deleg != nil {
		if err := checkScope(deleg, inv.Origin.PublicKey, inv.Origin.ContractID, inv.Origin.LinkName); err != nil {
			return nil, err
		}
	}

	payload := inv.Msg
	switch n := uint64(len(inv.Msg)); {
	case inv.ContentLength == n:
	case inv.ContentLength < n:
		return nil, fmt.Errorf("%w: content_length %d, msg %d bytes", ErrLength, inv.ContentLength, n)
	case n > 0:
		return nil, fmt.Errorf("%w: content_length %d, partial msg of %d bytes", ErrLength, inv.ContentLength, n)
	case o.Dechunk == nil:
		return nil, ErrChunked
	default:
		if payload, err = o.Dechunk(ctx, inv); err != nil {
			return nil, fmt.Errorf("%w: fetch chunked payload: %w", ErrChunked, err)
		}
		if uint64(len(payload)) != inv.ContentLength {
			return nil, fmt.Errorf("%w: content_length %d, chunked payload %d bytes", ErrLength, inv.ContentLength, len(payload))
		}
	}
	full := *inv
	full.Msg = payload
	if sum := wire.HashHex(full.Hash()); meta.Hash != sum {
		return nil, fmt.Errorf("%w: token %s, computed %s", ErrHashMismatch, meta.Hash, sum)
	}

	if tok.Claims.Subject != inv.ID {
		return nil, fmt.Errorf("%w: subject %q", ErrSubjectMismatch, tok.Claims.Subject)
	}

	if err := checkHostID(inv.HostID, meta.HostID, tok.Claims.Issuer); err != nil {
		return nil, err
	}
	if deleg != nil && inv.HostID != deleg.HostID {
		return nil, fmt.Errorf("%w: host_id %q is not %s, the host that runs provider %s", ErrDelegation, printable(inv.HostID), deleg.HostID, deleg.ProviderKey)
	}
	if meta.Lattice != "" && c.lattice != "" && meta.Lattice != c.lattice {
		return nil, fmt.Errorf("%w: signed for lattice %q, received in %q", ErrLattice, meta.Lattice, c.lattice)
	}

	// A provider acts for whoever reached it (HTTP clients, subscribers): what it sends counts as
	// unauthenticated input, so a flood through it fills the share of such invocations, not the cluster's.
	inv.Unauthenticated = meta.Unauthenticated || deleg != nil
	cache := c.replay
	if inv.Unauthenticated {
		cache = c.replayUnauth
	}
	if err := cache.Add(replayKeyFor(trusted.index, inv.ID), now.UnixNano(), deadline.UnixNano()); err != nil {
		return nil, err
	}
	if o.Claim != nil {
		fresh, err := o.Claim(ctx, ReplayKey(tok.Claims.Issuer, inv.ID), deadline)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrReplayRecord, err)
		case !fresh:
			return nil, fmt.Errorf("%w: accepted by another host of the lattice", ErrReplayed)
		}
	}
	return payload, nil
}

// checkTime applies the time bounds and returns the last instant the token can pass them. A token is honoured
// from iat (less the skew) until the earlier of its exp and iat plus the validity window (plus the skew):
// tokens from 0.x peers carry no exp at all, and no token may outlive the replay cache's memory of it.
func (c *Cluster) checkTime(cl *wascap.Claims, now time.Time) (time.Time, error) {
	if cl.IssuedAt == 0 {
		return time.Time{}, fmt.Errorf("%w: no iat", ErrExpired)
	}
	iat := time.Unix(cl.IssuedAt, 0)
	end := iat.Add(c.validity)
	if cl.Expires != 0 {
		if exp := time.Unix(cl.Expires, 0); exp.Before(end) {
			end = exp
		}
	}
	end = end.Add(c.skew)
	if now.After(end) {
		return time.Time{}, fmt.Errorf("%w: issued %s, honoured until %s", ErrExpired, iat.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	start := iat
	if cl.NotBefore != 0 {
		if nbf := time.Unix(cl.NotBefore, 0); nbf.After(start) {
			start = nbf
		}
	}
	if now.Add(c.skew).Before(start) {
		return time.Time{}, fmt.Errorf("%w: valid from %s", ErrNotYetValid, start.UTC().Format(time.RFC3339))
	}
	return end, nil
}

// checkHostID accepts a server key, or the issuer's cluster key (OTP hosts put theirs in host_id). When the
// token binds a host id (tokens from our hosts do), the invocation must carry exactly that one.
func checkHostID(hostID, bound, issuer string) error {
	if bound != "" && hostID != bound {
		return fmt.Errorf("%w: %q is not the host id the token binds", ErrHostID, printable(hostID))
	}
	if hostID == issuer {
		return nil
	}
	if err := nkey.CheckID(hostID, nkey.Server); err != nil {
		return fmt.Errorf("%w %q: %w", ErrHostID, printable(hostID), err)
	}
	return nil
}
