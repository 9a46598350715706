package host

import "errors"

// Errors returned by the host. Refusals of invocations come from package rpc and package actor, refusals of
// capability calls from package capability; these are the host's own.
var (
	// ErrFileLoadNotAllowed: a file reference was given while WASMCLOUD_ALLOW_FILE_LOAD is false.
	ErrFileLoadNotAllowed = errors.New("host: file references are not allowed (set WASMCLOUD_ALLOW_FILE_LOAD=true)")
	// ErrFileRefused: a file reference could not be loaded, verified or started. Events and control replies say
	// only this; the host's log says why.
	ErrFileRefused = errors.New("host: actor file refused (the host's log says why)")
	// ErrUnsupportedRef: the actor reference is neither a file nor a supported registry reference.
	ErrUnsupportedRef = errors.New("host: unsupported actor reference")
	// ErrAlreadyRunning: an actor with the same module key already runs on this host.
	ErrAlreadyRunning = errors.New("host: actor already running")
	// ErrNotRunning: no actor with that key runs on this host.
	ErrNotRunning = errors.New("host: actor not running")
	// ErrWrongTarget: an invocation delivered on one actor's subject targets another.
	ErrWrongTarget = errors.New("host: invocation target is not the actor it was sent to")
	// ErrMissingCapability: a provider-originated invocation for a contract the actor does not claim.
	ErrMissingCapability = errors.New("host: actor does not claim the capability")
	// ErrNotLinked: a provider-originated invocation from a provider the actor has no link to (for that
	// contract and link name): a provider reaches only the actors an operator linked to it.
	ErrNotLinked = errors.New("host: the actor has no link to the provider")
	// ErrUnknownActor: an actor-to-actor call names a key or call alias that no host runs.
	ErrUnknownActor = errors.New("host: unknown actor or call alias")
	// ErrUpdateMismatch: an update names another actor, or a revision that is not higher.
	ErrUpdateMismatch = errors.New("host: update refused")
	// ErrNoLink: no link matches the request.
	ErrNoLink = errors.New("host: no such link")
	// ErrRevoked: the actor's module key or account is revoked.
	ErrRevoked = errors.New("host: revoked")
	// ErrRevokeUnsigned: a lattice-wide revocation needs signed control.
	ErrRevokeUnsigned = errors.New("host: lattice-wide revocations need signed control (WASMCLOUD_CTL_ISSUERS) and a signed request")
	// ErrNoCapabilityClaim: a link for a contract the actor's signed claims do not list.
	ErrNoCapabilityClaim = errors.New("host: actor does not have capability claim for")
	// ErrShuttingDown: the host is draining and takes no new work.
	ErrShuttingDown = errors.New("host: shutting down")
	// ErrUntrustedActorIssuer: the actor is signed by an account that WASMCLOUD_ACTOR_ISSUERS does not list.
	ErrUntrustedActorIssuer = errors.New("host: actor issuer not trusted")
	// ErrConnectionClosed: a NATS connection was closed for good by the server (or the client gave up on it);
	// the daemon exits so that its service manager restarts it.
	ErrConnectionClosed = errors.New("host: NATS connection closed")
	// ErrUnhealthy: Check found the host not working (a closed connection, a control subscription that does
	// not answer).
	ErrUnhealthy = errors.New("host: not healthy")
	// ErrUntrustedProviderIssuer: the provider archive is signed by an account that WASMCLOUD_PROVIDER_ISSUERS (or,
	// when it is unset, WASMCLOUD_ACTOR_ISSUERS) does not list.
	ErrUntrustedProviderIssuer = errors.New("host: provider issuer not trusted")
	// ErrProviderFileRefused: a provider archive file could not be loaded, verified or started. Events say only
	// this; the host's log says why.
	ErrProviderFileRefused = errors.New("host: provider file refused (the host's log says why)")
	// ErrBuiltinProviderKey: the provider archive's subject is a built-in provider's key, which anyone can sign
	// an archive for (it derives from a public seed); such a provider would speak for the built-in.
	ErrBuiltinProviderKey = errors.New("host: provider key is a built-in provider's")
	// ErrProviderRunning: the provider already runs on this host under that link name.
	ErrProviderRunning = errors.New("host: provider already running")
	// ErrProviderNotRunning: no such provider instance runs on this host.
	ErrProviderNotRunning = errors.New("host: provider not running")
	// ErrProviderUnavailable: a provider in the lattice did not answer a call within the RPC timeout.
	ErrProviderUnavailable = errors.New("host: provider unavailable")
)
