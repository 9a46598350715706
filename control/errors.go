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

// Refusals of signed control requests (see Verifier). Each names one reason; the host's acknowledgement
// carries the message, and its refusal counters are labelled by reason.
var (
	// ErrNotSigned: the request carries no token, or a token that is malformed, is not a control token, or
	// whose signature does not verify.
	ErrNotSigned = errors.New("control: request not signed")
	// ErrUntrustedSigner: the token is signed by a key the host does not list in WASMCLOUD_CTL_ISSUERS.
	ErrUntrustedSigner = errors.New("control: signer not trusted")
	// ErrBodyMismatch: the SHA-256 of the request body is not the one the token binds.
	ErrBodyMismatch = errors.New("control: body does not match its token")
	// ErrSubjectMismatch: the token was signed for another subject (another command, host or lattice).
	ErrSubjectMismatch = errors.New("control: subject does not match its token")
	// ErrReplayed: a request with this token was accepted before (or the replay record could not be kept).
	ErrReplayed = errors.New("control: token replayed")
	// ErrExpired: the token's exp, or its iat plus the longest validity a host honours, has passed.
	ErrExpired = errors.New("control: token expired")
	// ErrNotYetValid: the token's iat lies in the future beyond the clock skew.
	ErrNotYetValid = errors.New("control: token not valid yet")
)
