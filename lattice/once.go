package lattice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of OnceConfig's zero fields.
const (
	// DefaultOnceMaxBytes bounds the memory the once-only record may take in the JetStream server: about
	// 300 bytes per live claim, so some 200,000 claims live at once.
	DefaultOnceMaxBytes = 64 << 20
	// DefaultOnceMaxTTL is the furthest in the future a claim may be kept.
	DefaultOnceMaxTTL = time.Hour
)

// OnceConfig configures a once-only record.
type OnceConfig struct {
	// MaxBytes bounds the bucket (DefaultOnceMaxBytes when zero). When it is full of live claims, Claim fails
	// rather than forgets one.
	MaxBytes int64
	// MaxTTL is the longest a claim is kept (DefaultOnceMaxTTL when zero); Claim refuses an until beyond it.
	MaxTTL time.Duration
	// Replication says how the bucket is replicated if OpenOnce creates it: every invocation waits for a
	// claim, so a record on one lost server would refuse them all.
	Replication Replication
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Once is a lattice-wide once-only record: Claim succeeds for a key exactly once among every host of the
// lattice until the time given with it, so a request that any one of several hosts may handle (a queue
// group's) is handled once, whichever host a replay of it reaches. It is a JetStream stream in memory,
// KV_WASMCLOUD_ONCE_{lattice} (the layout of a key-value bucket, so tools can read it), whose messages carry a
// per-message TTL; a claim is one publish that the server accepts only while its subject holds no message,
// one round trip. The stream refuses message deletion and purges, and a delete marker published on a key's
// subject counts as a claim, so a NATS user who cannot delete or recreate the stream cannot make a claimed
// key claimable again before its time. It is safe for concurrent use.
type Once struct {
	js     jetstream.JetStream
	bucket string
	prefix string // $KV.{bucket}.
	maxTTL time.Duration
	now    func() time.Time
}

// OpenOnce opens the once-only record of the lattice lattice in the JetStream domain domain ("" for the
// account's own), creating its stream when it does not exist yet. The server must support per-message TTLs
// (nats-server 2.11 or later).
func OpenOnce(ctx context.Context, nc *nats.Conn, lattice, domain string, cfg OnceConfig) (*Once, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultOnceMaxBytes
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = DefaultOnceMaxTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	bucket := OnceBucket(lattice)
	js, err := JetStream(nc, domain)
	if err != nil {
		return nil, err
	}
	stream := "KV_" + bucket
	if _, err = js.Stream(ctx, stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = Replicated(js, nc, cfg.Replication).CreateStream(ctx, jetstream.StreamConfig{
			Name:              stream,
			Description:       "wasmcloud-host: ids of requests already handled (internal)",
			Subjects:          []string{"$KV." + bucket + ".>"},
			MaxMsgsPerSubject: 1,
			MaxBytes:          cfg.MaxBytes,
			Discard:           jetstream.DiscardNew,
			Storage:           jetstream.MemoryStorage,
			AllowMsgTTL:       true,
			DenyDelete:        true,
			DenyPurge:         true,
			AllowDirect:       true,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another host created it a moment ago
			_, err = js.Stream(ctx, stream)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lattice: once-only record %s: %w", bucket, err)
	}
	return &Once{js: js, bucket: bucket, prefix: "$KV." + bucket + ".", maxTTL: cfg.MaxTTL, now: cfg.Now}, nil
}

// Bucket returns the name of the record's bucket.
func (o *Once) Bucket() string { return o.bucket }

// Claim records key until the time until (rounded up to the next whole second; at least one second from now).
// It returns nil the first time key is claimed, an error matching ErrAlreadyClaimed when key was claimed
// before and its time has not passed (or anything else was written on its subject), ErrClaimTooLong when
// until lies beyond the record's MaxTTL, and any other error when the record could not be reached or is full:
// the caller then refuses the request, never lets it through unrecorded. Any string is a key: it is stored
// as its SHA-256.
func (o *Once) Claim(ctx context.Context, key string, until time.Time) error {
	ttl := until.Sub(o.now())
	if ttl > o.maxTTL {
		return fmt.Errorf("%w: %s, limit %s", ErrClaimTooLong, ttl.Round(time.Second), o.maxTTL)
	}
	ttl = max(ttl.Truncate(time.Second)+time.Second, time.Second)
	sum := sha256.Sum256([]byte(key))
	var k [sha256.Size * 2]byte
	hex.Encode(k[:], sum[:])
	_, err := o.js.Publish(ctx, o.prefix+string(k[:]), nil,
		jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithMsgTTL(ttl))
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant):
		return ErrAlreadyClaimed
	default:
		return fmt.Errorf("lattice: once-only record %s: %w", o.bucket, err)
	}
}
