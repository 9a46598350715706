package rpc

import "errors"

// Reasons an invocation or a response is refused. Verify returns exactly one of them per refusal, wrapped with
// the invocation id when it is known; the text is what a refused peer reads in the response's error field.
var (
	// ErrDecode: the message is not a well-formed invocation (or response).
	ErrDecode = errors.New("rpc: malformed invocation")
	// ErrToken: the claims token is malformed, truncated, or has no invocation metadata.
	ErrToken = errors.New("rpc: malformed invocation token")
	// ErrSignature: the token's signature does not verify under the key it names.
	ErrSignature = errors.New("rpc: invocation signature does not verify")
	// ErrUntrustedIssuer: the token was signed by a cluster key this host does not trust.
	ErrUntrustedIssuer = errors.New("rpc: issuer is not among the trusted cluster issuers")
	// ErrDelegation: the token was signed by a provider's delegated key (see Delegation) for an invocation
	// outside the delegation: another origin, another host id, or after the delegation expired.
	ErrDelegation = errors.New("rpc: invocation outside the signing provider's delegation")
	// ErrExpired: the token is older than its exp, or than the validity window.
	ErrExpired = errors.New("rpc: invocation token expired")
	// ErrNotYetValid: the token's nbf or iat lies in the future beyond the allowed skew.
	ErrNotYetValid = errors.New("rpc: invocation token not valid yet")
	// ErrTargetMismatch: the invocation's target URL is not the one the token signs.
	ErrTargetMismatch = errors.New("rpc: invocation target does not match its token")
	// ErrOriginMismatch: the invocation's origin URL is not the one the token signs.
	ErrOriginMismatch = errors.New("rpc: invocation origin does not match its token")
	// ErrLength: content_length does not describe the payload (of an invocation or a response).
	ErrLength = errors.New("rpc: content_length does not match the payload")
	// ErrHashMismatch: the hash over origin, target, operation and payload is not the one the token signs.
	ErrHashMismatch = errors.New("rpc: invocation hash does not match its token")
	// ErrSubjectMismatch: the token's subject is not the invocation id, so the token belongs to another call.
	ErrSubjectMismatch = errors.New("rpc: token subject is not the invocation id")
	// ErrHostID: host_id is not a server key (nor, for 0.x OTP peers, the issuer), or differs from the one the
	// token binds.
	ErrHostID = errors.New("rpc: invalid host id")
	// ErrRevoked: the token's cluster key is revoked for tokens issued when it was (see SetRevocations).
	ErrRevoked = errors.New("rpc: cluster key revoked")
	// ErrLattice: the token binds another lattice than the receiver's.
	ErrLattice = errors.New("rpc: invocation signed for another lattice")
	// ErrReplayed: an invocation with this issuer and id was accepted before.
	ErrReplayed = errors.New("rpc: invocation replayed")
	// ErrReplayCacheFull: the replay cache holds its maximum of still-valid ids; the host refuses rather than
	// forget one.
	ErrReplayCacheFull = errors.New("rpc: replay cache full")
	// ErrReplayRecord: the lattice-wide record of accepted invocations (VerifyOptions.Claim) could not be
	// reached; the invocation is refused rather than accepted unrecorded.
	ErrReplayRecord = errors.New("rpc: lattice replay record unavailable")
	// ErrNotLocal: AdmitLocal was given a Local this Cluster did not make (or the zero Local).
	ErrNotLocal = errors.New("rpc: not an invocation made by this host for itself")
	// ErrChunked: the payload was chunked into the object store and no dechunker is configured.
	ErrChunked = errors.New("rpc: chunked payloads are not supported here")

	// ErrResponseID: the response answers another invocation.
	ErrResponseID = errors.New("rpc: response is for another invocation")
	// ErrUnsignedResponse: the response carries no responder token, and signed responses are required.
	ErrUnsignedResponse = errors.New("rpc: response is not signed")
	// ErrResponseToken: the responder token does not check out (signature, issuer, time, subject or hash).
	ErrResponseToken = errors.New("rpc: response token does not verify")

	// ErrWiped: the cluster key was wiped (the host is shutting down), so nothing more can be signed.
	ErrWiped = errors.New("rpc: cluster key wiped")

	// ErrClusterSeed: the configured cluster seed is not a valid cluster (SC…) seed.
	ErrClusterSeed = errors.New("rpc: invalid cluster seed")
	// ErrIssuers: an entry of the trusted issuer list is not a cluster (C…) public key.
	ErrIssuers = errors.New("rpc: invalid cluster issuer")
	// ErrHostKey: the host id given to New is not a server (N…) public key.
	ErrHostKey = errors.New("rpc: invalid host key")
)

// RemoteError is the error text a responding host put in a verified response: the call reached the callee,
// which refused or failed it. ResponsePayload returns it.
type RemoteError struct{ Message string }

// Error returns the responder's text as it sent it.
func (e *RemoteError) Error() string { return e.Message }
