// Package keyvalue is the built-in wasmcloud:keyvalue provider: it implements the capability on a NATS
// JetStream key-value bucket, so that a host can offer actors a key-value store without a separate
// provider process and with the durability and replication of the lattice's own JetStream. Store is
// one confined store; Provider serves the contract's operations for a link (bucket and prefix, parsed
// from its values by ParseLink) on the Store it keeps for them.
//
// Several actors (or links) share one bucket, each confined to a prefix taken from its link values.
// Confinement is the point of the design, and it does not depend on what keys actors send: every
// key is encoded as base64url (RFC 4648 §5, no padding), so dots, wildcards, spaces and arbitrary
// bytes are just data, and becomes the last token of the JetStream key, after the prefix's tokens.
// A stored key therefore splits back into (prefix, key) in exactly one way, and no key sent to a
// store can name an entry of a store with another prefix.
//
// Values are stored as they are. Lists and sets are JSON arrays of strings, marked with a header so
// that each key holds exactly one kind of value, as in Redis, which the keyvalue contract was
// modelled on. Every read-modify-write (Increment, list and set updates, deletes that report whether
// the key existed) is a compare-and-swap on the key's last sequence number in the stream, retried
// when another writer got there first.
//
// Expiry (Set with expires > 0) is recorded in a header as an absolute deadline and enforced on
// every read. When the bucket allows per-message TTLs (buckets this package creates do, on servers
// that support them), the message also carries a TTL so that the server removes it; otherwise an
// expired value stays in the bucket, invisible, until it is overwritten or deleted. The read-time
// check uses the reading host's clock, so hosts sharing a bucket should keep their clocks in sync.
package keyvalue

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxKeyLen is the longest key, list name or set name accepted, in bytes.
const MaxKeyLen = 512

// MaxPrefixLen is the longest prefix New accepts, in bytes.
const MaxPrefixLen = 256

// MaxAttempts is how many times a read-modify-write is tried before it fails with ErrConflict.
const MaxAttempts = 1000

// setupTimeout bounds the JetStream requests New makes.
const setupTimeout = 10 * time.Second

// markerTTL is how long buckets created here keep the marker the server leaves when a value's TTL
// expires. Setting it is what enables per-message TTLs on the bucket.
const markerTTL = time.Minute

// Headers this package writes on the messages of the bucket.
const (
	// hdrKind is "list" or "set"; plain values carry no kind header.
	hdrKind = "Wasmcloud-Kv-Kind"
	// hdrExpires is the expiry deadline in Unix nanoseconds.
	hdrExpires = "Wasmcloud-Kv-Expires"
	// hdrKVOperation marks deletes and purges (the header nats.go's KV API writes).
	hdrKVOperation = "KV-Operation"
)

// kind is the kind of value a key holds.
type kind uint8

const (
	kindString kind = iota
	kindList
	kindSet
)

func (k kind) String() string {
	switch k {
	case kindList:
		return "list"
	case kindSet:
		return "set"
	default:
		return "string"
	}
}

// Store is one actor's (or one link's) view of a bucket: the keys under its prefix. Its methods
// are safe for concurrent use. Every method that takes a key refuses an empty key and one longer
// than MaxKeyLen bytes; otherwise any byte sequence is a valid key.
type Store struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// streamName is the bucket's stream, KV_<bucket>.
	streamName string
	// subjectPrefix is "$KV.<bucket>." followed by the prefix's tokens and a dot.
	subjectPrefix string
	// perKeyTTL reports that the stream allows per-message TTLs.
	perKeyTTL bool
	// rollup reports that writes must purge older revisions of the key (the bucket keeps history).
	rollup bool
	// now is time.Now, replaced in tests.
	now func() time.Time
}

// New returns a store confined to prefix in the JetStream key-value bucket named bucket, creating
// the bucket (history 1, per-message TTLs enabled when the server supports them) if it does not
// exist. An empty prefix is allowed; otherwise prefix is one or more tokens of letters, digits, '-'
// and '_', separated by single dots, at most MaxPrefixLen bytes. New makes JetStream requests,
// bounded by ctx and by a 10 s timeout.
func New(ctx context.Context, js jetstream.JetStream, bucket, prefix string, limits ...BucketLimits) (*Store, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	var l BucketLimits
	if len(limits) > 0 {
		l = limits[0]
	}
	if err := openBucket(ctx, js, bucket, l); err != nil {
		return nil, err
	}
	streamName := "KV_" + bucket
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		return nil, fmt.Errorf("keyvalue: open stream of bucket %q: %w", bucket, err)
	}
	cfg := stream.CachedInfo().Config
	s := &Store{
		js:            js,
		stream:        stream,
		streamName:    streamName,
		subjectPrefix: subjectPrefix(bucket, prefix),
		perKeyTTL:     cfg.AllowMsgTTL,
		rollup:        cfg.MaxMsgsPerSubject != 1 && cfg.AllowRollup,
		now:           time.Now,
	}
	return s, nil
}

// subjectPrefix returns the start of the subjects of a store's entries: the bucket's subject
// namespace followed by the prefix's tokens.
func subjectPrefix(bucket, prefix string) string {
	if prefix == "" {
		return "$KV." + bucket + "."
	}
	return "$KV." + bucket + "." + prefix + "."
}

// BucketLimits bound a bucket New creates. Actors write what they like into their buckets, and every bucket
// shares the JetStream store with the lattice's own: without a bound, one linked actor could fill the store
// until the operator's link changes and the hosts' claims no longer fit.
type BucketLimits struct {
	// MaxBytes bounds the bucket (0: no bound).
	MaxBytes int64
	// MaxValueSize bounds one value (0: no bound).
	MaxValueSize int32
}

// openBucket makes sure the bucket exists, creating it within limits if needed.
func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, limits BucketLimits) error {
	_, err := js.KeyValue(ctx, bucket)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("keyvalue: open bucket %q: %w", bucket, err)
	}
	cfg := jetstream.KeyValueConfig{
		Bucket:         bucket,
		Description:    "wasmcloud:keyvalue",
		History:        1,
		LimitMarkerTTL: markerTTL,
		MaxBytes:       limits.MaxBytes,
		MaxValueSize:   limits.MaxValueSize,
	}
	_, err = js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		// A server older than 2.11: no per-message TTLs, expiry is enforced on read only.
		cfg.LimitMarkerTTL = 0
		_, err = js.CreateKeyValue(ctx, cfg)
	}
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another host created it meanwhile, possibly with another configuration; use it as it is.
		_, err = js.KeyValue(ctx, bucket)
	}
	if err != nil {
		return fmt.Errorf("keyvalue: create bucket %q: %w", bucket, err)
	}
	return nil
}

// validatePrefix checks the prefix syntax described on New.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxPrefixLen {
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrInvalidPrefix, len(prefix), MaxPrefixLen)
	}
	for token := range strings.SplitSeq(prefix, ".") {
		if token == "" {
			return fmt.Errorf("%w: %q has an empty token", ErrInvalidPrefix, prefix)
		}
		for i := 0; i < len(token); i++ {
			c := token[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%w: %q contains %q", ErrInvalidPrefix, prefix, c)
			}
		}
	}
	return nil
}

// subject maps an actor key to the subject of its entry: the store's subject prefix followed by the
// key as one base64url token. It is the only place where keys enter the bucket's namespace.
func (s *Store) subject(op, key string) (string, error) {
	switch {
	case key == "":
		return "", &OpError{Op: op, Key: key, Err: ErrEmptyKey}
	case len(key) > MaxKeyLen:
		return "", &OpError{Op: op, Key: key, Err: &detailError{ErrKeyTooLong, "key of " + strconv.Itoa(len(key)) + " bytes, at most " + strconv.Itoa(MaxKeyLen) + " allowed"}}
	}
	enc := base64.RawURLEncoding
	b := make([]byte, len(s.subjectPrefix), len(s.subjectPrefix)+enc.EncodedLen(len(key)))
	copy(b, s.subjectPrefix)
	b = enc.AppendEncode(b, []byte(key))
	return string(b), nil
}

// entry is what load found under a subject.
type entry struct {
	// rev is the sequence of the subject's last message, a delete marker included; 0 if there is
	// none. A compare-and-swap write expects it.
	rev uint64
	// live reports a value that is neither deleted nor expired; the fields below are set only then.
	live bool
	// expired reports a value whose expiry has passed but which is still in the bucket.
	expired bool
	kind    kind
	data    []byte
	expires int64 // Unix nanoseconds; 0 for none
}

// load reads the last message of subj.
func (s *Store) load(ctx context.Context, subj string) (entry, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, subj)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return entry{}, nil
	}
	if err != nil {
		return entry{}, err
	}
	e := entry{rev: m.Sequence}
	if m.Header.Get(hdrKVOperation) != "" || m.Header.Get(jetstream.MarkerReasonHeader) != "" {
		return e, nil // deleted, purged, or removed by the server when its TTL ran out
	}
	if v := m.Header.Get(hdrExpires); v != "" {
		deadline, err := strconv.ParseInt(v, 10, 64)
		if err != nil || deadline <= 0 {
			return e, &detailError{ErrCorrupt, "unreadable expiry " + strconv.Quote(v)}
		}
		if s.now().UnixNano() >= deadline {
			e.expired = true
			return e, nil
		}
		e.expires = deadline
	}
	switch v := m.Header.Get(hdrKind); v {
	case "":
		e.kind = kindString
	case "list":
		e.kind = kindList
	case "set":
		e.kind = kindSet
	default:
		return e, &detailError{ErrCorrupt, "unknown kind " + strconv.Quote(v)}
	}
	e.live = true
	e.data = m.Data
	return e, nil
}

// writeOpts says how write publishes.
type writeOpts struct {
	kind    kind
	expires int64 // Unix nanoseconds; 0 for none
	// cas makes the write conditional on rev still being the subject's last sequence.
	cas bool
	rev uint64
}

// write publishes a new value for subj.
func (s *Store) write(ctx context.Context, subj string, data []byte, o writeOpts) error {
	msg := &nats.Msg{Subject: subj, Data: data, Header: nats.Header{}}
	if o.kind != kindString {
		msg.Header.Set(hdrKind, o.kind.String())
	}
	opts := make([]jetstream.PublishOpt, 0, 3)
	opts = append(opts, jetstream.WithExpectStream(s.streamName))
	if o.expires != 0 {
		msg.Header.Set(hdrExpires, strconv.FormatInt(o.expires, 10))
		if s.perKeyTTL {
			opts = append(opts, jetstream.WithMsgTTL(ttlUntil(o.expires, s.now())))
		}
	}
	if o.cas {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(o.rev))
	}
	if s.rollup {
		msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	}
	_, err := s.js.PublishMsg(ctx, msg, opts...)
	return err
}

// remove deletes subj, purging its older revisions, if its last sequence is still rev.
func (s *Store) remove(ctx context.Context, subj string, rev uint64) error {
	msg := &nats.Msg{Subject: subj, Header: nats.Header{}}
	msg.Header.Set(hdrKVOperation, "PURGE")
	msg.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	_, err := s.js.PublishMsg(ctx, msg,
		jetstream.WithExpectStream(s.streamName),
		jetstream.WithExpectLastSequencePerSubject(rev))
	return err
}

// ttlUntil converts a deadline to a per-message TTL: whole seconds, rounded up, at least one (the
// server's minimum). The read-time check makes the expiry exact whatever the rounding.
func ttlUntil(deadline int64, now time.Time) time.Duration {
	d := time.Duration(deadline - now.UnixNano())
	secs := (d + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// isConflict reports a compare-and-swap write that lost: the subject's last sequence changed.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// update runs one read-modify-write of subj: it loads the entry, lets apply decide, and performs
// the returned action conditionally on the entry being unchanged, retrying from the load when
// another writer changed it first.
func (s *Store) update(ctx context.Context, subj string, apply func(e entry) (action, error)) error {
	for attempt := range MaxAttempts {
		if attempt > 2 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		e, err := s.load(ctx, subj)
		if err != nil {
			return err
		}
		act, err := apply(e)
		if err != nil {
			return err
		}
		switch {
		case act.none:
			return nil
		case act.remove:
			err = s.remove(ctx, subj, e.rev)
		default:
			err = s.write(ctx, subj, act.data, writeOpts{kind: act.kind, expires: act.expires, cas: true, rev: e.rev})
		}
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return err
		}
	}
	return &detailError{ErrConflict, "lost the compare-and-swap race " + strconv.Itoa(MaxAttempts) + " times"}
}

// action is what an update does after its read.
type action struct {
	none    bool // write nothing
	remove  bool // delete the key
	kind    kind
	data    []byte
	expires int64
}

// backoff waits a random time that grows with the attempt number (up to 5 ms), so that writers
// contending for one key stop colliding in lockstep.
func backoff(ctx context.Context, attempt int) error {
	limit := min(time.Duration(attempt)*100*time.Microsecond, 5*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
