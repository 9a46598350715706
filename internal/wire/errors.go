package wire

import (
	"errors"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// Sentinel errors returned (wrapped in a *DecodeError) by the decoders. Test for them with errors.Is.
var (
	// ErrNotMap means the top level of the input is not a MessagePack map.
	ErrNotMap = errors.New("wire: top level is not a map")
	// ErrMissingField means a required key is absent. DecodeError.Field names it.
	ErrMissingField = errors.New("wire: missing required field")
	// ErrWrongType means a value (or a map key) has a MessagePack type the field does not accept.
	ErrWrongType = errors.New("wire: wrong type")
	// ErrDuplicateKey means a map holds the same known key twice. Two decoders could pick different
	// copies, so the input is ambiguous and refused.
	ErrDuplicateKey = errors.New("wire: duplicate key")
	// ErrTrailingBytes means bytes follow the top-level map.
	ErrTrailingBytes = errors.New("wire: trailing bytes after the top-level map")
	// ErrTooManyTraceEntries means traceContext holds more than MaxTraceEntries entries.
	ErrTooManyTraceEntries = errors.New("wire: too many traceContext entries")
	// ErrNegativeLength means content_length is a negative integer.
	ErrNegativeLength = errors.New("wire: negative content_length")
	// ErrTruncated means the input ends in the middle of a value.
	ErrTruncated = errors.New("wire: truncated input")
	// ErrMalformed means the input is not valid MessagePack (it uses the unused prefix byte 0xc1).
	ErrMalformed = errors.New("wire: malformed msgpack")
)

// DecodeError reports why a decoder refused its input. Err wraps one of the package's sentinel
// errors; Field is the dotted path of the offending field (for example "origin.public_key" or
// "msg"), or empty when the problem is with the input as a whole.
type DecodeError struct {
	Field string
	Err   error
}

// Error returns a message that names the field and what was wrong with it.
func (e *DecodeError) Error() string { return msgpk.FieldMessage("wire: ", e.Field, e.Err) }

// Unwrap returns the underlying error, so that errors.Is finds the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }
