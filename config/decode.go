package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file holds the value types that envconfig decodes variables into. Each implements
// envconfig.Decoder; a Decode error never contains the value (VarError adds it for non-secrets).

// ParseBool parses a boolean the way wasmCloud 0.x does, case-insensitively: 1, true, yes, y,
// enabled and enable are true; 0, false, no, n, disabled and disable are false. Anything else,
// including the empty string, is an error: a typo never silently means false.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "y", "enabled", "enable":
		return true, nil
	case "0", "false", "no", "n", "disabled", "disable":
		return false, nil
	}
	return false, errNotBool
}

var errNotBool = errors.New("not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)")

// Bool is a boolean variable decoded with ParseBool.
type Bool bool

// Decode implements envconfig.Decoder.
func (b *Bool) Decode(s string) error {
	v, err := ParseBool(s)
	if err != nil {
		return err
	}
	*b = Bool(v)
	return nil
}

// text is a string variable taken as it is; validation happens in Validate.
type text string

func (t *text) Decode(s string) error { *t = text(s); return nil }

// port is a TCP port, 1..65535.
type port int

func (p *port) Decode(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return errors.New("not a port (want 1..65535)")
	}
	*p = port(n)
	return nil
}

// millis is a duration written as a whole, positive number of milliseconds, as in 0.x.
type millis time.Duration

func (m *millis) Decode(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/int64(time.Millisecond) {
		return errors.New("not a positive whole number of milliseconds")
	}
	*m = millis(time.Duration(n) * time.Millisecond)
	return nil
}

// duration is a non-negative Go duration ("30s", "1m30s", "500ms").
type duration time.Duration

func (d *duration) Decode(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return errors.New(`not a duration (want e.g. "30s", "1m", "500ms")`)
	}
	*d = duration(v)
	return nil
}

// count is a positive whole number.
type count int

func (c *count) Decode(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return errors.New("not a positive whole number")
	}
	*c = count(n)
	return nil
}

// list is a comma-separated list; items are trimmed and empty items dropped.
type list []string

func (l *list) Decode(s string) error {
	*l = splitList(s)
	return nil
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// level is a log level: debug, info, warn (or warning) or error, case-insensitively.
type level slog.Level

func (l *level) Decode(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		*l = level(slog.LevelDebug)
	case "info":
		*l = level(slog.LevelInfo)
	case "warn", "warning":
		*l = level(slog.LevelWarn)
	case "error":
		*l = level(slog.LevelError)
	default:
		return errors.New("not a log level (want debug, info, warn or error)")
	}
	return nil
}

// EmbeddedMode is the value of WASMCLOUD_NATS_EMBEDDED.
type EmbeddedMode string

// The three embedded-NATS modes.
const (
	// EmbeddedAuto starts an embedded nats-server only when neither NATS connection was
	// configured and nothing answers on the default address.
	EmbeddedAuto EmbeddedMode = "auto"
	// EmbeddedAlways always starts an embedded nats-server.
	EmbeddedAlways EmbeddedMode = "true"
	// EmbeddedNever never starts one.
	EmbeddedNever EmbeddedMode = "false"
)

// ParseEmbeddedMode accepts "auto" or any boolean spelling ParseBool accepts, case-insensitively.
func ParseEmbeddedMode(s string) (EmbeddedMode, error) {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		return EmbeddedAuto, nil
	}
	b, err := ParseBool(s)
	if err != nil {
		return "", errors.New("not an embedded-NATS mode (want auto, true or false)")
	}
	if b {
		return EmbeddedAlways, nil
	}
	return EmbeddedNever, nil
}

// Decode implements envconfig.Decoder.
func (m *EmbeddedMode) Decode(s string) error {
	v, err := ParseEmbeddedMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// String returns the mode as written in the environment.
func (m EmbeddedMode) String() string { return string(m) }

// checkEmbeddedMode reports whether m is one of the three modes.
func checkEmbeddedMode(m EmbeddedMode) error {
	switch m {
	case EmbeddedAuto, EmbeddedAlways, EmbeddedNever:
		return nil
	}
	return fmt.Errorf("not an embedded-NATS mode (want %s, %s or %s)", EmbeddedAuto, EmbeddedAlways, EmbeddedNever)
}

// ReplayScope says where a host records the invocations it accepted, to refuse replays
// (WASMCLOUD_REPLAY_SCOPE).
type ReplayScope string

// The replay scopes.
const (
	// ReplayLattice records every accepted invocation lattice-wide as well (a JetStream key-value bucket), so
	// that a captured invocation is refused by every host of the lattice, not only the one that saw it.
	ReplayLattice ReplayScope = "lattice"
	// ReplayHost records them in the host's own replay cache only: enough for a single host, or a lattice where
	// each actor runs on one host, and the only choice without JetStream.
	ReplayHost ReplayScope = "host"
)

// Decode implements envconfig.Decoder.
func (r *ReplayScope) Decode(s string) error {
	switch v := ReplayScope(strings.ToLower(strings.TrimSpace(s))); v {
	case ReplayLattice, ReplayHost:
		*r = v
		return nil
	}
	return fmt.Errorf("not a replay scope (want %s or %s)", ReplayLattice, ReplayHost)
}

// String returns the scope as written in the environment.
func (r ReplayScope) String() string { return string(r) }

// byteSize is a positive number of bytes, with an optional K, M or G suffix (powers of 1024), as "64M".
type byteSize int64

func (b *byteSize) Decode(s string) error {
	t, mult := strings.TrimSpace(s), int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1<<10, t[:n-1]
		case 'm', 'M':
			mult, t = 1<<20, t[:n-1]
		case 'g', 'G':
			mult, t = 1<<30, t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return errors.New("not a size (a positive number of bytes, K, M or G allowed)")
	}
	*b = byteSize(n * mult)
	return nil
}

// replicas is WASMCLOUD_JS_REPLICAS: "auto" (0) or a replica count of 1 to 5, the most JetStream allows.
type replicas int

func (r *replicas) Decode(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*r = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return errors.New("not a replica count (want auto or 1..5)")
	}
	*r = replicas(n)
	return nil
}

// normalizeURLs writes a bare host:port as nats://host:port; other entries are kept as they are and checked
// by validate.
func normalizeURLs(urls []string) []string {
	var out []string
	for _, u := range urls {
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		out = append(out, u)
	}
	return out
}
