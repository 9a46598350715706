package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// maxConcurrentPerActor bounds the invocations of one actor handled at once; further messages wait in the
// subscription's buffer.
const maxConcurrentPerActor = 64

// runningActor is an actor this host serves.
type runningActor struct {
	claims *actor.Claims
	ref    string
	module *actor.Module
	actor  *actor.Actor
	sub    *nats.Subscription
	slots  chan struct{} // a token per invocation being handled
}

func (a *runningActor) close(ctx context.Context) error {
	err := a.actor.Close(ctx)
	return errors.Join(err, a.module.Close(ctx))
}

// rpcSubject returns the subject an actor is served on.
func (h *Host) rpcSubject(key string) string {
	return "wasmbus.rpc." + h.cfg.LatticePrefix + "." + key
}

// filePath returns the path of a file reference ("file:///x.wasm", "/x.wasm", "./x.wasm"), or "" if ref is
// not one.
func filePath(ref string) string {
	switch {
	case strings.HasPrefix(ref, "file://"):
		return strings.TrimPrefix(ref, "file://")
	case strings.HasPrefix(ref, "/"), strings.HasPrefix(ref, "./"), strings.HasPrefix(ref, "../"), strings.HasSuffix(ref, ".wasm"):
		return ref
	}
	return ""
}

// StartActor loads an actor from a reference, verifies its signed claims, and serves it on the lattice. Only
// file references are supported until OCI support lands; they need WASMCLOUD_ALLOW_FILE_LOAD.
func (h *Host) StartActor(ctx context.Context, ref string) (*actor.Claims, error) {
	path := filePath(ref)
	if path == "" {
		return nil, fmt.Errorf("%w %q: only file references are supported by this version", ErrUnsupportedRef, ref)
	}
	if !h.cfg.AllowFileLoad {
		return nil, fmt.Errorf("%w: %s", ErrFileLoadNotAllowed, ref)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("host: read actor: %w", err)
	}
	return h.StartActorBytes(ctx, ref, wasm)
}

// StartActorBytes verifies and starts an actor module given as bytes; ref names it in logs and errors.
func (h *Host) StartActorBytes(ctx context.Context, ref string, wasm []byte) (*actor.Claims, error) {
	claims, err := actor.Verify(ref, wasm, actor.VerifyOptions{Skew: h.cfg.ClockSkew})
	if err != nil {
		h.log.Warn("refused actor", attrRef, ref, attrReason, err)
		return nil, err
	}
	log := h.log.With(attrActor, claims.Subject, attrRef, ref)
	h.mu.Lock()
	if h.draining {
		h.mu.Unlock()
		return nil, ErrShuttingDown
	}
	if _, ok := h.actors[claims.Subject]; ok {
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrAlreadyRunning, claims.Subject)
	}
	// Reserve the key while compiling, so a concurrent start of the same actor fails fast.
	h.actors[claims.Subject] = nil
	h.mu.Unlock()
	ra, err := h.instantiate(ctx, ref, wasm, claims)
	h.mu.Lock()
	if err != nil {
		delete(h.actors, claims.Subject)
		h.mu.Unlock()
		log.Warn("actor failed to start", attrError, err)
		return nil, err
	}
	h.actors[claims.Subject] = ra
	h.mu.Unlock()
	h.claims.publish(ctx, claims)
	log.Info("actor started", "name", claims.Name, "call_alias", claims.CallAlias, "caps", claims.Caps)
	return claims, nil
}

func (h *Host) instantiate(ctx context.Context, ref string, wasm []byte, claims *actor.Claims) (*runningActor, error) {
	mod, err := h.runtime.Compile(ctx, ref, wasm)
	if err != nil {
		return nil, err
	}
	ra := &runningActor{claims: claims, ref: ref, module: mod, slots: make(chan struct{}, maxConcurrentPerActor)}
	alog := h.log.With(attrActor, claims.Subject)
	ra.actor, err = h.runtime.NewActor(ctx, mod, actor.ActorConfig{
		CallTimeout: h.cfg.RPCTimeout,
		HostCall: func(ctx context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
			return h.hostCall(ctx, claims, binding, namespace, operation, payload)
		},
		ConsoleLog: func(msg string) { alog.Info(msg, "source", "console_log") },
	})
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	subject := h.rpcSubject(claims.Subject)
	ra.sub, err = h.rpcConn.QueueSubscribe(subject, subject, func(m *nats.Msg) { h.dispatch(ra, m) })
	if err == nil {
		// Subscribed once the server has it: a call right after StartActor returns must find the actor.
		err = h.rpcConn.FlushTimeout(5 * time.Second)
	}
	if err != nil {
		_ = ra.close(ctx)
		return nil, fmt.Errorf("host: subscribe %s: %w", subject, err)
	}
	return ra, nil
}

// StopActor stops serving an actor and closes it once its invocations in flight are done.
func (h *Host) StopActor(ctx context.Context, key string) error {
	h.mu.Lock()
	ra := h.actors[key]
	if ra == nil {
		h.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotRunning, key)
	}
	delete(h.actors, key)
	h.mu.Unlock()
	err := errors.Join(drainSubscription(ctx, ra.sub), ra.close(ctx))
	h.log.Info("actor stopped", attrActor, key)
	return err
}

// Actors returns the claims of the actors running on this host.
func (h *Host) Actors() []*actor.Claims {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*actor.Claims, 0, len(h.actors))
	for _, a := range h.actors {
		if a != nil {
			out = append(out, a.claims)
		}
	}
	return out
}

func (h *Host) running(key string) *runningActor {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.actors[key]
}

// dispatch hands one NATS message to a goroutine, at most maxConcurrentPerActor at a time per actor.
func (h *Host) dispatch(ra *runningActor, m *nats.Msg) {
	ra.slots <- struct{}{}
	h.inflight.Add(1)
	go func() {
		defer func() { <-ra.slots; h.inflight.Done() }()
		resp := h.handle(context.Background(), ra, m.Data)
		if m.Reply == "" {
			return
		}
		if err := h.cluster.SignResponse(resp, resp.InvocationID); err != nil {
			resp = h.cluster.ErrorResponse(resp.InvocationID, err)
		}
		if err := m.Respond(resp.AppendMsgpack(nil)); err != nil {
			h.log.Warn("could not send a response", attrActor, ra.claims.Subject, attrError, err)
		}
	}()
}

// handle verifies one inbound invocation and runs it. Nothing reaches the actor unless every check passed.
// The response is not signed yet: a response that leaves the host is signed by dispatch, while one to an
// actor on this host stays in the process, where a signature would prove nothing.
func (h *Host) handle(ctx context.Context, ra *runningActor, msg []byte) *wire.Response {
	inv, payload, err := h.cluster.Verify(ctx, msg, rpcVerifyOptions)
	id := ""
	if inv != nil {
		id = inv.ID
	}
	if err == nil {
		switch {
		case inv.Target.PublicKey != ra.claims.Subject:
			err = fmt.Errorf("%w: %s", ErrWrongTarget, inv.Target.PublicKey)
		case inv.Origin.ContractID != "" && !ra.claims.HasCap(inv.Origin.ContractID):
			err = fmt.Errorf("%w %s", ErrMissingCapability, inv.Origin.ContractID)
		}
	}
	if err != nil {
		h.log.Warn("refused invocation", attrActor, ra.claims.Subject, attrInvocationID, id, attrReason, err)
		return &wire.Response{InvocationID: id, Error: err.Error()}
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout)
	defer cancel()
	out, err := ra.actor.Call(cctx, inv.Operation, payload)
	if err != nil {
		h.log.Debug("invocation failed", attrActor, ra.claims.Subject, attrInvocationID, id, attrOperation, inv.Operation, attrError, err)
		return &wire.Response{InvocationID: id, Error: err.Error()}
	}
	return &wire.Response{InvocationID: id, Msg: out, ContentLength: uint64(len(out))}
}

// rpcVerifyOptions has no Dechunker: chunked payloads (above 900 KiB, through the JetStream object store)
// are refused with rpc.ErrChunked until the object store path is built.
var rpcVerifyOptions = rpc.VerifyOptions{}
