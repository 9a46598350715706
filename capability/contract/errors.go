package contract

import (
	"errors"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// Sentinel errors returned (wrapped in a *DecodeError) by the decoders. Test for them with errors.Is.
var (
	// ErrNotMap means the top level of a structure payload is not a MessagePack map.
	ErrNotMap = errors.New("contract: top level is not a map")
	// ErrMissingField means a key the Rust model requires is absent. DecodeError.Field names it.
	ErrMissingField = errors.New("contract: missing required field")
	// ErrWrongType means a value (or a map key) has a MessagePack type the field does not accept.
	ErrWrongType = errors.New("contract: wrong type")
	// ErrOutOfRange means an integer does not fit the field's type (for example a statusCode above
	// 65535 or a negative u32).
	ErrOutOfRange = errors.New("contract: integer out of range")
	// ErrDuplicateKey means a map holds the same known key (or the same header name) twice. Two
	// decoders could keep different copies, so the input is ambiguous and refused.
	ErrDuplicateKey = errors.New("contract: duplicate key")
	// ErrTrailingBytes means bytes follow the top-level value.
	ErrTrailingBytes = errors.New("contract: trailing bytes after the top-level value")
	// ErrTruncated means the input ends in the middle of a value.
	ErrTruncated = errors.New("contract: truncated input")
	// ErrMalformed means the input is not valid MessagePack (it uses the unused prefix byte 0xc1).
	ErrMalformed = errors.New("contract: malformed msgpack")
)

// DecodeError reports why a decoder refused its input. Err wraps one of the package's sentinel
// errors; Field is the path of the offending field (for example "statusCode", "header.Accept[1]" or
// "[3]" for the fourth string of a StringList), or empty when the problem is with the input as a
// whole.
type DecodeError struct {
	Field string
	Err   error
}

// Error returns a message that names the field and what was wrong with it.
func (e *DecodeError) Error() string { return msgpk.FieldMessage("contract: ", e.Field, e.Err) }

// Unwrap returns the underlying error, so that errors.Is finds the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }
