//go:build !linux

package sandbox

// ABI returns 0: Landlock exists on Linux only.
func ABI() int { return 0 }

// ConfineThread returns ErrUnsupported: Landlock exists on Linux only.
func ConfineThread(dir string) error { return ErrUnsupported }

// ProtectProcess does nothing outside Linux.
func ProtectProcess() error { return nil }
