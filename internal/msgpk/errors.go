package msgpk

import (
	"strconv"
	"strings"
)

// Sentinels are the sentinel errors of the calling package. Every error a reader returns either is
// one of them or wraps one of them (see Detail), so callers keep testing with errors.Is against
// their own package's errors.
type Sentinels struct {
	// Truncated is returned when the input ends in the middle of a value.
	Truncated error
	// Malformed is wrapped when the input is not valid MessagePack.
	Malformed error
	// WrongType is wrapped when a value has a type the reader does not accept.
	WrongType error
	// NotMap is wrapped by ReadMapHeader when the top level of the input is not a map.
	NotMap error
	// TrailingBytes is wrapped by CheckTrailing when bytes follow the top-level value.
	TrailingBytes error
}

// DetailError attaches a specific description to a sentinel error without repeating the
// sentinel's text: Error returns only the description and Unwrap returns the sentinel.
type DetailError struct {
	// Sentinel is the error that errors.Is finds.
	Sentinel error
	// Text describes what exactly was wrong.
	Text string
}

// Detail returns a *DetailError that describes sentinel more precisely with text.
func Detail(sentinel error, text string) error {
	return &DetailError{Sentinel: sentinel, Text: text}
}

// Error returns the description alone.
func (e *DetailError) Error() string { return e.Text }

// Unwrap returns the sentinel, so that errors.Is finds it.
func (e *DetailError) Unwrap() error { return e.Sentinel }

// FieldMessage formats the message of a decode error: err's text without the package prefix
// (for example "wire: "), preceded by the quoted field path when there is one.
func FieldMessage(prefix, field string, err error) string {
	msg := strings.TrimPrefix(err.Error(), prefix)
	if field == "" {
		return msg
	}
	return "field " + strconv.Quote(field) + ": " + msg
}
