package par

import (
	"errors"
	"strings"
)

// Reasons Read refuses an archive. Read wraps one of them with the entry or limit concerned; messages quote
// entry names with their control characters escaped and never contain key material.
var (
	// ErrMalformed: the input is not a gzip stream or tar archive, or it is truncated or corrupt.
	ErrMalformed = errors.New("par: malformed archive")
	// ErrTooLarge: an entry, or the archive as a whole, is larger than the Limits allow.
	ErrTooLarge = errors.New("par: archive too large")
	// ErrTooManyEntries: the archive has more entries than Limits.MaxEntries.
	ErrTooManyEntries = errors.New("par: too many entries in archive")
	// ErrUnsafePath: an entry name is not a plain file name (a path with '/' or '\', "..", an absolute
	// name, control characters), which could write outside the directory an archive is unpacked in.
	ErrUnsafePath = errors.New("par: entry name is not a plain file name")
	// ErrUnknownEntry: an entry is not claims.jwt, world.wasm or <target>.bin with a valid target name.
	ErrUnknownEntry = errors.New("par: unexpected entry")
	// ErrEntryType: an entry is not a regular file (a symbolic or hard link, a directory, a device, a FIFO).
	ErrEntryType = errors.New("par: entry is not a regular file")
	// ErrDuplicateEntry: two entries have the same name.
	ErrDuplicateEntry = errors.New("par: duplicate entry")
	// ErrNoToken: the archive has no claims.jwt.
	ErrNoToken = errors.New("par: archive has no claims.jwt")
	// ErrNoBinaries: the archive holds no provider binary at all.
	ErrNoBinaries = errors.New("par: archive holds no provider binary")
)

// Reasons Verify and Inspect refuse an archive. A refusal is a *VerifyError that matches exactly one of these
// with errors.Is (and the underlying cause too, where there is one).
var (
	// ErrMalformedToken: claims.jwt is not a well-formed wascap token.
	ErrMalformedToken = errors.New("par: malformed token")
	// ErrIssuer: the token's issuer is not an account key.
	ErrIssuer = errors.New("par: token issuer is not an account key")
	// ErrBadSignature: the token's signature does not verify (its claims were edited, or it was forged).
	ErrBadSignature = errors.New("par: token signature does not verify")
	// ErrUntrustedIssuer: the issuer is not among VerifyOptions.TrustedIssuers.
	ErrUntrustedIssuer = errors.New("par: token issuer is not trusted")
	// ErrNotProvider: the token describes something other than a capability provider (an actor's token
	// copied into an archive, for example).
	ErrNotProvider = errors.New("par: token is not a capability provider's")
	// ErrSubject: the token's subject is not a service key.
	ErrSubject = errors.New("par: token subject is not a service key")
	// ErrMetadata: the token's provider metadata is missing or malformed.
	ErrMetadata = errors.New("par: token has no valid provider metadata")
	// ErrExpired: the token's exp has passed.
	ErrExpired = errors.New("par: token expired")
	// ErrNotYetValid: the token's nbf has not come.
	ErrNotYetValid = errors.New("par: token not valid yet")
	// ErrNoBinary: the archive holds no binary for the target (or a signed target's binary is missing).
	ErrNoBinary = errors.New("par: no binary for the target")
	// ErrUnsignedBinary: the archive holds a binary whose target has no hash in the token.
	ErrUnsignedBinary = errors.New("par: binary has no signed hash")
	// ErrHashMismatch: a binary's bytes are not the ones the token signed.
	ErrHashMismatch = errors.New("par: binary does not match its signed hash")
	// ErrUnsupportedPlatform: this platform has no wasmCloud target name (see TargetFor).
	ErrUnsupportedPlatform = errors.New("par: no provider target name for this platform")
)

// VerifyError is a refusal by Verify or Inspect: the reason (one of the Err* values above), the target it
// concerns when the reason is about a binary, and the underlying cause.
type VerifyError struct {
	Target string // the target whose binary is refused; empty when the token is
	Reason error
	Err    error // the cause, may be nil
}

func (e *VerifyError) Error() string {
	what := strings.TrimPrefix(e.Reason.Error(), "par: ")
	switch {
	case e.Target == "":
	case e.Reason == ErrNoBinary:
		what = "no binary for " + e.Target
	case e.Reason == ErrUnsignedBinary:
		what = "the binary for " + e.Target + " has no signed hash"
	case e.Reason == ErrHashMismatch:
		what = "the binary for " + e.Target + " does not match its signed hash"
	}
	msg := "par: archive refused: " + what
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the reason and the cause to errors.Is and errors.As.
func (e *VerifyError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}
