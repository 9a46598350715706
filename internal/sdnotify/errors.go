package sdnotify

import "errors"

// Errors returned by this package. A failure to send wraps the underlying network error together
// with the socket address, so errors.Is also sees causes such as fs.ErrNotExist.
var (
	// ErrSocketAddress: NOTIFY_SOCKET is set but is neither an absolute path nor an abstract
	// socket name starting with '@' (for example a relative path, or a "vsock:" address, which this
	// package does not speak).
	ErrSocketAddress = errors.New("sdnotify: unsupported NOTIFY_SOCKET address")
	// ErrStatusText: a status text contains a newline or a NUL byte. A newline would start a second
	// assignment in the datagram (a status could otherwise claim READY=1), and systemd reads the
	// message as a C string, so a NUL would cut it short.
	ErrStatusText = errors.New("sdnotify: status text contains a newline or NUL byte")
)
