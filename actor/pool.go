package actor

import (
	"context"
	"fmt"
	"sync"
)

// pool bounds how many instances of one actor exist and hands each to one call at a time.
//
// A call first takes a slot (a token in slots, so at most max calls hold an instance), then reuses
// the most recently returned idle instance or creates a new one. Since a slot holder only creates an
// instance when none is idle, idle plus checked-out instances never exceed max. Unlike sync.Pool,
// nothing is ever dropped silently: an instance leaves the pool only by being closed.
type pool struct {
	slots   chan struct{} // one token per call holding (or creating) an instance
	closing chan struct{} // closed when the pool is closed, to wake calls waiting for a slot
	drained chan struct{} // closed once the pool is closed and no call holds a slot

	mu       sync.Mutex
	idle     []*instance            // guarded by mu; instances ready for a call, most recent last
	busy     map[*instance]struct{} // guarded by mu; instances checked out to a call
	inflight int                    // guarded by mu; slots taken and not yet returned
	closed   bool                   // guarded by mu
}

func newPool(max int) *pool {
	return &pool{
		slots:   make(chan struct{}, max),
		closing: make(chan struct{}),
		drained: make(chan struct{}),
		busy:    make(map[*instance]struct{}, max),
	}
}

// acquire returns an instance for the exclusive use of one call, creating one with create when none
// is idle and waiting (as long as ctx allows) when max calls already hold one. The caller must hand
// the instance back with release.
func (p *pool) acquire(ctx context.Context, create func(context.Context) (*instance, error)) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("actor: wait for an instance: %w", ctx.Err())
		case <-p.closing:
			return nil, ErrClosed
		}
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, ErrClosed
	}
	p.inflight++
	var inst *instance
	if n := len(p.idle); n > 0 {
		inst = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.busy[inst] = struct{}{}
	}
	p.mu.Unlock()
	if inst != nil {
		return inst, nil
	}

	inst, err := create(ctx)
	if err != nil {
		p.finish()
		return nil, err
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.busy[inst] = struct{}{}
	}
	p.mu.Unlock()
	if closed {
		inst.close(ctx)
		p.finish()
		return nil, ErrClosed
	}
	return inst, nil
}

// release hands inst back after a call. A healthy instance (keep) goes back to the idle list; any
// other, or any instance returned after the pool closed, is closed and forgotten.
func (p *pool) release(ctx context.Context, inst *instance, keep bool) {
	p.mu.Lock()
	delete(p.busy, inst)
	keep = keep && !p.closed && !inst.mod.IsClosed()
	if keep {
		p.idle = append(p.idle, inst)
		p.doneLocked()
		p.mu.Unlock()
		<-p.slots
		return
	}
	p.mu.Unlock()
	inst.close(ctx) // before finish, so a drained pool has no live instance left
	p.finish()
}

// finish returns the slot of a call that ends without an instance.
func (p *pool) finish() {
	p.mu.Lock()
	p.doneLocked()
	p.mu.Unlock()
	<-p.slots
}

// doneLocked counts a call as finished and signals drained when it was the last call of a closed
// pool. p.mu must be held.
func (p *pool) doneLocked() {
	p.inflight--
	if p.closed && p.inflight == 0 {
		close(p.drained)
	}
}

// isClosed reports whether close has been called.
func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// size returns the number of live instances (idle and checked out). Tests use it.
func (p *pool) size() (idle, busy int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), len(p.busy)
}

// close stops the pool: later acquires fail with ErrClosed, idle instances are closed at once, and
// calls in progress are waited for until ctx is done. Then the calls still running are cancelled
// (wazero stops the guest, and the instance is discarded) and ctx's error is returned. close is idempotent.
func (p *pool) close(ctx context.Context) error {
	p.mu.Lock()
	var idle []*instance
	if !p.closed {
		p.closed = true
		close(p.closing)
		idle, p.idle = p.idle, nil
		if p.inflight == 0 {
			close(p.drained)
		}
	}
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close(ctx)
	}

	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	busy := make([]*instance, 0, len(p.busy))
	for inst := range p.busy {
		busy = append(busy, inst)
	}
	p.mu.Unlock()
	for _, inst := range busy {
		inst.abort()
	}
	return fmt.Errorf("actor: close with calls in progress: %w", ctx.Err())
}
