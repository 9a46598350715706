package client

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// Invoke sends one signed invocation from outside any actor (the `call` command): origin is the caller's own
// server key, as 0.x tools do. It verifies the response like a host does and returns its payload. Payloads
// above 900 KiB travel through the object store named latticePrefix, in the account's own JetStream domain.
func Invoke(ctx context.Context, nc *nats.Conn, c *rpc.Cluster, latticePrefix, target, operation string, payload []byte, timeout time.Duration) ([]byte, error) {
	caller := NewCaller(nc, c, latticePrefix)
	defer caller.Close()
	return caller.Invoke(ctx, target, operation, payload, timeout)
}

// Caller sends signed invocations from outside any actor, as Invoke does, on one connection and with one reply
// subscription for all of them (the `bench` command). It is safe for concurrent use.
type Caller struct {
	c             *rpc.Cluster
	latticePrefix string
	store         lattice.ChunkStore
	requests      *lattice.Requester
}

// NewCaller returns a Caller that signs with c and sends on nc to the actors of the lattice latticePrefix. It
// does no I/O: the reply subscription is made by the first invocation.
func NewCaller(nc *nats.Conn, c *rpc.Cluster, latticePrefix string) *Caller {
	return &Caller{c: c, latticePrefix: latticePrefix, store: lattice.NewChunkStore(nc, latticePrefix, ""),
		requests: lattice.NewRequester(nc)}
}

// Invoke sends one signed invocation of operation to the actor target and returns the payload of its verified
// reply, as the package's Invoke does.
func (k *Caller) Invoke(ctx context.Context, target, operation string, payload []byte, timeout time.Duration) ([]byte, error) {
	inv := &wire.Invocation{
		Origin:    wire.Entity{PublicKey: k.c.HostID()},
		Target:    wire.Entity{PublicKey: target},
		Operation: operation,
		Msg:       payload,
	}
	if err := k.c.Sign(inv); err != nil {
		return nil, err
	}
	if err := k.store.ChunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	reply := k.c.NewReply(inv.ID, k.store.ResponseFetch(ctx, inv.ID))
	if err := k.requests.Request(ctx, lattice.RPCSubject(k.latticePrefix, target), inv.AppendMsgpack(nil), timeout, reply); err != nil {
		return nil, err
	}
	return reply.Result()
}

// Close ends the reply subscription; later invocations fail.
func (k *Caller) Close() { k.requests.Close() }

// LookupAlias finds the actor a call alias resolves to in the lattice bucket, for tools outside a host such as
// the call command. Like a host, it trusts only the alias's ownership record signed by a cluster key c
// trusts, and only claims entries of the owning account whose signed token verifies.
func LookupAlias(ctx context.Context, nc *nats.Conn, c *rpc.Cluster, latticePrefix, domain, alias string) (string, error) {
	key, ok, err := lattice.FindAlias(ctx, nc, latticePrefix, domain, c, alias)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %q: %w", ErrUnknownActor, alias, err)
	case !ok:
		return "", fmt.Errorf("%w %q", ErrUnknownActor, alias)
	}
	return key, nil
}
