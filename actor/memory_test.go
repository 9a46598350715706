package actor

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const wasmPage = 65536

// TestLimitedMemory grows an instance memory the way wazero does, outside the Go heap where the platform
// allows it and on the Go heap otherwise: content survives each grow, new bytes are zero, a grow past the
// limit fails and is recorded, and the memory can be given back twice without harm.
func TestLimitedMemory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes uint64
		mapped   bool // expect a region (on Linux)
	}{
		{name: "region", maxBytes: 64 * wasmPage, mapped: runtime.GOOS == "linux"},
		{name: "go heap (module without memory to grow)", maxBytes: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := uint64(4 * wasmPage)
			m := newLimitedMemory(wasmPage, tc.maxBytes, limit)
			require.Equal(t, "mapped", m.region != nil, tc.mapped)
			var prev []byte
			for _, pages := range []uint64{0, 1, 2, 4} {
				b := m.Reallocate(pages * wasmPage)
				require.Equal(t, "length", uint64(len(b)), pages*wasmPage)
				require.True(t, bytes.Equal(b[:len(prev)], prev), "grow to %d pages lost the content", pages)
				require.True(t, bytes.Count(b[len(prev):], []byte{0}) == len(b)-len(prev), "grow to %d pages: new bytes are not zero", pages)
				for i := range b {
					b[i] = byte(i*7 + int(pages))
				}
				prev = bytes.Clone(b)
			}
			require.False(t, m.hit, "hit before the limit")
			require.True(t, m.Reallocate(limit+wasmPage) == nil, "grow past the limit succeeded")
			require.True(t, m.hit, "a grow past the limit was not recorded")
			m.Free()
			m.Free()
			m.unmap()
			m.unmap()
			if m.region != nil {
				require.True(t, m.region.unmapped, "region still mapped")
			}
		})
	}
}

// TestInstanceMemoryUnmapped checks that closing an actor gives its instances' memory back at once.
func TestInstanceMemoryUnmapped(t *testing.T) {
	ctx := context.Background()
	r := newTestRuntime(t, RuntimeConfig{})
	m, err := r.Compile(ctx, "guest", testGuest(moduleWasmbus, nil))
	require.NoError(t, err)
	a, err := r.NewActor(ctx, m, ActorConfig{})
	require.NoError(t, err)
	inst, err := a.pool.acquire(ctx, a.newInstance)
	require.NoError(t, err)
	mem := inst.mem
	a.pool.release(ctx, inst, true)
	if mem == nil || mem.region == nil {
		t.Skip("instance memory is on the Go heap on this platform")
	}
	resp, err := a.Call(ctx, opEcho, []byte("x"))
	require.NoError(t, err)
	assertBytes(t, "echo", resp, []byte("x"))
	require.False(t, mem.region.unmapped, "memory unmapped while the instance is idle in the pool")
	require.NoError(t, a.Close(ctx))
	require.True(t, mem.region.unmapped, "memory still mapped after Close")
}

// TestRuntimeCloseDuringCall closes the runtime under a running call: the module's memory is released
// from the closing goroutine while the guest is being stopped, which must end the call with ErrClosed
// and nothing worse.
func TestRuntimeCloseDuringCall(t *testing.T) {
	r, err := NewRuntime(context.Background(), RuntimeConfig{})
	require.NoError(t, err)
	m, err := r.Compile(context.Background(), "guest", testGuest(moduleWasmbus, nil))
	require.NoError(t, err)
	a, err := r.NewActor(context.Background(), m, ActorConfig{CallTimeout: time.Hour})
	require.NoError(t, err)
	looping := goCall(context.Background(), a, opLoopForever)
	require.Eventually(t, 10*time.Second, func() bool { _, busy := a.Instances(); return busy == 1 })
	require.NoError(t, r.Close(context.Background()))
	res := await(t, looping)
	assertErrorIs(t, res.err, []error{ErrClosed}, `operation "b.loop"`)
	assertInstances(t, a, 0, 0)
}
