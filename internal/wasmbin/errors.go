package wasmbin

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package. Parse wraps every one of them except ErrTooLarge in a *FormatError
// that says where in the input the problem was found; errors.Is sees through the wrapper.
var (
	// ErrNotModule: the input does not start with the WebAssembly magic bytes "\0asm".
	ErrNotModule = errors.New("wasmbin: not a WebAssembly module")
	// ErrComponent: the input is a WebAssembly component (version bytes 0d 00 01 00), not a core
	// module; wasmCloud 0.x actors are core modules.
	ErrComponent = errors.New("wasmbin: WebAssembly component, not a core module")
	// ErrUnsupportedVersion: the magic bytes are right but the binary version is not 1.
	ErrUnsupportedVersion = errors.New("wasmbin: unsupported binary version")
	// ErrTruncated: the input ends before the preamble, a section size or a section does.
	ErrTruncated = errors.New("wasmbin: truncated")
	// ErrMalformedLEB: a section size is not an unsigned LEB128 of at most 5 bytes whose value fits
	// in 32 bits (too many bytes, or bits set above bit 31 in the fifth byte).
	ErrMalformedLEB = errors.New("wasmbin: malformed LEB128")
	// ErrUnknownSection: a section id is above 13, the highest id this package knows (tag).
	ErrUnknownSection = errors.New("wasmbin: unknown section id")
	// ErrMalformedName: a custom section has no name, a name that does not fit in the section, or a
	// name that is not valid UTF-8.
	ErrMalformedName = errors.New("wasmbin: malformed custom section name")
	// ErrTooLarge: Embed or Strip would write a section or module larger than the 32-bit sizes of
	// the format allow.
	ErrTooLarge = errors.New("wasmbin: too large")
)

// FormatError reports malformed input to Parse and where it was found. It matches the sentinel it
// carries (ErrTruncated, ErrMalformedLEB, ...) with errors.Is.
type FormatError struct {
	// Offset is the byte offset of the element that failed to decode: 0 for the preamble, the id
	// byte for an unknown id, the first byte of the size for a bad or overlong size, and the first
	// byte of the name for a bad custom section name.
	Offset int
	// Section is the zero-based index of the section in file order, or -1 for the preamble.
	Section int
	// Err is one of the sentinels above, possibly wrapped with detail.
	Err error
}

func (e *FormatError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "wasmbin: ")
	if e.Section < 0 {
		return fmt.Sprintf("wasmbin: preamble at offset %d: %s", e.Offset, msg)
	}
	return fmt.Sprintf("wasmbin: section %d at offset %d: %s", e.Section, e.Offset, msg)
}

// Unwrap returns the underlying error, so that errors.Is finds the sentinel.
func (e *FormatError) Unwrap() error { return e.Err }

// wrapf wraps a sentinel with detail; the result matches the sentinel with errors.Is.
func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// trimPrefix returns an error's message without the package prefix, for nesting in another message.
func trimPrefix(err error) string { return strings.TrimPrefix(err.Error(), "wasmbin: ") }
