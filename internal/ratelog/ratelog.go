// Package ratelog limits how often a logger writes the lines that a flood of refusals would repeat: a
// slog.Handler that passes at most a burst of records per interval for each of a fixed set of messages and
// drops the rest, counting them. The next record of that message that passes carries the attribute
// "suppressed" with the number dropped since the last one written, so the log still says how many there were;
// metrics count every refusal regardless.
//
// Only the messages it is given are limited, matched exactly: every other record passes untouched, so a
// warning that happens once is never lost to a flood of another.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// AttrSuppressed is the attribute that says how many records of the same message were dropped before this one.
const AttrSuppressed = "suppressed"

// Config says what is limited and how much.
type Config struct {
	// Messages are the record messages that are limited.
	Messages []string
	// Burst is how many records of one message pass per Interval (at least 1).
	Burst int
	// Interval is the length of a window (one second when zero).
	Interval time.Duration
	// Now is the clock (time.Now when nil); tests replace it.
	Now func() time.Time
}

// window is the state of one limited message.
type window struct {
	start      time.Time
	passed     int
	suppressed int64
}

// limiter is shared by a Handler and every handler derived from it with WithAttrs or WithGroup, so that
// loggers made with With count against the same limit.
type limiter struct {
	burst    int
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	windows map[string]*window // by message; guarded by mu
}

// Handler is the limiting slog.Handler.
type Handler struct {
	next slog.Handler
	lim  *limiter
}

// New returns a handler that passes records to next, limiting those whose message is in cfg.Messages.
func New(next slog.Handler, cfg Config) *Handler {
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &limiter{burst: cfg.Burst, interval: cfg.Interval, now: cfg.Now, windows: map[string]*window{}}
	for _, m := range cfg.Messages {
		l.windows[m] = &window{}
	}
	return &Handler{next: next, lim: l}
}

// Enabled reports whether next handles records of level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes r on, unless it is a limited message over its burst.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	suppressed, pass := h.lim.allow(r.Message)
	if !pass {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int64(AttrSuppressed, suppressed))
	}
	return h.next.Handle(ctx, r)
}

// allow reports whether a record of msg passes, and how many were dropped before it.
func (l *limiter) allow(msg string) (int64, bool) {
	w := l.windows[msg] // the map is never written after New
	if w == nil {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(w.start) >= l.interval || now.Before(w.start) {
		w.start, w.passed = now, 0
	}
	if w.passed >= l.burst {
		w.suppressed++
		return 0, false
	}
	w.passed++
	s := w.suppressed
	w.suppressed = 0
	return s, true
}

// WithAttrs returns a handler with attrs that shares h's limits.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), lim: h.lim}
}

// WithGroup returns a handler with a group that shares h's limits.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), lim: h.lim}
}
