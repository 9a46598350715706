package capability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/capability/httpclient"
	"github.com/wasmcloud-host/wasmcloud-host/capability/httpserver"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/logging"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/capability/numbergen"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Log attribute keys.
const (
	attrActor    = "actor"
	attrContract = "contract"
	attrLinkName = "link_name"
	attrReason   = "reason"
	attrError    = "error"
)

// Host is what the gate and the built-in providers need from the daemon that runs the actors.
type Host interface {
	// Deliver delivers an invocation from a built-in provider (from) to the actor actorKey through the same
	// checks as any invocation (so the actor's claims must list from's contract), returning the actor's
	// reply.
	Deliver(ctx context.Context, from wire.Entity, actorKey, operation string, payload []byte) ([]byte, error)
	// Link returns the link of an actor for a contract and link name, as the lattice has it now.
	Link(actorKey, contractID, linkName string) (control.LinkDefinition, bool)
	// Running reports whether the actor runs on this host.
	Running(actorKey string) bool
	// Caps returns the contracts the signed claims of an actor running on this host list; ok is false when
	// it does not run here.
	Caps(actorKey string) (caps []string, ok bool)
	// PublishEvent publishes a lattice event from this host.
	PublishEvent(name string, data any)
}

// Caller is the actor that makes a capability call, as its signed claims describe it.
type Caller struct {
	// Key is the actor's module key (M…).
	Key string
	// Caps are the contracts its signed claims list.
	Caps []string
}

// Request is one capability call as the gate, the policy hook and the providers see it.
type Request struct {
	Caller    Caller
	Contract  string
	LinkName  string
	Operation string
	// Link is the actor's link for (Contract, LinkName); nil for a host-local contract.
	Link *control.LinkDefinition
}

// Policy decides whether a call that passed the claims and link checks may proceed; an error refuses it and
// is what the guest sees. A nil Policy allows every such call.
type Policy func(ctx context.Context, r Request) error

// Config is what the gate needs besides Host.
type Config struct {
	// HostID is the host's server key, reported in the events the gate publishes.
	HostID string
	// RPCConn is the connection actors publish, request and subscribe on through the messaging provider.
	RPCConn *nats.Conn
	// JetStream holds the key-value provider's buckets.
	JetStream jetstream.JetStream
	// Timeout bounds what a provider waits for an actor or for a peer: an HTTP request's handling, a messaging
	// request, the delivery of a subscribed message (WASMCLOUD_RPC_TIMEOUT_MS).
	Timeout time.Duration
	// Subjects is the host's subject policy: the lattice's own namespaces, which no messaging link reaches.
	Subjects *subject.Policy
	// Buckets says which key-value buckets a link may name (never the lattice's own).
	Buckets keyvalue.Buckets
	// Policy is the policy hook (nil: allow).
	Policy Policy
	// Remote serves a call whose link names a provider that is not built in: it sends the signed invocation to
	// the provider's 0.x subject, wasmbus.rpc.{lattice}.{provider}.{link name}, wherever in the lattice the
	// provider runs, and returns its verified reply. Nil: such calls are refused (ErrNoProvider).
	Remote func(ctx context.Context, r Request, payload []byte) ([]byte, error)
	// Log receives refused calls, links that could not be applied, and the actors' own log entries.
	Log *slog.Logger
	// Refused, when set, is told about every refused call, with the error the guest sees (the daemon counts
	// refusals by reason in its metrics).
	Refused func(err error)
}

// handler serves the calls of one (provider key, contract) pair.
type handler func(ctx context.Context, r *Request, payload []byte) ([]byte, error)

// route names the provider that serves a contract; provider is empty for the host-local contracts.
type route struct{ provider, contract string }

// Gate is the one enforcement point of capability calls, and the owner of the built-in providers and of what
// they set up for links. It is safe for concurrent use.
type Gate struct {
	host   Host
	cfg    Config
	log    *slog.Logger
	routes map[route]handler

	http   *httpserver.Server
	client *httpclient.Provider
	kv     *keyvalue.Provider
	msg    *messaging.Provider

	// mu guards bound and failed; Apply holds it while it changes listeners and subscriptions, so link
	// changes and actor starts and stops are applied one at a time.
	mu     sync.Mutex
	bound  map[string]*binding               // by linkID
	failed map[string]control.LinkDefinition // links that could not be applied, retried by RetryFailed

	refused refusalCounter
}

// New returns a gate for host. It does no I/O: listeners and subscriptions are made by Apply.
func New(host Host, cfg Config) *Gate {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	g := &Gate{host: host, cfg: cfg, log: cfg.Log,
		http:   httpserver.New(httpserver.Config{HandlerTimeout: cfg.Timeout}, cfg.Log),
		client: httpclient.New(httpclient.Config{Timeout: cfg.Timeout}),
		kv:     keyvalue.NewProvider(cfg.JetStream, cfg.Buckets),
		msg:    messaging.New(messaging.Config{Conn: cfg.RPCConn, Timeout: cfg.Timeout, Subjects: cfg.Subjects, Log: cfg.Log}),
	}
	g.routes = map[route]handler{
		{"", contract.ContractLogging}: func(ctx context.Context, r *Request, payload []byte) ([]byte, error) {
			return logging.Write(ctx, g.log, r.Caller.Key, r.Operation, payload)
		},
		{"", contract.ContractNumberGen}: func(_ context.Context, r *Request, payload []byte) ([]byte, error) {
			return numbergen.Call(r.Operation, payload)
		},
		{BuiltinKeyValue, contract.ContractKeyValue}: func(ctx context.Context, r *Request, payload []byte) ([]byte, error) {
			l, err := g.parsed(*r.Link).keyValue()
			if err != nil {
				return nil, err
			}
			return g.kv.Call(ctx, l, r.Operation, payload)
		},
		{BuiltinHTTPClient, contract.ContractHTTPClient}: func(ctx context.Context, r *Request, payload []byte) ([]byte, error) {
			l, err := g.parsed(*r.Link).httpClient()
			if err != nil {
				return nil, err
			}
			return g.client.Call(ctx, l, r.Operation, payload)
		},
		{BuiltinMessaging, contract.ContractMessaging}: func(ctx context.Context, r *Request, payload []byte) ([]byte, error) {
			l, err := g.parsed(*r.Link).messaging()
			if err != nil {
				return nil, err
			}
			return g.msg.Call(ctx, l, r.Operation, payload)
		},
	}
	return g
}

// SetSubjects replaces the subject policy of the messaging provider (a configuration reload).
func (g *Gate) SetSubjects(s *subject.Policy) { g.msg.SetSubjects(s) }

// Call is the one place every capability call from an actor passes: the actor's signed claims must list the
// contract (built-ins included, stricter than wasmCloud, which skips them), every contract but the host-local
// built-ins also needs a link for (actor, contract, link name), and the policy hook is asked. Only then is
// the call dispatched to the provider that serves the link's provider key and the contract.
func (g *Gate) Call(ctx context.Context, caller Caller, linkName, contractID, op string, payload []byte) ([]byte, error) {
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	r := Request{Caller: caller, Contract: contractID, LinkName: linkName, Operation: op}
	if !caller.claims(contractID) {
		return nil, g.refuse(&r, fmt.Errorf("%w %s", ErrCapabilityNotClaimed, contractID))
	}
	rt := route{contract: contractID}
	if !HostLocal(contractID) {
		link, ok := g.host.Link(caller.Key, contractID, linkName)
		if !ok {
			return nil, g.refuse(&r, fmt.Errorf("%w for %s (link name %q) to actor %s", ErrNoProvider, contractID, linkName, caller.Key))
		}
		r.Link, rt.provider = &link, link.ProviderID
	}
	if g.cfg.Policy != nil {
		if err := g.cfg.Policy(ctx, r); err != nil {
			return nil, g.refuse(&r, err)
		}
	}
	h := g.routes[rt]
	if h == nil && (rt.provider == "" || IsBuiltin(rt.provider) || g.cfg.Remote == nil) {
		return nil, g.refuse(&r, fmt.Errorf("%w: provider %s is not one of this host's built-in providers for %s", ErrNoProvider, rt.provider, contractID))
	}
	if h == nil {
		// Any other provider in the lattice: the same checks passed above, the call goes over NATS.
		return g.cfg.Remote(ctx, r, payload)
	}
	out, err := h(ctx, &r, payload)
	if errors.Is(err, messaging.ErrSubjectNotAllowed) || errors.Is(err, keyvalue.ErrBucketNotAllowed) || errors.Is(err, httpclient.ErrNotAllowed) {
		return nil, g.refuse(&r, err)
	}
	return out, err
}

func (c Caller) claims(contractID string) bool { return slices.Contains(c.Caps, contractID) }

// refusalCounter counts refused capability calls by reason.
type refusalCounter struct {
	mu sync.Mutex
	n  map[string]int64 // guarded by mu
}

// The reasons RefusedCalls counts.
const (
	ReasonNotClaimed = "not_claimed"
	ReasonNotLinked  = "not_linked"
	ReasonSubject    = "subject"
	ReasonBucket     = "bucket"
	ReasonEgress     = "egress"
	ReasonOther      = "other"
)

// refuse logs and counts a refused capability call and returns the error the guest sees.
func (g *Gate) refuse(r *Request, err error) error {
	reason := ReasonOther
	switch {
	case errors.Is(err, ErrCapabilityNotClaimed):
		reason = ReasonNotClaimed
	case errors.Is(err, ErrNoProvider):
		reason = ReasonNotLinked
	case errors.Is(err, messaging.ErrSubjectNotAllowed):
		reason = ReasonSubject
	case errors.Is(err, keyvalue.ErrBucketNotAllowed):
		reason = ReasonBucket
	case errors.Is(err, httpclient.ErrNotAllowed):
		reason = ReasonEgress
	}
	g.refused.mu.Lock()
	if g.refused.n == nil {
		g.refused.n = map[string]int64{}
	}
	g.refused.n[reason]++
	g.refused.mu.Unlock()
	if g.cfg.Refused != nil {
		g.cfg.Refused(err)
	}
	g.log.Warn("refused capability call", attrActor, r.Caller.Key, attrContract, r.Contract, attrLinkName, r.LinkName, attrReason, err)
	return err
}

// RefusedCalls returns how many capability calls were refused, by reason (ReasonNotClaimed, ReasonNotLinked,
// ReasonOther).
func (g *Gate) RefusedCalls() map[string]int64 {
	g.refused.mu.Lock()
	defer g.refused.mu.Unlock()
	out := make(map[string]int64, len(g.refused.n))
	maps.Copy(out, g.refused.n)
	return out
}
