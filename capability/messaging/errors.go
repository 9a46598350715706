package messaging

import "errors"

// Errors of the messaging provider.
var (
	// ErrSubjectNotAllowed: a subject outside what the link allows, one of the lattice's own, or not a valid
	// subject at all. The capability gate counts it as a refused call.
	ErrSubjectNotAllowed = errors.New("messaging: subject not allowed")
	// ErrUnknownOperation: an operation the messaging contract does not define.
	ErrUnknownOperation = errors.New("messaging: unknown operation")
)
