package host

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/httpprov"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// providers holds what the built-in providers set up for links whose actor runs on this host: messaging
// subscriptions and HTTP listeners. A link is served by the hosts that run its actor, so a lattice needs no
// provider process anywhere.
type providers struct {
	// mu guards bound; reconcile holds it while it changes listeners and subscriptions, so link changes and
	// actor starts and stops are applied one at a time.
	mu     sync.Mutex
	bound  map[string]*binding               // by link key
	failed map[string]control.LinkDefinition // links that could not be applied, retried on each heartbeat
	http   *httpprov.Server
}

type binding struct {
	link     control.LinkDefinition
	subs     []*nats.Subscription
	httpAddr string
}

func (b *binding) teardown(p *providers) {
	for _, s := range b.subs {
		_ = s.Drain()
	}
	if b.httpAddr != "" {
		_ = p.http.Unbind(b.httpAddr, b.link.ActorID)
	}
}

// reconcile applies one link: set up what it needs when it is set and its actor runs here, tear it down
// otherwise.
func (h *Host) reconcile(l control.LinkDefinition, set bool) {
	p := &h.prov
	p.mu.Lock()
	defer p.mu.Unlock()
	key := lattice.LinkKey(l.ActorID, l.ContractID, l.LinkName)
	if old := p.bound[key]; old != nil {
		old.teardown(p)
		delete(p.bound, key)
	}
	delete(p.failed, key)
	if !set || h.running(l.ActorID) == nil {
		return
	}
	b := &binding{link: l}
	var err error
	switch {
	case l.ProviderID == BuiltinMessaging && l.ContractID == contract.ContractMessaging:
		b.subs, err = h.subscribe(l)
	case l.ProviderID == BuiltinHTTPServer && l.ContractID == contract.ContractHTTPServer:
		err = h.bindHTTP(b)
	default:
		return // keyvalue needs no setup; other providers are not built in
	}
	if err != nil {
		b.teardown(p)
		if p.failed == nil {
			p.failed = map[string]control.LinkDefinition{}
		}
		p.failed[key] = l
		h.log.Warn("could not apply a link; retrying with each heartbeat", attrActor, l.ActorID, "contract", l.ContractID, "link_name", l.LinkName, attrError, err)
		h.publishEvent("linkdef_apply_failed", map[string]any{"actor_id": l.ActorID, "provider_id": l.ProviderID,
			"contract_id": l.ContractID, "link_name": l.LinkName, "host_id": h.HostID(), "error": err.Error()})
		return
	}
	if p.bound == nil {
		p.bound = map[string]*binding{}
	}
	p.bound[key] = b
}

// retryLinks applies again the links that failed (a port that was still in use, say).
func (h *Host) retryLinks() {
	h.prov.mu.Lock()
	failed := make([]control.LinkDefinition, 0, len(h.prov.failed))
	for _, l := range h.prov.failed {
		failed = append(failed, l)
	}
	h.prov.mu.Unlock()
	for _, l := range failed {
		if current, ok := h.data.Link(l.ActorID, l.ContractID, l.LinkName); ok {
			h.reconcile(current, true)
		}
	}
}

// reconcileActor applies every link of an actor (after it started or stopped here).
func (h *Host) reconcileActor(actorKey string, running bool) {
	for _, l := range h.data.Links() {
		if l.ActorID == actorKey {
			h.reconcile(l, running)
		}
	}
}

// bindHTTP serves a link's address for its actor: each request becomes HttpServer.HandleRequest, delivered
// like any invocation (so the actor's claims must list wasmcloud:httpserver).
func (h *Host) bindHTTP(b *binding) error {
	addr, err := httpprov.ParseAddress(b.link.Values)
	if err != nil {
		return err
	}
	from := wire.Entity{PublicKey: BuiltinHTTPServer, ContractID: contract.ContractHTTPServer, LinkName: b.link.LinkName}
	actorKey := b.link.ActorID
	err = h.prov.http.Bind(addr, actorKey, func(ctx context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		out, err := h.deliver(ctx, from, actorKey, contract.OpHTTPServerHandleRequest, req.AppendMsgpack(nil))
		if errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("%w: %w", httpprov.ErrActorGone, err)
		}
		if err != nil {
			return nil, err
		}
		var resp contract.HTTPResponse
		if err := resp.UnmarshalMsgpack(out); err != nil {
			return nil, err
		}
		return &resp, nil
	})
	if err != nil {
		return err
	}
	b.httpAddr = addr
	return nil
}

// stopProviders tears everything down at shutdown.
func (h *Host) stopProviders(ctx context.Context) error {
	p := &h.prov
	p.mu.Lock()
	for k, b := range p.bound {
		b.teardown(p)
		delete(p.bound, k)
	}
	p.mu.Unlock()
	if p.http != nil {
		return p.http.Shutdown(ctx)
	}
	return nil
}
