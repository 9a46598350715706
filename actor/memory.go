package actor

import (
	"runtime"
	"sync"
)

// limitedMemory backs one instance's linear memory and enforces the runtime's memory limit, recording
// when the guest asked for more: wazero then fails the memory.grow, and the trap that usually
// follows (an allocator aborting) is reported as ErrMemoryLimit. Reallocate is used only by the goroutine
// running the instance.
//
// Where the platform allows (Linux), the memory lives outside the Go heap, in address space reserved for
// the most the instance may ever use and made accessible as the guest grows: a page the guest never
// touches costs nothing, while a Go slice costs its whole length once the allocator has zeroed it, and
// counts twice against the garbage collector's heap goal. A typical actor declares about a megabyte of
// memory (mostly its stack) and touches tens of kilobytes, so a thousand instances fit in the memory of a
// few dozen. Elsewhere, or when the kernel refuses the reservation, the memory is a Go slice.
type limitedMemory struct {
	buf   []byte
	limit uint64 // bytes
	hit   bool   // a grow past limit was refused during the current call

	region    *region // nil when buf is on the Go heap
	committed uint64  // bytes at the start of region that are readable and writable
	cleanup   runtime.Cleanup
}

// newLimitedMemory returns the memory of a new instance: capacity is wazero's suggested initial capacity,
// maxBytes the most the module may grow to, limit the runtime's memory limit.
func newLimitedMemory(capacity, maxBytes, limit uint64) *limitedMemory {
	m := &limitedMemory{limit: limit}
	if r := reserveRegion(min(maxBytes, limit)); r != nil {
		m.region = r
		// The instance's close unmaps the region; this is the backstop for an instance that is dropped
		// without one (its module closed by Runtime.Close while idle in a pool nobody closes).
		m.cleanup = runtime.AddCleanup(m, (*region).unmap, r)
		return m
	}
	m.buf = make([]byte, 0, capacity)
	return m
}

// Reallocate implements experimental.LinearMemory. Wasm memory never shrinks and bytes past the
// length were never handed out, so growing within the capacity (or the committed part of the region)
// needs no zeroing.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	switch {
	case size > m.limit:
		m.hit = true
		return nil
	case m.region != nil:
		if size > uint64(len(m.region.b)) {
			return nil // wazero never asks for more than the module's maximum, which the region covers
		}
		if size > m.committed {
			if err := commitRegion(m.region.b[m.committed:size]); err != nil {
				return nil // the guest sees memory.grow fail
			}
			m.committed = size
		}
		m.buf = m.region.b[:size:size]
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	default:
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf
}

// Free implements experimental.LinearMemory; wazero calls it when the instance's module is closed. A
// module can be closed from another goroutine (Runtime.Close) while its call is still unwinding, so the
// address space stays mapped: only its pages are given back (the call, which is being stopped, would read
// zeros). A Go slice is left to the garbage collector.
func (m *limitedMemory) Free() {
	if m.region != nil {
		m.region.release()
	}
}

// unmap gives the region back to the kernel. The caller knows that no call is running on the instance
// and none will.
func (m *limitedMemory) unmap() {
	if m.region != nil {
		m.cleanup.Stop()
		m.region.unmap()
	}
}

// region is address space reserved outside the Go heap for one instance's memory.
type region struct {
	b        []byte // the whole reservation; never changes
	mu       sync.Mutex
	unmapped bool // guarded by mu
}

// release gives back the region's pages, leaving it mapped.
func (r *region) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.unmapped {
		releaseRegion(r.b)
	}
}

// unmap removes the region. Under mu, so that a release racing with it can never touch address space
// that a later reservation has reused.
func (r *region) unmap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.unmapped {
		r.unmapped = true
		unmapRegion(r.b)
	}
}
