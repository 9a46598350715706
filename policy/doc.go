// Package policy asks a policy service whether an action may go ahead: starting an actor or a
// provider, delivering an invocation to an actor, and (this host's extension) putting a link. It
// speaks both forms the wasmCloud ecosystem uses, and fails closed in both.
//
// NATS, wire-compatible with the wasmCloud 0.x hosts (Config.Topic, WASMCLOUD_POLICY_TOPIC): a JSON
// request
//
//	{"requestId": "<uuid>",
//	 "source": {"publicKey", "contractId", "linkName", "capabilities", "issuer", "issuedOn", "expiresAt", "expired"},
//	 "target": {"publicKey", "issuer", "contractId", "linkName"},
//	 "action": "start_actor" | "start_provider" | "perform_invocation" | "put_link",
//	 "host":   {"publicKey", "issuer", "latticeId", "labels", "clusterIssuers"}}
//
// is answered {"requestId", "permitted", "message", "ttl"}. The answer must carry the request's id
// ("request_id" is accepted too) and a boolean "permitted"; "message" is a string or null; "ttl", this
// host's extension, is how many seconds the decision may be cached. A put_link request also carries,
// at its top level, the link under the names that link policies written for OPA use:
// "actor_public_key", "provider_id", "provider_contract", "link_name" and "link_values".
//
// HTTP, for OPA (Config.Endpoint, WASMCLOUD_POLICY_SERVICE_ENDPOINT): the same request is posted as
// {"input": request} to a data API URL such as http://127.0.0.1:8181/v1/data/wasmcloud. The result is
// either a boolean (a URL that names a rule, …/v1/data/wasmcloud/allow) or an object with a boolean
// "allow" and optionally "message" and "ttl" (a URL that names a package whose rules are allow and
// message). testdata/link_policy.rego is such a package.
//
// With both configured, both are asked at once and both must permit. With neither, the Service is
// disabled and Decide permits everything without I/O.
//
// Every failure denies: no responders, no answer within Config.Timeout, an HTTP status other than 200
// (redirects are not followed), an answer that does not decode, is larger than MaxResponseBytes, has
// duplicate members, carries another request's id, or lacks the boolean. The *Error says which
// (ErrUnavailable or ErrBadResponse) and is never cached; a policy's "no" is ErrDenied.
//
// Decisions, permits and denials alike, are cached by everything a request says except its id, for the
// answer's ttl or else Config.CacheTTL (60 s by default), never longer than MaxTTL (10 min); a ttl of 0
// means "do not cache". The cache holds at most Config.CacheSize decisions and drops the oldest when
// full. Identical questions asked while one is in flight wait for that one (one request on the wire).
//
// Changes (Config.ChangesTopic, WASMCLOUD_POLICY_CHANGES_TOPIC): a message {"requestId" or
// "request_id", "permitted", "message"} that names the request id of a live cached decision replaces
// that decision at once, as in 0.x, for the rest of its TTL; it speaks for the NATS policy service, so
// with OPA configured as well, OPA's say stands. Any other message (an id this host does not hold, as
// every other host of the lattice receives; an expired one; one that does not decode) flushes the whole
// cache, because something changed and asking again is the only safe reading; answers in flight at
// that moment are returned but not cached. Messages with a reply subject are answered
// {"success":true|false} as the OTP host does.
//
// Lifecycle: New checks the Config and does no I/O; Start subscribes to the changes topic; Decide may
// be called before Start; Shutdown unsubscribes, cancels the questions in flight and waits for the
// Service's goroutines, and is idempotent.
package policy
