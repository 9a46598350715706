package subject

import (
	"errors"
	"strconv"
)

// ErrInvalid is matched by every error of ValidateToken and ValidateSubject.
var ErrInvalid = errors.New("subject: invalid subject")

// InvalidError reports a malformed subject or token: which one, and what is wrong with it.
type InvalidError struct {
	// Subject is the subject or token as it was given.
	Subject string
	// Reason says what is wrong, for example "empty token" or "contains wildcard '*'".
	Reason string
}

// Error returns "subject: <quoted subject>: <reason>".
func (e *InvalidError) Error() string {
	return "subject: " + strconv.Quote(e.Subject) + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Reason returns what is wrong with a subject according to err: the Reason of an *InvalidError in its
// chain, or err's text for any other error.
func Reason(err error) string {
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return ie.Reason
	}
	return err.Error()
}
