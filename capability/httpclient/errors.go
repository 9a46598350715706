package httpclient

import "errors"

// Errors of the HTTP client provider. A refused request matches exactly one of them.
var (
	// ErrLink: a link value cannot be used (an allow entry that is not [scheme://]host[:port], a size or timeout
	// that is not one). Refused at link put.
	ErrLink = errors.New("httpclient: invalid link value")
	// ErrNotAllowed: the request (or a redirect) goes to a scheme, host or port the link does not list, or to a
	// private, loopback or otherwise internal address the link does not list by its IP address and port.
	ErrNotAllowed = errors.New("httpclient: destination not allowed by the link")
	// ErrTooLarge: the response body is larger than the link's max_response_bytes.
	ErrTooLarge = errors.New("httpclient: response too large")
	// ErrRequest: the request is malformed (payload, method or URL).
	ErrRequest = errors.New("httpclient: malformed request")
	// ErrFailed: the request was allowed but failed (connection refused, timeout, TLS).
	ErrFailed = errors.New("httpclient: request failed")
	// ErrOperation: the operation is not one of the wasmcloud:httpclient interface.
	ErrOperation = errors.New("httpclient: unknown operation")
)
