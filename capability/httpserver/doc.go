// Package httpserver is the host's built-in wasmcloud:httpserver capability provider: it listens on
// the addresses named in actors' link values, turns each HTTP request into the contract.HTTPRequest
// that an actor's HttpServer.HandleRequest expects, and writes the actor's contract.HTTPResponse back
// to the client.
//
// A 0.x host runs the HTTP server as a separate provider process; this host serves it in-process,
// so a request costs one function call into the host instead of two NATS round trips. The package
// knows nothing of NATS, claims or wasm: BindActor is given a function that delivers the invocation
// (Bind a Handler that does), and the package owns everything that is about HTTP —
// listeners, timeouts, body limits, header hygiene and the status codes a gateway answers with when
// its backend fails:
//
//   - 413 when the body exceeds the link's max_content_len (Config.MaxBody by default), without calling
//     the actor;
//   - 431 when the headers exceed Config.MaxHeaderBytes;
//   - 503 with Retry-After when the address already has its max_concurrent requests in flight, and 503
//     then close for a connection beyond its max_connections;
//   - 502 when the actor fails or answers with an impossible status code;
//   - 503 when no actor serves the address any more or the actor is gone (ErrActorGone);
//   - 504 when the actor does not answer within Config.HandlerTimeout;
//   - 500 when the Handler panics; the server itself never goes down with it.
//
// Error bodies are short fixed texts: the cause is logged with the actor's key, never sent to the
// client. Each bound address has its own net/http server, so unbinding one address drains its
// connections without touching the others.
//
// Memory is bounded by the limits, never by what a client announces: a request takes one of the
// address's max_concurrent slots before a byte of its body is read, and its buffer grows with the bytes
// that arrive (a Content-Length of 10 MB followed by 1 KB costs about 1 KB).
package httpserver
