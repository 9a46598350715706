package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// ctlRoute is one subject of the control interface and its handler.
type ctlRoute struct {
	subject, queue string
	// query marks a request that changes nothing (a question, or a bid in an auction): it stays open to
	// anyone, as in 0.x. Every other route changes the lattice, so when WASMCLOUD_CTL_ISSUERS is set its
	// requests must carry a token one of those keys signed, and a token is honoured once: the zero value is
	// the safe one, and a route added without thought is signed.
	query  bool
	handle func(context.Context, *nats.Msg) any
}

// ctlRoutes is the control interface: every subject the host answers, with whether it changes the lattice.
// Queries that one host answers for the whole lattice (claims, links, link changes) use a queue group, as the
// OTP host does; the rest reach every host or one host by its id.
func (h *Host) ctlRoutes() []ctlRoute {
	c, id := lattice.NewCtlSubjects(h.cfg.CtlTopicPrefix, h.cfg.LatticePrefix), h.HostID()
	q := c.Base() // the queue group of requests one host answers for the lattice
	return []ctlRoute{
		{subject: c.PingHosts(), query: true, handle: h.ctlPing},
		{subject: c.Inventory(id), query: true, handle: func(context.Context, *nats.Msg) any { return h.inventory() }},
		{subject: c.Claims(), queue: q, query: true, handle: func(context.Context, *nats.Msg) any { return h.data.ClaimsList() }},
		{subject: c.Links(), queue: q, query: true, handle: func(context.Context, *nats.Msg) any {
			return control.LinkDefinitionList{Links: h.data.Links()}
		}},
		{subject: c.Auction(), query: true, handle: h.ctlAuction},
		{subject: c.LinkPut(), queue: q, handle: h.ctlLinkPut},
		{subject: c.LinkDel(), queue: q, handle: h.ctlLinkDel},
		{subject: c.Registries(), handle: h.ctlRegistries},
		{subject: c.Revoke(), queue: q, handle: h.ctlRevoke},
		{subject: c.Command(id, lattice.CmdStartActor), handle: h.ctlStartActor},
		{subject: c.Command(id, lattice.CmdStopActor), handle: h.ctlStopActor},
		{subject: c.Command(id, lattice.CmdScaleActor), handle: h.ctlScaleActor},
		{subject: c.Command(id, lattice.CmdUpdateActor), handle: h.ctlUpdateActor},
		{subject: c.Command(id, lattice.CmdStopHost), handle: h.ctlStopHost},
		{subject: c.ProviderAuction(), query: true, handle: h.ctlProviderAuction},
		{subject: c.Command(id, lattice.CmdStartProvider), handle: h.ctlStartProvider},
		{subject: c.Command(id, lattice.CmdStopProvider), handle: h.ctlStopProvider},
	}
}

// startControl subscribes the control interface on the control connection.
func (h *Host) startControl(ctx context.Context) error {
	for _, r := range h.ctlRoutes() {
		if r.queue != "" {
			continue // lattice-wide: subscribed while the lattice bucket is loaded (subscribeLattice)
		}
		sub, err := h.ctlConn.QueueSubscribe(r.subject, r.queue, func(m *nats.Msg) { h.ctlServe(ctx, m, r) })
		if err != nil {
			return fmt.Errorf("host: subscribe %s: %w", r.subject, err)
		}
		h.ctlSubs = append(h.ctlSubs, sub)
	}
	return h.ctlConn.FlushTimeout(5 * time.Second)
}

// ctlServe answers one request of route r: a request that changes the lattice is refused, before anything
// else happens, unless its token checks out (when control is signed).
func (h *Host) ctlServe(ctx context.Context, m *nats.Msg, r ctlRoute) {
	if !r.query {
		// A request a queue group answers may be replayed to another host of the group: its token is
		// recorded lattice-wide.
		if err := h.ctlAuth.check(ctx, m, r.queue != ""); err != nil {
			h.ctlReply(ctx, m, func(context.Context, *nats.Msg) any { return control.CtlAck{Accepted: false, Error: err.Error()} })
			return
		}
	}
	h.ctlReply(ctx, m, r.handle)
}

// ctlReply runs a handler and sends its answer; a nil answer sends nothing (an auction the host does not bid
// in). A handler never panics the host: a bad request gets a refusal that says why.
func (h *Host) ctlReply(ctx context.Context, m *nats.Msg, handle func(context.Context, *nats.Msg) any) {
	answer := handle(ctx, m)
	if answer == nil || m.Reply == "" {
		return
	}
	b, err := json.Marshal(answer)
	if err != nil {
		b, _ = json.Marshal(control.CtlAck{Error: "host: encode reply: " + err.Error()})
	}
	if err := m.Respond(b); err != nil {
		h.log.Warn("could not answer a control request", "subject", m.Subject, attrError, err)
	}
}

// ack builds a command reply; refusals are logged with the subject.
func (h *Host) ack(m *nats.Msg, err error) control.CtlAck {
	if err != nil {
		h.log.Warn("refused control request", "subject", m.Subject, attrReason, err)
		return control.CtlAck{Accepted: false, Error: err.Error()}
	}
	return control.CtlAck{Accepted: true}
}

func (h *Host) ctlPing(context.Context, *nats.Msg) any {
	// 0.x hosts also publish a heartbeat on every ping. Only the event: health checks run the actors, and
	// anyone who can publish a ping must not be able to make them run.
	h.publishEvent("host_heartbeat", h.inventory())
	return h.hostInfo()
}

func (h *Host) ctlLinkPut(ctx context.Context, m *nats.Msg) any {
	var l control.LinkDefinition
	if err := control.DecodeCtl(m.Data, &l); err != nil {
		return h.ack(m, err)
	}
	// Values a built-in provider cannot use (an address, a bucket of the lattice's own, a subscription on
	// its subjects) are refused here, not discovered at the first call.
	if err := h.caps.CheckLink(l); err != nil {
		return h.ack(m, err)
	}
	// A link the actor's signed claims cannot use is refused; one for an actor the lattice does not know yet is
	// kept, and served once its claims arrive and list the contract.
	if _, caps, ok := h.data.VerifiedClaims(l.ActorID); ok && !slices.Contains(caps, l.ContractID) {
		return h.ack(m, fmt.Errorf("%w %s", ErrNoCapabilityClaim, l.ContractID))
	}
	if err := h.policyForLink(ctx, l); err != nil {
		return h.ack(m, err)
	}
	var err error
	if req := h.signedRequest(m); !req.IsZero() {
		l, err = h.data.PutSignedLink(ctx, l, req)
	} else {
		l, err = h.data.PutLink(ctx, l)
	}
	if err == nil {
		h.publishEvent("linkdef_set", l)
		h.forwardLink(l, true, true)
	}
	return h.ack(m, err)
}

func (h *Host) ctlLinkDel(ctx context.Context, m *nats.Msg) any {
	var r control.RemoveLinkDefinition
	if err := control.DecodeCtl(m.Data, &r); err != nil {
		return h.ack(m, err)
	}
	var (
		l   control.LinkDefinition
		ok  bool
		err error
	)
	if req := h.signedRequest(m); !req.IsZero() {
		l, ok, err = h.data.DelSignedLink(ctx, r, req)
	} else {
		l, ok, err = h.data.DelLink(ctx, r)
	}
	if err == nil && !ok {
		err = fmt.Errorf("%w: no link for actor %s, contract %s, link name %s", ErrNoLink, r.ActorID, r.ContractID, r.LinkName)
	}
	if err == nil {
		h.publishEvent("linkdef_deleted", l)
		h.forwardLink(l, false, true)
	}
	return h.ack(m, err)
}

// ctlAuction bids for an actor when this host's labels satisfy the constraints and it can load the reference.
func (h *Host) ctlAuction(ctx context.Context, m *nats.Msg) any {
	var r control.ActorAuctionRequest
	if err := control.DecodeCtl(m.Data, &r); err != nil {
		h.log.Warn("ignoring a malformed auction", attrReason, err)
		return nil
	}
	h.mu.RLock()
	draining := h.draining
	h.mu.RUnlock()
	if draining || !h.labelsMatch(r.Constraints) || h.checkRef(r.ActorRef) != nil {
		return nil
	}
	if r.Constraints == nil {
		r.Constraints = map[string]string{}
	}
	return control.ActorAuctionAck{ActorRef: r.ActorRef, Constraints: r.Constraints, HostID: h.HostID()}
}

func (h *Host) ctlRegistries(ctx context.Context, m *nats.Msg) any {
	var creds control.RegistryCredentialMap
	if err := control.DecodeCtl(m.Data, &creds); err != nil {
		return h.ack(m, err)
	}
	if h.oci == nil {
		return h.ack(m, fmt.Errorf("%w: this host does not pull from registries", ErrUnsupportedRef))
	}
	for registry, c := range creds {
		h.oci.setCredentials(registry, c)
	}
	return h.ack(m, nil)
}

// ctlStartActor acknowledges once the request is known to be loadable, and starts the actor in the
// background: success and failure are reported as actors_started and actors_start_failed events.
func (h *Host) ctlStartActor(ctx context.Context, m *nats.Msg) any {
	var c control.StartActorCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	if err := h.checkRef(c.ActorRef); err != nil {
		return h.ack(m, err)
	}
	if !h.background(ctx, func(ctx context.Context) {
		_, _ = h.startActor(ctx, c.ActorRef, int(c.Count), c.Annotations)
	}) {
		return h.ack(m, ErrShuttingDown)
	}
	return h.ack(m, nil)
}

func (h *Host) ctlStopActor(ctx context.Context, m *nats.Msg) any {
	var c control.StopActorCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	key := h.resolveRunning(c.ActorRef)
	ra := h.running(key)
	if ra == nil {
		return h.ack(m, fmt.Errorf("%w: %s", ErrNotRunning, c.ActorRef))
	}
	_, current := ra.snapshot()
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout+5*time.Second)
	defer cancel()
	if c.Count == 0 || int(c.Count) >= current {
		return h.ack(m, h.StopActor(ctx, key))
	}
	return h.ack(m, h.ScaleActor(ctx, key, current-int(c.Count)))
}

func (h *Host) ctlScaleActor(ctx context.Context, m *nats.Msg) any {
	var c control.ScaleActorCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	key := c.ActorID
	if key == "" {
		key = h.resolveRunning(c.ActorRef)
	}
	if h.running(key) == nil {
		return h.ack(m, fmt.Errorf("%w: %s", ErrNotRunning, key))
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout+5*time.Second)
	defer cancel()
	return h.ack(m, h.ScaleActor(ctx, key, int(c.Instances())))
}

func (h *Host) ctlUpdateActor(ctx context.Context, m *nats.Msg) any {
	var c control.UpdateActorCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	if err := h.checkRef(c.NewActorRef); err != nil {
		return h.ack(m, err)
	}
	key := c.ActorID
	if h.running(key) == nil {
		return h.ack(m, fmt.Errorf("%w: %s", ErrNotRunning, key))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return h.ack(m, h.UpdateActor(ctx, key, c.NewActorRef))
}

// ctlStopHost acknowledges, then asks the daemon to drain and exit.
func (h *Host) ctlStopHost(ctx context.Context, m *nats.Msg) any {
	var c control.StopHostCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	h.stopOnce.Do(func() {
		h.log.Info("stop requested through the control interface")
		close(h.stopRequested)
	})
	return h.ack(m, nil)
}

// resolveRunning maps an actor reference (its key, or the reference it was started from) to the key of a
// running actor.
func (h *Host) resolveRunning(ref string) string {
	if nkey.CheckID(ref, nkey.Module) == nil {
		return ref
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for key, a := range h.actors {
		if a != nil && a.ref == ref {
			return key
		}
	}
	return ref
}

// background runs f in a goroutine that Shutdown waits for, with ctx bounded to two minutes; it reports
// false when the host is shutting down.
func (h *Host) background(ctx context.Context, f func(ctx context.Context)) bool {
	h.mu.RLock()
	draining := h.draining
	h.mu.RUnlock()
	if draining {
		return false
	}
	return h.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		f(ctx)
	})
}

// StopRequested is closed when a control client asked this host to stop (cmd.{host}.stop).
func (h *Host) StopRequested() <-chan struct{} { return h.stopRequested }
