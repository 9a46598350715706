package host

import (
	"context"
	"fmt"
	"sync"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/kvstore"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// Link values of the built-in key-value provider: the JetStream KV bucket, and a prefix that confines the
// actor's keys within it.
const (
	linkBucket = "bucket"
	linkPrefix = "prefix"
	// defaultBucket is the bucket of links that name none.
	defaultBucket = "wasmcloud_kv"
)

// kvStores caches one confined store per (bucket, prefix).
type kvStores struct {
	mu     sync.Mutex
	stores map[[2]string]*kvstore.Store // guarded by mu
}

func (h *Host) kvStore(ctx context.Context, link control.LinkDefinition) (*kvstore.Store, error) {
	bucket := link.Values[linkBucket]
	if bucket == "" {
		bucket = defaultBucket
	}
	k := [2]string{bucket, link.Values[linkPrefix]}
	h.kv.mu.Lock()
	defer h.kv.mu.Unlock()
	if s := h.kv.stores[k]; s != nil {
		return s, nil
	}
	// Key-value data lives in JetStream, which the control connection's credentials reach.
	js, err := lattice.JetStream(h.ctlConn, h.cfg.JSDomain)
	if err != nil {
		return nil, err
	}
	s, err := kvstore.New(js, k[0], k[1])
	if err != nil {
		return nil, err
	}
	if h.kv.stores == nil {
		h.kv.stores = map[[2]string]*kvstore.Store{}
	}
	h.kv.stores[k] = s
	return s, nil
}

// keyValueCall is the built-in wasmcloud:keyvalue provider: every operation of the interface, on JetStream KV,
// confined to the link's bucket and prefix.
func (h *Host) keyValueCall(ctx context.Context, link control.LinkDefinition, op string, payload []byte) ([]byte, error) {
	s, err := h.kvStore(ctx, link)
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
