package policy

import (
	"errors"
	"strings"
)

// Every Decide that does not permit returns a *Error whose Kind is one of the first four sentinels, so
// errors.Is(err, ErrDenied) tells a policy's "no" from a policy service that could not be asked.

// ErrDenied is matched when a policy service answered and did not permit the action. The decision's
// Message (and the error) carry the service's reason.
var ErrDenied = errors.New("policy: denied")

// ErrUnavailable is matched when no answer could be had: no responders on the policy topic, no answer
// within the timeout, an HTTP transport error or a status other than 200, a caller's context that
// ended, or a service that was shut down. Such failures deny and are never cached.
var ErrUnavailable = errors.New("policy: service unavailable")

// ErrBadResponse is matched when an answer came but cannot be trusted: it does not decode, exceeds
// MaxResponseBytes, carries another request's id, or lacks the boolean that decides. Such failures
// deny and are never cached.
var ErrBadResponse = errors.New("policy: bad response")

// ErrInvalidRequest is matched when the Request itself is unusable (an unknown action, a put_link
// without its link, a link whose fields disagree with the request's source or target). Nothing is
// asked.
var ErrInvalidRequest = errors.New("policy: invalid request")

// ErrConfig is matched by New when the Config cannot work (a topic that is not a NATS subject, an
// endpoint that is not an http(s) URL, a negative duration, NATS needed but no connection). Its
// problems are all reported at once, each naming the field.
var ErrConfig = errors.New("policy: invalid configuration")

// Error is the error of a Decide that did not permit. Its message names the kind, the action, what it
// was about, which policy service said so (nats or http) and the request id, then the reason:
//
//	policy: denied: start_actor MCX7… (nats, request 0f8e…): Issuer was not the official wasmCloud issuer
//	policy: service unavailable: perform_invocation MB2Z… (http, request 51c2…): OPA answered 503 Service Unavailable
type Error struct {
	// Kind is ErrDenied, ErrUnavailable, ErrBadResponse or ErrInvalidRequest; errors.Is matches it.
	Kind error
	// Action is the action that was asked about.
	Action Action
	// Subject is what the question was about: the target's public key, or for put_link
	// "actor->provider contract/link".
	Subject string
	// Backend is "nats" or "http", or empty when no policy service was involved (invalid request,
	// shut-down service, caller's context).
	Backend string
	// RequestID is the id the question was asked under (empty if it was not asked).
	RequestID string
	// Reason is the policy service's message for ErrDenied, or what went wrong.
	Reason string
	// Err is the underlying cause when there is one (nats.ErrNoResponders, context.DeadlineExceeded,
	// a JSON syntax error, …); errors.Is and errors.As reach it through Unwrap.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": ")
	b.WriteString(string(e.Action))
	if e.Subject != "" {
		b.WriteByte(' ')
		b.WriteString(e.Subject)
	}
	if e.Backend != "" || e.RequestID != "" {
		b.WriteString(" (")
		b.WriteString(e.Backend)
		if e.RequestID != "" {
			if e.Backend != "" {
				b.WriteString(", ")
			}
			b.WriteString("request ")
			b.WriteString(e.RequestID)
		}
		b.WriteByte(')')
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}

// Is reports whether target is the error's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// answerError is what a backend returns when it could not decide: the kind, a reason, and a cause.
type answerError struct {
	kind   error
	reason string
	err    error
}

func (e *answerError) Error() string {
	return e.kind.Error() + ": " + e.reason
}

func (e *answerError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

func unavailable(reason string, cause error) *answerError {
	return &answerError{kind: ErrUnavailable, reason: reason, err: cause}
}

func badResponse(reason string, cause error) *answerError {
	return &answerError{kind: ErrBadResponse, reason: reason, err: cause}
}
