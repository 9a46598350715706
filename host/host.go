// Package host is the wasmcloud-host daemon: it joins a lattice over two NATS connections (starting an
// embedded nats-server when it is alone), loads only actors whose signed claims check out, serves each on its
// 0.x RPC subject behind the full invocation verification of package rpc, and signs everything it sends. It
// answers the 0.x control interface (the server side of package control's messages), publishes heartbeats
// and lattice events, and pulls actors from OCI registries.
//
// What the host does not do itself it delegates: lattice state (links, claims, aliases, chunked payloads,
// events) to package lattice, which tells it about link changes through lattice.Observer; capability calls
// to capability.Gate, for which it implements capability.Host (deliver an invocation to a local actor, look
// up a link, say whether an actor runs here, publish an event).
//
// The lifecycle is New (no I/O), Start, Shutdown. Every goroutine the host starts is tracked and waited for
// by Shutdown, which runs in a fixed order: stop taking commands and invocations, let those in flight finish
// (bounded by the context), drain both connections, close the actors and the wasm runtime, stop the
// embedded server, and wipe every key.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/lifecycle"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/ratelog"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Log attribute keys.
const (
	attrActor        = "actor"
	attrHost         = "host"
	attrLattice      = "lattice"
	attrInvocationID = "invocation_id"
	attrOperation    = "operation"
	attrReason       = "reason"
	attrRef          = "ref"
	attrError        = "error"
	attrProvider     = "provider"
	attrLinkName     = "link_name"
	attrContract     = "contract"
)

// Host is one wasmcloud-host daemon.
type Host struct {
	cfg     config.Config
	log     *slog.Logger
	hostKey *nkey.KeyPair
	cluster *rpc.Cluster
	started time.Time

	embedded *lattice.Embedded
	rpcConn  *nats.Conn
	ctlConn  *nats.Conn
	requests *lattice.Requester // outbound RPC on rpcConn
	policy   *policyGate        // the policy service; nil until Start
	revoked  revocations        // the keys this host refuses
	// reloadMu serializes reloads; reloaded is the configuration as the last reload left it (nil: cfg).
	reloadMu sync.Mutex
	reloaded atomic.Pointer[config.Config]
	replay   *replayRecord // lattice-wide record of accepted invocations (WASMCLOUD_REPLAY_SCOPE=lattice)
	rpcURL   string
	runtime  *actor.Runtime
	data     *lattice.Data
	oci      ociSource // nil: only file references (tests)
	ctlSubs  []*nats.Subscription
	ctlAuth  *ctlGuard        // checks the tokens of control requests that change the lattice
	caps     *capability.Gate // nil until Start
	subjects *subject.Policy  // the lattice's own subjects, which no actor reaches

	// providers are the capability provider processes this host runs (providers.go).
	providers providerSet
	// rpcAuth is how the RPC connection authenticated: the credentials provider processes get, as in 0.x.
	rpcAuth lattice.ConnConfig

	// localUser holds the embedded server user's seed when the connections use the one another host of
	// this state directory generated; wiped at shutdown.
	localUser []config.Secret

	version string
	metrics *metrics.Metrics
	admin   *metrics.Admin // nil without WASMCLOUD_ADMIN_ADDRESS

	// failed is closed (once, by fail) when the host cannot go on; failErr says why.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error
	// reconnected carries the name of a connection that came back to reconnectLoop.
	reconnected chan string
	// boot tracks the actors of WASMCLOUD_START_ACTORS; settled is set once each had its first attempt.
	boot    bootActors
	settled atomic.Bool

	// latticeMu guards latticeSubs, ctlStarted and dataLoaded: the lattice-wide queue subscriptions are
	// held while the control server runs and the lattice bucket is loaded.
	latticeMu   sync.Mutex
	latticeSubs []*nats.Subscription
	ctlStarted  bool
	dataLoaded  bool

	stopRequested chan struct{} // closed by cmd.{host}.stop
	stopOnce      sync.Once
	// cancelRun ends the context that Start derives from its caller's for the host's own work (the control
	// server, the heartbeat, background commands); stopHeartbeat ends the heartbeat's. Both are set by Start.
	cancelRun     context.CancelFunc
	stopHeartbeat context.CancelFunc
	// tasks tracks the goroutines the host starts besides invocations: the heartbeat, commands that run in
	// the background, and restoring forged claims. Shutdown closes it first.
	tasks lifecycle.Group
	// inflight tracks the invocations being handled. It is a group of its own because it closes later: a
	// subscription that Shutdown drains still hands the messages it had received to dispatch, which must
	// run them, not refuse them.
	inflight lifecycle.Group

	// mu guards actors, localAliases, draining, closing and serving.
	mu     sync.RWMutex
	actors map[string]*runningActor // by module key
	// localAliases holds, for each call alias an actor started here claimed, the account of the first one: while
	// the lattice bucket (which records the owner lattice-wide) is out of reach, the alias resolves only to
	// that account's actors on this host.
	localAliases map[string]string
	draining     bool
	closing      bool // Shutdown is closing the connections: a closed connection is expected
	serving      bool // Start completed

	shutdownOnce sync.Once
	shutdownErr  error
}

// Options are what the daemon's main gives a host besides its configuration.
type Options struct {
	// Log is the logger the host and everything it runs log to (nil: discard).
	Log *slog.Logger
	// Version is the host's version, reported in ping replies, inventories and events ("dev" when empty).
	Version string
	// Metrics receives the host's metrics (nil: the host makes its own, which Metrics returns).
	Metrics *metrics.Metrics
}

// Info describes a started host, for the readiness line.
type Info struct {
	HostID     string
	ClusterKey string
	Lattice    string
	NATSURL    string
	Embedded   bool
	AdHoc      bool
}

// New checks the keys in cfg and prepares a host. It does no I/O. The host takes ownership of cfg's secrets
// and wipes them on Shutdown.
func New(cfg config.Config, opts Options) (*Host, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	h := &Host{cfg: cfg, version: opts.Version, actors: make(map[string]*runningActor), stopRequested: make(chan struct{}),
		metrics: opts.Metrics, failed: make(chan struct{}), reconnected: make(chan string, 4)}
	var err error
	// The configuration was validated, so the reserved subjects are valid patterns.
	if h.subjects, err = newSubjectPolicy(cfg); err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	if cfg.HostSeed.IsSet() {
		h.hostKey, err = nkey.ParseSeedOf(cfg.HostSeed.Reveal(), nkey.Server)
		if err != nil {
			return nil, fmt.Errorf("host: WASMCLOUD_HOST_SEED: %w", err)
		}
	} else if h.hostKey, err = nkey.Generate(nkey.Server); err != nil {
		return nil, err
	}
	var seed []byte
	if cfg.ClusterSeed.IsSet() {
		seed = cfg.ClusterSeed.Reveal()
	}
	h.cluster, err = rpc.New(rpc.Config{
		ClusterSeed:            seed,
		Issuers:                cfg.ClusterIssuers,
		HostID:                 h.hostKey.Public().String(),
		Lattice:                cfg.LatticePrefix,
		Validity:               cfg.InvocationValidity,
		Skew:                   cfg.ClockSkew,
		ReplayCapacity:         cfg.ReplayCacheSize,
		RequireSignedResponses: cfg.RequireSignedResponses,
	})
	if err != nil {
		h.hostKey.Wipe()
		return nil, fmt.Errorf("host: WASMCLOUD_CLUSTER_SEED: %w", err)
	}
	h.oci = newRegistry(cfg.OCI, cfg.CosignVerifier)
	// Refusals can come by the thousand per second; their log lines are limited, their counts are not.
	log = slog.New(ratelog.New(log.Handler(), ratelog.Config{Messages: RefusalMessages, Burst: 10, Interval: 10 * time.Second}))
	h.log = log.With(attrHost, h.HostID(), attrLattice, cfg.LatticePrefix)
	if err := h.newSignedControl(); err != nil {
		h.cluster.Wipe()
		h.hostKey.Wipe()
		return nil, err
	}
	h.metrics.SetHostInfo(h.HostID(), cfg.LatticePrefix, opts.Version)
	h.metrics.ReplayCache(func() (int, int) {
		rc := h.cluster.ReplayCache()
		return rc.Len(), rc.Capacity()
	})
	return h, nil
}

// HostID returns the host's server key (N…).
func (h *Host) HostID() string { return h.hostKey.Public().String() }

// Cluster returns the host's cluster trust state.
func (h *Host) Cluster() *rpc.Cluster { return h.cluster }

// Info returns what the readiness line reports.
func (h *Host) Info() Info {
	return Info{
		HostID:     h.HostID(),
		ClusterKey: h.cluster.PublicKey(),
		Lattice:    h.cfg.LatticePrefix,
		NATSURL:    h.rpcURL,
		Embedded:   h.embedded != nil,
		AdHoc:      h.cluster.AdHoc(),
	}
}

// Start connects the host to the lattice and starts the actors of WASMCLOUD_START_ACTORS. On error, whatever
// was started is shut down again. ctx bounds the start; the host's own work (the control server, the
// heartbeat) runs in a context derived from it without its deadline, which Shutdown ends.
func (h *Host) Start(ctx context.Context) (err error) {
	h.started = time.Now()
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancelRun = cancel
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = h.Shutdown(sctx)
		}
	}()
	if h.cluster.AdHoc() {
		h.log.Warn("no cluster seed configured: using an ad hoc cluster key, so this host accepts invocations only from itself; set WASMCLOUD_CLUSTER_SEED_FILE to join a lattice",
			"cluster_key", h.cluster.PublicKey())
	}
	if h.cfg.AdminAddress != "" {
		if h.admin, err = metrics.ListenAdmin(h.cfg.AdminAddress, h.metrics, h.Ready, h.log,
			metrics.AdminOptions{Pprof: h.cfg.Pprof}); err != nil {
			return fmt.Errorf("host: WASMCLOUD_ADMIN_ADDRESS: %w", err)
		}
		h.log.Info("admin listener serving /metrics, /healthz and /readyz", "address", h.admin.Addr(), "pprof", h.cfg.Pprof)
	}
	// loops is the context of the host's loops (heartbeat, re-announcements, retries): Shutdown ends it first.
	loops, stop := context.WithCancel(run)
	h.stopHeartbeat = stop
	h.embedded, err = lattice.StartEmbedded(ctx, h.cfg.NATSEmbedded, h.cfg.NATSConfigured(), lattice.EmbeddedConfig{
		Host:     h.cfg.RPC.Host,
		Port:     h.cfg.RPC.Port,
		StoreDir: filepath.Join(h.cfg.StateDir, "jetstream"),
		JSDomain: h.cfg.JSDomain,
		UserDir:  h.cfg.StateDir,
	}, h.log)
	if err != nil {
		return err
	}
	rpcCfg, ctlCfg := lattice.FromConfig("rpc", h.cfg.RPC), lattice.FromConfig("ctl", h.cfg.CTL)
	if h.embedded != nil {
		rpcCfg.URL, ctlCfg.URL = h.embedded.ClientURL(), h.embedded.ClientURL()
		h.log.Info("started embedded nats-server", "url", h.embedded.ClientURL())
	}
	// A host started before its NATS servers waits for them (until ctx ends) rather than exit.
	rpcCfg.RetryConnect, ctlCfg.RetryConnect = true, true
	rpcCfg.Observer, ctlCfg.Observer = connObserver{h}, connObserver{h}
	h.rpcURL = rpcCfg.URL
	if err := h.connect(ctx, rpcCfg, ctlCfg); err != nil {
		return err
	}
	h.requests = lattice.NewRequester(h.rpcConn)
	// A token is honoured until at most iat + validity + skew, and iat may lie a skew in the future.
	h.replay = &replayRecord{nc: h.ctlConn, lattice: h.cfg.LatticePrefix, domain: h.cfg.JSDomain,
		maxTTL: h.cfg.InvocationValidity + 2*h.cfg.ClockSkew + time.Minute, rep: h.replication()}
	if h.cfg.ReplayScope == config.ReplayLattice {
		if _, err := h.replay.open(ctx); err != nil {
			h.log.Error("the lattice replay record is unavailable: invocations from other processes are refused until it opens "+
				"(WASMCLOUD_REPLAY_SCOPE=host keeps replay protection to this host)", attrError, err)
		}
	}
	if h.runtime, err = actor.NewRuntime(ctx, actor.RuntimeConfig{CacheDir: filepath.Join(h.cfg.StateDir, "compilation-cache")}); err != nil {
		return err
	}
	h.data = lattice.NewData(h.cfg.LatticePrefix, h.cfg.JSDomain, h.cluster, dataObserver{h}, h.log)
	h.requireSignedLinks()
	h.data.SetReplication(h.replication())
	js, err := lattice.JetStream(h.ctlConn, h.cfg.JSDomain) // key-value data lives where the control user reaches
	if err != nil {
		return err
	}
	svc, err := h.newPolicyService(h.cfg)
	if err != nil {
		return fmt.Errorf("host: %w", err)
	}
	h.policy = &policyGate{lastEvent: map[policy.Action]time.Time{}}
	h.policy.svc.Store(svc)
	if svc.Enabled() {
		if err := svc.Start(ctx); err != nil {
			return fmt.Errorf("host: policy service: %w", err)
		}
		h.log.Info("policy service asked before actors start, invocations run and links are stored; it fails closed",
			"policy_topic", h.cfg.PolicyTopic, "policy_endpoint", h.cfg.PolicyEndpoint != "")
	}
	h.caps = capability.New(capHost{h}, capability.Config{HostID: h.HostID(), RPCConn: h.rpcConn,
		JetStream: lattice.Replicated(js, h.ctlConn, h.replication()), Timeout: h.cfg.RPCTimeout, Subjects: h.subjects,
		Policy: h.policyForCapability, Remote: h.callProvider,
		Buckets: keyvalue.Buckets{Internal: lattice.InternalBucketPrefixes(), Allowed: h.cfg.KVAllowedBuckets,
			Limits: keyvalue.BucketLimits{MaxBytes: h.cfg.KVBucketMaxBytes, MaxValueSize: int32(h.cfg.KVMaxValueSize)}},
		Log: h.log, Refused: h.capRefused})
	h.tasks.Go(func() { h.reconnectLoop(run, loops.Done()) })
	// The file's revocations apply before anything starts; the lattice's arrive with its data.
	h.setRevocations(run, h.cfg.Revocations, nil)
	h.cluster.SetDelegations(h.delegationLookup)
	if h.cfg.ProviderClusterSeed {
		h.log.Warn("WASMCLOUD_PROVIDER_CLUSTER_SEED is set: provider processes this host starts get the cluster seed, with which they can sign any invocation in the lattice; use it only for a lattice with 0.x hosts that must accept their calls")
	}
	h.prepareProviderSandbox()
	if err := h.data.Start(ctx, h.ctlConn); err != nil {
		// The host serves actors meanwhile; links, claims and call aliases stay local until the bucket is
		// there, and the host keeps trying to reach it.
		h.log.Warn("lattice data unavailable; links and call aliases work only on this host until it is reachable", attrError, err)
	} else {
		h.reportReplication(ctx)
	}
	h.startSignedControl(ctx)
	if err := h.startBootActors(ctx, loops); err != nil {
		return err
	}
	if err := h.startControl(run); err != nil {
		return err
	}
	h.startLatticeControl(run)
	h.tasks.Go(func() { h.heartbeatLoop(run, loops.Done()) })
	h.mu.Lock()
	h.serving = true
	h.mu.Unlock()
	h.updateUp()
	secs, _ := h.uptime()
	h.publishEvent("host_started", map[string]any{"labels": h.cfg.Labels, "friendly_name": h.friendlyName(),
		"uptime_seconds": secs, "version": h.version})
	return nil
}

// Shutdown stops the host in the fixed order described in the package comment. It is idempotent; later calls
// return the first call's result.
func (h *Host) Shutdown(ctx context.Context) error {
	h.shutdownOnce.Do(func() { h.shutdownErr = h.shutdown(ctx) })
	return h.shutdownErr
}

func (h *Host) shutdown(ctx context.Context) error {
	var errs []error
	// 1. Stop taking commands and invocations; let commands already started finish.
	for _, sub := range h.ctlSubs {
		_ = sub.Unsubscribe()
	}
	if h.stopHeartbeat != nil {
		h.stopHeartbeat()
	}
	h.unsubscribeLattice()
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
	h.updateUp()
	h.stopProviders(ctx) // their supervisors are background work
	if err := h.tasks.Wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("host: background work still running at shutdown: %w", err))
	}
	if h.caps != nil {
		if err := h.caps.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	h.mu.Lock()
	running := make([]*runningActor, 0, len(h.actors))
	for _, a := range h.actors {
		running = append(running, a)
	}
	h.mu.Unlock()
	// Drain, not unsubscribe: messages the client already received are handled, not dropped unanswered.
	for _, a := range running {
		if err := h.drainActor(ctx, a.sub); err != nil {
			errs = append(errs, err)
		}
	}
	// 2. Let invocations in flight finish, as long as ctx allows.
	if err := h.inflight.Wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("host: invocations still in flight at shutdown: %w", err))
	}
	// 3. Drain both connections.
	h.publishEvent("host_stopped", map[string]any{"labels": h.cfg.Labels})
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, nc := range []*nats.Conn{h.rpcConn, h.ctlConn} {
		if nc != nil && !nc.IsConnected() {
			nc.Close() // nothing can be flushed to a server that is not there; requests would only time out
		}
	}
	if err := h.data.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if h.policy != nil {
		if svc := h.policy.svc.Load(); svc != nil {
			if err := svc.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, nc := range []*nats.Conn{h.rpcConn, h.ctlConn} {
		if nc != nil {
			if err := lattice.Drain(ctx, nc); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// 4. Close the actors and the runtime.
	for _, a := range running {
		if err := a.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if h.runtime != nil {
		if err := h.runtime.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// 5. Stop the embedded server.
	if h.embedded != nil {
		if err := h.embedded.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if h.cancelRun != nil {
		h.cancelRun()
	}
	if err := h.admin.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	// 6. Wipe the keys.
	for _, s := range h.localUser {
		s.Wipe()
	}
	h.cluster.Wipe()
	h.hostKey.Wipe()
	h.cfg.Wipe()
	return errors.Join(errs...)
}

// dataObserver applies the changes of the lattice bucket that concern this host.
type dataObserver struct{ h *Host }

func (o dataObserver) LinkChanged(ctx context.Context, l control.LinkDefinition, set bool) {
	o.h.linkCounted(l, set)
	o.h.caps.Apply(ctx, l, set)
	o.h.forwardLink(l, set, false)
}
func (o dataObserver) ClaimsForged(ctx context.Context, subject string) {
	o.h.restoreClaims(ctx, subject)
}
func (o dataObserver) RevocationsChanged(ctx context.Context, l *revoke.List) {
	o.h.setRevocations(ctx, nil, l)
}
func (o dataObserver) AliasClash(_ context.Context, alias, owner, claimantIssuer string) {
	o.h.aliasClash(alias, owner, "", claimantIssuer)
}

// capHost is the host as the capability gate sees it.
type capHost struct{ h *Host }

var _ capability.Host = capHost{}

// Deliver sends an invocation from a built-in provider to an actor, checked like any invocation (the actor's
// claims must list the provider's contract, the policy service is asked). The actor runs on this host (the
// gate delivers only to those), so the invocation is not signed: see invoke.
func (c capHost) Deliver(ctx context.Context, from wire.Entity, actorKey, op string, payload []byte) ([]byte, error) {
	// What a built-in provider delivers (an HTTP request, a subscribed message) was authenticated by nobody.
	return c.h.invoke(withUnauthenticated(ctx), &wire.Invocation{Origin: from, Target: wire.Entity{PublicKey: actorKey}, Operation: op, Msg: payload})
}

func (c capHost) Link(actorKey, contractID, linkName string) (control.LinkDefinition, bool) {
	return c.h.data.Link(actorKey, contractID, linkName)
}

func (c capHost) Running(actorKey string) bool { return c.h.running(actorKey) != nil }

func (c capHost) Caps(actorKey string) ([]string, bool) {
	ra := c.h.running(actorKey)
	if ra == nil {
		return nil, false
	}
	claims, _ := ra.snapshot()
	return claims.Caps, true
}

func (c capHost) PublishEvent(name string, data any) { c.h.publishEvent(name, data) }

// reconcileActor applies every link of an actor (after it started or stopped here).
func (h *Host) reconcileActor(ctx context.Context, actorKey string, running bool) {
	for _, l := range h.data.Links() {
		if l.ActorID == actorKey {
			h.caps.Apply(ctx, l, running)
		}
	}
}

// RefusedCalls returns how many capability calls were refused, by reason.
func (h *Host) RefusedCalls() map[string]int64 {
	if h.caps == nil {
		return map[string]int64{}
	}
	return h.caps.RefusedCalls()
}

// drainSubscription stops a subscription's interest and waits until every message it had received has been
// handed to its handler.
func drainSubscription(ctx context.Context, sub *nats.Subscription) error {
	if sub == nil {
		return nil
	}
	if err := sub.Drain(); err != nil {
		return fmt.Errorf("host: drain %s: %w", sub.Subject, err)
	}
	for sub.IsValid() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("host: drain %s: %w", sub.Subject, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
