package actor

import (
	"errors"
	"fmt"
)

// Errors returned by the runtime. Call errors wrap one of these sentinels together with the operation
// that failed, so callers test them with errors.Is and log the full text.
var (
	// ErrTrap reports that the guest trapped during a call (a wasm trap such as `unreachable`, a
	// violation of the guest ABI, or a WASI proc_exit). The instance that trapped is discarded.
	ErrTrap = errors.New("actor: guest trapped")

	// ErrTimeout reports that a call ran past its deadline (ActorConfig.CallTimeout or the caller's
	// context). The instance is discarded because its state is unknown.
	ErrTimeout = errors.New("actor: call timed out")

	// ErrClosed reports a call on an Actor, Module or Runtime that has been closed.
	ErrClosed = errors.New("actor: closed")

	// ErrNoGuestCall reports a module that does not export `__guest_call(i32, i32) -> i32`.
	ErrNoGuestCall = errors.New("actor: module does not export __guest_call(i32, i32) -> i32")

	// ErrNoMemory reports a module that does not export its linear memory as `memory`.
	ErrNoMemory = errors.New("actor: module does not export memory")

	// ErrMemoryLimit reports a module whose minimum memory exceeds RuntimeConfig.MemoryLimitPages, or
	// a call that trapped after the guest had grown its memory to that limit.
	ErrMemoryLimit = errors.New("actor: guest memory limit reached")

	// ErrInvalidModule reports bytes that are not a usable WebAssembly module: malformed, invalid,
	// or importing something the host does not provide.
	ErrInvalidModule = errors.New("actor: invalid wasm module")

	// ErrInstantiate reports that a new instance could not be set up: instantiation failed, or the
	// guest's `_start` or `wapc_init` failed.
	ErrInstantiate = errors.New("actor: instantiate")

	// ErrGuest is matched by every *GuestError, so callers can test for a guest-reported failure
	// with errors.Is when they do not need its text.
	ErrGuest = errors.New("actor: guest error")

	// ErrGuestFailed reports that `__guest_call` returned something other than 1 without setting a
	// guest error. The instance is discarded.
	ErrGuestFailed = errors.New("actor: guest call failed without an error message")

	// ErrHostCall reports that a host call made by the guest failed and the guest returned without
	// reading the error (wasmbus result precedence: an unread host error is the call's error).
	ErrHostCall = errors.New("actor: host call failed")
)

// GuestError is the error a guest reported through `__guest_error` (for example "method not handled"
// for an unknown operation). The instance that reported it stays in the pool.
type GuestError struct {
	// Operation is the operation that was invoked.
	Operation string
	// Message is the text the guest passed to `__guest_error`, unchanged.
	Message string
}

// Error implements error.
func (e *GuestError) Error() string {
	return fmt.Sprintf("actor: guest error (operation %q): %s", e.Operation, e.Message)
}

// Is reports whether target is ErrGuest, so errors.Is(err, ErrGuest) matches any GuestError.
func (e *GuestError) Is(target error) bool { return target == ErrGuest }

// abiError is the value the host functions panic with when a guest breaks the ABI (an out-of-range
// pointer, an oversized length, a call out of sequence). wazero recovers it and fails the call; the
// classification in invoke turns it into an ErrTrap that still carries this text.
type abiError struct {
	fn  string // host function name, e.g. "__guest_response"
	msg string
}

func (e *abiError) Error() string { return e.fn + ": " + e.msg }
