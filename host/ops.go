package host

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// This file holds what an operator sees and relies on: metrics, readiness, the liveness check behind the
// systemd watchdog, what the host does when a NATS connection changes state, and the supervision of the
// actors of WASMCLOUD_START_ACTORS.

// RefusalMessages are the log messages of refusals, which a flood of refused calls would repeat: the daemon's
// logger passes at most a burst of each per interval (internal/ratelog) and says how many it dropped, while
// wasmcloud_refusals_total counts every one.
var RefusalMessages = []string{
	msgRefusedInvocation,
	"refused capability call",
	"refused control request",
	"ignoring a lattice data entry",
	"ignoring a malformed auction",
	"could not send a response",
}

const msgRefusedInvocation = "refused invocation"

// refusalReason classifies the error of a refused invocation or capability call.
func refusalReason(err error) metrics.Reason {
	var pe *policy.Error
	switch {
	case errors.As(err, &pe):
		return metrics.ReasonPolicy
	case errors.Is(err, rpc.ErrSignature):
		return metrics.ReasonSignature
	case errors.Is(err, rpc.ErrUntrustedIssuer):
		return metrics.ReasonIssuer
	case errors.Is(err, rpc.ErrExpired):
		return metrics.ReasonExpired
	case errors.Is(err, rpc.ErrNotYetValid):
		return metrics.ReasonNotYetValid
	case errors.Is(err, rpc.ErrTargetMismatch), errors.Is(err, rpc.ErrOriginMismatch), errors.Is(err, ErrWrongTarget):
		return metrics.ReasonTarget
	case errors.Is(err, rpc.ErrHashMismatch):
		return metrics.ReasonHash
	case errors.Is(err, rpc.ErrSubjectMismatch):
		return metrics.ReasonTokenSubject
	case errors.Is(err, rpc.ErrRevoked), errors.Is(err, revoke.ErrRevoked):
		return metrics.ReasonRevoked
	case errors.Is(err, rpc.ErrHostID):
		return metrics.ReasonHostID
	case errors.Is(err, rpc.ErrReplayed):
		return metrics.ReasonReplay
	case errors.Is(err, rpc.ErrReplayCacheFull):
		return metrics.ReasonReplayFull
	case errors.Is(err, rpc.ErrReplayRecord):
		return metrics.ReasonReplayRecord
	case errors.Is(err, rpc.ErrDecode), errors.Is(err, rpc.ErrToken), errors.Is(err, rpc.ErrLength), errors.Is(err, rpc.ErrChunked):
		return metrics.ReasonMalformed
	case errors.Is(err, ErrMissingCapability), errors.Is(err, capability.ErrCapabilityNotClaimed):
		return metrics.ReasonClaim
	case errors.Is(err, capability.ErrNoProvider), errors.Is(err, ErrNotLinked):
		return metrics.ReasonLink
	case errors.Is(err, messaging.ErrSubjectNotAllowed):
		return metrics.ReasonSubject
	case errors.Is(err, keyvalue.ErrBucketNotAllowed):
		return metrics.ReasonBucket
	}
	return metrics.ReasonOther
}

// Refused counts one refusal by reason in wasmcloud_refusals_total. Refusals the host sees itself
// (invocations, capability calls) are counted already; this is for the checks that run elsewhere, such as the
// control interface's signatures.
func (h *Host) Refused(r metrics.Reason) { h.metrics.Refusal(r) }

// capRefused is the capability gate's refusal hook: it counts the refusal by reason (the policy service's
// denials are counted by action where they are decided, in decide).
func (h *Host) capRefused(err error) {
	h.metrics.Refusal(refusalReason(err))
}

// Metrics returns the host's metrics.
func (h *Host) Metrics() *metrics.Metrics { return h.metrics }

// connObserver is how the host hears about its NATS connections.
type connObserver struct{ h *Host }

var _ lattice.ConnObserver = connObserver{}

func (o connObserver) Disconnected(name string, _ error) {
	o.h.metrics.NATSDisconnect(name)
	o.h.updateUp()
}

// Reconnected re-announces the host (a heartbeat, its actors' claims) and, for the control connection, reads
// the lattice bucket again: whatever changed while the host was away is applied.
func (o connObserver) Reconnected(name, _ string) {
	o.h.metrics.NATSReconnect(name)
	o.h.updateUp()
	select {
	case o.h.reconnected <- name:
	default: // a re-announcement is pending already
	}
}

// reconnectLoop re-announces the host after each reconnect, until stop is closed: a heartbeat and its actors'
// claims, and after a reconnect of the control connection the lattice bucket is read again.
func (h *Host) reconnectLoop(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case name := <-h.reconnected:
			if name == "ctl" {
				h.data.Resync()
			}
			h.announce(ctx)
		}
	}
}

// Closed makes the daemon exit unless the host closed the connection itself: a connection the server closed
// for good cannot be re-established, and a restart by the service manager brings the host back.
func (o connObserver) Closed(name string, err error) {
	h := o.h
	h.updateUp()
	h.mu.RLock()
	closing := h.closing
	h.mu.RUnlock()
	if closing {
		return
	}
	reason := "no error"
	if err != nil {
		reason = err.Error()
	}
	h.fail(fmt.Errorf("%w: the %s connection was closed (%s) and is not re-established; exiting so that the service manager restarts the host",
		ErrConnectionClosed, name, reason))
}

func (o connObserver) Error(name string, err error) {
	if lattice.IsAuthError(err) {
		o.h.metrics.NATSAuthFailure(name)
	}
}

// fail ends the host's life with err: Failed is closed, and the daemon shuts the host down and exits non-zero.
func (h *Host) fail(err error) {
	h.failOnce.Do(func() {
		h.failErr = err
		h.log.Error("host failing", attrError, err)
		close(h.failed)
	})
}

// Failed is closed when the host cannot go on (a NATS connection closed for good); Err then says why.
func (h *Host) Failed() <-chan struct{} { return h.failed }

// Err returns why the host failed, or nil.
func (h *Host) Err() error {
	select {
	case <-h.failed:
		return h.failErr
	default:
		return nil
	}
}

// connected reports whether both NATS connections are up.
func (h *Host) connected() bool {
	return h.rpcConn != nil && h.ctlConn != nil && h.rpcConn.IsConnected() && h.ctlConn.IsConnected()
}

// updateUp sets wasmcloud_host_up: 1 while the host is started, not shutting down, and connected.
func (h *Host) updateUp() {
	h.mu.RLock()
	up := h.serving && !h.draining && !h.closing
	h.mu.RUnlock()
	h.metrics.SetHostUp(up && h.connected())
}

// announce tells the lattice about this host again: a heartbeat, and the claims and reference maps of its
// actors, which hosts started meanwhile or a bucket that came back do not have.
func (h *Host) announce(ctx context.Context) {
	h.publishEvent("host_heartbeat", h.inventory())
	h.mu.RLock()
	running := make([]*runningActor, 0, len(h.actors))
	for _, a := range h.actors {
		if a != nil {
			running = append(running, a)
		}
	}
	h.mu.RUnlock()
	for _, a := range running {
		claims, _ := a.snapshot()
		h.publishClaims(ctx, claims)
		if filePath(a.ref) == "" {
			if err := h.data.PublishRef(ctx, a.ref, claims.Subject); err != nil {
				h.log.Warn("could not publish a reference map", attrRef, a.ref, attrError, err)
			}
		}
	}
}

// DataLoaded is told when the host's copy of the lattice bucket becomes complete or stops being current. The
// host answers the questions one host answers for the whole lattice (links, claims, link changes) only while
// its copy is complete: a queue group hands each question to one member, and a host with an empty copy would
// answer "no links". When the copy is complete again, the host re-announces its actors.
func (o dataObserver) DataLoaded(ctx context.Context, loaded bool) {
	h := o.h
	if loaded {
		h.subscribeLattice(ctx)
		h.tasks.Go(func() { h.announce(ctx) })
	} else {
		h.unsubscribeLattice()
	}
}

// subscribeLattice joins the lattice-wide queue groups (the control routes with a queue: links, claims, link
// changes), once the control server runs and the copy is loaded.
func (h *Host) subscribeLattice(ctx context.Context) {
	h.latticeMu.Lock()
	defer h.latticeMu.Unlock()
	h.dataLoaded = true
	if len(h.latticeSubs) > 0 || !h.ctlStarted || h.ctlConn == nil {
		return
	}
	for _, r := range h.ctlRoutes() {
		if r.queue == "" {
			continue
		}
		sub, err := h.ctlConn.QueueSubscribe(r.subject, r.queue, func(m *nats.Msg) { h.ctlServe(ctx, m, r) })
		if err != nil {
			h.log.Warn("could not subscribe", "subject", r.subject, attrError, err)
			continue
		}
		h.latticeSubs = append(h.latticeSubs, sub)
	}
	_ = h.ctlConn.FlushTimeout(5 * time.Second)
}

// unsubscribeLattice leaves the lattice-wide queue groups.
func (h *Host) unsubscribeLattice() {
	h.latticeMu.Lock()
	defer h.latticeMu.Unlock()
	h.dataLoaded = false
	for _, s := range h.latticeSubs {
		_ = s.Unsubscribe()
	}
	h.latticeSubs = nil
}

// startLatticeControl marks the control server as running and joins the lattice-wide queue groups if the
// copy is already loaded.
func (h *Host) startLatticeControl(ctx context.Context) {
	h.latticeMu.Lock()
	h.ctlStarted = true
	loaded := h.dataLoaded
	h.latticeMu.Unlock()
	if loaded {
		h.subscribeLattice(ctx)
	}
}

// Check reports whether the host is working, for the systemd watchdog: neither NATS connection is closed, and
// while the control connection is up, the host's own control subscription answers a request (its inventory)
// within timeout. A connection that is reconnecting passes: the client is working on it, and a NATS server
// restart must not make systemd restart every host.
func (h *Host) Check(ctx context.Context, timeout time.Duration) error {
	if err := h.Err(); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		nc   *nats.Conn
	}{{"rpc", h.rpcConn}, {"ctl", h.ctlConn}} {
		if c.nc == nil || c.nc.IsClosed() {
			return fmt.Errorf("%w: the %s connection is closed", ErrUnhealthy, c.name)
		}
	}
	if !h.ctlConn.IsConnected() {
		return nil
	}
	subject := lattice.NewCtlSubjects(h.cfg.CtlTopicPrefix, h.cfg.LatticePrefix).Inventory(h.HostID())
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := h.ctlConn.RequestWithContext(rctx, subject, nil); err != nil {
		if !h.ctlConn.IsConnected() {
			return nil // the connection dropped meanwhile
		}
		return fmt.Errorf("%w: the control subscription does not answer: %w", ErrUnhealthy, err)
	}
	return nil
}

// startState is what became of one actor of WASMCLOUD_START_ACTORS.
type startState struct {
	Ref      string    `json:"ref"`
	State    string    `json:"state"` // starting, running, retrying, failed
	Actor    string    `json:"actor,omitempty"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	Next     time.Time `json:"next_attempt,omitzero"`
}

// Start states.
const (
	stateStarting = "starting"
	stateRunning  = "running"
	stateRetrying = "retrying"
	stateFailed   = "failed"
)

// bootActors tracks the actors of WASMCLOUD_START_ACTORS.
type bootActors struct {
	mu     sync.Mutex
	states []*startState // in the order of the variable; guarded by mu
}

func (b *bootActors) set(i int, f func(s *startState)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b.states[i])
}

func (b *bootActors) snapshot() []startState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]startState, len(b.states))
	for i, s := range b.states {
		out[i] = *s
	}
	return out
}

// Bounds of the delay between attempts to start an actor of WASMCLOUD_START_ACTORS whose pull failed for a
// reason that may pass (the registry could not be reached, or answered with a server error).
const (
	startRetryWait    = time.Second
	startRetryMaxWait = 5 * time.Minute
)

// transient reports whether a failed start may succeed if tried again unchanged.
func transient(err error) bool {
	return errors.Is(err, oci.ErrFetch) || errors.Is(err, context.DeadlineExceeded)
}

// startBootActors starts the actors of WASMCLOUD_START_ACTORS, one after the other. A reference the host will
// never load (malformed, a file while file loads are not allowed) is a configuration error and fails Start.
// Any other failure is logged, published as an event and counted, and the host serves what it could start;
// a failure that may pass is retried in the background with capped backoff.
// Retries run in loops, which Shutdown ends.
func (h *Host) startBootActors(ctx, loops context.Context) error {
	for _, ref := range h.cfg.StartActors {
		if err := h.checkRef(ref); err != nil {
			return fmt.Errorf("host: start actor %s: %w", ref, err)
		}
	}
	h.boot.mu.Lock()
	for _, ref := range h.cfg.StartActors {
		h.boot.states = append(h.boot.states, &startState{Ref: ref, State: stateStarting})
	}
	h.boot.mu.Unlock()
	for i, ref := range h.cfg.StartActors {
		if err := h.bootStart(ctx, i, ref); err != nil && transient(err) {
			h.retryBoot(loops, i, ref)
		}
	}
	h.settled.Store(true)
	return nil
}

// bootStart makes one attempt at starting the boot actor i.
func (h *Host) bootStart(ctx context.Context, i int, ref string) error {
	claims, err := h.startActor(ctx, ref, 1, nil)
	h.boot.set(i, func(s *startState) {
		s.Attempts++
		s.Next = time.Time{}
		if err != nil {
			s.State, s.Error = stateFailed, err.Error()
			if transient(err) {
				s.State = stateRetrying
			}
			return
		}
		s.State, s.Error, s.Actor = stateRunning, "", claims.Subject
	})
	h.updateBootGauge()
	return err
}

// retryBoot retries the boot actor i in the background until it starts, fails for a reason that will not
// pass, or the host shuts down.
func (h *Host) retryBoot(run context.Context, i int, ref string) {
	h.tasks.Go(func() {
		for attempt := 1; ; attempt++ {
			d := backoffDelay(attempt, startRetryWait, startRetryMaxWait)
			h.boot.set(i, func(s *startState) { s.Next = time.Now().Add(d) })
			select {
			case <-run.Done():
				return
			case <-time.After(d):
			}
			ctx, cancel := context.WithTimeout(run, 2*time.Minute)
			err := h.bootStart(ctx, i, ref)
			cancel()
			if err == nil || !transient(err) || run.Err() != nil {
				return
			}
		}
	})
}

func (h *Host) updateBootGauge() {
	n := 0
	for _, s := range h.boot.snapshot() {
		if s.State != stateRunning {
			n++
		}
	}
	h.metrics.SetStartActorsFailed(n)
}

// backoffDelay is wait doubled for each attempt after the first, capped at maxWait, plus up to a quarter more
// at random, so hosts restarted together do not retry in lockstep.
func backoffDelay(attempt int, wait, maxWait time.Duration) time.Duration {
	d := wait
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d + time.Duration(rand.Int64N(int64(d/4)+1))
}

// readiness is the report of /readyz.
type readiness struct {
	Ready       bool         `json:"ready"`
	HostID      string       `json:"host_id"`
	Connected   bool         `json:"nats_connected"`
	DataLoaded  bool         `json:"lattice_data_loaded"`
	Settled     bool         `json:"start_actors_settled"`
	Failing     bool         `json:"failing,omitempty"`
	StartActors []startState `json:"start_actors"`
}

// Ready reports whether the host is ready to serve, for /readyz: both NATS connections are up, the lattice
// bucket is loaded, and every actor of WASMCLOUD_START_ACTORS has had its first attempt. The report lists
// what became of each start actor, so an actor that could not start shows there while the host serves the
// others.
func (h *Host) Ready() (bool, any) {
	r := readiness{HostID: h.HostID(), Connected: h.connected(), DataLoaded: h.data != nil && h.data.Loaded(),
		Settled: h.settled.Load(), Failing: h.Err() != nil, StartActors: h.boot.snapshot()}
	h.mu.RLock()
	serving := h.serving && !h.draining
	h.mu.RUnlock()
	r.Ready = serving && r.Connected && r.DataLoaded && r.Settled && !r.Failing
	return r.Ready, r
}

// startFailedEvents publishes the events of a failed start: actors_start_failed (0.x) and actor_start_failed
// (as the OTP host names it), which `ctl start actor` waits for.
func (h *Host) startFailedEvents(ref, key string, annotations map[string]string, err error) {
	public := h.publicError(ref, err)
	if public != err {
		key = "" // the module key says what the file holds
	}
	err = public
	h.publishEvent("actors_start_failed", map[string]any{"public_key": key, "image_ref": ref, "annotations": annotations,
		"host_id": h.HostID(), "error": err.Error()})
	h.publishEvent("actor_start_failed", map[string]any{"actor_ref": ref, "public_key": key, "host_id": h.HostID(), "error": err.Error()})
}

// reportReplication logs each JetStream bucket of the lattice with fewer replicas than configured.
func (h *Host) reportReplication(ctx context.Context) {
	js, err := lattice.JetStream(h.ctlConn, h.cfg.JSDomain)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	found, err := lattice.FindUnderReplicated(ctx, js, h.ctlConn, h.replication(), h.cfg.LatticePrefix)
	if err != nil {
		h.log.Debug("could not check the replicas of the JetStream buckets", attrError, err)
	}
	for _, b := range found {
		h.log.Warn("JetStream bucket has fewer replicas than configured; a lost server makes it unavailable (set WASMCLOUD_JS_REPLICAS, and raise the bucket's replicas with the nats CLI)",
			"bucket", b.Bucket, "stream", b.Stream, "replicas", b.Have, "want", b.Want)
	}
}

// replication is how the buckets this host creates are replicated.
func (h *Host) replication() lattice.Replication {
	return lattice.Replication{Replicas: h.cfg.JSReplicas}
}

// linkCounted counts a link change for an actor that runs here.
func (h *Host) linkCounted(l control.LinkDefinition, set bool) {
	if h.running(l.ActorID) == nil {
		return
	}
	if set {
		h.metrics.LinkEstablished(l.ContractID)
	} else {
		h.metrics.LinkRemoved(l.ContractID)
	}
}

// drainActor stops an actor's subscription: drained while the RPC connection is up, so messages it received
// are answered, and simply unsubscribed otherwise, since no answer could be sent and a drain would wait for
// a server that is not there.
func (h *Host) drainActor(ctx context.Context, sub *nats.Subscription) error {
	if sub == nil {
		return nil
	}
	if h.rpcConn == nil || !h.rpcConn.IsConnected() {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			return fmt.Errorf("host: unsubscribe %s: %w", sub.Subject, err)
		}
		return nil
	}
	return drainSubscription(ctx, sub)
}

// slotsFor is the number of invocations of one actor handled at once: at least maxConcurrentPerActor, and at
// least one per instance, so every instance a scale asked for can be busy.
func slotsFor(instances int) int { return max(maxConcurrentPerActor, instances) }
