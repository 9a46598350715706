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
	inv := &wire.Invocation{
		Origin:    wire.Entity{PublicKey: c.HostID()},
		Target:    wire.Entity{PublicKey: target},
		Operation: operation,
		Msg:       payload,
	}
	if err := c.Sign(inv); err != nil {
		return nil, err
	}
	store := lattice.NewChunkStore(nc, latticePrefix, "")
	if err := store.ChunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	requests := lattice.NewRequester(nc)
	defer requests.Close()
	reply := c.NewReply(inv.ID, store.ResponseFetch(ctx, inv.ID))
	if err := requests.Request(ctx, lattice.RPCSubject(latticePrefix, target), inv.AppendMsgpack(nil), timeout, reply); err != nil {
		return nil, err
	}
	return reply.Result()
}

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
