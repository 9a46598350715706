package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// hostCall serves an actor's __host_call. A namespace with a colon is a capability contract; anything else
// names another actor by module key or call alias.
func (h *Host) hostCall(ctx context.Context, caller *actor.Claims, binding, namespace, operation string, payload []byte) ([]byte, error) {
	if strings.Contains(namespace, ":") {
		return h.capabilityCall(ctx, caller, binding, namespace, operation, payload)
	}
	target, err := h.resolveActor(namespace)
	if err != nil {
		return nil, err
	}
	inv := &wire.Invocation{
		Origin:    wire.Entity{PublicKey: caller.Subject},
		Target:    wire.Entity{PublicKey: target},
		Operation: operation,
		Msg:       payload,
	}
	return h.invoke(ctx, inv)
}

// resolveActor turns a module key or a call alias into a module key: local actors first, then the claims the
// lattice published.
func (h *Host) resolveActor(name string) (string, error) {
	if nkey.CheckID(name, nkey.Module) == nil {
		return name, nil
	}
	h.mu.RLock()
	for key, a := range h.actors {
		if a != nil && a.claims.CallAlias == name {
			h.mu.RUnlock()
			return key, nil
		}
	}
	h.mu.RUnlock()
	if key, ok := h.data.alias(name); ok {
		return key, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownActor, name)
}

// invoke signs an invocation and delivers it: to an actor on this host directly, through the same
// verification an invocation from the network gets, otherwise over NATS. It returns the response payload, or
// the response's error.
func (h *Host) invoke(ctx context.Context, inv *wire.Invocation) ([]byte, error) {
	if err := h.cluster.Sign(inv); err != nil {
		return nil, err
	}
	if ra := h.running(inv.Target.PublicKey); ra != nil {
		// Same host: no network, the same verification, and a response that never leaves the process (so
		// nothing is chunked).
		resp := h.handle(ctx, ra, inv.AppendMsgpack(nil))
		if resp.Error != "" {
			return nil, &RemoteError{Message: resp.Error}
		}
		return resp.Msg, nil
	}
	store := h.chunks()
	if err := store.chunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	reply, err := request(ctx, h.rpcConn, h.rpcSubject(inv.Target.PublicKey), inv.AppendMsgpack(nil), h.cfg.RPCTimeout)
	if err != nil {
		return nil, err
	}
	return responsePayload(h.cluster, reply, inv.ID, store.responseFetch(ctx, inv.ID))
}

// request sends one NATS request with a deadline and maps "no responders" to ErrNoResponders.
func request(ctx context.Context, nc *nats.Conn, subject string, msg []byte, timeout time.Duration) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestWithContext(rctx, subject, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%w (%s)", ErrNoResponders, subject)
	case err != nil:
		return nil, fmt.Errorf("host: request %s: %w", subject, err)
	}
	return m.Data, nil
}

// responsePayload verifies a response and returns its payload, or its error text as an error. fetch reads
// (and deletes) the payload of a chunked response.
func responsePayload(c *rpc.Cluster, reply []byte, id string, fetch func(uint64) ([]byte, error)) ([]byte, error) {
	resp, err := c.VerifyResponseChunked(reply, id, fetch)
	if err != nil {
		// The response cannot be trusted, but what it says usually explains why (a refusing host signs its
		// refusal with a key the caller may not trust). Show it, marked as unverified.
		var unverified wire.Response
		if errors.Is(err, rpc.ErrResponseToken) && unverified.UnmarshalMsgpack(reply) == nil && unverified.Error != "" {
			return nil, fmt.Errorf("%w (unverified response says: %s)", err, unverified.Error)
		}
		return nil, err
	}
	if resp.Error != "" {
		return nil, &RemoteError{Message: resp.Error}
	}
	return resp.Msg, nil
}

// RemoteError is the error text a responding host put in a response.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return e.Message }

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
	store := chunkStore{nc: nc, bucket: latticePrefix}
	if err := store.chunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	reply, err := request(ctx, nc, "wasmbus.rpc."+latticePrefix+"."+target, inv.AppendMsgpack(nil), timeout)
	if err != nil {
		return nil, err
	}
	return responsePayload(c, reply, inv.ID, store.responseFetch(ctx, inv.ID))
}
