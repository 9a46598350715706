package httpserver

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors returned by this package. Test for them with errors.Is.
var (
	// ErrActorGone is what a Handler returns (possibly wrapped) when the actor it would deliver to
	// is no longer running on this host. The client gets 503 Service Unavailable instead of the
	// 502 Bad Gateway that other handler errors produce.
	ErrActorGone = errors.New("httpserver: actor is gone")
	// ErrAddressTaken means an address is bound by another actor. The error is an
	// *AddressTakenError, which names that actor.
	ErrAddressTaken = errors.New("httpserver: address is bound by another actor")
	// ErrNotBound means Unbind was given an address that no actor serves.
	ErrNotBound = errors.New("httpserver: address is not bound")
	// ErrListen means the address could not be listened on, typically because another process
	// holds the port. The error also wraps the operating system's error.
	ErrListen = errors.New("httpserver: cannot listen")
	// ErrInvalidBind means Bind was called with an empty owner, a nil Handler or an empty address.
	ErrInvalidBind = errors.New("httpserver: invalid bind")
	// ErrClosed means the Server has been shut down and binds no more addresses.
	ErrClosed = errors.New("httpserver: server is shut down")
	// ErrLinkValue means a link value meant for the HTTP server is malformed. The error is a
	// *LinkValueError, which names the value.
	ErrLinkValue = errors.New("httpserver: invalid link value")
	// ErrNoAddress means the link values name no address: neither "address" nor "port" is set.
	ErrNoAddress = errors.New(`httpserver: link values set neither "address" nor "port"`)
	// ErrConfig means a Config field is out of range. Config.Validate wraps it once per problem.
	ErrConfig = errors.New("httpserver: invalid configuration")
)

// AddressTakenError reports that an address is already bound by another actor.
type AddressTakenError struct {
	// Addr is the address, as the Server keys it.
	Addr string
	// Owner is the actor that holds the address.
	Owner string
}

// Error returns a message that names the address and the actor that holds it.
func (e *AddressTakenError) Error() string {
	return fmt.Sprintf("httpserver: address %s is bound by actor %s", e.Addr, e.Owner)
}

// Is reports whether target is ErrAddressTaken.
func (e *AddressTakenError) Is(target error) bool { return target == ErrAddressTaken }

// LinkValueError reports a malformed link value.
type LinkValueError struct {
	// Key is the link value's name, "address" or "port".
	Key string
	// Value is the value as it was given.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns a message that names the link value and what is wrong with it.
func (e *LinkValueError) Error() string {
	return "httpserver: link value " + e.Key + "=" + strconv.Quote(e.Value) + ": " + e.Reason
}

// Is reports whether target is ErrLinkValue.
func (e *LinkValueError) Is(target error) bool { return target == ErrLinkValue }
