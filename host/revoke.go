package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
)

// revocations are the keys this host refuses: those of its revocations file (WASMCLOUD_REVOCATIONS_FILE, re-read
// on reload) merged with the lattice's (`ctl revoke`, watched in the lattice bucket). Every change is applied
// at once: invocations and control requests signed by a revoked key are refused, actors whose module or
// account key is revoked may not start, and running ones are stopped.
type revocations struct {
	mu      sync.Mutex
	file    *revoke.List // guarded by mu
	lattice *revoke.List // guarded by mu
	merged  atomic.Pointer[revoke.List]
}

// setRevocations records the file's or the lattice's revocations (whichever is not nil) and applies the merge.
func (h *Host) setRevocations(ctx context.Context, file, fromLattice *revoke.List) {
	r := &h.revoked
	r.mu.Lock()
	if file != nil {
		r.file = file
	}
	if fromLattice != nil {
		r.lattice = fromLattice
	}
	merged := revoke.Merge(r.file, r.lattice)
	r.merged.Store(merged)
	r.mu.Unlock()
	h.cluster.SetRevocations(merged)
	if h.ctlAuth != nil && h.ctlAuth.verifier != nil {
		h.ctlAuth.verifier.SetRevocations(merged)
	}
	// Stopping drains the actors' invocations: not on the caller's goroutine (the bucket's watch, a reload).
	h.tasks.Go(func() {
		h.data.RecheckSignedLinks(ctx) // the links a revoked control key signed
		h.stopRevokedActors(ctx, merged)
		h.stopRevokedProviders(ctx, merged)
	})
	h.refreshAliases(ctx, false)
}

// refreshAliases signs again, in the background, the call alias records a trust change left unverifiable
// (and with keyChanged, those the previous cluster key signed): see lattice.Data.RefreshAliases.
func (h *Host) refreshAliases(ctx context.Context, keyChanged bool) {
	h.background(context.WithoutCancel(ctx), func(ctx context.Context) {
		if n := h.data.RefreshAliases(ctx, keyChanged); n > 0 {
			h.log.Info("call alias records signed again after a trust change", "records", n)
		}
	})
}

// checkRevoked refuses an actor whose module key, or whose account, is revoked for tokens issued when its
// token was.
func (h *Host) checkRevoked(c *actor.Claims) error {
	if err := h.checkRevokedIn(h.revoked.merged.Load(), c); err != nil {
		return fmt.Errorf("%w: %w", ErrRevoked, err)
	}
	return nil
}

// stopRevokedActors stops every actor on this host that the revocations l refuse, with an actor_revoked event
// and a log line each.
func (h *Host) stopRevokedActors(ctx context.Context, l *revoke.List) {
	if l.Len() == 0 {
		return
	}
	h.mu.RLock()
	var doomed []*actor.Claims
	for _, a := range h.actors {
		if a == nil {
			continue
		}
		c, _ := a.snapshot()
		if h.checkRevokedIn(l, c) != nil {
			doomed = append(doomed, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range doomed {
		reason := h.checkRevokedIn(l, c)
		h.log.Warn("stopping a revoked actor", attrActor, c.Subject, "issuer", c.Issuer, attrReason, reason)
		h.publishEvent("actor_revoked", map[string]any{"public_key": c.Subject, "issuer": c.Issuer, "host_id": h.HostID(),
			"reason": reason.Error()})
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.RPCTimeout+5*time.Second)
		if err := h.StopActor(sctx, c.Subject); err != nil && !errors.Is(err, ErrNotRunning) {
			h.log.Warn("could not stop a revoked actor", attrActor, c.Subject, attrError, err)
		}
		cancel()
	}
}

func (h *Host) checkRevokedIn(l *revoke.List, c *actor.Claims) error {
	if err := l.Check("actor", c.Subject, c.IssuedAt); err != nil {
		return err
	}
	return l.Check("account", c.Issuer, c.IssuedAt)
}

// ctlRevoke stores a lattice-wide revocation (revocations.put, this host's extension): signed control only,
// since anyone who could revoke without a key could stop every actor of the lattice.
func (h *Host) ctlRevoke(ctx context.Context, m *nats.Msg) any {
	var r control.RevokeRequest
	if err := control.DecodeCtl(m.Data, &r); err != nil {
		return h.ack(m, err)
	}
	req := h.signedRequest(m)
	if req.IsZero() {
		return h.ack(m, ErrRevokeUnsigned)
	}
	if err := h.data.PutRevocation(ctx, r, req); err != nil {
		return h.ack(m, err)
	}
	h.log.Info("key revoked lattice-wide", "key", r.Key, "before", r.Before)
	return h.ack(m, nil)
}
