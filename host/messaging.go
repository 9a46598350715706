package host

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Link values of the built-in messaging provider.
const (
	// linkSubscription lists the subjects (comma-separated, NATS wildcards allowed) whose messages are delivered
	// to the actor as MessageSubscriber.HandleMessage.
	linkSubscription = "subscription"
	// linkQueue is the queue group of the subscriptions (default: one group per actor and link, so each message
	// reaches one host even when the actor runs on several).
	linkQueue = "queue"
	// linkPublish lists the subject patterns the actor may publish and send requests to. Without it, only
	// _INBOX.> (answers to requests the actor received).
	linkPublish = "publish"
)

// reservedSubjects are the lattice's own subjects: no actor publishes, requests or subscribes there, whatever
// its link says.
var reservedSubjects = []string{"wasmbus.>", "$JS.>", "$KV.>", "$O.>", "$SYS.>", "$NRG.>"}

// checkSubject validates a subject an actor sends to: a well-formed literal subject, outside the lattice's
// own subjects, and allowed by the link.
func checkSubject(link control.LinkDefinition, s string) error {
	if subject.ValidateSubject(s, false) != nil {
		return fmt.Errorf("%w: %q is not a valid subject", ErrSubjectNotAllowed, s)
	}
	for _, r := range reservedSubjects {
		if subject.Matches(r, s) {
			return fmt.Errorf("%w: %q is one of the lattice's own subjects", ErrSubjectNotAllowed, s)
		}
	}
	allowed := []string{"_INBOX.>"}
	if v := strings.TrimSpace(link.Values[linkPublish]); v != "" {
		allowed = splitList(v)
	}
	for _, p := range allowed {
		if subject.Matches(p, s) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is outside the link's %s values %v", ErrSubjectNotAllowed, s, linkPublish, allowed)
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

// messagingCall is the built-in wasmcloud:messaging provider's side of an actor's host call.
func (h *Host) messagingCall(ctx context.Context, caller *actor.Claims, link control.LinkDefinition, op string, payload []byte) ([]byte, error) {
	switch op {
	case contract.OpMessagingPublish:
		var m contract.PubMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := checkSubject(link, m.Subject); err != nil {
			return nil, h.refuseCall(caller, link.ContractID, link.LinkName, err)
		}
		if m.ReplyTo != "" {
			if err := checkSubject(link, m.ReplyTo); err != nil {
				return nil, h.refuseCall(caller, link.ContractID, link.LinkName, err)
			}
		}
		return nil, h.rpcConn.PublishMsg(&nats.Msg{Subject: m.Subject, Reply: m.ReplyTo, Data: m.Body})
	case contract.OpMessagingRequest:
		var m contract.RequestMessage
		if err := m.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if err := checkSubject(link, m.Subject); err != nil {
			return nil, h.refuseCall(caller, link.ContractID, link.LinkName, err)
		}
		timeout := time.Duration(m.TimeoutMs) * time.Millisecond
		if timeout <= 0 || timeout > h.cfg.RPCTimeout {
			timeout = h.cfg.RPCTimeout
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		reply, err := h.rpcConn.RequestWithContext(rctx, m.Subject, m.Body)
		if err != nil {
			return nil, fmt.Errorf("host: messaging request to %s: %w", m.Subject, err)
		}
		r := contract.ReplyMessage{Subject: reply.Subject, ReplyTo: reply.Reply, Body: reply.Data}
		return r.AppendMsgpack(nil), nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
}

// subscribe delivers the messages of a messaging link's subscriptions to a local actor.
func (h *Host) subscribe(l control.LinkDefinition) ([]*nats.Subscription, error) {
	queue := l.Values[linkQueue]
	if queue == "" {
		queue = "wasmcloud-host." + l.ActorID + "." + l.LinkName
	}
	var subs []*nats.Subscription
	for _, sub := range splitList(l.Values[linkSubscription]) {
		if subject.ValidateSubject(sub, true) != nil {
			return subs, fmt.Errorf("%w: subscription %q is not a valid subject", ErrSubjectNotAllowed, sub)
		}
		for _, r := range reservedSubjects {
			if subject.Matches(r, strings.ReplaceAll(strings.ReplaceAll(sub, "*", "x"), ">", "x")) {
				return subs, fmt.Errorf("%w: subscription %q is on the lattice's own subjects", ErrSubjectNotAllowed, sub)
			}
		}
		from := wire.Entity{PublicKey: BuiltinMessaging, ContractID: contract.ContractMessaging, LinkName: l.LinkName}
		ns, err := h.rpcConn.QueueSubscribe(sub, queue, func(m *nats.Msg) {
			msg := contract.SubMessage{Subject: m.Subject, ReplyTo: m.Reply, Body: m.Data}
			ctx, cancel := context.WithTimeout(context.Background(), h.cfg.RPCTimeout)
			defer cancel()
			if _, err := h.deliver(ctx, from, l.ActorID, contract.OpMessageSubscriberHandleMessage, msg.AppendMsgpack(nil)); err != nil {
				h.log.Warn("message not handled", attrActor, l.ActorID, "subject", m.Subject, attrError, err)
			}
		})
		if err != nil {
			return subs, err
		}
		subs = append(subs, ns)
	}
	return subs, nil
}

// deliver sends an invocation from a built-in provider to an actor and returns its reply: signed, verified and
// checked like any invocation (the actor's claims must list the provider's contract).
func (h *Host) deliver(ctx context.Context, from wire.Entity, actorKey, op string, payload []byte) ([]byte, error) {
	if h.running(actorKey) == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, actorKey)
	}
	return h.invoke(ctx, &wire.Invocation{Origin: from, Target: wire.Entity{PublicKey: actorKey}, Operation: op, Msg: payload})
}
