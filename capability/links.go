package capability

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/capability/httpclient"
	"github.com/wasmcloud-host/wasmcloud-host/capability/httpserver"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// A link is served by the hosts that run its actor, so a lattice needs no provider process anywhere: the
// gate sets up what the built-in providers need for the links of the actors on this host (messaging
// subscriptions, HTTP listeners) and parses each link's values once, when it is applied.

// binding is what a link whose actor runs here has set up, and its values as its provider parsed them.
type binding struct {
	link   control.LinkDefinition
	values parsedLink
	subs   []*nats.Subscription
	addr   string             // bound HTTP address, or ""
	cancel context.CancelFunc // ends the context the binding's callbacks derive from
}

// parsedLink holds a link's values as the provider of its contract reads them, or why it cannot use them.
type parsedLink struct {
	kv     keyvalue.Link
	msg    messaging.Link
	client httpclient.Link
	err    error
}

func (p parsedLink) keyValue() (keyvalue.Link, error)     { return p.kv, p.err }
func (p parsedLink) messaging() (messaging.Link, error)   { return p.msg, p.err }
func (p parsedLink) httpClient() (httpclient.Link, error) { return p.client, p.err }

// parse reads and checks a link's values for the built-in provider of its contract: the address of an HTTP
// link, the bucket and prefix of a key-value link, the subjects and queue of a messaging link. Links to
// providers that are not built in are not parsed here.
func (g *Gate) parse(l control.LinkDefinition) parsedLink {
	var p parsedLink
	switch {
	case l.ProviderID == BuiltinKeyValue && l.ContractID == contract.ContractKeyValue:
		p.kv, p.err = g.kv.ParseLink(l.Values)
	case l.ProviderID == BuiltinMessaging && l.ContractID == contract.ContractMessaging:
		p.msg, p.err = g.msg.ParseLink(l.ActorID, l.LinkName, l.Values)
	case l.ProviderID == BuiltinHTTPServer && l.ContractID == contract.ContractHTTPServer:
		_, p.err = g.http.ParseLink(l.Values)
	case l.ProviderID == BuiltinHTTPClient && l.ContractID == contract.ContractHTTPClient:
		p.client, p.err = g.client.ParseLink(l.Values)
	}
	return p
}

// CheckLink refuses a link whose values its built-in provider cannot use: an address that is not one, a
// bucket that is the lattice's own or not allowed, a subscription that reaches the lattice's subjects. The
// control server calls it before a link is stored, so a bad link is refused at put rather than discovered
// at the first call.
func (g *Gate) CheckLink(l control.LinkDefinition) error {
	return g.parse(l).err
}

// parsed returns the parsed values of a link a call found: those of its binding when the binding was made
// from the same definition (always, once the link is applied), otherwise parsed now.
func (g *Gate) parsed(l control.LinkDefinition) parsedLink {
	g.mu.Lock()
	b := g.bound[linkID(l)]
	g.mu.Unlock()
	if b != nil && b.link.ProviderID == l.ProviderID && maps.Equal(b.link.Values, l.Values) {
		return b.values
	}
	return g.parse(l)
}

// linkID identifies a link by what the lattice keys it by: actor, contract and link name.
func linkID(l control.LinkDefinition) string {
	return l.ActorID + "\x00" + l.ContractID + "\x00" + l.LinkName
}

func (g *Gate) teardown(ctx context.Context, b *binding) {
	for _, s := range b.subs {
		_ = s.Drain()
	}
	if b.addr != "" {
		_ = g.http.Unbind(ctx, b.addr, b.link.ActorID)
	}
	if b.cancel != nil {
		b.cancel()
	}
}

// Apply applies one link: it sets up what the link needs when it is set and its actor runs here, and tears
// it down otherwise. The callbacks of what it sets up (a subscribed message's delivery) derive their context
// from ctx without its deadline or cancellation: they live until the link is torn down. A link that cannot
// be applied (its port is taken, its subscription is malformed) is logged, reported as a
// linkdef_apply_failed event and kept for RetryFailed.
func (g *Gate) Apply(ctx context.Context, l control.LinkDefinition, set bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := linkID(l)
	if old := g.bound[id]; old != nil {
		g.teardown(ctx, old)
		delete(g.bound, id)
	}
	delete(g.failed, id)
	if !set || !g.host.Running(l.ActorID) {
		return
	}
	// A link the actor's signed claims do not allow is never served: an HTTP port bound for an actor without
	// the claim would answer every request with an error, a subscription would deliver what it cannot take.
	if caps, ok := g.host.Caps(l.ActorID); ok && !slices.Contains(caps, l.ContractID) {
		g.log.Warn("link not served: the actor's claims do not list its contract", attrActor, l.ActorID,
			attrContract, l.ContractID, attrLinkName, l.LinkName)
		return
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &binding{link: l, values: g.parse(l), cancel: cancel}
	err := b.values.err
	switch {
	case err != nil:
	case l.ProviderID == BuiltinMessaging && l.ContractID == contract.ContractMessaging:
		from := wire.Entity{PublicKey: BuiltinMessaging, ContractID: contract.ContractMessaging, LinkName: l.LinkName}
		b.subs, err = g.msg.Subscribe(bctx, b.values.msg, from, g.deliver)
	case l.ProviderID == BuiltinHTTPServer && l.ContractID == contract.ContractHTTPServer:
		from := wire.Entity{PublicKey: BuiltinHTTPServer, ContractID: contract.ContractHTTPServer, LinkName: l.LinkName}
		b.addr, err = g.http.BindActor(l.Values, from, l.ActorID, g.deliverHTTP)
	}
	if err != nil {
		g.teardown(ctx, b)
		if g.failed == nil {
			g.failed = map[string]control.LinkDefinition{}
		}
		g.failed[id] = l
		g.log.Warn("could not apply a link; retrying with each heartbeat", attrActor, l.ActorID, attrContract, l.ContractID, attrLinkName, l.LinkName, attrError, err)
		g.host.PublishEvent("linkdef_apply_failed", map[string]any{"actor_id": l.ActorID, "provider_id": l.ProviderID,
			"contract_id": l.ContractID, "link_name": l.LinkName, "host_id": g.cfg.HostID, "error": err.Error()})
		return
	}
	if g.bound == nil {
		g.bound = map[string]*binding{}
	}
	g.bound[id] = b
}

// RetryFailed applies again the links that could not be applied (a port that was still in use, say), as
// the lattice has them now.
func (g *Gate) RetryFailed(ctx context.Context) {
	for _, l := range g.FailedLinks() {
		if current, ok := g.host.Link(l.ActorID, l.ContractID, l.LinkName); ok {
			g.Apply(ctx, current, true)
		}
	}
}

// FailedLinks returns the links that could not be applied and wait for RetryFailed.
func (g *Gate) FailedLinks() []control.LinkDefinition {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]control.LinkDefinition, 0, len(g.failed))
	for _, l := range g.failed {
		out = append(out, l)
	}
	return out
}

// Shutdown tears down what every link set up and stops the HTTP server, letting requests in flight finish
// as long as ctx allows.
func (g *Gate) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	for id, b := range g.bound {
		g.teardown(ctx, b)
		delete(g.bound, id)
	}
	g.mu.Unlock()
	return g.http.Shutdown(ctx)
}

// deliver sends an invocation from a built-in provider to an actor on this host.
func (g *Gate) deliver(ctx context.Context, from wire.Entity, actorKey, op string, payload []byte) ([]byte, error) {
	if !g.host.Running(actorKey) {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, actorKey)
	}
	return g.host.Deliver(ctx, from, actorKey, op, payload)
}

// deliverHTTP is deliver for the HTTP server, which answers 503 rather than 502 when the actor is gone.
func (g *Gate) deliverHTTP(ctx context.Context, from wire.Entity, actorKey, op string, payload []byte) ([]byte, error) {
	out, err := g.deliver(ctx, from, actorKey, op, payload)
	if errors.Is(err, ErrNotRunning) {
		return nil, fmt.Errorf("%w: %w", httpserver.ErrActorGone, err)
	}
	return out, err
}
