// Package messaging is the built-in wasmcloud:messaging provider: an actor publishes and sends requests
// through it on the host's RPC connection, and the subjects a link subscribes to are delivered to the actor
// as MessageSubscriber.HandleMessage.
//
// A link is the operator's grant, so an actor may publish and send requests only to the subject patterns its
// link's publish value lists, plus the reply subject of a message being delivered to it, and never to the
// lattice's own subjects (the host's subject policy: wasmbus.>, the control prefix, _INBOX.>, the '$'
// namespaces, …), whatever the link says. A subscription must be a pattern that can match none of those
// subjects (a real overlap test, so "*.>" is refused as well as "wasmbus.>"), and its queue group lives in
// the actor's own namespace, so no actor can join another's group or one of the host's. The link's values
// are parsed and checked once, when the link is put or applied, into a Link.
package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Link values of the built-in messaging provider. Each is also read in upper case (SUBSCRIPTION, …), the
// spelling of 0.x manifests and of wasmCloud's NATS messaging provider; the lower-case one wins.
const (
	// LinkSubscription lists the subjects (comma-separated, NATS wildcards allowed) whose messages are delivered
	// to the actor as MessageSubscriber.HandleMessage.
	LinkSubscription = "subscription"
	// LinkQueue names the queue group of the subscriptions within the actor's own namespace (default: the link
	// name, so each message reaches one instance of the actor even when it runs on several hosts).
	LinkQueue = "queue"
	// LinkPublish lists the subject patterns the actor may publish and send requests to. Without it, none:
	// an actor may always answer the reply subject of a message delivered to it, and nothing else.
	LinkPublish = "publish"
)

// queueNamespace starts the queue group of every actor subscription; the actor's key follows, so no
// actor's group can be another actor's or one of the host's own (those are named after reserved subjects).
const queueNamespace = "wasmcloud-actor."

// The messages (and bytes) a subscription keeps waiting for its actor; beyond them, NATS drops messages
// rather than let whoever publishes on the subject grow the host's memory.
const (
	pendingMessages = 1024
	pendingBytes    = 16 << 20
)

// inboxPrefix starts the reply subjects of NATS requests: reserved, except the one reply subject of a
// message delivered to an actor, which that actor may answer.
const inboxPrefix = "_INBOX."

// Link is what a link's values say to the messaging provider.
type Link struct {
	// Actor is the module key of the linked actor; LinkName the link's name.
	Actor, LinkName string
	// Subscriptions are the subject patterns delivered to the actor, each checked by ParseLink.
	Subscriptions []string
	// Queue is the queue group of the subscriptions, in the actor's namespace.
	Queue string
	// Publish are the subject patterns the actor may publish and send requests to.
	Publish []string
}

// value returns a link value under its name, or under the upper-case spelling of 0.x.
func value(values map[string]string, name string) string {
	if v, ok := values[name]; ok {
		return v
	}
	return values[strings.ToUpper(name)]
}

// ParseLink reads and checks the messaging values of the link of actor under linkName, against the subject
// policy p: every subscription must be a pattern that can never match one of the lattice's own subjects,
// every publish entry a valid pattern, and the queue a single subject token. A refusal matches
// ErrSubjectNotAllowed and names the value.
func ParseLink(p *subject.Policy, actor, linkName string, values map[string]string) (Link, error) {
	l := Link{Actor: actor, LinkName: linkName, Subscriptions: splitList(value(values, LinkSubscription)),
		Publish: splitList(value(values, LinkPublish))}
	for _, s := range l.Subscriptions {
		if err := p.CheckPattern(s); err != nil {
			return Link{}, fmt.Errorf("%w: %s %q: %s", ErrSubjectNotAllowed, LinkSubscription, s, subject.Reason(err))
		}
	}
	for _, s := range l.Publish {
		if err := subject.ValidateSubject(s, true); err != nil {
			return Link{}, fmt.Errorf("%w: %s %q: %s", ErrSubjectNotAllowed, LinkPublish, s, subject.Reason(err))
		}
	}
	queue := strings.TrimSpace(value(values, LinkQueue))
	if queue == "" {
		queue = linkName
	}
	if err := subject.ValidateToken(queue); err != nil {
		return Link{}, fmt.Errorf("%w: %s %q: %s", ErrSubjectNotAllowed, LinkQueue, queue, subject.Reason(err))
	}
	l.Queue = queueNamespace + actor + "." + queue
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Deliver sends an invocation from the provider (from) to the actor actorKey and returns its reply.
type Deliver func(ctx context.Context, from wire.Entity, actorKey, operation string, payload []byte) ([]byte, error)

// Config is what the provider needs from the host.
type Config struct {
	// Conn is the connection actors publish, request and subscribe on: the host's RPC connection.
	Conn *nats.Conn
	// Timeout bounds a request an actor sends (a shorter timeoutMs of its own is honoured) and the delivery
	// of one subscribed message to the actor.
	Timeout time.Duration
	// Subjects is the host's subject policy: the lattice's own namespaces, which no actor reaches whatever its
	// link says. Nil: only the server's '$' namespaces are reserved (tests).
	Subjects *subject.Policy
	// Log receives a warning for every subscribed message the actor did not handle.
	Log *slog.Logger
}

// Provider is the built-in messaging provider. The subscriptions it makes belong to the caller of Subscribe;
// it keeps only the reply subjects actors may answer right now.
type Provider struct {
	cfg      Config
	subjects atomic.Pointer[subject.Policy] // cfg.Subjects, replaced by SetSubjects

	mu      sync.Mutex
	replies map[grant]int // guarded by mu: reply subjects of messages being delivered, by actor
}

// grant lets one actor publish to one reply subject while the message that carried it is being delivered.
type grant struct{ actor, subject string }

// New returns a provider. It does no I/O.
func New(cfg Config) *Provider {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Subjects == nil {
		cfg.Subjects = &subject.Policy{}
	}
	p := &Provider{cfg: cfg, replies: map[grant]int{}}
	p.subjects.Store(cfg.Subjects)
	return p
}

// SetSubjects replaces the subject policy (a configuration reload): the next publish, request and subscription
// are checked against it. Subscriptions made before keep running until their link is applied again.
func (p *Provider) SetSubjects(s *subject.Policy) { p.subjects.Store(s) }

// ParseLink is ParseLink with the provider's subject policy.
func (p *Provider) ParseLink(actor, linkName string, values map[string]string) (Link, error) {
	return ParseLink(p.subjects.Load(), actor, linkName, values)
}

// checkPublish validates a subject the actor of l publishes or sends a request to: the reply subject of a
// message being delivered to it, or a literal subject outside the lattice's own namespaces that one of the
// link's publish patterns matches. A refusal matches ErrSubjectNotAllowed.
func (p *Provider) checkPublish(l Link, s string) error {
	if p.granted(l.Actor, s) {
		return nil
	}
	if err := p.subjects.Load().CheckLiteral(s); err != nil {
		return fmt.Errorf("%w: %s", ErrSubjectNotAllowed, err)
	}
	for _, pat := range l.Publish {
		if subject.Matches(pat, s) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is outside the link's %s values %v", ErrSubjectNotAllowed, s, LinkPublish, l.Publish)
}

// checkReplyTo validates the reply subject of a message the actor publishes: where others will answer it must
// be a subject outside the lattice's own namespaces that the link publishes or subscribes to, so that an
// actor cannot direct third parties' answers onto the lattice's subjects.
func (p *Provider) checkReplyTo(l Link, s string) error {
	if err := p.subjects.Load().CheckLiteral(s); err != nil {
		return fmt.Errorf("%w: reply subject: %s", ErrSubjectNotAllowed, err)
	}
	for _, pat := range append(append([]string(nil), l.Publish...), l.Subscriptions...) {
		if subject.Matches(pat, s) {
			return nil
		}
	}
	return fmt.Errorf("%w: reply subject %q is outside the link's %s and %s values", ErrSubjectNotAllowed, s, LinkPublish, LinkSubscription)
}

// replyGrant returns the reply subject of a delivered message that its actor may answer: a valid literal
// subject that is either outside the lattice's namespaces or a request inbox; "" for none. A sender cannot
// use an actor to reach the lattice's subjects by naming one as its reply subject.
func (p *Provider) replyGrant(reply string) string {
	if reply == "" {
		return ""
	}
	if strings.HasPrefix(reply, inboxPrefix) && subject.ValidateSubject(reply, false) == nil {
		return reply
	}
	if p.subjects.Load().CheckLiteral(reply) == nil {
		return reply
	}
	return ""
}

func (p *Provider) grant(g grant) {
	p.mu.Lock()
	p.replies[g]++
	p.mu.Unlock()
}

func (p *Provider) revoke(g grant) {
	p.mu.Lock()
	if p.replies[g]--; p.replies[g] <= 0 {
		delete(p.replies, g)
	}
	p.mu.Unlock()
}

func (p *Provider) granted(actor, s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replies[grant{actor, s}] > 0
}

// Call runs one operation of the messaging contract for an actor whose link says l.
func (p *Provider) Call(ctx context.Context, l Link, op string, payload []byte) ([]byte, error) {
	switch op {
	case contract.OpMessagingPublish:
		var m contract.PubMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := p.checkPublish(l, m.Subject); err != nil {
			return nil, err
		}
		if m.ReplyTo != "" {
			if err := p.checkReplyTo(l, m.ReplyTo); err != nil {
				return nil, err
			}
		}
		return nil, p.cfg.Conn.PublishMsg(&nats.Msg{Subject: m.Subject, Reply: m.ReplyTo, Data: m.Body})
	case contract.OpMessagingRequest:
		var m contract.RequestMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := p.checkPublish(l, m.Subject); err != nil {
			return nil, err
		}
		timeout := time.Duration(m.TimeoutMs) * time.Millisecond
		if timeout <= 0 || timeout > p.cfg.Timeout {
			timeout = p.cfg.Timeout
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		reply, err := p.cfg.Conn.RequestWithContext(rctx, m.Subject, m.Body)
		if err != nil {
			return nil, fmt.Errorf("messaging: request to %s: %w", m.Subject, err)
		}
		r := contract.ReplyMessage{Subject: reply.Subject, ReplyTo: reply.Reply, Body: reply.Data}
		return r.AppendMsgpack(nil), nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
}

// Subscribe delivers the messages of l's subscriptions to its actor through deliver, as invocations from
// the provider key from. Each delivery's context derives from ctx, which must live as long as the
// subscriptions. On error the subscriptions made so far are returned too, for the caller to drain.
func (p *Provider) Subscribe(ctx context.Context, l Link, from wire.Entity, deliver Deliver) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	for _, s := range l.Subscriptions {
		// ParseLink checked the link; check again, because a Link can be built by hand.
		if err := p.subjects.Load().CheckPattern(s); err != nil {
			return subs, fmt.Errorf("%w: %s %q: %s", ErrSubjectNotAllowed, LinkSubscription, s, subject.Reason(err))
		}
		sub, err := p.cfg.Conn.QueueSubscribe(s, l.Queue, func(m *nats.Msg) {
			msg := contract.SubMessage{Subject: m.Subject, ReplyTo: m.Reply, Body: m.Data}
			dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			defer cancel()
			if r := p.replyGrant(m.Reply); r != "" {
				g := grant{l.Actor, r}
				p.grant(g)
				defer p.revoke(g)
			}
			if _, err := deliver(dctx, from, l.Actor, contract.OpMessageSubscriberHandleMessage, msg.AppendMsgpack(nil)); err != nil {
				p.cfg.Log.Warn("message not handled", "actor", l.Actor, "subject", m.Subject, "error", err)
			}
		})
		if err != nil {
			return subs, err
		}
		// Whoever may publish on the subject decides how fast messages come; bound what waits for the actor.
		if err := sub.SetPendingLimits(pendingMessages, pendingBytes); err != nil {
			_ = sub.Unsubscribe()
			return subs, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}
