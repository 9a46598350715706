package lattice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
)

// Lattice-wide revocations (`ctl revoke`): a REVOKE_{key} entry of the lattice bucket holds the operator's
// signed revocations.put request, so only revocations an operator signed apply (they need signed control,
// WASMCLOUD_CTL_ISSUERS, and the signed mode of RequireSignedLinks). A revocation is never taken back: hosts
// keep every revocation they saw and write it back when it is deleted or overwritten with an entry that
// revokes less. 0.x hosts ignore the keys.

// prefixRevoke starts the key of a lattice-wide revocation.
const prefixRevoke = "REVOKE_"

// errRevocationDeleted is why a deleted REVOKE_ entry is written back.
var errRevocationDeleted = errors.New("a revocation was deleted")

// RevocationObserver is an Observer that also wants to know when the lattice's revocations change. Its method
// is called like the Observer's, on the watch's goroutine, with every revocation the lattice holds.
type RevocationObserver interface {
	RevocationsChanged(ctx context.Context, l *revoke.List)
}

// revokeEntry is a REVOKE_ entry: the signed request.
type revokeEntry struct {
	Token   string `json:"ctl_token"`
	Request []byte `json:"ctl_request"`
}

// checkRevocation checks a REVOKE_ entry against the verifier and returns what it revokes.
func (s *linkSigning) checkRevocation(key string, value []byte) (string, time.Time, error) {
	var e revokeEntry
	if err := json.Unmarshal(value, &e); err != nil {
		return "", time.Time{}, fmt.Errorf("malformed revocation: %w", err)
	}
	if _, err := s.verifier.VerifyStored(s.revoke, e.Request, e.Token); err != nil {
		return "", time.Time{}, err
	}
	var r control.RevokeRequest
	if err := control.DecodeCtl(e.Request, &r); err != nil {
		return "", time.Time{}, err
	}
	if prefixRevoke+r.Key != key {
		return "", time.Time{}, errors.New("the revocation is stored under another key")
	}
	t, err := r.Time()
	return r.Key, t, err
}

// applyRevocation records one change of a REVOKE_ entry and tells the observer the lattice's revocations.
func (d *Data) applyRevocation(ctx context.Context, e jetstream.KeyValueEntry, deleted bool) error {
	if d.signed == nil {
		return errors.New("lattice-wide revocations need signed control (WASMCLOUD_CTL_ISSUERS)")
	}
	key := e.Key()
	if deleted {
		return d.writeBackRevocation(ctx, key, nil, errRevocationDeleted)
	}
	revoked, at, err := d.signed.checkRevocation(key, e.Value())
	if err != nil {
		// Overwriting an entry must not undo it any more than deleting it: hosts that join later read only
		// what the bucket holds now.
		return d.writeBackRevocation(ctx, key, e.Value(), err)
	}
	d.mu.Lock()
	// The same revocation signed again (a control key rotation) replaces the entry kept to write back; an
	// older one that refuses less (a genuine earlier revocation of the key, written again) does not.
	if prev, ok := d.revocations[revoked]; ok && at.Before(prev) {
		d.mu.Unlock()
		return d.writeBackRevocation(ctx, key, e.Value(), fmt.Errorf("a revocation of %s for tokens issued before %s would replace one until %s",
			revoked, at.UTC().Format(time.RFC3339), prev.UTC().Format(time.RFC3339)))
	}
	d.revocations[revoked] = at
	d.revokeEntries[key] = append([]byte(nil), e.Value()...)
	l := revoke.New(d.revocations)
	d.mu.Unlock()
	if o, ok := d.obs.(RevocationObserver); ok {
		o.RevocationsChanged(ctx, l)
	}
	return nil
}

// writeBackRevocation writes the revocation the Data holds under key back into the bucket, over a deletion or
// an entry that would weaken or undo it (current, nil for a deletion; why it was ignored), and returns why.
// Nothing is written without a revocation held there, over the held entry itself, or when the held entry no
// longer verifies here (its signer was dropped or revoked since): the host keeps applying it, but writing
// back what it refuses itself would make it read, refuse and write the entry again without end.
func (d *Data) writeBackRevocation(ctx context.Context, key string, current []byte, why error) error {
	d.mu.RLock()
	held, ok := d.revokeEntries[key]
	d.mu.RUnlock()
	switch {
	case !ok && errors.Is(why, errRevocationDeleted):
		return nil
	case !ok, current != nil && bytes.Equal(held, current):
		return why
	}
	if _, _, err := d.signed.checkRevocation(key, held); err != nil {
		return fmt.Errorf("%w; the revocation held no longer verifies here and is not written back: %w", why, err)
	}
	if _, err := d.kv.Put(ctx, key, held); err != nil {
		return fmt.Errorf("%w, and the revocation held could not be written back: %w", why, err)
	}
	return fmt.Errorf("%w; the revocation held was written back", why)
}

// Revocations returns every lattice-wide revocation the Data holds.
func (d *Data) Revocations() *revoke.List {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return revoke.New(d.revocations)
}

// PutRevocation stores a lattice-wide revocation with the signed revocations.put request that authorised it.
func (d *Data) PutRevocation(ctx context.Context, r control.RevokeRequest, req control.SignedRequest) error {
	if d.kv == nil {
		return ErrNoData
	}
	if d.signed == nil || req.Token == "" {
		return errors.New("lattice: lattice-wide revocations need signed control (WASMCLOUD_CTL_ISSUERS)")
	}
	b, err := json.Marshal(revokeEntry{Token: req.Token, Request: req.Body})
	if err != nil {
		return err
	}
	_, err = d.kv.Put(ctx, prefixRevoke+strings.TrimSpace(r.Key), b)
	return err
}

// StoredRevocations reads the lattice-wide revocations of lattice from its bucket, for tools outside a host
// (`ctl resign`). Like a host, it returns only the entries whose request a control issuer v trusts signed
// on subject (the revocations.put subject of the lattice), and says how many others it skipped.
func StoredRevocations(ctx context.Context, nc *nats.Conn, lattice, domain string, v *control.Verifier, subject string) (reqs []control.RevokeRequest, skipped int, err error) {
	s := &linkSigning{verifier: v, revoke: subject}
	skipped, err = storedEntries(ctx, nc, lattice, domain, prefixRevoke, func(k string, value []byte) bool {
		key, at, err := s.checkRevocation(k, value)
		if err != nil {
			return false
		}
		r := control.RevokeRequest{Key: key}
		if !at.Equal(revoke.Forever) {
			r.Before = at.UTC().Format(time.RFC3339)
		}
		reqs = append(reqs, r)
		return true
	})
	if err != nil {
		return nil, 0, err
	}
	return reqs, skipped, nil
}
