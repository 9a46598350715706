//go:build !linux

package actor

// reserveRegion returns nil: instance memory is a Go slice on this platform.
func reserveRegion(uint64) *region { return nil }

func commitRegion([]byte) error { return nil }
func releaseRegion([]byte)      {}
func unmapRegion([]byte)        {}
