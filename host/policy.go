package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
)

// policyEventInterval spaces the policy_denied events of one action: a policy service that does not answer
// denies every invocation, and the lattice must not be flooded with one event each. Every denial is logged
// (rate-limited) and counted.
const policyEventInterval = time.Second

// policyGate asks the policy service (WASMCLOUD_POLICY_TOPIC, WASMCLOUD_POLICY_SERVICE_ENDPOINT) before an
// actor starts, before an invocation reaches an actor, before a capability call reaches its provider, and
// before a link is stored. Without a policy service it allows everything without I/O.
type policyGate struct {
	svc    atomic.Pointer[policy.Service] // nil: no policy service; a reload replaces it
	denied atomic.Int64

	mu        sync.Mutex
	lastEvent map[policy.Action]time.Time // guarded by mu
}

// decide asks the policy service about r and returns its denial, logged, counted and (at most once per
// interval and action) published as a policy_denied event. ctx bounds the question.
func (h *Host) decide(ctx context.Context, r policy.Request) error {
	p := h.policy
	if p == nil {
		return nil
	}
	svc := p.svc.Load()
	if svc == nil || !svc.Enabled() {
		return nil
	}
	if _, err := svc.Decide(ctx, r); err != nil {
		p.denied.Add(1)
		h.metrics.PolicyDenial(string(r.Action))
		h.log.Warn("policy service denied", "action", string(r.Action), "source", r.Source.PublicKey,
			"target", r.Target.PublicKey, attrReason, err)
		now := time.Now()
		p.mu.Lock()
		publish := now.Sub(p.lastEvent[r.Action]) >= policyEventInterval
		if publish {
			p.lastEvent[r.Action] = now
		}
		p.mu.Unlock()
		if publish {
			h.publishEvent("policy_denied", map[string]any{"action": string(r.Action), "source": r.Source.PublicKey,
				"target": r.Target.PublicKey, "contract_id": r.Target.ContractID, "link_name": r.Target.LinkName,
				"host_id": h.HostID(), "error": err.Error()})
		}
		return err
	}
	return nil
}

// swap puts svc in force and returns the service it replaced.
func (p *policyGate) swap(svc *policy.Service) *policy.Service { return p.svc.Swap(svc) }

// newPolicyService builds (without I/O) the policy service of a configuration.
func (h *Host) newPolicyService(cfg config.Config) (*policy.Service, error) {
	svc, err := policy.New(policy.Config{Topic: cfg.PolicyTopic, ChangesTopic: cfg.PolicyChangesTopic,
		Timeout: cfg.PolicyTimeout, Endpoint: cfg.PolicyEndpoint, Logger: h.log,
		Host: policy.HostInfo{PublicKey: h.HostID(), Issuer: h.cluster.PublicKey(), LatticeID: cfg.LatticePrefix,
			Labels: cfg.Labels, ClusterIssuers: h.cluster.Issuers()}}, h.ctlConn)
	if err != nil {
		return nil, fmt.Errorf("policy service: %w", err)
	}
	return svc, nil
}

// PolicyDenials returns how many actions the policy service denied (including every failure to ask it).
func (h *Host) PolicyDenials() int64 {
	if h.policy == nil {
		return 0
	}
	return h.policy.denied.Load()
}

// actorEntity describes an actor to the policy service from its signed claims.
func actorEntity(c *actor.Claims) policy.Entity {
	e := policy.Entity{PublicKey: c.Subject, Issuer: c.Issuer, Capabilities: c.Caps}
	if !c.IssuedAt.IsZero() {
		e.IssuedOn = strconv.FormatInt(c.IssuedAt.Unix(), 10)
	}
	if !c.Expires.IsZero() {
		exp := c.Expires.Unix()
		e.ExpiresAt = &exp
		e.Expired = time.Now().After(c.Expires)
	}
	return e
}

// invocationSource describes the origin of an invocation: a provider by its key, contract and link name, or
// an actor with what the lattice's verified claims say of it.
func (h *Host) invocationSource(origin wire.Entity) policy.Entity {
	e := policy.Entity{PublicKey: origin.PublicKey, ContractID: origin.ContractID, LinkName: origin.LinkName}
	if origin.ContractID == "" && h.data != nil {
		if issuer, caps, ok := h.data.VerifiedClaims(origin.PublicKey); ok {
			e.Issuer, e.Capabilities = issuer, caps
		}
	}
	return e
}

// policyForStart asks whether an actor may start on this host.
func (h *Host) policyForStart(ctx context.Context, c *actor.Claims) error {
	t := actorEntity(c)
	return h.decide(ctx, policy.Request{Action: policy.ActionStartActor,
		Target: policy.Entity{PublicKey: t.PublicKey, Issuer: t.Issuer}})
}

// policyForInvocation asks whether an invocation may reach the actor c.
func (h *Host) policyForInvocation(ctx context.Context, inv *wire.Invocation, c *actor.Claims) error {
	return h.decide(ctx, policy.Request{Action: policy.ActionPerformInvocation, Source: h.invocationSource(inv.Origin),
		Target: policy.Entity{PublicKey: c.Subject, Issuer: c.Issuer}})
}

// policyForCapability is the capability gate's policy hook: whether an actor may call the provider its link
// names (a host-local built-in has no provider; its target is the contract alone).
func (h *Host) policyForCapability(ctx context.Context, r capability.Request) error {
	target := policy.Entity{ContractID: r.Contract, LinkName: r.LinkName}
	if r.Link != nil {
		target.PublicKey = r.Link.ProviderID
	}
	source := policy.Entity{PublicKey: r.Caller.Key, Capabilities: r.Caller.Caps}
	if ra := h.running(r.Caller.Key); ra != nil {
		c, _ := ra.snapshot()
		source = actorEntity(c)
	}
	return h.decide(ctx, policy.Request{Action: policy.ActionPerformInvocation, Source: source, Target: target})
}

// policyForLink asks whether a link may be stored.
func (h *Host) policyForLink(ctx context.Context, l control.LinkDefinition) error {
	return h.decide(ctx, policy.Request{Action: policy.ActionPutLink, Link: &policy.LinkRequest{ActorID: l.ActorID,
		ProviderID: l.ProviderID, ContractID: l.ContractID, LinkName: l.LinkName, Values: l.Values}})
}

// isPolicyDenial reports whether err is the policy service's refusal.
func isPolicyDenial(err error) bool {
	var pe *policy.Error
	return errors.As(err, &pe)
}
