package host

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
	// chunkThreshold is the payload size above which this host chunks, as wasmCloud 0.82 and wasmbus-rpc do.
	chunkThreshold = 900 << 10
	// maxChunked bounds what this host reads back from the object store, so a peer cannot make it buffer an
	// arbitrarily large object.
	maxChunked = 64 << 20
	// chunkOpTimeout bounds one object store operation when the caller set no earlier deadline.
	chunkOpTimeout = 30 * time.Second
	// chunkTTL is how long an object the receiver never fetched stays in a bucket this host creates.
	chunkTTL = 15 * time.Minute
)

// chunkStore names the object store bucket of a lattice and the connection and JetStream domain to reach it.
type chunkStore struct {
	nc     *nats.Conn
	bucket string // the lattice prefix
	domain string // WASMCLOUD_JS_DOMAIN, or "" for the account's own JetStream
}

// chunks returns the object store of this host's lattice, reached through the control connection.
func (h *Host) chunks() chunkStore {
	return chunkStore{nc: h.ctlConn, bucket: h.cfg.LatticePrefix, domain: h.cfg.JSDomain}
}

func (s chunkStore) open(ctx context.Context, create bool) (jetstream.ObjectStore, error) {
	js, err := jetstream.New(s.nc)
	if s.domain != "" {
		js, err = jetstream.NewWithDomain(s.nc, s.domain)
	}
	if err != nil {
		return nil, err
	}
	obs, err := js.ObjectStore(ctx, s.bucket)
	if create && errors.Is(err, jetstream.ErrBucketNotFound) {
		// Objects of calls that failed before the receiver fetched them would stay forever: expire them.
		obs, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: s.bucket, TTL: chunkTTL})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obs, err = js.ObjectStore(ctx, s.bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("host: object store %s: %w", s.bucket, err)
	}
	return obs, nil
}

// put stores a chunked payload under name, creating the bucket if it is missing.
func (s chunkStore) put(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, chunkOpTimeout)
	defer cancel()
	obs, err := s.open(ctx, true)
	if err != nil {
		return err
	}
	if _, err := obs.PutBytes(ctx, name, data); err != nil {
		return fmt.Errorf("host: store chunked payload %s: %w", name, err)
	}
	return nil
}

// take reads the chunked payload stored under name, at most maxChunked bytes, and deletes the object: each
// chunked payload is read exactly once. want is the content_length the message announced.
func (s chunkStore) take(ctx context.Context, name string, want uint64) ([]byte, error) {
	if want > maxChunked {
		return nil, fmt.Errorf("host: chunked payload %s of %d bytes exceeds the limit of %d", name, want, maxChunked)
	}
	ctx, cancel := context.WithTimeout(ctx, chunkOpTimeout)
	defer cancel()
	obs, err := s.open(ctx, false)
	if err != nil {
		return nil, err
	}
	obj, err := obs.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("host: read chunked payload %s: %w", name, err)
	}
	defer obj.Close()
	info, err := obj.Info()
	if err != nil {
		return nil, fmt.Errorf("host: read chunked payload %s: %w", name, err)
	}
	if info.Size > maxChunked {
		return nil, fmt.Errorf("host: chunked payload %s of %d bytes exceeds the limit of %d", name, info.Size, maxChunked)
	}
	data, err := io.ReadAll(io.LimitReader(obj, maxChunked+1))
	if err != nil {
		return nil, fmt.Errorf("host: read chunked payload %s: %w", name, err)
	}
	if len(data) > maxChunked {
		return nil, fmt.Errorf("host: chunked payload %s exceeds the limit of %d bytes", name, maxChunked)
	}
	if err := obs.Delete(ctx, name); err != nil {
		return nil, fmt.Errorf("host: delete chunked payload %s: %w", name, err)
	}
	return data, nil
}

// chunkInvocation moves the payload of a signed invocation into the object store when it is above the
// threshold. Sign already hashed the complete payload and set content_length to its length; only msg empties.
func (s chunkStore) chunkInvocation(ctx context.Context, inv *wire.Invocation) error {
	if len(inv.Msg) <= chunkThreshold {
		return nil
	}
	if err := s.put(ctx, inv.ID, inv.Msg); err != nil {
		return err
	}
	inv.Msg = []byte{}
	return nil
}

// chunkResponse does the same for a signed response, under the id plus "-r".
func (s chunkStore) chunkResponse(ctx context.Context, resp *wire.Response) error {
	if len(resp.Msg) <= chunkThreshold {
		return nil
	}
	if err := s.put(ctx, resp.InvocationID+"-r", resp.Msg); err != nil {
		return err
	}
	resp.Msg = []byte{}
	return nil
}

// responseFetch returns the fetch function VerifyResponseChunked calls for a chunked response to id.
func (s chunkStore) responseFetch(ctx context.Context, id string) func(uint64) ([]byte, error) {
	return func(contentLength uint64) ([]byte, error) { return s.take(ctx, id+"-r", contentLength) }
}
