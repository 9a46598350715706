package lattice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// NATS bounds a message to 1 MB by default, so wasmCloud 0.x moves larger invocation and response payloads
// into a JetStream object store named after the lattice prefix: the request body under the invocation id,
// the response body under the id plus "-r". The message then carries an empty msg and the full
// content_length, and the token still signs the complete payload, so a swapped object is refused.
const (
	// ChunkThreshold is the payload size above which a payload is chunked, as wasmCloud 0.82 and wasmbus-rpc
	// do.
	ChunkThreshold = 900 << 10
	// MaxChunked bounds what is read back from the object store, so a peer cannot make a host or tool buffer
	// an arbitrarily large object.
	MaxChunked = 64 << 20
	// chunkOpTimeout bounds one object store operation when the caller set no earlier deadline.
	chunkOpTimeout = 30 * time.Second
	// chunkTTL is how long an object the receiver never fetched stays in a bucket this host creates.
	chunkTTL = 15 * time.Minute
)

// ChunkStore is the object store of a lattice's chunked payloads, with the connection and JetStream domain
// to reach it. It holds no state besides its configuration; each operation opens the bucket.
type ChunkStore struct {
	nc     *nats.Conn
	bucket string // ObjectStore(lattice)
	domain string // WASMCLOUD_JS_DOMAIN, or "" for the account's own JetStream
	rep    Replication
}

// NewChunkStore returns the object store of the lattice lattice, reached through nc in the JetStream domain
// domain ("" for the account's own). A host uses its control connection, whose credentials reach JetStream.
func NewChunkStore(nc *nats.Conn, lattice, domain string) ChunkStore {
	return ChunkStore{nc: nc, bucket: ObjectStore(lattice), domain: domain}
}

// WithReplication returns s creating its bucket, when it is missing, as rep says.
func (s ChunkStore) WithReplication(rep Replication) ChunkStore {
	s.rep = rep
	return s
}

func (s ChunkStore) open(ctx context.Context, create bool) (jetstream.ObjectStore, error) {
	js, err := JetStream(s.nc, s.domain)
	if err != nil {
		return nil, err
	}
	obs, err := js.ObjectStore(ctx, s.bucket)
	if create && errors.Is(err, jetstream.ErrBucketNotFound) {
		// Objects of calls that failed before the receiver fetched them would stay forever: expire them.
		obs, err = Replicated(js, s.nc, s.rep).CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: s.bucket, TTL: chunkTTL})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = js.ObjectStore(ctx, s.bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lattice: object store %s: %w", s.bucket, err)
	}
	return obs, nil
}

// Put stores a chunked payload under name, creating the bucket if it is missing.
func (s ChunkStore) Put(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, chunkOpTimeout)
	defer cancel()
	obs, err := s.open(ctx, true)
	if err != nil {
		return err
	}
	if _, err := obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("lattice: store chunked payload %s: %w", name, err)
	}
	return nil
}

// Take reads the chunked payload stored under name, at most MaxChunked bytes, and deletes the object: each
// chunked payload is read exactly once. want is the content_length the message announced.
func (s ChunkStore) Take(ctx context.Context, name string, want uint64) ([]byte, error) {
	if want > MaxChunked {
		return nil, fmt.Errorf("lattice: chunked payload %s of %d bytes exceeds the limit of %d", name, want, MaxChunked)
	}
	ctx, cancel := context.WithTimeout(ctx, chunkOpTimeout)
	defer cancel()
	obs, err := s.open(ctx, false)
	if err != nil {
		return nil, err
	}
	obj, err := obs.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("lattice: read chunked payload %s: %w", name, err)
	}
	defer obj.Close()
	info, err := obj.Info()
	if err != nil {
		return nil, fmt.Errorf("lattice: read chunked payload %s: %w", name, err)
	}
	if info.Size > MaxChunked {
		return nil, fmt.Errorf("lattice: chunked payload %s of %d bytes exceeds the limit of %d", name, info.Size, MaxChunked)
	}
	data, err := io.ReadAll(io.LimitReader(obj, MaxChunked+1))
	if err != nil {
		return nil, fmt.Errorf("lattice: read chunked payload %s: %w", name, err)
	}
	if len(data) > MaxChunked {
		return nil, fmt.Errorf("lattice: chunked payload %s exceeds the limit of %d bytes", name, MaxChunked)
	}
	if err := obs.Delete(ctx, name); err != nil {
		return nil, fmt.Errorf("lattice: delete chunked payload %s: %w", name, err)
	}
	return data, nil
}

// ChunkInvocation moves the payload of a signed invocation into the object store when it is above the
// threshold. Sign already hashed the complete payload and set content_length to its length; only msg empties.
func (s ChunkStore) ChunkInvocation(ctx context.Context, inv *wire.Invocation) error {
	if len(inv.Msg) <= ChunkThreshold {
		return nil
	}
	if err := s.Put(ctx, inv.ID, inv.Msg); err != nil {
		return err
	}
	inv.Msg = []byte{}
	return nil
}

// ChunkResponse does the same for a signed response, under the id plus "-r".
func (s ChunkStore) ChunkResponse(ctx context.Context, resp *wire.Response) error {
	if len(resp.Msg) <= ChunkThreshold {
		return nil
	}
	if err := s.Put(ctx, resp.InvocationID+"-r", resp.Msg); err != nil {
		return err
	}
	resp.Msg = []byte{}
	return nil
}

// ResponseFetch returns the fetch function VerifyResponseChunked calls for a chunked response to id.
func (s ChunkStore) ResponseFetch(ctx context.Context, id string) func(uint64) ([]byte, error) {
	return func(contentLength uint64) ([]byte, error) { return s.Take(ctx, id+"-r", contentLength) }
}
