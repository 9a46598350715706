package logging

import "errors"

// ErrUnknownOperation is returned by Write for an operation the logging contract does not define.
var ErrUnknownOperation = errors.New("logging: unknown operation")
