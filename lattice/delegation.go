package lattice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// Provider delegations. A host that runs a capability provider process gives it a signing key of its own
// rather than the cluster seed, and publishes a DELEGATION_ record in the lattice bucket, signed with its
// cluster key, saying which provider instance the key speaks for and until when. Every host keeps the
// records that verify; rpc.Cluster accepts a token signed by a delegated key only for invocations from that
// provider instance. The host renews its records while the provider runs and deletes them when it stops; a
// record nobody renews expires by itself. 0.x hosts ignore the records.

// prefixDelegation starts the key of a delegation record: DELEGATION_ and the delegated public key.
const prefixDelegation = "DELEGATION_"

// delegationKind is the Kind of every delegation record's token, so that no token signed for another purpose
// reads as a delegation.
const delegationKind = "provider_delegation"

// Delegation is a verified delegation record: the provider instance that SigningKey speaks for.
type Delegation struct {
	SigningKey  string // the provider instance's public key (C…)
	ProviderKey string // V…
	ContractID  string
	LinkName    string
	HostID      string    // the host that runs the provider
	Issuer      string    // the cluster key that signed the record
	IssuedAt    time.Time // when Issuer signed it (a revocation of Issuer before then withdraws it)
	Expires     time.Time // renewed by the host while the provider runs
}

// delegationEntry is a DELEGATION_ entry as stored.
type delegationEntry struct {
	SigningKey  string `json:"signing_key"`
	ProviderKey string `json:"provider_key"`
	ContractID  string `json:"contract_id"`
	LinkName    string `json:"link_name"`
	HostID      string `json:"host_id"`
	Expires     int64  `json:"expires"` // Unix seconds
	Token       string `json:"jwt"`
}

// delegationMeta is the metadata of a delegation record's token; its subject is the signing key.
type delegationMeta struct {
	Kind        string `json:"kind"`
	Lattice     string `json:"lattice"`
	ProviderKey string `json:"provider_key"`
	ContractID  string `json:"contract_id"`
	LinkName    string `json:"link_name"`
	HostID      string `json:"host_id"`
	Expires     int64  `json:"expires"`
}

// withdrawnDelegation is what a host remembers of a delegation it saw withdrawn: when the last record it held
// was signed, so that this record (or an older one) written into the bucket again is refused, while a renewal
// its host signs later is not (a NATS user who deleted the record of a running provider cannot keep it out);
// and when that record expires, after which no copy of it is honoured anyway.
type withdrawnDelegation struct{ issuedAt, expires time.Time }

// withdrawnMemory is how long after its record's expiry a withdrawn delegation is remembered: far beyond any
// clock skew a verifier tolerates.
const withdrawnMemory = time.Hour

// maxDelegationRecord bounds the entry a host decodes: a real one is well under 2 KiB.
const maxDelegationRecord = 8 << 10

func delegationKey(signingKey string) string { return prefixDelegation + signingKey }

// checkDelegation decodes a delegation record of the lattice lattice and checks it: under its own key, with
// well-formed keys, signed by a trusted cluster key for this lattice, and saying what its token says. Expiry
// is the verifier's business (rpc checks it at each use).
func checkDelegation(v RecordSigner, lattice, key string, value []byte) (Delegation, error) {
	var e delegationEntry
	if len(value) > maxDelegationRecord {
		return Delegation{}, fmt.Errorf("delegation record of %d bytes, at most %d", len(value), maxDelegationRecord)
	}
	if err := json.Unmarshal(value, &e); err != nil {
		return Delegation{}, fmt.Errorf("malformed delegation record: %w", err)
	}
	switch {
	case delegationKey(e.SigningKey) != key:
		return Delegation{}, errors.New("the delegation record is stored under another key's name")
	case nkey.CheckID(e.SigningKey, nkey.Cluster) != nil:
		return Delegation{}, errors.New("the delegated key is not a cluster-type public key")
	case nkey.CheckID(e.ProviderKey, nkey.Service) != nil:
		return Delegation{}, errors.New("the delegation's provider is not a service key")
	case nkey.CheckID(e.HostID, nkey.Server) != nil:
		return Delegation{}, errors.New("the delegation's host is not a server key")
	case v == nil:
		return Delegation{}, errors.New("no cluster keys to check the delegation record with")
	}
	var meta delegationMeta
	subject, err := v.VerifyRecord(e.Token, &meta)
	if err != nil {
		return Delegation{}, fmt.Errorf("delegation record: %w", err)
	}
	if meta.Kind != delegationKind || meta.Lattice != lattice || subject != e.SigningKey || meta.ProviderKey != e.ProviderKey ||
		meta.ContractID != e.ContractID || meta.LinkName != e.LinkName || meta.HostID != e.HostID || meta.Expires != e.Expires {
		return Delegation{}, errors.New("the delegation record does not say what its signed token says")
	}
	tok, err := wascap.Parse(e.Token) // verified above; parsed again only for its issuer
	if err != nil {
		return Delegation{}, fmt.Errorf("delegation record: %w", err)
	}
	return Delegation{SigningKey: e.SigningKey, ProviderKey: e.ProviderKey, ContractID: e.ContractID, LinkName: e.LinkName,
		HostID: e.HostID, Issuer: tok.Claims.Issuer, IssuedAt: time.Unix(tok.Claims.IssuedAt, 0), Expires: time.Unix(e.Expires, 0)}, nil
}

// PutDelegation signs and publishes a delegation record (or renews it, with a later Expires). The record takes
// effect on this host at once, and on the others when their watch reads it. Without JetStream it takes
// effect on this host only.
func (d *Data) PutDelegation(ctx context.Context, del Delegation) error {
	if d.signer == nil {
		return errors.New("lattice: no cluster key to sign a delegation record")
	}
	meta := delegationMeta{Kind: delegationKind, Lattice: d.lattice, ProviderKey: del.ProviderKey, ContractID: del.ContractID,
		LinkName: del.LinkName, HostID: del.HostID, Expires: del.Expires.Unix()}
	tok, err := d.signer.SignRecord(del.SigningKey, meta)
	if err != nil {
		return fmt.Errorf("lattice: sign the delegation of %s: %w", del.SigningKey, err)
	}
	b, err := json.Marshal(delegationEntry{SigningKey: del.SigningKey, ProviderKey: del.ProviderKey, ContractID: del.ContractID,
		LinkName: del.LinkName, HostID: del.HostID, Expires: meta.Expires, Token: tok})
	if err != nil {
		return err
	}
	checked, err := checkDelegation(d.signer, d.lattice, delegationKey(del.SigningKey), b)
	if err != nil {
		return fmt.Errorf("lattice: delegation of %s: %w", del.SigningKey, err)
	}
	d.mu.Lock()
	d.delegations[del.SigningKey] = checked
	delete(d.withdrawn, del.SigningKey)
	d.ownRecords[del.SigningKey] = string(b)
	d.mu.Unlock()
	kv := d.bucketKV()
	if kv == nil {
		return nil
	}
	if _, err := kv.Put(ctx, delegationKey(del.SigningKey), b); err != nil {
		return fmt.Errorf("lattice: publish the delegation of %s: %w", del.SigningKey, err)
	}
	return nil
}

// DeleteDelegation withdraws the delegation of a signing key, on this host at once and on the others through
// the bucket.
func (d *Data) DeleteDelegation(ctx context.Context, signingKey string) error {
	d.mu.Lock()
	d.withdraw(signingKey)
	delete(d.ownRecords, signingKey)
	d.mu.Unlock()
	kv := d.bucketKV()
	if kv == nil {
		return nil
	}
	if err := kv.Delete(ctx, delegationKey(signingKey)); err != nil {
		return fmt.Errorf("lattice: withdraw the delegation of %s: %w", signingKey, err)
	}
	return nil
}

// Delegation returns the verified delegation of a signing key, if one was published and not withdrawn. Its
// expiry is not checked here.
func (d *Data) Delegation(signingKey string) (Delegation, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	del, ok := d.delegations[signingKey]
	return del, ok
}

// withdraw removes the delegation of a signing key and remembers it as withdrawn. d.mu must be held.
func (d *Data) withdraw(signingKey string) {
	now := time.Now()
	for k, w := range d.withdrawn {
		if now.After(w.expires.Add(withdrawnMemory)) {
			delete(d.withdrawn, k)
		}
	}
	if del, ok := d.delegations[signingKey]; ok {
		d.withdrawn[signingKey] = withdrawnDelegation{issuedAt: del.IssuedAt, expires: del.Expires}
		delete(d.delegations, signingKey)
	}
}

// applyDelegation records one change of a delegation record; a record that does not verify is ignored (and a
// valid one it tried to replace stays). A record of a withdrawn delegation signed no later than the last one
// held, written into the bucket again, is ignored and deleted again, so that hosts that join later do not
// read it either.
func (d *Data) applyDelegation(ctx context.Context, key string, value []byte, deleted bool) error {
	signingKey := strings.TrimPrefix(key, prefixDelegation)
	if deleted {
		d.mu.Lock()
		d.withdraw(signingKey)
		d.mu.Unlock()
		return nil
	}
	del, err := checkDelegation(d.signer, d.lattice, key, value)
	if err != nil {
		return err
	}
	d.mu.Lock()
	// The record this host itself put last, and has not withdrawn, always applies here: a deletion by someone
	// else that this host's watch delivers after its own renewal was put must not make it refuse (and delete)
	// that renewal as a replay.
	if w, ok := d.withdrawn[signingKey]; ok {
		if d.ownRecords[signingKey] != string(value) && !del.IssuedAt.After(w.issuedAt) {
			d.mu.Unlock()
			err := fmt.Errorf("the delegation of %s was withdrawn, and a record signed before that was written again", signingKey)
			if kv := d.bucketKV(); kv != nil {
				if derr := kv.Delete(ctx, key); derr != nil {
					return fmt.Errorf("%w; it could not be deleted: %w", err, derr)
				}
			}
			return fmt.Errorf("%w; deleted", err)
		}
		delete(d.withdrawn, signingKey)
	}
	d.delegations[signingKey] = del
	d.mu.Unlock()
	return nil
}
