package lattice

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/lifecycle"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// Key prefixes of the lattice bucket LATTICEDATA_{lattice}, as 0.x hosts write them.
const (
	prefixClaims  = "CLAIMS_"
	prefixLinkdef = "LINKDEF_"
	prefixRefmap  = "REFMAP_"
)

// storedClaims is a CLAIMS_{key} entry in the format wasmCloud 0.82 writes (OTP's iss and sub are read too),
// plus our extension: the module's signed token, so any host can check the entry instead of trusting it.
type storedClaims struct {
	CallAlias    string   `json:"call_alias,omitempty"`
	Capabilities []string `json:"capabilities"`
	Issuer       string   `json:"issuer"`
	Name         string   `json:"name"`
	Revision     string   `json:"revision"`
	Subject      string   `json:"subject"`
	Tags         []string `json:"tags"`
	Version      string   `json:"version"`
	Token        string   `json:"jwt,omitempty"`

	OTPIssuer  string `json:"iss,omitempty"`
	OTPSubject string `json:"sub,omitempty"`
}

// refMap is a REFMAP_ entry: which actor an OCI reference resolved to.
type refMap struct {
	OCIURL    string `json:"oci_url"`
	PublicKey string `json:"public_key"`
}

// Observer is told about the changes of the lattice bucket that a host acts on. Its methods are called from
// the goroutine that watches the bucket, one change at a time, in the bucket's order, and never with a lock
// of the Data held, so they may call back into it. ctx is the watch's: it derives from the context given
// to Start and ends when Stop is called.
type Observer interface {
	// LinkChanged reports a link that was set (set is true) or deleted.
	LinkChanged(ctx context.Context, l control.LinkDefinition, set bool)
	// ClaimsForged reports that an unsigned or edited entry tried to replace the verified claims of the
	// actor subject.
	ClaimsForged(ctx context.Context, subject string)
	// AliasClash reports that the account claimant tried to take over a call alias that the account owner
	// owns and still claims.
	AliasClash(ctx context.Context, alias, owner, claimant string)
}

// Claims is what a host publishes about an actor it started: the fields of its signed claims that 0.x hosts
// write, and the signed token itself so that any reader can check them.
type Claims struct {
	Subject   string // module key
	Issuer    string // account key
	Name      string
	CallAlias string
	Caps      []string
	Tags      []string
	Rev       int32
	Ver       string
	Token     string
}

// Data mirrors the lattice bucket: every host watches it, so a link put through any host applies on all, and
// a host started later learns the links and claims that exist. The entries are unsigned, so each is checked
// before use; nothing read from the bucket ever grants a capability (those come from the signed module), and
// call aliases resolve only through claims entries whose embedded token verifies. In signed mode
// (RequireSignedLinks) links apply only with the operator's signed request (signedlinks.go).
type Data struct {
	lattice string
	bucket  string
	domain  string
	signer  RecordSigner // signs and checks alias records; nil: none can be written or trusted
	obs     Observer     // nil: nobody is told
	log     *slog.Logger

	rep      Replication
	signed   *linkSigning // nil: link entries are unsigned, as in 0.x (signedlinks.go)
	watching lifecycle.Group
	// notifyMu orders what the observer is told of links: the watch holds it while it applies a link entry,
	// RecheckSignedLinks while it withdraws links, so that a withdrawal is never told after a newer version.
	notifyMu sync.Mutex

	// mu guards the fields below.
	mu        sync.RWMutex
	kv        jetstream.KeyValue      // nil until the bucket was opened
	js        jetstream.JetStream     // for the delete markers of signed links; nil until the bucket was opened
	loaded    bool                    // a watch read every entry and runs
	stopWatch func()                  // ends the watch loop; set by Start
	resync    chan struct{}           // makes the watch loop read the bucket again
	claims    map[string]storedClaims // by subject
	verified  map[string]bool         // subjects whose entry's token verified
	// aliasOwners maps a call alias to the account that owns it, as its verified ALIAS_ record says.
	aliasOwners map[string]aliasOwner
	// revocations are the lattice-wide revocations (key → time), revokeEntries their verified entries, kept to
	// write back one that is deleted or overwritten.
	revocations   map[string]time.Time
	revokeEntries map[string][]byte
	links         map[string]control.LinkDefinition // by LINKDEF_ key
	refs          map[string]string                 // OCI reference → public key
	delegations   map[string]Delegation             // provider signing key → its verified delegation (delegation.go)
	withdrawn     map[string]withdrawnDelegation    // provider signing key → its delegation's last record, withdrawn
	ownRecords    map[string]string                 // provider signing key → the record this host last put for it, until it withdraws it
}

// NewData returns the mirror of the bucket of the lattice lattice, in the JetStream domain domain ("" for the
// account's own). signer signs and checks the call alias records (see ClaimAlias); obs (may be nil) is told
// about link changes, forged claims and alias clashes; log receives a warning for every entry that is
// ignored. It does no I/O.
func NewData(lattice, domain string, signer RecordSigner, obs Observer, log *slog.Logger) *Data {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Data{
		lattice: lattice, bucket: DataBucket(lattice), domain: domain, signer: signer, obs: obs, log: log,
		claims: map[string]storedClaims{}, verified: map[string]bool{}, aliasOwners: map[string]aliasOwner{},
		revocations: map[string]time.Time{}, revokeEntries: map[string][]byte{}, delegations: map[string]Delegation{},
		withdrawn: map[string]withdrawnDelegation{}, ownRecords: map[string]string{}, links: map[string]control.LinkDefinition{}, refs: map[string]string{},
	}
}

func openBucket(ctx context.Context, nc *nats.Conn, bucket, domain string, create bool, rep Replication) (jetstream.KeyValue, error) {
	js, err := JetStream(nc, domain)
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, bucket)
	if create && errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = Replicated(js, nc, rep).CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lattice: bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// SetReplication sets how the bucket is replicated if this Data creates it. Call it before Start.
func (d *Data) SetReplication(rep Replication) { d.rep = rep }

// Bounds of the delay between two attempts to open and watch the bucket.
const (
	dataRetryWait    = 500 * time.Millisecond
	dataRetryMaxWait = 15 * time.Second
)

// Start opens (or creates) the bucket and watches it, and keeps doing so until Stop: when the bucket cannot be
// opened or the watch ends, it tries again with capped exponential backoff and jitter, and Resync makes it
// read the bucket again at once. Each watch first reads every entry; entries that disappeared meanwhile are
// applied as deleted, and entries that did not change are not reported to the observer again.
//
// Start returns once the first attempt has either applied every existing entry, or failed: then it returns
// that attempt's error while the attempts go on in the background, and the Data stays empty (links and call
// aliases work only on this host) until one succeeds. Loaded says whether the copy is complete; an observer
// that implements LoadObserver is told when that changes.
func (d *Data) Start(ctx context.Context, nc *nats.Conn) error {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	resync := make(chan struct{}, 1)
	d.mu.Lock()
	d.stopWatch, d.resync = cancel, resync
	d.mu.Unlock()
	first := make(chan error, 1)
	d.watching.Go(func() {
		for attempt := 1; ; attempt++ {
			loaded, err := d.watch(wctx, nc, resync, first)
			if wctx.Err() != nil {
				return
			}
			if loaded {
				attempt = 0 // the watch worked and was asked to read the bucket again, or ended: start over
				continue
			}
			d.log.Warn("lattice data unavailable; retrying", "bucket", d.bucket, "attempt", attempt, attrError, err)
			select {
			case <-wctx.Done():
				return
			case <-resync:
			case <-time.After(backoff(attempt, dataRetryWait, dataRetryMaxWait)):
			}
		}
	})
	select {
	case err := <-first:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// watch opens the bucket, applies every entry and then the changes, until ctx ends, the watch ends or resync
// is signalled. It reports whether the copy was complete at some point, and the error that ended the watch.
// The outcome of reading the existing entries is sent on first, if it has room.
func (d *Data) watch(ctx context.Context, nc *nats.Conn, resync <-chan struct{}, first chan<- error) (bool, error) {
	report := func(err error) {
		select {
		case first <- err:
		default:
		}
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	kv, err := openBucket(octx, nc, d.bucket, d.domain, true, d.rep)
	cancel()
	if err != nil {
		report(err)
		return false, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx)
	if err != nil {
		err = fmt.Errorf("lattice: watch %s: %w", d.bucket, err)
		report(err)
		return false, err
	}
	defer func() { _ = w.Stop() }()
	js, err := JetStream(nc, d.domain)
	if err != nil {
		report(err)
		return false, err
	}
	d.mu.Lock()
	d.kv, d.js = kv, js
	d.mu.Unlock()
	seen := map[string]bool{} // keys read before the marker that ends the existing entries
	loaded := false
	defer func() {
		if loaded {
			d.setLoaded(ctx, false)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return loaded, ctx.Err()
		case <-resync:
			return loaded, errors.New("read again")
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				err := fmt.Errorf("lattice: the watch of %s ended", d.bucket)
				report(err)
				return loaded, err
			case e == nil: // the marker after the existing entries
				if !loaded {
					d.dropUnseen(ctx, seen)
					seen, loaded = nil, true
					d.setLoaded(ctx, true)
					report(nil)
				}
			default:
				if seen != nil {
					seen[e.Key()] = true
				}
				d.apply(ctx, e)
			}
		}
	}
}

// dropUnseen applies as deleted every entry of the copy that a new watch did not read: it was deleted while
// the Data was not watching.
func (d *Data) dropUnseen(ctx context.Context, seen map[string]bool) {
	d.mu.Lock()
	var gone []control.LinkDefinition
	for key, l := range d.links {
		if !seen[key] {
			delete(d.links, key)
			gone = append(gone, l)
		}
	}
	for subject := range d.claims {
		if !seen[prefixClaims+subject] {
			delete(d.claims, subject)
			delete(d.verified, subject)
		}
	}
	for ref := range d.refs {
		if !seen[prefixRefmap+base64.RawURLEncoding.EncodeToString([]byte(ref))] {
			delete(d.refs, ref)
		}
	}
	for alias := range d.aliasOwners {
		if !seen[aliasKey(alias)] {
			delete(d.aliasOwners, alias)
		}
	}
	d.mu.Unlock()
	if d.obs == nil {
		return
	}
	for _, l := range gone {
		d.obs.LinkChanged(ctx, l, false)
	}
}

// setLoaded records whether the copy is complete and tells a LoadObserver.
func (d *Data) setLoaded(ctx context.Context, loaded bool) {
	d.mu.Lock()
	changed := d.loaded != loaded
	d.loaded = loaded
	d.mu.Unlock()
	if lo, ok := d.obs.(LoadObserver); ok && changed {
		lo.DataLoaded(ctx, loaded)
	}
}

// Loaded reports whether the copy of the bucket is complete: a watch read every entry and is still running.
func (d *Data) Loaded() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.loaded
}

// Resync makes the Data read the whole bucket again (after the connection came back, for example): the
// current watch ends, a new one starts at once, and what changed meanwhile is applied. It does nothing
// before Start.
func (d *Data) Resync() {
	d.mu.RLock()
	c := d.resync
	d.mu.RUnlock()
	if c == nil {
		return
	}
	select {
	case c <- struct{}{}:
	default:
	}
}

// bucketJS returns the JetStream the bucket was opened through, or nil while it was never opened.
func (d *Data) bucketJS() jetstream.JetStream {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.js
}

// bucketKV returns the bucket, or nil while it was never opened.
func (d *Data) bucketKV() jetstream.KeyValue {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.kv
}

// Stop ends the watch and waits for the goroutine that ran it, as long as ctx allows. It may be called on a
// nil Data, and on one that never started.
func (d *Data) Stop(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.RLock()
	stop := d.stopWatch
	d.mu.RUnlock()
	if stop == nil {
		return nil
	}
	stop()
	if err := d.watching.Wait(ctx); err != nil {
		return fmt.Errorf("lattice: stop the watch of %s: %w", d.bucket, err)
	}
	return nil
}

// apply records one change of the bucket. A malformed or forged entry is ignored with a warning.
func (d *Data) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	key := e.Key()
	deleted := e.Operation() != jetstream.KeyValuePut
	var err error
	switch {
	case strings.HasPrefix(key, prefixClaims):
		if deleted {
			err = d.deleteClaims(ctx, strings.TrimPrefix(key, prefixClaims))
			break
		}
		err = d.applyClaims(ctx, key, e.Value())
	case strings.HasPrefix(key, prefixLinkdef) && d.signed != nil:
		d.notifyMu.Lock()
		err = d.applySignedLink(ctx, e)
		d.notifyMu.Unlock()
	case strings.HasPrefix(key, prefixLinkdef):
		err = d.applyLink(ctx, key, e.Value(), deleted)
	case strings.HasPrefix(key, prefixRefmap):
		if !deleted {
			err = d.applyRef(key, e.Value())
		}
	case strings.HasPrefix(key, prefixAlias):
		err = d.applyAlias(ctx, e, deleted)
	case strings.HasPrefix(key, prefixRevoke):
		err = d.applyRevocation(ctx, e, deleted)
	case strings.HasPrefix(key, prefixDelegation):
		err = d.applyDelegation(ctx, key, e.Value(), deleted)
	}
	if err != nil {
		d.log.Warn("ignoring a lattice data entry", "key", key, "reason", err)
	}
}

// LoadObserver is an Observer that is also told, on the watch's goroutine, when the Data's copy of the bucket
// becomes complete (loaded is true: a watch has read every entry) and when it stops being current (the watch
// ended; it will be read again). The host answers the lattice-wide queries only while the copy is loaded.
type LoadObserver interface {
	Observer
	DataLoaded(ctx context.Context, loaded bool)
}

// checkClaims decodes a claims entry and checks it against its key and, when it carries one, against its
// module token (signature, subject, and every field the entry repeats). It reports whether the entry was
// verified by a token.
func checkClaims(key string, value []byte) (storedClaims, bool, error) {
	var c storedClaims
	if err := json.Unmarshal(value, &c); err != nil {
		return c, false, fmt.Errorf("malformed claims: %w", err)
	}
	if c.Subject == "" {
		c.Subject = c.OTPSubject
	}
	if c.Issuer == "" {
		c.Issuer = c.OTPIssuer
	}
	id := strings.TrimPrefix(key, prefixClaims)
	if c.Subject != id || nkey.CheckID(id, nkey.Module, nkey.Service) != nil {
		return c, false, fmt.Errorf("subject %q does not match the key", c.Subject)
	}
	if c.Token == "" {
		return c, false, nil
	}
	tok, err := wascap.Parse(c.Token)
	if err != nil {
		return c, false, err
	}
	if _, err := tok.VerifyIssuer(nkey.Account); err != nil {
		return c, false, err
	}
	var meta wascap.Actor
	if err := tok.DecodeMetadata(&meta); err != nil {
		return c, false, err
	}
	if tok.Claims.Subject != c.Subject || tok.Claims.Issuer != c.Issuer || meta.CallAlias != c.CallAlias ||
		!slices.Equal(meta.Caps, c.Capabilities) || meta.Name != c.Name {
		return c, false, errors.New("the entry does not say what its signed token says")
	}
	return c, true, nil
}

func (d *Data) applyClaims(ctx context.Context, key string, value []byte) error {
	c, verified, err := checkClaims(key, value)
	if err != nil {
		if subject := strings.TrimPrefix(key, prefixClaims); d.isVerified(subject) && d.obs != nil {
			d.obs.ClaimsForged(ctx, subject)
		}
		return err
	}
	d.mu.Lock()
	if d.verified[c.Subject] && !verified {
		d.mu.Unlock()
		if d.obs != nil {
			d.obs.ClaimsForged(ctx, c.Subject)
		}
		return fmt.Errorf("an entry without a valid token tried to replace the signed claims of %s", c.Subject)
	}
	defer d.mu.Unlock()
	d.claims[c.Subject] = c
	d.verified[c.Subject] = verified
	if owner, ok := d.aliasOwners[c.CallAlias]; verified && ok && owner.issuer != c.Issuer {
		d.log.Debug("an actor claims a call alias another account owns; calls to the alias do not reach it",
			"call_alias", c.CallAlias, "owner", owner.issuer, "claimant", c.Subject, "claimant_issuer", c.Issuer)
	}
	return nil
}

// deleteClaims applies the deletion of a claims entry. Hosts never delete the claims entries of actors
// (0.x hosts do not either), so the deletion of one whose token verified is taken as forged: the host that
// runs the actor writes it back, and every host keeps it, so that a call alias does not change hands because
// a NATS user deleted its owner's entry. Unverified entries are simply removed.
func (d *Data) deleteClaims(ctx context.Context, subject string) error {
	d.mu.Lock()
	if d.verified[subject] {
		d.mu.Unlock()
		if d.obs != nil {
			d.obs.ClaimsForged(ctx, subject)
		}
		return fmt.Errorf("the signed claims entry of %s was deleted; kept", subject)
	}
	delete(d.claims, subject)
	delete(d.verified, subject)
	d.mu.Unlock()
	return nil
}

// LinkKey is the bucket key of a link: LINKDEF_ and HEXUPPER(SHA-256(actor ‖ contract ‖ link name)). It
// identifies a link for the hosts that apply it as well.
func LinkKey(actorID, contractID, linkName string) string {
	sum := sha256.Sum256([]byte(actorID + contractID + linkName))
	return prefixLinkdef + wire.HashHex(sum)
}

func (d *Data) applyLink(ctx context.Context, key string, value []byte, deleted bool) error {
	var l control.LinkDefinition
	if deleted {
		d.mu.Lock()
		l, ok := d.links[key]
		delete(d.links, key)
		d.mu.Unlock()
		if ok && d.obs != nil {
			d.obs.LinkChanged(ctx, l, false)
		}
		return nil
	}
	if err := json.Unmarshal(value, &l); err != nil {
		return fmt.Errorf("malformed link: %w", err)
	}
	if err := l.Validate(); err != nil {
		return err
	}
	if LinkKey(l.ActorID, l.ContractID, l.LinkName) != key {
		return errors.New("the link is stored under another link's key")
	}
	d.mu.Lock()
	old, had := d.links[key]
	d.links[key] = l
	d.mu.Unlock()
	if had && sameLink(old, l) {
		return nil // read again after a reconnect, unchanged
	}
	if d.obs != nil {
		d.obs.LinkChanged(ctx, l, true)
	}
	return nil
}

// sameLink reports whether two link definitions are the same in every field.
func sameLink(a, b control.LinkDefinition) bool {
	return a.ID == b.ID && a.ActorID == b.ActorID && a.ProviderID == b.ProviderID && a.ContractID == b.ContractID &&
		a.LinkName == b.LinkName && maps.Equal(a.Values, b.Values)
}

func (d *Data) applyRef(key string, value []byte) error {
	var r refMap
	if err := json.Unmarshal(value, &r); err != nil {
		return fmt.Errorf("malformed reference map: %w", err)
	}
	if prefixRefmap+base64.RawURLEncoding.EncodeToString([]byte(r.OCIURL)) != key || nkey.CheckID(r.PublicKey, nkey.Module, nkey.Service) != nil {
		return errors.New("reference map does not match its key")
	}
	d.mu.Lock()
	d.refs[r.OCIURL] = r.PublicKey
	d.mu.Unlock()
	return nil
}

func (d *Data) isVerified(subject string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.verified[subject]
}

// Link returns the link of an actor for a contract and link name. The key (as 0.x spells it) digests the three
// written one after the other, so it is shared by a link for another split of the same characters (contract
// "wasmcloud:httpserve", link name "rdefault"): that one is not returned.
func (d *Data) Link(actorID, contractID, linkName string) (control.LinkDefinition, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	l, ok := d.links[LinkKey(actorID, contractID, linkName)]
	if !ok || l.ActorID != actorID || l.ContractID != contractID || l.LinkName != linkName {
		return control.LinkDefinition{}, false
	}
	return l, true
}

// Links returns every link, sorted by actor, contract and link name.
func (d *Data) Links() []control.LinkDefinition {
	d.mu.RLock()
	out := make([]control.LinkDefinition, 0, len(d.links))
	for _, l := range d.links {
		out = append(out, l)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.ActorID+a.ContractID+a.LinkName < b.ActorID+b.ContractID+b.LinkName
	})
	return out
}

// ClaimsList returns every claims entry in the 0.x get.claims layout.
func (d *Data) ClaimsList() control.ClaimsList {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := control.ClaimsList{Claims: make([]map[string]string, 0, len(d.claims))}
	subjects := make([]string, 0, len(d.claims))
	for s := range d.claims {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		c := d.claims[s]
		out.Claims = append(out.Claims, map[string]string{
			"sub": c.Subject, "iss": c.Issuer, "name": c.Name, "call_alias": c.CallAlias,
			"caps": strings.Join(c.Capabilities, ","), "tags": strings.Join(c.Tags, ","),
			"rev": c.Revision, "version": c.Version,
		})
	}
	return out
}

// PutLink stores a link (every host then applies it through its watch) and returns it as stored, with its id.
// The link must have passed LinkDefinition.Validate where it entered (DecodeCtl does that for linkdefs.put);
// every host validates it again when it reads it from the bucket, which anyone may write to.
func (d *Data) PutLink(ctx context.Context, l control.LinkDefinition) (control.LinkDefinition, error) {
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
	b, err := json.Marshal(l)
	if err != nil {
		return l, err
	}
	_, err = kv.Put(ctx, key, b)
	return l, err
}

// DelLink removes a link; it reports whether the link existed. The bucket, not this host's mirror of it,
// decides: another host may have deleted the link a moment ago.
func (d *Data) DelLink(ctx context.Context, r control.RemoveLinkDefinition) (control.LinkDefinition, bool, error) {
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
	return l, true, kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
}

// PublishClaims writes the claims of an actor a host started, with its token. Without JetStream it does
// nothing.
func (d *Data) PublishClaims(ctx context.Context, c Claims) error {
	kv := d.bucketKV()
	if kv == nil {
		return nil
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	b, err := json.Marshal(storedClaims{
		CallAlias: c.CallAlias, Capabilities: c.Caps, Issuer: c.Issuer, Name: c.Name,
		Revision: strconv.Itoa(int(c.Rev)), Subject: c.Subject, Tags: tags, Version: c.Ver, Token: c.Token,
	})
	if err == nil {
		_, err = kv.Put(ctx, prefixClaims+c.Subject, b)
	}
	if err != nil {
		return fmt.Errorf("lattice: publish the claims of %s: %w", c.Subject, err)
	}
	return nil
}

// PublishRef records which actor an OCI reference resolved to. Without JetStream it does nothing.
func (d *Data) PublishRef(ctx context.Context, ref, key string) error {
	kv := d.bucketKV()
	if kv == nil {
		return nil
	}
	b, _ := json.Marshal(refMap{OCIURL: ref, PublicKey: key})
	if _, err := kv.Put(ctx, prefixRefmap+base64.RawURLEncoding.EncodeToString([]byte(ref)), b); err != nil {
		return fmt.Errorf("lattice: publish the reference map of %s: %w", ref, err)
	}
	return nil
}
