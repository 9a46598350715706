package control

import "errors"

// Errors of control message decoding. DecodeCtl wraps them with what was wrong; test for them with errors.Is.
var (
	// ErrCtlTooLarge: the request exceeds MaxCtlMessage.
	ErrCtlTooLarge = errors.New("control: control request too large")
	// ErrCtlMalformed: the request is not the JSON object its subject expects.
	ErrCtlMalformed = errors.New("control: malformed control request")
	// ErrCtlInvalid: the request decoded but a field is missing or out of range.
	ErrCtlInvalid = errors.New("control: invalid control request")
)
