package lattice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Replication says how the JetStream buckets a host creates are replicated: the lattice bucket, the once-only
// record of accepted invocations, the object store of chunked payloads and the key-value provider's buckets. A bucket with one replica lives on one
// server of a cluster, and every call that needs it fails while that server is down; with three, the cluster
// elects a new leader and carries on.
type Replication struct {
	// Replicas is the replica count of a bucket created (1 to 5), or 0 for auto: when the server the host is
	// connected to belongs to a cluster, 3, or as many as the cluster can place (2, then 1); otherwise 1.
	Replicas int
}

// JetStream API error codes that say a replica count cannot be placed.
const (
	errCodeNoPeers               jetstream.ErrorCode = 10005 // no suitable peers for placement
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeReplicasNotSupported  jetstream.ErrorCode = 10074 // replicas > 1 not supported in non-clustered mode
)

// cannotPlace reports whether err says the cluster cannot hold the replicas asked for.
func cannotPlace(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case errCodeNoPeers, errCodeInsufficientResources, errCodeReplicasNotSupported:
		return true
	}
	return false
}

// replicated is a JetStream whose bucket creation applies a Replication and whose bucket opening reports
// under-replicated buckets.
type replicated struct {
	jetstream.JetStream
	nc  *nats.Conn
	rep Replication
}

// Replicated returns js with rep applied to the key-value buckets, object stores and streams it creates, unless
// their configuration names a replica count. nc is the connection js uses; its server's cluster membership decides
// auto mode.
func Replicated(js jetstream.JetStream, nc *nats.Conn, rep Replication) jetstream.JetStream {
	if r, ok := js.(replicated); ok {
		js = r.JetStream
	}
	return replicated{JetStream: js, nc: nc, rep: rep}
}

// clustered reports whether the server nc is connected to belongs to a cluster.
func (r replicated) clustered() bool { return r.nc != nil && r.nc.ConnectedClusterName() != "" }

// candidates returns the replica counts to try, in order.
func (r replicated) candidates() []int {
	switch {
	case r.rep.Replicas > 0:
		return []int{r.rep.Replicas}
	case r.clustered():
		return []int{3, 2, 1}
	default:
		return []int{1}
	}
}

// want returns the replica count below which an existing bucket is reported, or 0 for none.
func (r replicated) want() int {
	switch {
	case r.rep.Replicas > 0:
		return r.rep.Replicas
	case r.clustered():
		return 2
	default:
		return 0
	}
}

// create tries each candidate replica count until one can be placed.
func create[T any](r replicated, set int, try func(n int) (T, error)) (T, error) {
	if set > 0 {
		return try(set)
	}
	var (
		v   T
		err error
	)
	for _, n := range r.candidates() {
		if v, err = try(n); err == nil || !cannotPlace(err) {
			return v, err
		}
	}
	return v, err
}

func (r replicated) CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return create(r, cfg.Replicas, func(n int) (jetstream.KeyValue, error) {
		cfg.Replicas = n
		return r.JetStream.CreateKeyValue(ctx, cfg)
	})
}

func (r replicated) CreateOrUpdateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return create(r, cfg.Replicas, func(n int) (jetstream.KeyValue, error) {
		cfg.Replicas = n
		return r.JetStream.CreateOrUpdateKeyValue(ctx, cfg)
	})
}

func (r replicated) CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return create(r, cfg.Replicas, func(n int) (jetstream.Stream, error) {
		cfg.Replicas = n
		return r.JetStream.CreateStream(ctx, cfg)
	})
}

func (r replicated) CreateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	return create(r, cfg.Replicas, func(n int) (jetstream.ObjectStore, error) {
		cfg.Replicas = n
		return r.JetStream.CreateObjectStore(ctx, cfg)
	})
}

func (r replicated) CreateOrUpdateObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	return create(r, cfg.Replicas, func(n int) (jetstream.ObjectStore, error) {
		cfg.Replicas = n
		return r.JetStream.CreateOrUpdateObjectStore(ctx, cfg)
	})
}

// UnderReplicated is a bucket with fewer replicas than a Replication wants.
type UnderReplicated struct {
	Bucket string // the bucket's name
	Stream string // its stream
	Have   int
	Want   int
}

// FindUnderReplicated lists the buckets of the lattice latticeName that have fewer replicas than rep wants:
// fewer than Replicas, or, in auto mode when the server belongs to a cluster, a single one. It looks at the
// lattice bucket, the once-only record of accepted invocations, the object store of chunked payloads and every
// bucket the key-value provider created, in one listing of the streams.
func FindUnderReplicated(ctx context.Context, js jetstream.JetStream, nc *nats.Conn, rep Replication, latticeName string) ([]UnderReplicated, error) {
	r := replicated{JetStream: js, nc: nc, rep: rep}
	want := r.want()
	if want == 0 {
		return nil, nil
	}
	var out []UnderReplicated
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		cfg := info.Config
		var bucket string
		switch {
		case cfg.Name == "KV_"+DataBucket(latticeName):
			bucket = DataBucket(latticeName)
		case cfg.Name == "OBJ_"+ObjectStore(latticeName):
			bucket = ObjectStore(latticeName)
		case cfg.Name == "KV_"+OnceBucket(latticeName):
			bucket = OnceBucket(latticeName)
		case strings.HasPrefix(cfg.Name, "KV_") && cfg.Description == KeyValueDescription:
			bucket = strings.TrimPrefix(cfg.Name, "KV_")
		default:
			continue
		}
		if cfg.Replicas < want {
			out = append(out, UnderReplicated{Bucket: bucket, Stream: cfg.Name, Have: cfg.Replicas, Want: want})
		}
	}
	if err := streams.Err(); err != nil {
		return out, fmt.Errorf("lattice: list streams: %w", err)
	}
	return out, nil
}

// KeyValueDescription is the description of the buckets the key-value provider creates, by which
// FindUnderReplicated tells them from other streams.
const KeyValueDescription = "wasmcloud:keyvalue"
