package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// redacted is what every printed form of a set Secret shows.
const redacted = "[redacted]"

// Secret holds key material (an nkey seed or a NATS user JWT) so that it cannot leak by accident:
// every way Go prints or encodes a value — fmt verbs including %#v, encoding/json, encoding.
// TextMarshaler and log/slog — shows "[redacted]" for a set secret and "" for an unset one.
//
// The bytes live behind a pointer, so even a reflective printer that cannot call these methods
// (fmt reaching a Secret through an unexported struct field) shows an address, not the bytes.
// Copies of a Secret share the bytes: Wipe on one copy wipes them all, which is what shutdown
// wants ("wipe keys" after everything that used them has stopped). The zero Secret is unset.
//
// A Secret is not safe for Wipe concurrently with Reveal.
type Secret struct {
	p *secretBytes
}

type secretBytes struct {
	b []byte
}

// NewSecret returns a Secret holding a copy of b; the caller may wipe b afterwards. An empty b
// gives an unset Secret.
func NewSecret(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	return Secret{p: &secretBytes{b: append([]byte(nil), b...)}}
}

// Reveal returns the secret bytes themselves, not a copy. Callers use them at once (to decode a
// seed or sign a nonce) and must neither keep nor modify the slice. It is nil for an unset or
// wiped Secret.
func (s Secret) Reveal() []byte {
	if s.p == nil {
		return nil
	}
	return s.p.b
}

// IsSet reports whether the Secret holds any bytes (it is false after Wipe).
func (s Secret) IsSet() bool { return s.p != nil && len(s.p.b) > 0 }

// Wipe overwrites the bytes with zeros and forgets them, for this Secret and every copy of it.
func (s Secret) Wipe() {
	if s.p == nil {
		return
	}
	clear(s.p.b)
	s.p.b = nil
}

// Decode lets envconfig fill a Secret from an environment variable; surrounding white space (a
// trailing newline from `$(cat file)`) is dropped.
func (s *Secret) Decode(value string) error {
	*s = Secret{}
	if v := strings.TrimSpace(value); v != "" {
		s.p = &secretBytes{b: []byte(v)}
	}
	return nil
}

// String returns "[redacted]" for a set Secret and "" for an unset one.
func (s Secret) String() string {
	if s.IsSet() {
		return redacted
	}
	return ""
}

// GoString returns the same as String, so %#v prints no key material either.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter: every verb and flag prints String's result.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON encodes the Secret as the JSON string "[redacted]" (or "" when unset).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the Secret as "[redacted]" (or nothing when unset).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer so that a Secret logged as an attribute is "[redacted]"; inside
// a logged struct, the text handler's fmt and the JSON handler's encoding/json redact it too.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
