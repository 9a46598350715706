package numbergen

import "errors"

// Errors of the numbergen provider.
var (
	// ErrUnknownOperation: an operation the numbergen contract does not define.
	ErrUnknownOperation = errors.New("numbergen: unknown operation")
	// ErrRange: RandomInRange was asked for a range whose minimum is above its maximum.
	ErrRange = errors.New("numbergen: empty range")
)
