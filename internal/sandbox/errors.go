package sandbox

import "errors"

var (
	// ErrUnsupported is returned when the kernel has no Landlock (too old, or not enabled among its LSMs).
	ErrUnsupported = errors.New("sandbox: Landlock is not available on this kernel")
	// ErrConfine wraps a system call that failed while a thread was being confined.
	ErrConfine = errors.New("sandbox: could not confine the thread")
	// ErrDir is returned when the directory to allow is not an absolute path to a directory.
	ErrDir = errors.New("sandbox: the allowed directory must be an absolute path to a directory")
)
