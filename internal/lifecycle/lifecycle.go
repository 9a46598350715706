// Package lifecycle tracks the goroutines a component starts, so that its Shutdown can refuse new work and
// wait for the work already started: one shape for the host's background tasks, its invocations in flight
// and the lattice bucket's watch.
//
// It holds no context. A goroutine that needs one gets it from the code that starts it, which derives it
// from the context its own caller passed in (captured by the closure given to Go).
package lifecycle

import (
	"context"
	"fmt"
	"sync"
)

// Group tracks goroutines. The zero value is ready to use; a Group must not be copied after first use.
type Group struct {
	mu     sync.Mutex
	closed bool // guarded by mu
	wg     sync.WaitGroup
}

// Go runs f in a new goroutine that Wait waits for, and reports true; once Close (or Wait) was called, it
// does not run f and reports false.
func (g *Group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(f)
	return true
}

// Close makes every later Go refuse. It does not wait; it may be called more than once.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Wait closes g and waits until every goroutine it started has returned. If ctx ends first it returns an
// error wrapping ErrStillRunning and ctx's error; the goroutines keep running, and a later Wait waits again.
func (g *Group) Wait(ctx context.Context) error {
	g.Close()
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrStillRunning, ctx.Err())
	}
}
