package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
)

// Reasons a signed control request is refused: the labels of Host.RefusedControl.
const (
	refusedSignature = "control_signature"
	refusedUntrusted = "control_untrusted"
	refusedBody      = "control_body"
	refusedReplay    = "control_replay"
	refusedExpired   = "control_expired"
	refusedRevoked   = "control_revoked"
)

// refusalReasons lists every label, so that RefusedControl reports each of them, zero or not.
var refusalReasons = []string{refusedSignature, refusedUntrusted, refusedBody, refusedReplay, refusedExpired, refusedRevoked}

const (
	// ctlReplayCapacity bounds the host's own record of accepted control tokens. Control requests come at
	// human or orchestrator rates; a full record refuses rather than forgets.
	ctlReplayCapacity = 100_000
	// refusalLogInterval is the shortest time between two log lines about refusals of one reason; the
	// refusals in between are counted and reported with the next line.
	refusalLogInterval = 10 * time.Second
)

// claimer is the lattice-wide once-only record (lattice.Once) as the guard uses it.
type claimer interface {
	Claim(ctx context.Context, key string, until time.Time) error
}

// ctlGuard checks the tokens of control requests that change the lattice, when WASMCLOUD_CTL_ISSUERS is
// set, and refuses replays: on this host for requests that reach one host or every host (cmd.{host}.*,
// registries.put), lattice-wide for those a queue group answers (linkdefs.*), since a replay of those may
// reach another host. It counts refusals by reason and logs them at most once per reason per
// refusalLogInterval, so that a flood of forged requests cannot flood the log.
type ctlGuard struct {
	verifier *control.Verifier // nil: requests are not checked (0.x)
	local    *tokenRecord
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics.Metrics // counts refusals in wasmcloud_refusals_total (nil: not counted)

	// mu guards lattice, counts, lastLog and suppressed.
	mu         sync.Mutex
	lattice    claimer // nil until the once-only record is open; without it, queue-group requests are refused
	counts     map[string]int64
	lastLog    map[string]time.Time
	suppressed map[string]int64
}

func newCtlGuard(v *control.Verifier, log *slog.Logger) *ctlGuard {
	return &ctlGuard{verifier: v, local: newTokenRecord(ctlReplayCapacity), log: log, now: time.Now,
		counts: map[string]int64{}, lastLog: map[string]time.Time{}, suppressed: map[string]int64{}}
}

// enabled reports whether control requests are checked.
func (g *ctlGuard) enabled() bool { return g != nil && g.verifier != nil }

// setLattice gives the guard the lattice-wide once-only record.
func (g *ctlGuard) setLattice(c claimer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lattice = c
}

// check verifies the token of a request that changes the lattice and records it against replays; shared
// says that other hosts answer the same subject (a queue group), so the record must be lattice-wide. It
// returns the refusal to send back, already counted and logged, or nil.
func (g *ctlGuard) check(ctx context.Context, m *nats.Msg, shared bool) error {
	if !g.enabled() {
		return nil
	}
	token := ""
	if m.Header != nil {
		token = m.Header.Get(control.TokenHeader)
	}
	r, err := g.verifier.Verify(m.Subject, m.Data, token)
	if err == nil {
		err = g.record(ctx, r, shared)
	}
	if err != nil {
		g.refused(m.Subject, err)
	}
	return err
}

// record remembers an accepted token until its deadline, refusing it if it was seen before.
func (g *ctlGuard) record(ctx context.Context, r control.Request, shared bool) error {
	if !shared {
		if err := g.local.add(r.ReplayKey(), g.now(), r.Deadline); err != nil {
			return err
		}
		return nil
	}
	g.mu.Lock()
	once := g.lattice
	g.mu.Unlock()
	if once == nil {
		return fmt.Errorf("%w: %w", errReplayRecord, lattice.ErrNoData)
	}
	switch err := once.Claim(ctx, r.ReplayKey(), r.Deadline); {
	case err == nil:
		return nil
	case errors.Is(err, lattice.ErrAlreadyClaimed):
		return control.ErrReplayed
	default:
		return fmt.Errorf("%w: %w", errReplayRecord, err)
	}
}

// recordClaimer is the host's lattice-wide replay record (replay.go) as the guard uses it: it opens the
// record when it is not open yet, so link changes work as soon as JetStream does.
type recordClaimer struct{ r *replayRecord }

func (c recordClaimer) Claim(ctx context.Context, key string, until time.Time) error {
	fresh, err := c.r.claim(ctx, key, until)
	switch {
	case err != nil:
		return err
	case !fresh:
		return lattice.ErrAlreadyClaimed
	}
	return nil
}

// errReplayRecord is a request refused because its token could not be recorded against replays.
var errReplayRecord = errors.New("control: cannot record the token against replays")

// reasonOf maps a refusal to its label.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, control.ErrUntrustedSigner):
		return refusedUntrusted
	case errors.Is(err, control.ErrBodyMismatch), errors.Is(err, control.ErrSubjectMismatch):
		return refusedBody
	case errors.Is(err, control.ErrReplayed), errors.Is(err, errReplayRecord):
		return refusedReplay
	case errors.Is(err, control.ErrExpired), errors.Is(err, control.ErrNotYetValid):
		return refusedExpired
	case errors.Is(err, revoke.ErrRevoked):
		return refusedRevoked
	default:
		return refusedSignature
	}
}

// refused counts a refusal and logs it unless a line about the same reason was written less than
// refusalLogInterval ago.
func (g *ctlGuard) refused(subject string, err error) {
	reason := reasonOf(err)
	now := g.now()
	g.mu.Lock()
	g.counts[reason]++
	g.metrics.Refusal(metrics.Reason(reason))
	last, logged := g.lastLog[reason]
	if logged && now.Sub(last) < refusalLogInterval {
		g.suppressed[reason]++
		g.mu.Unlock()
		return
	}
	g.lastLog[reason] = now
	more := g.suppressed[reason]
	g.suppressed[reason] = 0
	g.mu.Unlock()
	attrs := []any{"subject", subject, attrReason, reason, attrError, err}
	if more > 0 {
		attrs = append(attrs, "also_refused", more)
	}
	g.log.Warn("refused an unauthorised control request", attrs...)
}

// counted returns the refusals by reason, every reason present.
func (g *ctlGuard) counted() map[string]int64 {
	out := make(map[string]int64, len(refusalReasons))
	for _, r := range refusalReasons {
		out[r] = 0
	}
	if g == nil {
		return out
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	maps.Copy(out, g.counts)
	return out
}

// RefusedControl returns how many control requests this host refused because of their token, by reason:
// control_signature (no token, or a malformed or badly signed one), control_untrusted (signed by a key not in
// WASMCLOUD_CTL_ISSUERS), control_body (the body or subject is not the one the token binds), control_replay
// (the token was used before, or could not be recorded) and control_expired.
func (h *Host) RefusedControl() map[string]int64 { return h.ctlAuth.counted() }

// tokenRecord remembers accepted control tokens until their deadlines, up to a bound. It is safe for
// concurrent use.
type tokenRecord struct {
	capacity int

	// mu guards seen and noSweepBefore.
	mu            sync.Mutex
	seen          map[string]time.Time
	noSweepBefore time.Time // the earliest deadline in seen after the last sweep
}

func newTokenRecord(capacity int) *tokenRecord {
	return &tokenRecord{capacity: capacity, seen: map[string]time.Time{}}
}

// add records key until deadline. It returns control.ErrReplayed when key is recorded and its deadline has not
// passed, and errReplayRecord when the record is full of live tokens.
func (r *tokenRecord) add(key string, now, deadline time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.seen[key]; ok && !now.After(d) {
		return control.ErrReplayed
	}
	if len(r.seen) >= r.capacity {
		if now.Before(r.noSweepBefore) {
			return fmt.Errorf("%w: %d tokens live", errReplayRecord, len(r.seen))
		}
		earliest := time.Time{}
		for k, d := range r.seen {
			switch {
			case now.After(d):
				delete(r.seen, k)
			case earliest.IsZero() || d.Before(earliest):
				earliest = d
			}
		}
		r.noSweepBefore = earliest
		if len(r.seen) >= r.capacity {
			return fmt.Errorf("%w: %d tokens live", errReplayRecord, len(r.seen))
		}
	}
	r.seen[key] = deadline
	if r.noSweepBefore.IsZero() || deadline.Before(r.noSweepBefore) {
		r.noSweepBefore = deadline
	}
	return nil
}

// newSignedControl builds the guard of the control interface from the configuration (no I/O).
func (h *Host) newSignedControl() error {
	var v *control.Verifier
	if len(h.cfg.CtlIssuers) > 0 {
		skew := h.cfg.ClockSkew
		if skew == 0 {
			skew = -1 // none, which control spells negative
		}
		var err error
		v, err = control.NewVerifier(control.VerifierConfig{Issuers: h.cfg.CtlIssuers, Validity: h.cfg.CtlTokenValidity, Skew: skew})
		if err != nil {
			return fmt.Errorf("host: WASMCLOUD_CTL_ISSUERS: %w", err)
		}
	}
	h.ctlAuth = newCtlGuard(v, h.log)
	h.ctlAuth.metrics = h.metrics
	return nil
}

// startSignedControl says at start whether the control interface and actor starts are open, and opens the
// lattice-wide record of control tokens when control is signed. It runs after the lattice data started.
func (h *Host) startSignedControl(ctx context.Context) {
	if !h.ctlAuth.enabled() {
		h.log.Warn("WASMCLOUD_CTL_ISSUERS is not set: anyone who can publish on the control subjects can start, stop and link actors and stop this host, as in wasmCloud 0.x")
	} else {
		// The record the invocations use (replay.go): the keys of control tokens have a namespace of their own.
		h.ctlAuth.setLattice(recordClaimer{h.replay})
		if _, err := h.replay.open(ctx); err != nil {
			h.log.Warn("the lattice-wide record of control tokens is not open yet: link changes are refused until it opens", attrError, err)
		}
		h.log.Info("control requests must be signed", "ctl_issuers", h.cfg.CtlIssuers)
	}
	if len(h.cfg.ActorIssuers) == 0 {
		h.log.Warn("WASMCLOUD_ACTOR_ISSUERS is not set: actors signed by any account may start on this host")
	}
}

// requireSignedLinks puts the lattice data in signed mode when control is signed: links then apply only with
// the operator's signed request. It runs after the Data is made and before it starts.
func (h *Host) requireSignedLinks() {
	if h.ctlAuth.enabled() {
		h.data.RequireSignedLinks(h.ctlAuth.verifier, lattice.NewCtlSubjects(h.cfg.CtlTopicPrefix, h.cfg.LatticePrefix))
	}
}

// signedRequest returns the request m as the lattice bucket keeps it next to a link: with its token when
// control is signed (the guard has verified it), unsigned otherwise.
func (h *Host) signedRequest(m *nats.Msg) control.SignedRequest {
	if !h.ctlAuth.enabled() || m.Header == nil {
		return control.SignedRequest{}
	}
	return control.SignedRequest{Token: m.Header.Get(control.TokenHeader), Body: m.Data}
}

// LinkRefused reports a link entry of the lattice bucket that was ignored because it was not signed by a
// trusted control issuer (the Data has logged and counted it).
func (o dataObserver) LinkRefused(ctx context.Context, key, reason string, err error) {
	o.h.publishEvent("linkdef_refused", map[string]any{"key": key, "reason": reason, "error": err.Error(), "host_id": o.h.HostID()})
}

// RefusedLatticeData returns how many link entries of the lattice bucket this host ignored because they were
// not signed by a trusted control issuer, by reason: linkdef_unsigned, linkdef_signature, linkdef_stale and
// linkdef_delete. It is all zeros when control is not signed.
func (h *Host) RefusedLatticeData() map[string]int64 { return h.data.Refused() }
