package lattice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
)

// Signed link entries. When control requests are signed (WASMCLOUD_CTL_ISSUERS), a link entry in the lattice
// bucket is trusted only if it carries the operator's signed linkdefs.put request that created it: the token
// and the exact request body, in two fields 0.x hosts ignore. A deletion is a KV delete marker whose data is
// the signed linkdefs.del request (0.x hosts ignore a delete marker's data). Anyone who can write the bucket
// can still write it, but cannot make a host apply a link the operator did not sign, change one, or remove
// one: hosts ignore such writes, say so (a log line, a linkdef_refused event through the observer, a count),
// and a host that holds the genuine state writes it back. The token's exp does not apply to a stored entry;
// its iat orders the versions of one link, so an older signed entry or deletion cannot replace a newer one.

// Reasons a link entry is refused in signed mode: the labels of Data.Refused.
const (
	RefusedLinkUnsigned  = "linkdef_unsigned"  // no signed request (an 0.x host's entry, or a direct write)
	RefusedLinkSignature = "linkdef_signature" // the request's token does not verify, or says something else
	RefusedLinkStale     = "linkdef_stale"     // signed, but older than the version the host holds
	RefusedLinkDelete    = "linkdef_delete"    // a deletion without a signed linkdefs.del request
)

// LinkRefusalObserver is an Observer that also wants to know about the link entries the Data refuses in
// signed mode (to publish an event). Its method is called like the Observer's, on the watch's goroutine.
type LinkRefusalObserver interface {
	// LinkRefused reports an entry under key that was ignored, with the reason (one of the RefusedLink…
	// labels) and the error; neither holds a secret.
	LinkRefused(ctx context.Context, key, reason string, err error)
}

// signedLinkEntry is a LINKDEF_ entry in signed mode: the 0.x link definition plus the signed request.
type signedLinkEntry struct {
	control.LinkDefinition
	// Token is the linkdefs.put token (control.TokenHeader) the request came with.
	Token string `json:"ctl_token,omitempty"`
	// Request is the exact body of that request (base64 in JSON).
	Request []byte `json:"ctl_request,omitempty"`
}

// signedDeletion is the data of a LINKDEF_ delete marker in signed mode.
type signedDeletion struct {
	Token   string `json:"ctl_token"`
	Request []byte `json:"ctl_request"`
}

// linkState is the last signed state of one link key that a host accepted, kept to refuse older versions and
// to write it back over a forged one.
type linkState struct {
	iat     int64 // the iat of the token that authorised it
	deleted bool
	value   []byte // the entry, or the delete marker's data, as written
}

// linkSigning is the signed mode of a Data.
type linkSigning struct {
	verifier         *control.Verifier
	put, del, revoke string // the subjects the tokens must bind

	// Guarded by the Data's mu.
	state   map[string]linkState
	refused map[string]int64
}

// RequireSignedLinks switches d to signed mode: link entries and deletions are applied only when they carry a
// linkdefs.put or linkdefs.del request signed by a key v trusts, for the subjects of subjects. It must be
// called before Start.
func (d *Data) RequireSignedLinks(v *control.Verifier, subjects CtlSubjects) {
	d.signed = &linkSigning{verifier: v, put: subjects.LinkPut(), del: subjects.LinkDel(), revoke: subjects.Revoke(),
		state: map[string]linkState{}, refused: map[string]int64{}}
}

// Refused returns how many link entries were ignored in signed mode, by reason (every label present).
func (d *Data) Refused() map[string]int64 {
	out := map[string]int64{RefusedLinkUnsigned: 0, RefusedLinkSignature: 0, RefusedLinkStale: 0, RefusedLinkDelete: 0}
	if d == nil || d.signed == nil {
		return out
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	maps.Copy(out, d.signed.refused)
	return out
}

// refusal is a link entry refused in signed mode, with its reason label.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.reason + ": " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(reason string, err error) *refusal { return &refusal{reason: reason, err: err} }

// checkSignedLink checks a LINKDEF_ entry in signed mode and returns its link and the iat of its token.
func (s *linkSigning) checkSignedLink(key string, value []byte) (control.LinkDefinition, int64, *refusal) {
	var e signedLinkEntry
	if err := json.Unmarshal(value, &e); err != nil {
		return e.LinkDefinition, 0, refuse(RefusedLinkUnsigned, fmt.Errorf("malformed link: %w", err))
	}
	if e.Token == "" {
		return e.LinkDefinition, 0, refuse(RefusedLinkUnsigned, errors.New("the link carries no signed request"))
	}
	req, err := s.verifier.VerifyStored(s.put, e.Request, e.Token)
	if err != nil {
		return e.LinkDefinition, 0, refuse(RefusedLinkSignature, err)
	}
	var signed control.LinkDefinition
	if err := control.DecodeCtl(e.Request, &signed); err != nil {
		return e.LinkDefinition, 0, refuse(RefusedLinkSignature, err)
	}
	l := e.LinkDefinition
	if l.ActorID != signed.ActorID || l.ProviderID != signed.ProviderID || l.ContractID != signed.ContractID ||
		l.LinkName != signed.LinkName || !maps.Equal(l.Values, signed.Values) {
		return l, 0, refuse(RefusedLinkSignature, errors.New("the entry does not say what its signed request says"))
	}
	if LinkKey(l.ActorID, l.ContractID, l.LinkName) != key {
		return l, 0, refuse(RefusedLinkSignature, errors.New("the link is stored under another link's key"))
	}
	if l.Values == nil {
		l.Values = map[string]string{}
	}
	return l, req.IssuedAt.Unix(), nil
}

// checkSignedDeletion checks the data of a LINKDEF_ delete marker in signed mode and returns the iat of its
// token.
func (s *linkSigning) checkSignedDeletion(key string, value []byte) (int64, *refusal) {
	if len(value) == 0 {
		return 0, refuse(RefusedLinkDelete, errors.New("the deletion carries no signed request"))
	}
	var del signedDeletion
	if err := json.Unmarshal(value, &del); err != nil {
		return 0, refuse(RefusedLinkDelete, fmt.Errorf("malformed deletion: %w", err))
	}
	req, err := s.verifier.VerifyStored(s.del, del.Request, del.Token)
	if err != nil {
		return 0, refuse(RefusedLinkDelete, err)
	}
	var r control.RemoveLinkDefinition
	if err := control.DecodeCtl(del.Request, &r); err != nil {
		return 0, refuse(RefusedLinkDelete, err)
	}
	if LinkKey(r.ActorID, r.ContractID, r.LinkName) != key {
		return 0, refuse(RefusedLinkDelete, errors.New("the signed deletion is for another link"))
	}
	return req.IssuedAt.Unix(), nil
}

// applySignedLink applies one change of a LINKDEF_ key in signed mode.
func (d *Data) applySignedLink(ctx context.Context, e jetstream.KeyValueEntry) error {
	s, key := d.signed, e.Key()
	d.mu.RLock()
	cur, known := s.state[key]
	d.mu.RUnlock()

	if e.Operation() == jetstream.KeyValuePut {
		if known && !cur.deleted && bytes.Equal(e.Value(), cur.value) {
			return nil // the state in force, written back by a host after a forged change: nothing to apply again
		}
		l, iat, r := s.checkSignedLink(key, e.Value())
		if r == nil && known && iat < cur.iat {
			r = refuse(RefusedLinkStale, errors.New("an older version of the link than the one in force"))
		}
		if r != nil {
			return d.refuseLink(ctx, e, cur, known, r)
		}
		d.mu.Lock()
		s.state[key] = linkState{iat: iat, value: e.Value()}
		d.links[key] = l
		d.mu.Unlock()
		if d.obs != nil {
			d.obs.LinkChanged(ctx, l, true)
		}
		return nil
	}

	iat, r := s.checkSignedDeletion(key, e.Value())
	if r == nil && known && !cur.deleted && iat < cur.iat {
		r = refuse(RefusedLinkStale, errors.New("a deletion older than the link in force"))
	}
	if r != nil {
		if !known || cur.deleted {
			return nil // nothing this host holds was removed: an 0.x deletion, or a key never signed
		}
		return d.refuseLink(ctx, e, cur, known, r)
	}
	d.mu.Lock()
	l, had := d.links[key]
	delete(d.links, key)
	s.state[key] = linkState{iat: iat, deleted: true, value: e.Value()}
	d.mu.Unlock()
	if had && d.obs != nil {
		d.obs.LinkChanged(ctx, l, false)
	}
	return nil
}

// RecheckSignedLinks verifies again, against the verifier as it stands now (its trusted keys and revocations),
// every signed link in force, and withdraws those that no longer verify: a link is in force only while the key
// that signed it may sign, on the hosts that run as on those that start later. The observer is told of each
// as of a deletion. It returns how many links were withdrawn; outside signed mode it does nothing.
func (d *Data) RecheckSignedLinks(ctx context.Context) int {
	if d.signed == nil {
		return 0
	}
	d.notifyMu.Lock()
	defer d.notifyMu.Unlock()
	d.mu.Lock()
	var gone []control.LinkDefinition
	for key, cur := range d.signed.state {
		if cur.deleted {
			continue
		}
		if _, _, r := d.signed.checkSignedLink(key, cur.value); r == nil {
			continue
		}
		// Forgotten rather than kept: the entry is refused like any other if it is read again, and a link the
		// operator signs again applies.
		delete(d.signed.state, key)
		if l, ok := d.links[key]; ok {
			delete(d.links, key)
			gone = append(gone, l)
		}
	}
	d.mu.Unlock()
	for _, l := range gone {
		d.log.Warn("withdrawing a link whose signer is no longer trusted", "actor_id", l.ActorID, "contract_id", l.ContractID,
			"link_name", l.LinkName)
		if d.obs != nil {
			d.obs.LinkChanged(ctx, l, false)
		}
	}
	return len(gone)
}

// refuseLink counts and reports a refused change of a link key and, when the host holds the genuine state of
// that key, writes it back in the background, unless the key changed again meanwhile (the write is
// conditional on the refused revision, so of several hosts restoring, one succeeds).
func (d *Data) refuseLink(ctx context.Context, e jetstream.KeyValueEntry, cur linkState, known bool, r *refusal) error {
	key := e.Key()
	d.mu.Lock()
	d.signed.refused[r.reason]++
	d.mu.Unlock()
	if o, ok := d.obs.(LinkRefusalObserver); ok {
		o.LinkRefused(ctx, key, r.reason, r.err)
	}
	if kv := d.bucketKV(); known && kv != nil {
		rev := e.Revision()
		d.watching.Go(func() {
			var err error
			if cur.deleted {
				err = d.publishDeletion(ctx, key, cur.value, rev)
			} else {
				_, err = kv.Update(ctx, key, cur.value, rev)
			}
			switch {
			case err == nil:
				d.log.Warn("restored a lattice link entry that was changed without a valid signature", "key", key)
			case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch), isWrongLastSequence(err):
				// Another host restored it first, or it changed again.
			default:
				d.log.Warn("could not restore a lattice link entry", "key", key, attrError, err)
			}
		})
	}
	return r
}

// isWrongLastSequence reports a conditional publish that lost to another write.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// publishDeletion writes a delete marker carrying data for key, if the key's last revision is rev.
func (d *Data) publishDeletion(ctx context.Context, key string, data []byte, rev uint64) error {
	subject := "$KV." + d.bucket + "." + key
	if d.domain != "" {
		subject = "$JS." + d.domain + ".API." + subject
	}
	m := nats.NewMsg(subject)
	m.Header.Set("KV-Operation", "DEL")
	m.Data = data
	js := d.bucketJS()
	if js == nil {
		return ErrNoData
	}
	_, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(rev))
	return err
}

// PutSignedLink stores a link with the signed linkdefs.put request that authorised it, so that every host
// in signed mode can check it. It returns the link as stored, with its id.
func (d *Data) PutSignedLink(ctx context.Context, l control.LinkDefinition, req control.SignedRequest) (control.LinkDefinition, error) {
	kv := d.bucketKV()
	if kv == nil {
		return l, ErrNoData
	}
	if l.Values == nil {
		l.Values = map[string]string{}
	}
	key := LinkKey(l.ActorID, l.ContractID, l.LinkName)
	if l.ID == "" {
		l.ID = strings.TrimPrefix(key, prefixLinkdef)
	}
	b, err := json.Marshal(signedLinkEntry{LinkDefinition: l, Token: req.Token, Request: req.Body})
	if err != nil {
		return l, err
	}
	_, err = kv.Put(ctx, key, b)
	return l, err
}

// DelSignedLink removes a link by writing a delete marker that carries the signed linkdefs.del request; it
// reports whether the link existed.
func (d *Data) DelSignedLink(ctx context.Context, r control.RemoveLinkDefinition, req control.SignedRequest) (control.LinkDefinition, bool, error) {
	kv := d.bucketKV()
	if kv == nil {
		return control.LinkDefinition{}, false, ErrNoData
	}
	key := LinkKey(r.ActorID, r.ContractID, r.LinkName)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return control.LinkDefinition{}, false, nil
	}
	if err != nil {
		return control.LinkDefinition{}, false, err
	}
	var l control.LinkDefinition
	_ = json.Unmarshal(e.Value(), &l)
	b, err := json.Marshal(signedDeletion{Token: req.Token, Request: req.Body})
	if err != nil {
		return l, true, err
	}
	return l, true, d.publishDeletion(ctx, key, b, e.Revision())
}

// StoredLinks reads the links of lattice from its bucket, for tools outside a host (`ctl resign`). Like a host
// in signed mode, it returns only the entries that carry a linkdefs.put request a control issuer v trusts
// signed on subject (the linkdefs.put subject of the lattice) and that say what that request says, by bucket
// key, and says how many other entries it skipped.
func StoredLinks(ctx context.Context, nc *nats.Conn, lattice, domain string, v *control.Verifier, subject string) (links map[string]control.LinkDefinition, skipped int, err error) {
	s := &linkSigning{verifier: v, put: subject}
	links = map[string]control.LinkDefinition{}
	skipped, err = storedEntries(ctx, nc, lattice, domain, prefixLinkdef, func(k string, value []byte) bool {
		l, _, r := s.checkSignedLink(k, value)
		if r == nil {
			links[k] = l
		}
		return r == nil
	})
	if err != nil {
		return nil, 0, err
	}
	return links, skipped, nil
}

// storedEntries reads, for tools outside a host, every entry of lattice's bucket whose key has prefix and
// hands it to keep, which reports whether it was accepted. It returns how many were not (an entry that could
// not be read counts as not accepted).
func storedEntries(ctx context.Context, nc *nats.Conn, lattice, domain, prefix string, keep func(key string, value []byte) bool) (skipped int, err error) {
	kv, err := openBucket(ctx, nc, DataBucket(lattice), domain, false, Replication{})
	if err != nil {
		return 0, err
	}
	keys, err := kv.ListKeys(ctx, jetstream.MetaOnly())
	if err != nil {
		return 0, fmt.Errorf("lattice: list %s: %w", DataBucket(lattice), err)
	}
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e, err := kv.Get(ctx, k)
		if err != nil || !keep(k, e.Value()) {
			skipped++
		}
	}
	return skipped, nil
}
