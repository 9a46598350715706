package lattice

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// Call aliases belong to accounts. The first account (issuer) whose actor claims an alias owns it for as long
// as a verified claims entry of that account still claims it: another account's actor may claim the same
// alias in its signed claims, but calls to the alias never reach it. Ownership is kept in an ALIAS_ record
// of the lattice bucket, created atomically (so exactly one account wins a race) and signed with the
// cluster key of the host that wrote it (so a NATS user who can write the bucket cannot forge one). The
// record says since when the account owns the alias; a host that saw an owner restores its record when it
// is deleted, or replaced by a younger claim, while that owner still claims the alias, so that every host
// converges on the oldest claim. 0.x hosts ignore the records; their claims entries carry no token and
// never resolve an alias.

// prefixAlias starts the key of an alias ownership record: ALIAS_ and the alias in unpadded base64url, since
// an alias may hold characters a key cannot.
const prefixAlias = "ALIAS_"

// RecordSigner signs the records a host writes to the lattice bucket with its cluster key, and checks the
// records of other hosts against the trusted cluster issuers. rpc.Cluster implements it.
type RecordSigner interface {
	// SignRecord returns a token signed with the cluster key whose subject is subject and whose metadata is
	// meta.
	SignRecord(subject string, meta any) (string, error)
	// VerifyRecord checks that token was signed by a trusted cluster key, decodes its metadata into meta and
	// returns its subject.
	VerifyRecord(token string, meta any) (string, error)
	// PublicKey returns the cluster key SignRecord signs with.
	PublicKey() string
}

// aliasRecord is an ALIAS_ entry: the alias, the account that owns it, and the writing host's signature over
// both.
type aliasRecord struct {
	CallAlias string `json:"call_alias"`
	Issuer    string `json:"issuer"`
	// Since is when the account came to own the alias, in Unix nanoseconds; a restored record keeps it.
	Since int64  `json:"since"`
	Token string `json:"jwt"`
}

// aliasMeta is the metadata of an alias record's token; its subject is the owning account. Kind keeps a
// token signed for another purpose (an invocation's, say) from ever reading as an alias record.
type aliasMeta struct {
	Kind      string `json:"kind"`
	Lattice   string `json:"lattice"`
	CallAlias string `json:"call_alias"`
	Since     int64  `json:"since"`
}

// aliasKind is the Kind of every alias record's token.
const aliasKind = "call_alias_owner"

// aliasOwner is who owns an alias, as its record says.
type aliasOwner struct {
	issuer string
	since  int64
}

// older reports whether o's claim to an alias precedes p's (the issuer breaks a tie, so every host agrees).
func (o aliasOwner) older(p aliasOwner) bool {
	return o.since < p.since || o.since == p.since && o.issuer < p.issuer
}

// AliasTakenError reports that a call alias belongs to another account.
type AliasTakenError struct {
	Alias string
	// Owner is the account (A…) that owns the alias.
	Owner string
}

func (e *AliasTakenError) Error() string {
	return fmt.Sprintf("lattice: call alias %q belongs to the actors of account %s", e.Alias, e.Owner)
}

// Is reports whether target is ErrAliasTaken.
func (e *AliasTakenError) Is(target error) bool { return target == ErrAliasTaken }

func aliasKey(alias string) string {
	return prefixAlias + base64.RawURLEncoding.EncodeToString([]byte(alias))
}

// checkAlias decodes an alias record of the lattice lattice and checks it: under its own key, signed by a
// trusted cluster key for this lattice (a record copied from another lattice whose hosts share the cluster
// key is refused), and saying what its token says.
func checkAlias(v RecordSigner, lattice, key string, value []byte) (aliasRecord, error) {
	var r aliasRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return r, fmt.Errorf("malformed alias record: %w", err)
	}
	if aliasKey(r.CallAlias) != key || r.CallAlias == "" {
		return r, errors.New("the alias record is stored under another alias's key")
	}
	if nkey.CheckID(r.Issuer, nkey.Account) != nil {
		return r, errors.New("the alias record's owner is not an account key")
	}
	if v == nil {
		return r, errors.New("no cluster keys to check the alias record with")
	}
	var meta aliasMeta
	subject, err := v.VerifyRecord(r.Token, &meta)
	if err != nil {
		return r, fmt.Errorf("alias record: %w", err)
	}
	if meta.Kind != aliasKind || meta.Lattice != lattice || subject != r.Issuer || meta.CallAlias != r.CallAlias || meta.Since != r.Since {
		return r, errors.New("the alias record does not say what its signed token says")
	}
	return r, nil
}

func (d *Data) aliasRecord(alias string, o aliasOwner) ([]byte, error) {
	if d.signer == nil {
		return nil, errors.New("lattice: no cluster key to sign an alias record")
	}
	tok, err := d.signer.SignRecord(o.issuer, aliasMeta{Kind: aliasKind, Lattice: d.lattice, CallAlias: alias, Since: o.since})
	if err != nil {
		return nil, err
	}
	return json.Marshal(aliasRecord{CallAlias: alias, Issuer: o.issuer, Since: o.since, Token: tok})
}

// ClaimAlias records that the account issuer owns alias, unless another account does already: then it
// returns an *AliasTakenError that names the owner. A host calls it before it publishes the claims of an
// actor with a call alias. Without JetStream it does nothing.
func (d *Data) ClaimAlias(ctx context.Context, alias, issuer string) error {
	kv := d.bucketKV()
	if kv == nil || alias == "" {
		return nil
	}
	b, err := d.aliasRecord(alias, aliasOwner{issuer: issuer, since: time.Now().UnixNano()})
	if err != nil {
		return err
	}
	key := aliasKey(alias)
	for range 3 {
		_, err = kv.Create(ctx, key, b)
		if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
			break
		}
		e, gerr := kv.Get(ctx, key)
		if errors.Is(gerr, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile: try again
		}
		if gerr != nil {
			return fmt.Errorf("lattice: read the owner of call alias %q: %w", alias, gerr)
		}
		r, cerr := checkAlias(d.signer, d.lattice, key, e.Value())
		switch {
		case cerr == nil && r.Issuer == issuer:
			return nil
		case cerr == nil:
			return &AliasTakenError{Alias: alias, Owner: r.Issuer}
		}
		// A record nobody trusted signed: replace it, unless it changed meanwhile.
		if _, err = kv.Update(ctx, key, b, e.Revision()); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("lattice: record the owner of call alias %q: %w", alias, err)
	}
	return nil
}

// applyAlias records one change of an alias record. A valid record names the owner. A deletion of the record
// of an owner who still claims the alias, or its replacement by a younger claim, is undone: every host that
// saw the owner writes its record again, and a host that accepted the younger claim yields to the older one
// when it reads it.
func (d *Data) applyAlias(ctx context.Context, e jetstream.KeyValueEntry, deleted bool) error {
	key := e.Key()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, prefixAlias))
	if err != nil {
		return errors.New("malformed alias record key")
	}
	alias := string(raw)
	d.mu.Lock()
	prev, known := d.aliasOwners[alias]
	stillClaimed := known && d.claimedBy(alias, prev.issuer) != ""
	d.mu.Unlock()
	if deleted {
		if stillClaimed {
			d.restoreAlias(ctx, alias, prev, 0)
			return fmt.Errorf("the record of call alias %q was deleted while account %s still claims it; restored", alias, prev.issuer)
		}
		d.mu.Lock()
		delete(d.aliasOwners, alias)
		d.mu.Unlock()
		return nil
	}
	r, err := checkAlias(d.signer, d.lattice, key, e.Value())
	if err != nil {
		if stillClaimed {
			d.restoreAlias(ctx, alias, prev, e.Revision())
		}
		return err
	}
	claim := aliasOwner{issuer: r.Issuer, since: r.Since}
	if stillClaimed && prev != claim && prev.older(claim) {
		d.restoreAlias(ctx, alias, prev, e.Revision())
		if d.obs != nil {
			d.obs.AliasClash(ctx, alias, prev.issuer, r.Issuer)
		}
		return fmt.Errorf("account %s claimed call alias %q, which account %s owns and still claims; restored", r.Issuer, alias, prev.issuer)
	}
	d.mu.Lock()
	d.aliasOwners[alias] = claim
	d.mu.Unlock()
	return nil
}

// restoreAlias writes the record of owner o again, replacing the revision rev (0: the key must be absent).
func (d *Data) restoreAlias(ctx context.Context, alias string, o aliasOwner, rev uint64) {
	b, err := d.aliasRecord(alias, o)
	kv := d.bucketKV()
	if err == nil && kv != nil {
		if rev == 0 {
			_, err = kv.Create(ctx, aliasKey(alias), b)
		} else {
			_, err = kv.Update(ctx, aliasKey(alias), b, rev)
		}
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		d.log.Warn("could not restore the owner of a call alias", "call_alias", alias, "owner", o.issuer, "error", err)
	}
}

// RefreshAliases writes again, signed with the current cluster key, the record of every alias whose owner
// (as this host knows it) still claims it, when the stored record no longer verifies (its signer is no
// longer trusted, or was revoked) or, with keyChanged, when it was signed by another key than the current
// one. A host calls it after its cluster key, the trusted cluster issuers or the revocations changed, so that
// rotating the cluster key never leaves an alias record only the retired key signed: such a record would read
// as nobody's once that key is dropped, and the alias would go to the next account that claims it. The
// record keeps its owner and since. It returns how many records it wrote; a record another host rewrote
// meanwhile is left to it.
func (d *Data) RefreshAliases(ctx context.Context, keyChanged bool) int {
	kv := d.bucketKV()
	if kv == nil || d.signer == nil {
		return 0
	}
	d.mu.Lock()
	owners := make(map[string]aliasOwner, len(d.aliasOwners))
	for alias, o := range d.aliasOwners {
		if d.claimedBy(alias, o.issuer) != "" {
			owners[alias] = o
		}
	}
	d.mu.Unlock()
	own := d.signer.PublicKey()
	n := 0
	for alias, o := range owners {
		key := aliasKey(alias)
		e, err := kv.Get(ctx, key)
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			d.log.Warn("could not read the owner of a call alias", "call_alias", alias, "error", err)
			continue
		default:
			rev = e.Revision()
			r, cerr := checkAlias(d.signer, d.lattice, key, e.Value())
			if cerr == nil && (r.Issuer != o.issuer || r.Since != o.since) {
				continue // the watch has a newer record to apply
			}
			if cerr == nil && (!keyChanged || recordSigner(r.Token) == own) {
				continue
			}
		}
		b, err := d.aliasRecord(alias, o)
		if err == nil {
			if rev == 0 {
				_, err = kv.Create(ctx, key, b)
			} else {
				_, err = kv.Update(ctx, key, b, rev)
			}
		}
		if err != nil {
			d.log.Debug("call alias record not refreshed", "call_alias", alias, "error", err)
			continue
		}
		n++
	}
	return n
}

// recordSigner returns the issuer of a record token that checkAlias accepted.
func recordSigner(token string) string {
	t, err := wascap.Parse(token)
	if err != nil {
		return ""
	}
	return t.Claims.Issuer
}

// claimedBy returns the actor of account issuer whose verified claims claim alias, the least module key
// when several do; "" when none does. d.mu must be held.
func (d *Data) claimedBy(alias, issuer string) string {
	var keys []string
	for s, c := range d.claims {
		if d.verified[s] && c.CallAlias == alias && c.Issuer == issuer {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	return keys[0]
}

// Alias returns the actor a call alias resolves to: an actor of the account that owns the alias whose
// verified claims claim it.
func (d *Data) Alias(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	owner, ok := d.aliasOwners[name]
	if !ok {
		return "", false
	}
	key := d.claimedBy(name, owner.issuer)
	return key, key != ""
}

// AliasOwner returns the account that owns a call alias.
func (d *Data) AliasOwner(name string) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	owner, ok := d.aliasOwners[name]
	return owner.issuer, ok
}

// FindAlias finds the actor a call alias resolves to in the lattice bucket, for tools outside a host such as
// the call command: it reads the bucket once instead of watching it. Like a host, it trusts only the alias
// record signed by a cluster key v trusts, and among the claims entries whose signed token verifies only
// those of the owning account. ok is false when no actor resolves; err is an error reaching the bucket (also
// when it does not exist).
func FindAlias(ctx context.Context, nc *nats.Conn, lattice, domain string, v RecordSigner, alias string) (key string, ok bool, err error) {
	kv, err := openBucket(ctx, nc, DataBucket(lattice), domain, false, Replication{})
	if err != nil {
		return "", false, err
	}
	e, err := kv.Get(ctx, aliasKey(alias))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("lattice: read the owner of call alias %q: %w", alias, err)
	}
	r, err := checkAlias(v, lattice, aliasKey(alias), e.Value())
	if err != nil {
		return "", false, nil
	}
	keys, err := kv.ListKeys(ctx, jetstream.MetaOnly())
	if err != nil {
		return "", false, fmt.Errorf("lattice: list %s: %w", DataBucket(lattice), err)
	}
	found := ""
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, prefixClaims) {
			continue
		}
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		c, verified, err := checkClaims(k, e.Value())
		if err != nil || !verified || c.CallAlias != alias || c.Issuer != r.Issuer {
			continue
		}
		if found == "" || c.Subject < found {
			found = c.Subject
		}
	}
	return found, found != "", nil
}

// Online reports whether the Data has reached the lattice bucket (at Start, or by a retry since). Without it,
// links and call aliases are known only on this host.
func (d *Data) Online() bool { return d.bucketKV() != nil }

// VerifiedClaims returns the issuer and the capabilities of an actor as its claims entry says, when the entry's
// signed token verified.
func (d *Data) VerifiedClaims(subject string) (issuer string, caps []string, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, known := d.claims[subject]
	if !known || !d.verified[subject] {
		return "", nil, false
	}
	return c.Issuer, append([]string(nil), c.Capabilities...), true
}
