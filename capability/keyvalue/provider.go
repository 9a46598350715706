package keyvalue

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// Link values of the built-in key-value provider: the JetStream KV bucket, and a prefix that confines the
// actor's keys within it.
const (
	LinkBucket = "bucket"
	LinkPrefix = "prefix"
	// DefaultBucket is the bucket of links that name none.
	DefaultBucket = "wasmcloud_kv"
)

// Link is what a link's values say to the key-value provider: the bucket, and the prefix that confines the
// actor's keys within it.
type Link struct {
	Bucket string
	Prefix string
}

// ParseLink reads the key-value values of a link: bucket (DefaultBucket when absent or empty), which buckets
// must allow, and prefix (none when absent), which must be a valid prefix (see New).
func ParseLink(buckets Buckets, values map[string]string) (Link, error) {
	l := Link{Bucket: values[LinkBucket], Prefix: values[LinkPrefix]}
	if l.Bucket == "" {
		l.Bucket = DefaultBucket
	}
	if err := buckets.Check(l.Bucket); err != nil {
		return Link{}, err
	}
	if err := validatePrefix(l.Prefix); err != nil {
		return Link{}, err
	}
	return l, nil
}

// Provider is the built-in wasmcloud:keyvalue provider: every operation of the interface, on JetStream KV,
// confined to the bucket and prefix of the caller's link. It keeps one Store per (bucket, prefix), opened on
// first use.
type Provider struct {
	js      jetstream.JetStream
	buckets Buckets

	mu     sync.Mutex
	stores map[Link]*Store // guarded by mu
}

// NewProvider returns a provider on the JetStream js (the lattice's, reached through the control
// connection, whose credentials reach JetStream) that serves only the buckets buckets allows. It does no I/O.
func NewProvider(js jetstream.JetStream, buckets Buckets) *Provider {
	return &Provider{js: js, buckets: buckets, stores: map[Link]*Store{}}
}

// ParseLink is ParseLink with the provider's bucket policy.
func (p *Provider) ParseLink(values map[string]string) (Link, error) {
	return ParseLink(p.buckets, values)
}

// store returns the Store of l, opening (and creating) its bucket on first use.
func (p *Provider) store(ctx context.Context, l Link) (*Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.stores[l]; s != nil {
		return s, nil
	}
	s, err := New(ctx, p.js, l.Bucket, l.Prefix, p.buckets.Limits)
	if err != nil {
		return nil, err
	}
	p.stores[l] = s
	return s, nil
}

// Call runs one operation of the keyvalue contract for an actor whose link says l.
func (p *Provider) Call(ctx context.Context, l Link, op string, payload []byte) ([]byte, error) {
	// ParseLink checked the bucket; check again on every call, because a Link can be built by hand.
	if err := p.buckets.Check(l.Bucket); err != nil {
		return nil, err
	}
	s, err := p.store(ctx, l)
	if err != nil {
		return nil, err
	}
	str := func() (string, error) { return contract.UnmarshalString(payload) }
	list := func() ([]string, error) {
		var l contract.StringList
		err := l.UnmarshalMsgpack(payload)
		return l, err
	}
	strings := func(v []string, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		l := contract.StringList(v)
		return l.AppendMsgpack(nil), nil
	}
	boolean := func(v bool, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return contract.AppendBool(nil, v), nil
	}
	u32 := func(v uint32, err error) ([]byte, error) {
		if err != nil {
			return nil, err
		}
		return contract.AppendU32(nil, v), nil
	}
	switch op {
	case contract.OpKeyValueGet:
		key, err := str()
		if err != nil {
			return nil, err
		}
		v, ok, err := s.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		r := contract.GetResponse{Value: v, Exists: ok}
		return r.AppendMsgpack(nil), nil
	case contract.OpKeyValueSet:
		var r contract.SetRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return nil, s.Set(ctx, r.Key, r.Value, r.Expires)
	case contract.OpKeyValueDel, contract.OpKeyValueContains, contract.OpKeyValueListClear, contract.OpKeyValueSetClear:
		key, err := str()
		if err != nil {
			return nil, err
		}
		f := map[string]func(context.Context, string) (bool, error){
			contract.OpKeyValueDel: s.Del, contract.OpKeyValueContains: s.Contains,
			contract.OpKeyValueListClear: s.ListClear, contract.OpKeyValueSetClear: s.SetClear,
		}[op]
		return boolean(f(ctx, key))
	case contract.OpKeyValueIncrement:
		var r contract.IncrementRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		v, err := s.Increment(ctx, r.Key, r.Value)
		if err != nil {
			return nil, err
		}
		return contract.AppendI32(nil, v), nil
	case contract.OpKeyValueListAdd:
		var r contract.ListAddRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return u32(s.ListAdd(ctx, r.ListName, r.Value))
	case contract.OpKeyValueListDel:
		var r contract.ListDelRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return boolean(s.ListDel(ctx, r.ListName, r.Value))
	case contract.OpKeyValueListRange:
		var r contract.ListRangeRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return strings(s.ListRange(ctx, r.ListName, r.Start, r.Stop))
	case contract.OpKeyValueSetAdd:
		var r contract.SetAddRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return u32(s.SetAdd(ctx, r.SetName, r.Value))
	case contract.OpKeyValueSetDel:
		var r contract.SetDelRequest
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		return u32(s.SetDel(ctx, r.SetName, r.Value))
	case contract.OpKeyValueSetQuery:
		key, err := str()
		if err != nil {
			return nil, err
		}
		return strings(s.SetQuery(ctx, key))
	case contract.OpKeyValueSetUnion, contract.OpKeyValueSetIntersection:
		names, err := list()
		if err != nil {
			return nil, err
		}
		if op == contract.OpKeyValueSetUnion {
			return strings(s.SetUnion(ctx, names))
		}
		return strings(s.SetIntersection(ctx, names))
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
}
