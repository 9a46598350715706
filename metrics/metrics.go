// Package metrics defines every metric the daemon exports, on a Prometheus registry of its own (no global
// registry), and serves them with the health and readiness checks on the admin listener
// (WASMCLOUD_ADMIN_ADDRESS).
//
// Label values are bounded whatever a peer sends: actor is a module key of an actor this host started (or
// "unknown" for a start that failed before the module's claims were verified), operation is one the actor
// has answered successfully, up to MaxOperationsPerActor per actor, and "other" otherwise, reason comes from
// the fixed Reason enum, contract from the built-in contracts ("other" for the rest), and connection is rpc or
// ctl. No invocation id, error text or subject ever becomes a label.
//
// A nil *Metrics is valid: every method does nothing, so code paths and tests that do not export metrics
// need no special case.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Names of the metrics. The first eight are the ones the security guide's alerts use.
const (
	NameActorStarts        = "wasmcloud_actor_starts_total"
	NameActorInvocations   = "wasmcloud_actor_invocations_total"
	NameActorErrors        = "wasmcloud_actor_errors_total"
	NameLinkEstablished    = "wasmcloud_link_established_total"
	NameLinkRemoved        = "wasmcloud_link_removed_total"
	NameHostUp             = "wasmcloud_host_up"
	NameNATSAuthFailures   = "nats_auth_failure_total"
	NamePolicyDenials      = "wasmcloud_policy_denial_total"
	NameInvocationDuration = "wasmcloud_actor_invocation_duration_seconds"
	NameRefusals           = "wasmcloud_refusals_total"
	NameReplayCacheEntries = "wasmcloud_replay_cache_entries"
	NameReplayCacheSize    = "wasmcloud_replay_cache_capacity"
	NameActorInstances     = "wasmcloud_actor_instances"
	NameNATSReconnects     = "nats_reconnects_total"
	NameNATSDisconnects    = "nats_disconnects_total"
	NameHostInfo           = "wasmcloud_host_info"
	NameStartActorFailed   = "wasmcloud_start_actors_failed"
)

// Label names.
const (
	LabelActor      = "actor"
	LabelOperation  = "operation"
	LabelResult     = "result"
	LabelReason     = "reason"
	LabelContract   = "contract"
	LabelConnection = "connection"
	LabelAction     = "action"
)

// Values of the result label, and the value that stands for anything outside a bounded set.
const (
	ResultOK    = "ok"
	ResultError = "error"
	Other       = "other"
	Unknown     = "unknown"
)

// MaxOperationsPerActor bounds the operation label values of one actor; further operations are "other".
const MaxOperationsPerActor = 32

// maxActors bounds the actor label values; actors beyond it are "other". A host runs far fewer.
const maxActors = 4096

// Reason is why something was refused: the value of the reason label of wasmcloud_refusals_total.
type Reason string

// The reasons. Refusal counts any other value as ReasonOther.
const (
	// Invocations (package rpc's checks, and the host's after them).
	ReasonMalformed    Reason = "malformed"     // not a well-formed invocation or token, or a wrong content_length
	ReasonSignature    Reason = "signature"     // the token's signature does not verify
	ReasonIssuer       Reason = "issuer"        // signed by a cluster key this host does not trust
	ReasonExpired      Reason = "expired"       // the token expired
	ReasonNotYetValid  Reason = "not_yet_valid" // the token is not valid yet
	ReasonTarget       Reason = "target"        // target or origin not the one signed, or not the actor it reached
	ReasonHash         Reason = "hash"          // the hash over the call is not the one signed
	ReasonTokenSubject Reason = "token_subject" // the token belongs to another invocation
	ReasonHostID       Reason = "host_id"       // the sender's host id is invalid or not the one signed
	ReasonReplay       Reason = "replay"        // the invocation was accepted before
	ReasonReplayFull   Reason = "replay_full"   // the replay cache is full of live ids
	ReasonReplayRecord Reason = "replay_record" // the lattice-wide replay record could not be reached
	ReasonClaim        Reason = "claim"         // the actor's signed claims do not list the capability
	ReasonLink         Reason = "link"          // no link for the capability
	ReasonPolicy       Reason = "policy"        // the policy service did not permit it
	ReasonSubject      Reason = "subject"       // a subject the link does not allow
	ReasonBucket       Reason = "bucket"        // a key-value bucket or prefix the link does not allow
	ReasonHTTPLimit    Reason = "http_limit"    // an HTTP request over a limit of the built-in server
	ReasonRevoked      Reason = "revoked"       // signed by a revoked cluster key
	ReasonCtlSignature Reason = "control_signature"
	ReasonCtlUntrusted Reason = "control_untrusted"
	ReasonCtlBody      Reason = "control_body"
	ReasonCtlReplay    Reason = "control_replay"
	ReasonCtlExpired   Reason = "control_expired"
	ReasonCtlRevoked   Reason = "control_revoked" // a control request signed by a revoked key
	ReasonOther        Reason = "other"
)

// Reasons lists every reason, in the order above.
var Reasons = []Reason{
	ReasonMalformed, ReasonSignature, ReasonIssuer, ReasonExpired, ReasonNotYetValid, ReasonTarget, ReasonHash,
	ReasonTokenSubject, ReasonHostID, ReasonReplay, ReasonReplayFull, ReasonReplayRecord, ReasonClaim, ReasonLink, ReasonPolicy,
	ReasonSubject, ReasonBucket, ReasonHTTPLimit, ReasonRevoked, ReasonCtlSignature, ReasonCtlUntrusted, ReasonCtlBody,
	ReasonCtlReplay, ReasonCtlExpired, ReasonCtlRevoked, ReasonOther,
}

// contracts are the contract label values; any other contract is Other.
var contracts = map[string]bool{
	"wasmcloud:httpserver": true, "wasmcloud:keyvalue": true, "wasmcloud:messaging": true,
	"wasmcloud:builtin:logging": true, "wasmcloud:builtin:numbergen": true,
}

// policyActions are the action label values of wasmcloud_policy_denial_total; any other is Other.
var policyActions = map[string]bool{"start_actor": true, "start_provider": true, "perform_invocation": true, "put_link": true}

// Metrics holds the daemon's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	actorStarts     *prometheus.CounterVec
	invocations     *prometheus.CounterVec
	actorErrors     *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	linkEstablished *prometheus.CounterVec
	linkRemoved     *prometheus.CounterVec
	hostUp          prometheus.Gauge
	hostInfo        *prometheus.GaugeVec
	authFailures    *prometheus.CounterVec
	policyDenials   *prometheus.CounterVec
	refusals        *prometheus.CounterVec
	instances       *prometheus.GaugeVec
	reconnects      *prometheus.CounterVec
	disconnects     *prometheus.CounterVec
	startFailed     prometheus.Gauge

	// mu guards ops and actors.
	mu     sync.Mutex
	ops    map[string]map[string]bool // actor → operations it answered successfully
	actors map[string]bool            // actor label values in use
}

// New returns the metrics of one daemon on a registry of their own, with the Go runtime and process
// collectors. Every counter of a bounded label set starts at zero, so an alert on its rate works from the
// first scrape.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		actorStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameActorStarts,
			Help: "Actor starts on this host, by actor and result (ok or error)."}, []string{LabelActor, LabelResult}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameActorInvocations,
			Help: "Invocations that passed verification and ran, by actor, operation and result (ok or error)."},
			[]string{LabelActor, LabelOperation, LabelResult}),
		actorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameActorErrors,
			Help: "Invocations that ran and failed (trap, timeout, guest error), by actor and operation."},
			[]string{LabelActor, LabelOperation}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameInvocationDuration,
			Help:    "Time an actor took to answer an invocation that passed verification, by actor and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
			[]string{LabelActor, LabelOperation}),
		linkEstablished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameLinkEstablished,
			Help: "Links set in the lattice for actors that run on this host, by contract."}, []string{LabelContract}),
		linkRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameLinkRemoved,
			Help: "Links deleted from the lattice for actors that run on this host, by contract."}, []string{LabelContract}),
		hostUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: NameHostUp,
			Help: "1 while the host serves (started, both NATS connections up), 0 otherwise."}),
		hostInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameHostInfo,
			Help: "Always 1: the host's id, lattice and version as labels."}, []string{"host_id", "lattice", "version"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameNATSAuthFailures,
			Help: "NATS authentication and authorization failures reported on this host's connections, by connection (rpc or ctl)."},
			[]string{LabelConnection}),
		policyDenials: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NamePolicyDenials,
			Help: "Requests the policy service did not permit (denied, or not answered: the host fails closed), by action."},
			[]string{LabelAction}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameRefusals,
			Help: "Refused invocations, capability calls and control requests, by reason."}, []string{LabelReason}),
		instances: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameActorInstances,
			Help: "Instances of each actor running on this host."}, []string{LabelActor}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameNATSReconnects,
			Help: "Reconnects of this host's NATS connections, by connection (rpc or ctl)."}, []string{LabelConnection}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameNATSDisconnects,
			Help: "Disconnects of this host's NATS connections, by connection (rpc or ctl)."}, []string{LabelConnection}),
		startFailed: prometheus.NewGauge(prometheus.GaugeOpts{Name: NameStartActorFailed,
			Help: "Actors of WASMCLOUD_START_ACTORS that are not running: failed, or waiting for a retry."}),
		ops:    map[string]map[string]bool{},
		actors: map[string]bool{},
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.actorStarts, m.invocations, m.actorErrors, m.duration, m.linkEstablished, m.linkRemoved, m.hostUp,
		m.hostInfo, m.authFailures, m.policyDenials, m.refusals, m.instances, m.reconnects, m.disconnects,
		m.startFailed,
	)
	for _, r := range Reasons {
		m.refusals.WithLabelValues(string(r))
	}
	for _, c := range []string{"rpc", "ctl"} {
		m.authFailures.WithLabelValues(c)
		m.reconnects.WithLabelValues(c)
		m.disconnects.WithLabelValues(c)
	}
	for a := range policyActions {
		m.policyDenials.WithLabelValues(a)
	}
	for c := range contracts {
		m.linkEstablished.WithLabelValues(c)
		m.linkRemoved.WithLabelValues(c)
	}
	return m
}

// Registry returns the registry the metrics are registered on, for tests and for a caller that adds its own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// actor returns the actor label value of key: itself while fewer than maxActors values are in use.
func (m *Metrics) actor(key string) string {
	if key == "" {
		return Unknown
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.actors[key] {
		return key
	}
	if len(m.actors) >= maxActors {
		return Other
	}
	m.actors[key] = true
	return key
}

// operation returns the operation label value of op on actor: op once the actor answered it successfully
// (ok says this call did) and while the actor has fewer than MaxOperationsPerActor, Other otherwise. An
// operation a caller made up and the actor refused never becomes a label.
func (m *Metrics) operation(actor, op string, ok bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	known := m.ops[actor]
	if known[op] {
		return op
	}
	if !ok || len(known) >= MaxOperationsPerActor {
		return Other
	}
	if known == nil {
		known = map[string]bool{}
		m.ops[actor] = known
	}
	known[op] = true
	return op
}

// ActorStarted counts an actor start; actor is its module key, or "" when the start failed before the
// module's claims were known.
func (m *Metrics) ActorStarted(actor string, err error) {
	if m == nil {
		return
	}
	result := ResultOK
	if err != nil {
		result = ResultError
	}
	m.actorStarts.WithLabelValues(m.actor(actor), result).Inc()
}

// Invocation records an invocation that passed verification and ran on actor: its result and how long the
// actor took.
func (m *Metrics) Invocation(actor, operation string, took time.Duration, err error) {
	if m == nil {
		return
	}
	a := m.actor(actor)
	op := m.operation(a, operation, err == nil)
	result := ResultOK
	if err != nil {
		result = ResultError
		m.actorErrors.WithLabelValues(a, op).Inc()
	}
	m.invocations.WithLabelValues(a, op, result).Inc()
	m.duration.WithLabelValues(a, op).Observe(took.Seconds())
}

func contractLabel(contract string) string {
	if contracts[contract] {
		return contract
	}
	return Other
}

// LinkEstablished counts a link set for an actor that runs on this host.
func (m *Metrics) LinkEstablished(contract string) {
	if m != nil {
		m.linkEstablished.WithLabelValues(contractLabel(contract)).Inc()
	}
}

// LinkRemoved counts a link deleted for an actor that runs on this host.
func (m *Metrics) LinkRemoved(contract string) {
	if m != nil {
		m.linkRemoved.WithLabelValues(contractLabel(contract)).Inc()
	}
}

// SetHostUp sets wasmcloud_host_up.
func (m *Metrics) SetHostUp(up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.hostUp.Set(v)
}

// SetHostInfo sets wasmcloud_host_info to 1 with the host's id, lattice and version.
func (m *Metrics) SetHostInfo(hostID, lattice, version string) {
	if m != nil {
		m.hostInfo.Reset()
		m.hostInfo.WithLabelValues(hostID, lattice, version).Set(1)
	}
}

func connection(name string) string {
	if name == "rpc" || name == "ctl" {
		return name
	}
	return Other
}

// NATSAuthFailure counts an authentication or authorization failure on the connection name (rpc or ctl).
func (m *Metrics) NATSAuthFailure(name string) {
	if m != nil {
		m.authFailures.WithLabelValues(connection(name)).Inc()
	}
}

// NATSReconnect counts a reconnect of the connection name.
func (m *Metrics) NATSReconnect(name string) {
	if m != nil {
		m.reconnects.WithLabelValues(connection(name)).Inc()
	}
}

// NATSDisconnect counts a disconnect of the connection name.
func (m *Metrics) NATSDisconnect(name string) {
	if m != nil {
		m.disconnects.WithLabelValues(connection(name)).Inc()
	}
}

// PolicyDenial counts a request the policy service did not permit; action is the policy action
// (start_actor, perform_invocation, put_link, …).
func (m *Metrics) PolicyDenial(action string) {
	if m == nil {
		return
	}
	if !policyActions[action] {
		action = Other
	}
	m.policyDenials.WithLabelValues(action).Inc()
}

// Refusal counts one refusal. A reason outside Reasons counts as ReasonOther.
func (m *Metrics) Refusal(r Reason) {
	if m == nil {
		return
	}
	if !validReason(r) {
		r = ReasonOther
	}
	m.refusals.WithLabelValues(string(r)).Inc()
}

func validReason(r Reason) bool {
	for _, v := range Reasons {
		if v == r {
			return true
		}
	}
	return false
}

// SetInstances sets the instance count of an actor; 0 removes its series (the actor stopped).
func (m *Metrics) SetInstances(actor string, n int) {
	if m == nil {
		return
	}
	a := m.actor(actor)
	if n <= 0 {
		m.instances.DeleteLabelValues(a)
		return
	}
	m.instances.WithLabelValues(a).Set(float64(n))
}

// SetStartActorsFailed sets how many actors of WASMCLOUD_START_ACTORS are not running.
func (m *Metrics) SetStartActorsFailed(n int) {
	if m != nil {
		m.startFailed.Set(float64(n))
	}
}

// ReplayCache exports the replay cache's fill: size reports the ids it holds and its capacity, read at each
// scrape. Call it once.
func (m *Metrics) ReplayCache(size func() (entries, capacity int)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameReplayCacheEntries,
			Help: "Invocation ids the replay cache holds (live or expired and not yet swept)."},
			func() float64 { n, _ := size(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: NameReplayCacheSize,
			Help: "The most invocation ids the replay cache holds (WASMCLOUD_REPLAY_CACHE_SIZE, rounded up); when full of live ids, invocations are refused."},
			func() float64 { _, c := size(); return float64(c) }),
	)
}
