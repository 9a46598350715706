package subject

import (
	"errors"
	"strconv"
)

// Errors of the package.
var (
	// ErrInvalid is matched by every error of ValidateToken and ValidateSubject, and by a Policy's refusal
	// of a malformed subject.
	ErrInvalid = errors.New("subject: invalid subject")
	// ErrReserved is matched by a Policy's refusal of a well-formed subject or pattern that reaches the
	// lattice's own namespaces.
	ErrReserved = errors.New("subject: reserved subject")
)

// InvalidError reports a malformed subject or token: which one, and what is wrong with it.
type InvalidError struct {
	// Subject is the subject or token as it was given.
	Subject string
	// Reason says what is wrong, for example "empty token" or "contains wildcard '*'".
	Reason string

	reserved bool // a Policy refused a well-formed subject: matches ErrReserved, not ErrInvalid
}

// Error returns "subject: <quoted subject>: <reason>".
func (e *InvalidError) Error() string {
	return "subject: " + strconv.Quote(e.Subject) + ": " + e.Reason
}

// Is reports whether target is ErrInvalid (a malformed subject) or ErrReserved (a reserved one).
func (e *InvalidError) Is(target error) bool {
	if e.reserved {
		return target == ErrReserved
	}
	return target == ErrInvalid
}

// Reason returns what is wrong with a subject according to err: the Reason of an *InvalidError in its
// chain, or err's text for any other error.
func Reason(err error) string {
	if ie, ok := errors.AsType[*InvalidError](err); ok {
		return ie.Reason
	}
	return err.Error()
}
