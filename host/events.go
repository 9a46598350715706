package host

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// heartbeatInterval is how often a host publishes host_heartbeat (and checks its actors' health), as 0.x does.
const heartbeatInterval = 30 * time.Second

// publishEvent publishes a lattice event from this host over the control connection. Events never carry a
// seed: their data is built from public claims and ids.
func (h *Host) publishEvent(name string, data any) {
	if h.ctlConn == nil {
		return
	}
	if err := lattice.NewEventPublisher(h.ctlConn, h.cfg.LatticePrefix, h.HostID()).Publish(name, data); err != nil {
		h.log.Warn("could not publish an event", "event", name, attrError, err)
	}
}

// heartbeatLoop publishes host_heartbeat and health checks, and retries the links that could not be applied,
// every heartbeatInterval until stop is closed. A heartbeat in progress runs to its end in ctx.
func (h *Host) heartbeatLoop(ctx context.Context, stop <-chan struct{}) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			h.caps.RetryFailed(ctx)
			h.heartbeat(ctx)
		}
	}
}

// heartbeat publishes the inventory as host_heartbeat, and checks every actor's health.
func (h *Host) heartbeat(ctx context.Context) {
	h.publishEvent("host_heartbeat", h.inventory())
	h.mu.RLock()
	running := make([]*runningActor, 0, len(h.actors))
	for _, a := range h.actors {
		if a != nil {
			running = append(running, a)
		}
	}
	h.mu.RUnlock()
	for _, a := range running {
		h.checkHealth(ctx, a)
	}
}

// healthRequest is the HealthCheckRequest every 0.x actor answers: an empty MessagePack map.
var healthRequest = []byte{0x80}

// checkHealth calls Actor.HealthRequest and publishes health_check_passed or health_check_failed when the
// result changes (the first result counts as a change), and health_check_status every time.
func (h *Host) checkHealth(ctx context.Context, ra *runningActor) {
	claims, _ := ra.snapshot()
	cctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout)
	defer cancel()
	out, err := ra.act.Load().Call(cctx, "Actor.HealthRequest", healthRequest)
	healthy := err == nil && healthyReply(out)
	data := map[string]any{"public_key": claims.Subject, "contract_id": "", "link_name": "", "healthy": healthy}
	ra.mu.Lock()
	changed := ra.healthy == nil || *ra.healthy != healthy
	ra.healthy = &healthy
	ra.mu.Unlock()
	if changed {
		name := "health_check_passed"
		if !healthy {
			name = "health_check_failed"
		}
		h.publishEvent(name, data)
	}
	h.publishEvent("health_check_status", data)
}

// healthyReply reads HealthCheckResponse {healthy: bool, message?: str}.
func healthyReply(b []byte) bool {
	v, _, err := msgp.ReadMapStrIntfBytes(b, nil)
	if err != nil {
		return false
	}
	healthy, _ := v["healthy"].(bool)
	return healthy
}

// friendlyName is a stable, readable name derived from the host key (0.x hosts generate one).
func (h *Host) friendlyName() string {
	return "host-" + strings.ToLower(h.HostID()[1:9])
}

func (h *Host) uptime() (uint64, string) {
	d := time.Since(h.started).Truncate(time.Second)
	return uint64(d.Seconds()), d.String()
}

// hostInfo is this host's answer to ping.hosts.
func (h *Host) hostInfo() control.HostInfo {
	secs, human := h.uptime()
	var domain *string
	if h.cfg.JSDomain != "" {
		domain = &h.cfg.JSDomain
	}
	return control.HostInfo{
		ID: h.HostID(), Issuer: h.cluster.PublicKey(), Labels: h.cfg.Labels, FriendlyName: h.friendlyName(),
		UptimeSeconds: secs, UptimeHuman: human, Version: h.version,
		ClusterIssuers: strings.Join(h.cluster.Issuers(), ","), JSDomain: domain,
		CtlHost: h.cfg.CTL.Host, RPCHost: h.cfg.RPC.Host,
		LatticePrefix: h.cfg.LatticePrefix, Lattice: h.cfg.LatticePrefix,
	}
}

// inventory is this host's answer to get.{host}.inv, and the data of host_heartbeat.
func (h *Host) inventory() control.HostInventory {
	secs, human := h.uptime()
	inv := control.HostInventory{
		HostID: h.HostID(), Issuer: h.cluster.PublicKey(), Labels: h.cfg.Labels, FriendlyName: h.friendlyName(),
		Version: h.version, UptimeSeconds: secs, UptimeHuman: human,
		Actors: []control.ActorDescription{}, Providers: append(capability.BuiltinProviders(), h.providerDescriptions()...),
	}
	h.mu.RLock()
	for _, a := range h.actors {
		if a == nil {
			continue
		}
		a.mu.Lock()
		d := control.ActorDescription{ID: a.claims.Subject, ImageRef: a.ref, Name: a.claims.Name, MaxInstances: len(a.instanceIDs)}
		for _, id := range a.instanceIDs {
			annotations := a.annotations
			if annotations == nil {
				annotations = map[string]string{}
			}
			d.Instances = append(d.Instances, control.ActorInstance{InstanceID: id, Annotations: annotations, Revision: a.claims.Rev,
				ImageRef: a.ref, MaxInstances: len(a.instanceIDs)})
		}
		a.mu.Unlock()
		inv.Actors = append(inv.Actors, d)
	}
	h.mu.RUnlock()
	sort.Slice(inv.Actors, func(i, j int) bool { return inv.Actors[i].ID < inv.Actors[j].ID })
	return inv
}

// labelsMatch reports whether the host's labels satisfy every constraint.
func (h *Host) labelsMatch(constraints map[string]string) bool {
	for k, v := range constraints {
		if h.cfg.Labels[k] != v {
			return false
		}
	}
	return true
}
