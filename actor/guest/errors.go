package guest

import (
	"errors"
	"fmt"
)

// Errors reported by the package. The guest errors a host sees carry their text, so each starts with
// the package name and the wrapped forms add the operation concerned.
var (
	// ErrNotHandled is reported to the host when it invokes an operation no handler was registered
	// for, as "guest: method not handled: <operation>" (the Rust SDK says "method not handled").
	ErrNotHandled = errors.New("guest: method not handled")

	// ErrPanic is reported to the host when a handler panicked; the text adds the operation and the
	// panic value. The panic does not trap the instance, which stays usable.
	ErrPanic = errors.New("guest: handler panicked")

	// ErrInvalidHandler reports a Handle call with an empty operation, a nil handler or an operation
	// that already has one. Such a mistake cannot be returned from an init function, so every later
	// invocation of the instance fails with it instead, which the host shows on the first call.
	ErrInvalidHandler = errors.New("guest: invalid handler registration")

	// ErrHostCall is matched by every *HostError, for callers that do not need its fields.
	ErrHostCall = errors.New("guest: host call failed")
)

// HostError is the error HostCall and CallActor return when the host reports that the call failed:
// the target is unknown, not linked or not authorized, or the target itself returned an error.
type HostError struct {
	// Binding is the link name the call used ("" for a call to another actor).
	Binding string
	// Namespace is the contract ID or the target actor's public key or call alias.
	Namespace string
	// Operation is the operation that was called, e.g. "Hello.SayHello".
	Operation string
	// Message is the host's error text, unchanged.
	Message string
}

// Error implements error. It names the target and includes the host's message.
func (e *HostError) Error() string {
	if e.Binding == "" {
		return fmt.Sprintf("guest: host call to %s (operation %q) failed: %s", e.Namespace, e.Operation, e.Message)
	}
	return fmt.Sprintf("guest: host call to %s (link %q, operation %q) failed: %s",
		e.Namespace, e.Binding, e.Operation, e.Message)
}

// Is reports whether target is ErrHostCall, so errors.Is(err, ErrHostCall) matches any HostError.
func (e *HostError) Is(target error) bool { return target == ErrHostCall }
