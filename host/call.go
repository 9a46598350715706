package host

import (
	"context"
	"fmt"
	"strings"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// hostCall serves an actor's __host_call. A namespace with a colon is a capability contract; anything else
// names another actor by module key or call alias.
func (h *Host) hostCall(ctx context.Context, caller *actor.Claims, binding, namespace, operation string, payload []byte) ([]byte, error) {
	if strings.Contains(namespace, ":") {
		return h.caps.Call(ctx, capability.Caller{Key: caller.Subject, Caps: caller.Caps}, binding, namespace, operation, payload)
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

// resolveActor turns a module key or a call alias into a module key. An alias resolves to an actor of the
// account that owns it (lattice.Data.Alias), wherever that actor runs, even when an actor of another account
// that claims the alias runs on this host; without the lattice bucket, to an actor here of the account that
// claimed it here first.
func (h *Host) resolveActor(name string) (string, error) {
	if nkey.CheckID(name, nkey.Module) == nil {
		return name, nil
	}
	if !h.data.Online() {
		// Without the lattice bucket, nobody records who owns an alias lattice-wide: only this host's actors of
		// the account that claimed it here first resolve.
		h.mu.RLock()
		defer h.mu.RUnlock()
		owner, owned := h.localAliases[name]
		found := ""
		for key, a := range h.actors {
			if a == nil || !owned {
				continue
			}
			if c, _ := a.snapshot(); c.CallAlias == name && c.Issuer == owner && (found == "" || key < found) {
				found = key
			}
		}
		if found != "" {
			return found, nil
		}
		return "", fmt.Errorf("%w %q", ErrUnknownActor, name)
	}
	if key, ok := h.data.Alias(name); ok {
		return key, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownActor, name)
}

// invoke delivers an invocation and returns the response payload, or the response's error. One to an actor on
// this host stays in the process: it is not signed (see rpc.Local), and past admission it takes the path of an
// invocation from NATS (target, claims, policy, refusal counts, the actor call). Any other is signed and sent
// over NATS.
func (h *Host) invoke(ctx context.Context, inv *wire.Invocation) ([]byte, error) {
	o := rpc.SignOptions{Unauthenticated: unauthenticated(ctx)}
	if ra := h.running(inv.Target.PublicKey); ra != nil {
		// Same host: no network, no token, and a response that never leaves the process (so nothing is
		// chunked or signed). The id takes no place in the replay cache: nobody could capture it.
		l, err := h.cluster.NewLocal(inv, o)
		if err != nil {
			return nil, err
		}
		resp := h.handleLocal(ctx, ra, l)
		if resp.Error != "" {
			return nil, &rpc.RemoteError{Message: resp.Error}
		}
		return resp.Msg, nil
	}
	if err := h.cluster.SignWith(inv, o); err != nil {
		return nil, err
	}
	store := h.chunks()
	if err := store.ChunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	// A forged reply that arrives first is skipped: the call waits for one that verifies.
	reply := h.cluster.NewReply(inv.ID, store.ResponseFetch(ctx, inv.ID))
	subject := lattice.RPCSubject(h.cfg.LatticePrefix, inv.Target.PublicKey)
	if err := h.requests.Request(ctx, subject, inv.AppendMsgpack(nil), h.cfg.RPCTimeout, reply); err != nil {
		return nil, err
	}
	return reply.Result()
}

// unauthenticatedKey marks a context whose work was started by input nobody authenticated: an HTTP request or
// a subscribed message delivered by a built-in provider, and whatever an actor does while handling one.
type unauthenticatedKey struct{}

// withUnauthenticated marks ctx as working on behalf of unauthenticated input.
func withUnauthenticated(ctx context.Context) context.Context {
	return context.WithValue(ctx, unauthenticatedKey{}, true)
}

// unauthenticated reports whether ctx works on behalf of unauthenticated input. The invocations signed in such
// a context say so in their tokens, and receivers keep their ids in a replay cache share of their own.
func unauthenticated(ctx context.Context) bool {
	v, _ := ctx.Value(unauthenticatedKey{}).(bool)
	return v
}
