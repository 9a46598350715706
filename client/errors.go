package client

import (
	"errors"
	"strings"

	"github.com/wasmcloud-host/wasmcloud-host/control"
)

// Errors of the control-interface client.
var (
	// ErrNoHostAnswered is matched when a request got no reply within the timeout, or NATS reported that
	// nobody subscribes to its subject. The message names the subject.
	ErrNoHostAnswered = errors.New("client: no host answered")

	// ErrCtlBadReply is matched when a reply is not the JSON its subject calls for. The message names the
	// subject.
	ErrCtlBadReply = errors.New("client: malformed control reply")

	// ErrCtlInvalid is matched when a CtlClient is asked for something it cannot send: a prefix, lattice or
	// host id that is not a valid subject token, a missing field, or no connection.
	ErrCtlInvalid = errors.New("client: invalid control request")
)

// ErrBadEvent is matched by a lattice event that is not a CloudEvent of a lattice event type with a JSON
// object as data.
var ErrBadEvent = errors.New("client: malformed lattice event")

// ErrUnknownActor is matched when LookupAlias finds no actor that owns the call alias, or cannot read the
// lattice bucket at all.
var ErrUnknownActor = errors.New("client: unknown actor or call alias")

// CtlRefusedError is a command a host answered with {"accepted":false,"error":…}.
type CtlRefusedError struct {
	// Subject is the subject the command was sent to.
	Subject string
	// Message is the host's reason, as it sent it (possibly empty).
	Message string
	// Unsigned is true when the client sent the command without a token (it was given no signer).
	Unsigned bool
}

// Error implements error.
func (e *CtlRefusedError) Error() string {
	if e.Message == "" {
		return "client: " + e.Subject + " refused without a reason"
	}
	msg := "client: " + e.Subject + " refused: " + e.Message
	if e.Unsigned && strings.HasPrefix(e.Message, control.ErrNotSigned.Error()) {
		msg += " (this client has no control issuer key to sign with)"
	}
	return msg
}
