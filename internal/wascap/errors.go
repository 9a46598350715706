package wascap

import "errors"

// Errors returned when a token is refused. Each names one reason, so callers and tests can tell them apart
// with errors.Is; messages never contain key material.
var (
	// ErrTooLarge: the token is longer than MaxTokenSize.
	ErrTooLarge = errors.New("wascap: token too large")
	// ErrSegments: the token does not have exactly three dot-separated segments.
	ErrSegments = errors.New("wascap: token must have 3 segments")
	// ErrEncoding: a segment is not strict unpadded base64url.
	ErrEncoding = errors.New("wascap: segment is not unpadded base64url")
	// ErrHeader: the header is not a JSON object with "typ":"jwt".
	ErrHeader = errors.New("wascap: invalid header")
	// ErrAlgorithm: the header names an algorithm other than Ed25519.
	ErrAlgorithm = errors.New("wascap: unsupported algorithm, want Ed25519")
	// ErrCritical: the header lists critical extensions ("crit"), none of which this implementation knows.
	ErrCritical = errors.New("wascap: unknown critical header parameter")
	// ErrClaims: the claims segment is not a JSON object of the wascap claim types.
	ErrClaims = errors.New("wascap: malformed claims")
	// ErrMissingIssuer: the iss claim is empty.
	ErrMissingIssuer = errors.New("wascap: missing issuer")
	// ErrMissingSubject: the sub claim is empty.
	ErrMissingSubject = errors.New("wascap: missing subject")
	// ErrIssuer: the issuer is not a valid public key of an allowed type.
	ErrIssuer = errors.New("wascap: invalid issuer")
	// ErrSubject: the subject is not a valid public key of the expected type.
	ErrSubject = errors.New("wascap: invalid subject")
	// ErrSignatureSize: the signature is not 64 bytes (typically a truncated token).
	ErrSignatureSize = errors.New("wascap: signature has the wrong size")
	// ErrSignature: the signature does not verify under the issuer's key.
	ErrSignature = errors.New("wascap: signature does not verify")
	// ErrExpired: the token's exp lies in the past (beyond the allowed clock skew).
	ErrExpired = errors.New("wascap: token expired")
	// ErrNotYetValid: the token's nbf lies in the future (beyond the allowed clock skew).
	ErrNotYetValid = errors.New("wascap: token not valid yet")
	// ErrNoMetadata: the token has no wascap metadata object.
	ErrNoMetadata = errors.New("wascap: token has no wascap metadata")
	// ErrKind: the wascap metadata describes another kind of entity than the caller expects (an actor's
	// metadata where a provider's is wanted, for example).
	ErrKind = errors.New("wascap: metadata of the wrong kind")
	// ErrMetadata: the wascap metadata object is malformed for its kind.
	ErrMetadata = errors.New("wascap: malformed wascap metadata")
)
