package config

import (
	"errors"
	"strconv"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// ErrInvalid is matched (with errors.Is) by every problem that is a bad value of one variable: a
// boolean that is not one of 0.x's spellings, a port out of range, a seed of the wrong type, a file
// that cannot be read.
var ErrInvalid = errors.New("config: invalid value")

// ErrConflict is matched by every problem that comes from two variables that do not go together:
// a cluster seed given both inline and as a file, a NATS JWT without its seed, a client
// certificate without its key.
var ErrConflict = errors.New("config: conflicting variables")

// VarError is one configuration problem. Load returns all of them joined with errors.Join, so a
// caller can list every problem with errors.As over the joined error's Unwrap() []error, or simply
// print it: one line per problem, each starting with the variable's name.
type VarError struct {
	// Var is the environment variable at fault, for example "WASMCLOUD_RPC_PORT".
	Var string
	// Value is the offending value as it was read. It is always empty for secrets (seeds and
	// JWTs), whose values are never copied into an error.
	Value string
	// Reason says what is wrong, in a few words, without the value.
	Reason string
	// Kind is ErrInvalid or ErrConflict.
	Kind error
	// Err is the underlying cause when there is one (an *fs.PathError for an unreadable file);
	// it never holds secret material.
	Err error
}

// Error renders the problem as `VAR: "value": reason`, or `VAR: reason` when the value is
// secret or empty, followed by the cause when there is one.
func (e *VarError) Error() string {
	s := e.Var + ": "
	if e.Value != "" {
		s += strconv.Quote(e.Value) + ": "
	}
	s += e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind (ErrInvalid or ErrConflict) and the cause, so that errors.Is matches
// both.
func (e *VarError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// invalid builds an ErrInvalid problem for a plain (non-secret) value. A value that looks like a seed, in
// any letter case (a seed pasted into a list of public keys, say), is not recorded.
func invalid(name, value, reason string) *VarError {
	if nkey.LooksLikeSeed(value) {
		return &VarError{Var: name, Reason: reason + " (the value looks like a seed and is not shown)", Kind: ErrInvalid}
	}
	return &VarError{Var: name, Value: value, Reason: reason, Kind: ErrInvalid}
}

// invalidSecret builds an ErrInvalid problem for a secret, never recording its value.
func invalidSecret(name, reason string) *VarError {
	return &VarError{Var: name, Reason: reason, Kind: ErrInvalid}
}

// conflict builds an ErrConflict problem.
func conflict(name, reason string) *VarError {
	return &VarError{Var: name, Reason: reason, Kind: ErrConflict}
}
