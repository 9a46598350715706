package actor

import (
	"math"

	"golang.org/x/sys/unix"
)

// reserveRegion reserves n bytes of address space that can be neither read nor written, so it counts
// neither in the process's resident memory nor in the kernel's commit charge; nil if the kernel refuses
// (or n is zero).
func reserveRegion(n uint64) *region {
	if n == 0 || n > math.MaxInt {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return &region{b: b}
}

// commitRegion makes b, part of a region starting at a multiple of the 64 KiB wasm page, readable and
// writable. Its pages are zero and become resident when first written.
func commitRegion(b []byte) error {
	return unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE)
}

// releaseRegion drops the pages of b: they read as zero afterwards.
func releaseRegion(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }

// unmapRegion removes b from the address space.
func unmapRegion(b []byte) { _ = unix.Munmap(b) }
