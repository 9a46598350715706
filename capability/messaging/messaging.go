// Package messaging is the built-in wasmcloud:messaging provider: an actor publishes and sends requests
// through it on the host's RPC connection, and the subjects a link subscribes to are delivered to the actor
// as MessageSubscriber.HandleMessage.
//
// A link is the operator's grant, so an actor may publish and send requests only to the subject patterns its
// link's publish value lists (without one, only _INBOX.>, to answer requests it received), and never to the
// lattice's own subjects (wasmbus.>, $JS.>, …), whatever the link says. Subjects are checked with package
// subject; the link's values are parsed once, when the link is applied, into a Link.
package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Link values of the built-in messaging provider.
const (
	// LinkSubscription lists the subjects (comma-separated, NATS wildcards allowed) whose messages are delivered
	// to the actor as MessageSubscriber.HandleMessage.
	LinkSubscription = "subscription"
	// LinkQueue is the queue group of the subscriptions (default: one group per actor and link, so each message
	// reaches one host even when the actor runs on several).
	LinkQueue = "queue"
	// LinkPublish lists the subject patterns the actor may publish and send requests to. Without it, only
	// _INBOX.> (answers to requests the actor received).
	LinkPublish = "publish"
)

// reservedSubjects are the lattice's own subjects: no actor publishes, requests or subscribes there, whatever
// its link says.
var reservedSubjects = []string{"wasmbus.>", "$JS.>", "$KV.>", "$O.>", "$SYS.>", "$NRG.>"}

// defaultPublish is what an actor may publish to when its link has no publish value.
var defaultPublish = []string{"_INBOX.>"}

// Link is what a link's values say to the messaging provider.
type Link struct {
	// Actor is the module key of the linked actor; LinkName the link's name.
	Actor, LinkName string
	// Subscriptions are the subjects (patterns) delivered to the actor, as the link lists them; Subscribe
	// checks them.
	Subscriptions []string
	// Queue is the queue group of the subscriptions.
	Queue string
	// Publish are the subject patterns the actor may publish and send requests to.
	Publish []string
}

// ParseLink reads the messaging values of the link of actor under linkName. It cannot fail: malformed
// subscriptions are refused when Subscribe is asked to serve them, and a publish pattern is only ever
// matched against.
func ParseLink(actor, linkName string, values map[string]string) Link {
	l := Link{Actor: actor, LinkName: linkName, Subscriptions: splitList(values[LinkSubscription]),
		Queue: values[LinkQueue], Publish: defaultPublish}
	if l.Queue == "" {
		l.Queue = "wasmcloud-host." + actor + "." + linkName
	}
	if v := strings.TrimSpace(values[LinkPublish]); v != "" {
		l.Publish = splitList(v)
	}
	return l
}

// CheckPublish validates a subject the actor of l sends to: a well-formed literal subject, outside the
// lattice's own subjects, and allowed by the link. A refusal matches ErrSubjectNotAllowed.
func (l Link) CheckPublish(s string) error {
	if subject.ValidateSubject(s, false) != nil {
		return fmt.Errorf("%w: %q is not a valid subject", ErrSubjectNotAllowed, s)
	}
	for _, r := range reservedSubjects {
		if subject.Matches(r, s) {
			return fmt.Errorf("%w: %q is one of the lattice's own subjects", ErrSubjectNotAllowed, s)
		}
	}
	for _, p := range l.Publish {
		if subject.Matches(p, s) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is outside the link's %s values %v", ErrSubjectNotAllowed, s, LinkPublish, l.Publish)
}

// checkSubscription validates a subject a link subscribes to: a well-formed pattern that does not reach into
// the lattice's own subjects.
func checkSubscription(s string) error {
	if subject.ValidateSubject(s, true) != nil {
		return fmt.Errorf("%w: subscription %q is not a valid subject", ErrSubjectNotAllowed, s)
	}
	for _, r := range reservedSubjects {
		if subject.Matches(r, strings.ReplaceAll(strings.ReplaceAll(s, "*", "x"), ">", "x")) {
			return fmt.Errorf("%w: subscription %q is on the lattice's own subjects", ErrSubjectNotAllowed, s)
		}
	}
	return nil
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
	// Log receives a warning for every subscribed message the actor did not handle.
	Log *slog.Logger
}

// Provider is the built-in messaging provider. It holds no state besides its configuration; the
// subscriptions it makes belong to the caller of Subscribe.
type Provider struct {
	cfg Config
}

// New returns a provider. It does no I/O.
func New(cfg Config) *Provider {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Provider{cfg: cfg}
}

// Call runs one operation of the messaging contract for an actor whose link says l.
func (p *Provider) Call(ctx context.Context, l Link, op string, payload []byte) ([]byte, error) {
	switch op {
	case contract.OpMessagingPublish:
		var m contract.PubMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := l.CheckPublish(m.Subject); err != nil {
			return nil, err
		}
		if m.ReplyTo != "" {
			if err := l.CheckPublish(m.ReplyTo); err != nil {
				return nil, err
			}
		}
		return nil, p.cfg.Conn.PublishMsg(&nats.Msg{Subject: m.Subject, Reply: m.ReplyTo, Data: m.Body})
	case contract.OpMessagingRequest:
		var m contract.RequestMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := l.CheckPublish(m.Subject); err != nil {
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
		if err := checkSubscription(s); err != nil {
			return subs, err
		}
		sub, err := p.cfg.Conn.QueueSubscribe(s, l.Queue, func(m *nats.Msg) {
			msg := contract.SubMessage{Subject: m.Subject, ReplyTo: m.Reply, Body: m.Data}
			dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			defer cancel()
			if _, err := deliver(dctx, from, l.Actor, contract.OpMessageSubscriberHandleMessage, msg.AppendMsgpack(nil)); err != nil {
				p.cfg.Log.Warn("message not handled", "actor", l.Actor, "subject", m.Subject, "error", err)
			}
		})
		if err != nil {
			return subs, err
		}
		subs = append(subs, sub)
	}
	return subs, nil
}
