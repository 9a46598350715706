package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// maxConcurrentPerActor bounds the invocations of one actor handled at once; further messages wait in the
// subscription's buffer.
const maxConcurrentPerActor = 64

// runningActor is an actor this host serves.
type runningActor struct {
	ref         string
	annotations map[string]string
	sub         *nats.Subscription
	// slots holds a token per invocation being handled; scale replaces it with one sized for the new count
	// (slotsFor), and a call gives its token back to the channel it took it from.
	slots atomic.Pointer[chan struct{}]

	// mu guards claims, module, instanceIDs and healthy; act is swapped atomically by scale and update, and
	// the actor it replaced is closed once its calls are done.
	mu          sync.Mutex
	claims      *actor.Claims
	module      *actor.Module
	instanceIDs []string
	healthy     *bool
	act         atomic.Pointer[actor.Actor]
}

func (a *runningActor) snapshot() (*actor.Claims, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.claims, len(a.instanceIDs)
}

func (a *runningActor) close(ctx context.Context) error {
	err := a.act.Load().Close(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(err, a.module.Close(ctx))
}

func newInstanceIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = wire.NewID()
	}
	return ids
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

// checkRef refuses, before any work, a reference this host will not load.
func (h *Host) checkRef(ref string) error { return h.checkRefPath(ref, filePath(ref)) }

// checkRefPath is checkRef for a reference whose file path (or "" for a registry reference) is path.
func (h *Host) checkRefPath(ref, path string) error {
	if path != "" {
		if !h.cfg.AllowFileLoad {
			return fmt.Errorf("%w: %s", ErrFileLoadNotAllowed, ref)
		}
		return nil
	}
	if h.oci == nil {
		return fmt.Errorf("%w %q: only file references are supported by this host", ErrUnsupportedRef, ref)
	}
	if err := h.oci.check(ref); err != nil {
		return fmt.Errorf("%w %q: %w", ErrUnsupportedRef, ref, err)
	}
	return nil
}

// load fetches the module bytes a reference names: a file (when allowed) or an OCI artifact.
func (h *Host) load(ctx context.Context, ref string) ([]byte, error) {
	if err := h.checkRef(ref); err != nil {
		return nil, err
	}
	if path := filePath(ref); path != "" {
		return readActorFile(path, oci.DefaultMaxSize)
	}
	return h.oci.pull(ctx, ref)
}

// readActorFile reads the module a file reference names: a regular file of at most limit bytes, the limit of
// an OCI layer. The file is opened without blocking and checked through the open descriptor, so a FIFO, a
// device such as /dev/zero, or a file swapped for one after a check, is refused rather than read forever.
func readActorFile(path string, limit int64) ([]byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("host: read actor: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("host: read actor: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("host: read actor: %w", err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("host: read actor %s: not a regular file (%s)", abs, fi.Mode().Type())
	case fi.Size() > limit:
		return nil, fmt.Errorf("host: read actor %s: %d bytes, over the %d-byte limit", abs, fi.Size(), limit)
	}
	wasm, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("host: read actor: %w", err)
	case int64(len(wasm)) > limit:
		return nil, fmt.Errorf("host: read actor %s: over the %d-byte limit", abs, limit)
	}
	return wasm, nil
}

// publicError is what events and control replies, which anyone on the lattice may read, say about a failure
// to load, verify or start the actor ref names. For a file reference that is only that it was refused, so
// that they cannot serve as an oracle for which paths exist on this host and what they hold; the detail is
// logged locally. Other references keep their reason.
func (h *Host) publicError(ref string, err error) error {
	if err == nil || filePath(ref) == "" || errors.Is(err, ErrFileLoadNotAllowed) {
		return err
	}
	h.log.Warn("actor file refused", attrRef, ref, attrError, err)
	return ErrFileRefused
}

// StartActor loads an actor from a reference, verifies its signed claims, and serves it on the lattice with
// one instance.
func (h *Host) StartActor(ctx context.Context, ref string) (*actor.Claims, error) {
	return h.startActor(ctx, ref, 1, nil)
}

func (h *Host) startActor(ctx context.Context, ref string, count int, annotations map[string]string) (*actor.Claims, error) {
	wasm, err := h.load(ctx, ref)
	if err != nil {
		h.log.Warn("actor failed to start", attrRef, ref, attrError, err)
		h.metrics.ActorStarted("", err)
		h.startFailedEvents(ref, "", annotations, err)
		return nil, err
	}
	return h.startModule(ctx, ref, wasm, count, annotations)
}

// StartActorBytes verifies and starts an actor module given as bytes; ref names it in logs and events.
func (h *Host) StartActorBytes(ctx context.Context, ref string, wasm []byte) (*actor.Claims, error) {
	return h.startModule(ctx, ref, wasm, 1, nil)
}

func (h *Host) startModule(ctx context.Context, ref string, wasm []byte, count int, annotations map[string]string) (*actor.Claims, error) {
	if count < 1 {
		count = 1
	}
	failed := func(key string, err error) (*actor.Claims, error) {
		h.log.Warn("actor failed to start", attrRef, ref, attrActor, key, attrError, err)
		h.metrics.ActorStarted(key, err)
		h.startFailedEvents(ref, key, annotations, err)
		return nil, err
	}
	claims, err := actor.Verify(ref, wasm, actor.VerifyOptions{Skew: h.cfg.ClockSkew})
	if err != nil {
		return failed("", err)
	}
	if err := h.checkActorIssuer(claims); err != nil {
		return failed(claims.Subject, err)
	}
	if err := h.checkRevoked(claims); err != nil {
		return failed(claims.Subject, err)
	}
	if err := h.policyForStart(ctx, claims); err != nil {
		return failed(claims.Subject, err)
	}
	h.mu.Lock()
	switch _, running := h.actors[claims.Subject]; {
	case h.draining:
		h.mu.Unlock()
		return failed(claims.Subject, ErrShuttingDown)
	case running:
		h.mu.Unlock()
		return failed(claims.Subject, fmt.Errorf("%w: %s", ErrAlreadyRunning, claims.Subject))
	}
	// Reserve the key while compiling, so a concurrent start of the same actor fails fast.
	h.actors[claims.Subject] = nil
	h.mu.Unlock()
	ra, err := h.instantiate(ctx, ref, wasm, claims, count, annotations)
	h.mu.Lock()
	if err != nil {
		delete(h.actors, claims.Subject)
		h.mu.Unlock()
		return failed(claims.Subject, err)
	}
	h.actors[claims.Subject] = ra
	h.mu.Unlock()
	h.reconcileActor(ctx, claims.Subject, true)
	h.publishClaims(ctx, claims)
	if filePath(ref) == "" {
		if err := h.data.PublishRef(ctx, ref, claims.Subject); err != nil {
			h.log.Warn("could not publish a reference map", attrRef, ref, attrError, err)
		}
	}
	h.metrics.ActorStarted(claims.Subject, nil)
	h.metrics.SetInstances(claims.Subject, count)
	h.log.Info("actor started", attrActor, claims.Subject, attrRef, ref, "name", claims.Name, "call_alias", claims.CallAlias,
		"caps", claims.Caps, "instances", count)
	h.publishEvent("actors_started", map[string]any{"public_key": claims.Subject, "image_ref": ref, "annotations": annotations,
		"host_id": h.HostID(), "claims": eventClaims(claims), "count": count})
	h.checkHealth(ctx, ra)
	return claims, nil
}

// newActor creates the pool of instances for a compiled module.
func (h *Host) newActor(ctx context.Context, mod *actor.Module, claims *actor.Claims, count int) (*actor.Actor, error) {
	alog := h.log.With(attrActor, claims.Subject)
	return h.runtime.NewActor(ctx, mod, actor.ActorConfig{
		MaxInstances: count,
		CallTimeout:  h.cfg.RPCTimeout,
		HostCall: func(ctx context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
			return h.hostCall(ctx, claims, binding, namespace, operation, payload)
		},
		ConsoleLog: func(msg string) { alog.Info(msg, "source", "console_log") },
	})
}

func (h *Host) instantiate(ctx context.Context, ref string, wasm []byte, claims *actor.Claims, count int, annotations map[string]string) (*runningActor, error) {
	mod, err := h.runtime.Compile(ctx, ref, wasm)
	if err != nil {
		return nil, err
	}
	act, err := h.newActor(ctx, mod, claims, count)
	if err != nil {
		_ = mod.Close(ctx)
		return nil, err
	}
	ra := &runningActor{claims: claims, ref: ref, module: mod, annotations: annotations,
		instanceIDs: newInstanceIDs(count)}
	slots := make(chan struct{}, slotsFor(count))
	ra.slots.Store(&slots)
	ra.act.Store(act)
	subject := lattice.RPCSubject(h.cfg.LatticePrefix, claims.Subject)
	// Invocations run in a context derived from the start's, without its deadline: the actor outlives the
	// request that started it. Each invocation has its own deadline (WASMCLOUD_RPC_TIMEOUT_MS).
	sctx := context.WithoutCancel(ctx)
	ra.sub, err = h.rpcConn.QueueSubscribe(subject, subject, func(m *nats.Msg) { h.dispatch(sctx, ra, m) })
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

// ScaleActor sets the number of instances of a running actor; zero stops it.
func (h *Host) ScaleActor(ctx context.Context, key string, count int) error {
	ra := h.running(key)
	if ra == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, key)
	}
	if count == 0 {
		return h.StopActor(ctx, key)
	}
	ra.mu.Lock()
	claims, mod := ra.claims, ra.module
	ra.mu.Unlock()
	act, err := h.newActor(ctx, mod, claims, count)
	if err != nil {
		h.publishEvent("actor_scale_failed", map[string]any{"public_key": key, "image_ref": ra.ref, "annotations": ra.annotations,
			"host_id": h.HostID(), "max_instances": count, "error": err.Error()})
		return err
	}
	old := ra.act.Swap(act)
	ra.mu.Lock()
	ra.instanceIDs = newInstanceIDs(count)
	ra.mu.Unlock()
	if slots := *ra.slots.Load(); cap(slots) != slotsFor(count) {
		next := make(chan struct{}, slotsFor(count))
		ra.slots.Store(&next)
	}
	_ = old.Close(ctx) // waits for the calls the old pool is running
	h.metrics.SetInstances(key, count)
	h.log.Info("actor scaled", attrActor, key, "instances", count)
	h.publishEvent("actor_scaled", map[string]any{"public_key": key, "claims": eventClaims(claims), "image_ref": ra.ref,
		"annotations": ra.annotations, "host_id": h.HostID(), "max_instances": count})
	return nil
}

// UpdateActor replaces a running actor's module with the one ref names: it must have the same module key and
// a higher revision.
func (h *Host) UpdateActor(ctx context.Context, key, ref string) error {
	ra := h.running(key)
	if ra == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, key)
	}
	oldClaims, count := ra.snapshot()
	fail := func(err error) error {
		err = h.publicError(ref, err)
		h.publishEvent("actor_update_failed", map[string]any{"public_key": key, "revision": oldClaims.Rev, "reason": err.Error()})
		return err
	}
	wasm, err := h.load(ctx, ref)
	if err != nil {
		return fail(err)
	}
	claims, err := actor.Verify(ref, wasm, actor.VerifyOptions{Skew: h.cfg.ClockSkew})
	switch {
	case err != nil:
		return fail(err)
	case claims.Subject != key:
		return fail(fmt.Errorf("%w: %s is actor %s, not %s", ErrUpdateMismatch, ref, claims.Subject, key))
	case claims.Rev <= oldClaims.Rev:
		return fail(fmt.Errorf("%w: revision %d is not above %d", ErrUpdateMismatch, claims.Rev, oldClaims.Rev))
	}
	if err := h.checkActorIssuer(claims); err != nil {
		return fail(err)
	}
	if err := h.checkRevoked(claims); err != nil {
		return fail(err)
	}
	mod, err := h.runtime.Compile(ctx, ref, wasm)
	if err != nil {
		return fail(err)
	}
	act, err := h.newActor(ctx, mod, claims, count)
	if err != nil {
		_ = mod.Close(ctx)
		return fail(err)
	}
	old := ra.act.Swap(act)
	ra.mu.Lock()
	oldMod := ra.module
	ra.claims, ra.module, ra.ref = claims, mod, ref
	ra.mu.Unlock()
	_ = old.Close(ctx)
	_ = oldMod.Close(ctx)
	h.publishClaims(ctx, claims)
	h.log.Info("actor updated", attrActor, key, attrRef, ref, "revision", claims.Rev)
	h.publishEvent("actor_updated", map[string]any{"public_key": key, "revision": claims.Rev, "image_ref": ref})
	return nil
}

// restoreClaims rewrites the signed claims entry of an actor running here after someone replaced it with an
// unsigned or edited one, so hosts that start later (and tools reading the bucket) see the real claims.
func (h *Host) restoreClaims(ctx context.Context, subject string) {
	ra := h.running(subject)
	if ra == nil {
		return
	}
	claims, _ := ra.snapshot()
	h.log.Warn("a lattice claims entry of a running actor was overwritten without a valid token; restoring the signed one", attrActor, subject)
	// Not on the watch's goroutine, which must go on applying the bucket's changes; Shutdown waits for it.
	// Only the claims: the alias record is written when an actor starts, never on behalf of whoever rewrote
	// the bucket (a thief's host restoring the thief's claims must not claim the alias for the thief).
	h.tasks.Go(func() { h.publishClaimsOnly(ctx, claims) })
}

// publishClaims records the owner of an actor's call alias (see lattice.Data.ClaimAlias) and writes the claims of
// an actor started here to the lattice bucket, with its token.
func (h *Host) publishClaims(ctx context.Context, c *actor.Claims) {
	h.claimLocalAlias(c)
	// The alias goes to the first account that claims it; an actor of another account runs, but calls to the
	// alias do not reach it.
	if err := h.data.ClaimAlias(ctx, c.CallAlias, c.Issuer); err != nil {
		var taken *lattice.AliasTakenError
		if errors.As(err, &taken) {
			h.aliasClash(c.CallAlias, taken.Owner, c.Subject, c.Issuer)
		} else {
			h.log.Warn("could not record the owner of a call alias", attrActor, c.Subject, "call_alias", c.CallAlias, attrError, err)
		}
	}
	h.publishClaimsOnly(ctx, c)
}

// claimLocalAlias records c's account as the owner of its call alias on this host, unless an account claimed
// the alias here before (see Host.localAliases).
func (h *Host) claimLocalAlias(c *actor.Claims) {
	if c.CallAlias == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, taken := h.localAliases[c.CallAlias]; taken {
		return
	}
	if h.localAliases == nil {
		h.localAliases = map[string]string{}
	}
	h.localAliases[c.CallAlias] = c.Issuer
}

// publishClaimsOnly writes the claims entry of an actor running here.
func (h *Host) publishClaimsOnly(ctx context.Context, c *actor.Claims) {
	err := h.data.PublishClaims(ctx, lattice.Claims{Subject: c.Subject, Issuer: c.Issuer, Name: c.Name,
		CallAlias: c.CallAlias, Caps: c.Caps, Tags: c.Tags, Rev: c.Rev, Ver: c.Ver, Token: c.Token})
	if err != nil {
		h.log.Warn("could not publish actor claims", attrActor, c.Subject, attrError, err)
	}
}

// aliasClash logs and publishes that an actor (claimant, of account claimantIssuer; "" when unknown) claims a
// call alias that the account owner owns.
func (h *Host) aliasClash(alias, owner, claimant, claimantIssuer string) {
	h.log.Warn("call alias clash: the alias stays with the account that owns it", "call_alias", alias, "owner", owner,
		"claimant", claimant, "claimant_issuer", claimantIssuer)
	h.publishEvent("call_alias_clash", map[string]any{"call_alias": alias, "owner": owner, "claimant": claimant,
		"claimant_issuer": claimantIssuer, "host_id": h.HostID()})
}

// chunks returns the object store of this host's lattice, reached through the control connection.
func (h *Host) chunks() lattice.ChunkStore {
	return lattice.NewChunkStore(h.ctlConn, h.cfg.LatticePrefix, h.cfg.JSDomain)
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
	h.reconcileActor(ctx, key, false)
	_, count := ra.snapshot()
	err := errors.Join(h.drainActor(ctx, ra.sub), ra.close(ctx))
	h.metrics.SetInstances(key, 0)
	h.log.Info("actor stopped", attrActor, key)
	h.publishEvent("actors_stopped", map[string]any{"host_id": h.HostID(), "public_key": key, "count": count, "remaining": 0,
		"annotations": ra.annotations, "image_ref": ra.ref})
	return err
}

// Actors returns the claims of the actors running on this host.
func (h *Host) Actors() []*actor.Claims {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*actor.Claims, 0, len(h.actors))
	for _, a := range h.actors {
		if a != nil {
			c, _ := a.snapshot()
			out = append(out, c)
		}
	}
	return out
}

func (h *Host) running(key string) *runningActor {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.actors[key]
}

// dispatch hands one NATS message to a goroutine, at most slotsFor(instances) at a time per actor.
func (h *Host) dispatch(ctx context.Context, ra *runningActor, m *nats.Msg) {
	slots := *ra.slots.Load()
	slots <- struct{}{}
	started := h.inflight.Go(func() {
		defer func() { <-slots }()
		resp := h.handleMessage(ctx, ra, m.Data)
		if m.Reply == "" {
			return
		}
		if err := h.cluster.SignResponse(resp, resp.InvocationID); err != nil {
			resp = h.cluster.ErrorResponse(resp.InvocationID, err)
		}
		// Signed over the complete payload; a payload above the threshold then travels in the object store.
		if err := h.chunks().ChunkResponse(ctx, resp); err != nil {
			resp = h.cluster.ErrorResponse(resp.InvocationID, err)
		}
		if err := m.Respond(resp.AppendMsgpack(nil)); err != nil {
			h.log.Warn("could not send a response", attrActor, ra.claims.Subject, attrInvocationID, resp.InvocationID, attrError, err)
		}
	})
	if !started {
		// Only after Shutdown drained every actor subscription: nothing is delivered any more.
		<-slots
	}
}

// handleMessage verifies an invocation that arrived over NATS in full (rpc.Cluster.Verify: token, signature,
// issuer, revocation, time, target, origin, hash, host id, lattice, replay) and serves it.
func (h *Host) handleMessage(ctx context.Context, ra *runningActor, msg []byte) *wire.Response {
	inv, payload, err := h.cluster.Verify(ctx, msg, h.rpcVerifyOptions())
	return h.serve(ctx, ra, inv, payload, err)
}

// handleLocal serves an invocation this host made for one of its actors. It has no token to verify (see
// rpc.Local); AdmitLocal refuses it once the cluster key it was made under is revoked or no longer trusted.
// Nothing that arrived from the network is a rpc.Local: dispatch only has bytes, and calls handleMessage.
func (h *Host) handleLocal(ctx context.Context, ra *runningActor, l rpc.Local) *wire.Response {
	inv, payload, err := h.cluster.AdmitLocal(l)
	return h.serve(ctx, ra, inv, payload, err)
}

// linkedFrom reports whether a link of actorKey for the provider entity from (its contract and link name)
// names from's key: the provider may then deliver to the actor.
func (h *Host) linkedFrom(from wire.Entity, actorKey string) bool {
	l, ok := h.data.Link(actorKey, from.ContractID, linkNameOf(from))
	return ok && l.ProviderID == from.PublicKey
}

// linkNameOf is an entity's link name, "default" when empty (as 0.x peers may leave it).
func linkNameOf(e wire.Entity) string {
	if e.LinkName == "" {
		return "default"
	}
	return e.LinkName
}

// serve runs an admitted invocation (err is the refusal of its verification or admission, if any), after the
// checks every invocation gets, wherever it came from: it targets this actor, the actor's claims list the
// contract of a provider that sends it and link it to that provider, the policy service allows it. A refusal is logged and counted, and
// nothing reaches the actor unless every check passed. The response is not signed yet: a response that leaves
// the host is signed by dispatch, while one to an actor on this host stays in the process, where a signature
// would prove nothing.
func (h *Host) serve(ctx context.Context, ra *runningActor, inv *wire.Invocation, payload []byte, err error) *wire.Response {
	claims, _ := ra.snapshot()
	id := ""
	if inv != nil {
		id = inv.ID
	}
	if err == nil {
		switch {
		case inv.Target.PublicKey != claims.Subject:
			err = fmt.Errorf("%w: %s", ErrWrongTarget, inv.Target.PublicKey)
		case inv.Origin.ContractID != "" && !claims.HasCap(inv.Origin.ContractID):
			err = fmt.Errorf("%w %s", ErrMissingCapability, inv.Origin.ContractID)
		case inv.Origin.ContractID != "" && !h.linkedFrom(inv.Origin, claims.Subject):
			err = fmt.Errorf("%w: %s (%s, link %s)", ErrNotLinked, inv.Origin.PublicKey, inv.Origin.ContractID, linkNameOf(inv.Origin))
		}
	}
	if err == nil {
		err = h.policyForInvocation(ctx, inv, claims)
	}
	if err != nil {
		h.metrics.Refusal(refusalReason(err))
		h.log.Warn(msgRefusedInvocation, attrActor, claims.Subject, attrInvocationID, id, attrReason, err)
		return &wire.Response{InvocationID: id, Error: err.Error()}
	}
	if inv.Unauthenticated {
		ctx = withUnauthenticated(ctx)
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout)
	defer cancel()
	began := time.Now()
	out, err := ra.act.Load().Call(cctx, inv.Operation, payload)
	h.metrics.Invocation(claims.Subject, inv.Operation, time.Since(began), err)
	if err != nil {
		h.log.Debug("invocation failed", attrActor, claims.Subject, attrInvocationID, id, attrOperation, inv.Operation, attrError, err)
		return &wire.Response{InvocationID: id, Error: err.Error()}
	}
	return &wire.Response{InvocationID: id, Msg: out, ContentLength: uint64(len(out))}
}

// rpcVerifyOptions fetches (and deletes) the request body of a chunked invocation from the lattice's object
// store. Verify then hashes the complete payload and checks its length, so a replaced object is refused.
func (h *Host) rpcVerifyOptions() rpc.VerifyOptions {
	s := h.chunks()
	o := rpc.VerifyOptions{Dechunk: func(ctx context.Context, inv *wire.Invocation) ([]byte, error) {
		return s.Take(ctx, inv.ID, inv.ContentLength)
	}}
	if h.cfg.ReplayScope == config.ReplayLattice && h.replay != nil {
		o.Claim = h.replay.claim
	}
	return o
}

// eventClaims is the claims object of actor events, in the 0.x layout.
func eventClaims(c *actor.Claims) map[string]any {
	expires, notBefore := "never", "immediately"
	if !c.Expires.IsZero() {
		expires = c.Expires.Format(time.RFC3339)
	}
	if !c.NotBefore.IsZero() {
		notBefore = c.NotBefore.Format(time.RFC3339)
	}
	return map[string]any{"call_alias": c.CallAlias, "caps": c.Caps, "issuer": c.Issuer, "tags": c.Tags, "name": c.Name,
		"version": c.Ver, "revision": c.Rev, "not_before_human": notBefore, "expires_human": expires}
}
