package capability

import "errors"

// Errors of the capability gate. A refused call's error matches exactly one of ErrCapabilityNotClaimed and
// ErrNoProvider, or is the policy's or a provider's refusal.
var (
	// ErrCapabilityNotClaimed: an actor called a contract its signed claims do not list.
	ErrCapabilityNotClaimed = errors.New("capability: actor's claims do not list the capability")
	// ErrNoProvider: an actor called a capability contract that no provider is linked for, or the linked
	// provider is not one this host serves.
	ErrNoProvider = errors.New("capability: no provider linked")
	// ErrNotRunning: a built-in provider had something to deliver to an actor that does not run on this host.
	ErrNotRunning = errors.New("capability: actor does not run on this host")
)
