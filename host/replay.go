package host

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// replayRetry is how long a host waits before it tries again to open a lattice replay record it could not.
const replayRetry = time.Second

// replayRecord is the lattice-wide record of the invocations the hosts of a lattice accepted
// (WASMCLOUD_REPLAY_SCOPE=lattice): an invocation is load-balanced over the hosts that run its actor, so a
// captured one replayed later may reach a host that never saw the original. Each accepted invocation is
// claimed once, atomically, in a JetStream key-value bucket, until its token expires; a host that cannot
// reach the record refuses rather than accepts unrecorded.
type replayRecord struct {
	nc      *nats.Conn
	lattice string
	domain  string
	// maxTTL is the longest an accepted invocation is kept: the longest a token can be honoured from now.
	maxTTL time.Duration
	rep    lattice.Replication

	mu   sync.Mutex
	once *lattice.Once // guarded by mu; nil until opened
	next time.Time     // guarded by mu; no attempt to open before this, after a failure
}

// open opens the record unless it is open, or a failed attempt was too recent.
func (r *replayRecord) open(ctx context.Context) (*lattice.Once, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.once != nil {
		return r.once, nil
	}
	if r.nc == nil {
		return nil, errors.New("host: not connected")
	}
	if time.Now().Before(r.next) {
		return nil, errors.New("host: the lattice replay record is not open yet")
	}
	o, err := lattice.OpenOnce(ctx, r.nc, r.lattice, r.domain, lattice.OnceConfig{MaxTTL: r.maxTTL, Replication: r.rep})
	if err != nil {
		r.next = time.Now().Add(replayRetry)
		return nil, err
	}
	r.once = o
	return o, nil
}

// claim records an accepted invocation for rpc.VerifyOptions.Claim.
func (r *replayRecord) claim(ctx context.Context, key string, until time.Time) (bool, error) {
	o, err := r.open(ctx)
	if err != nil {
		return false, err
	}
	switch err := o.Claim(ctx, key, until); {
	case err == nil:
		return true, nil
	case errors.Is(err, lattice.ErrAlreadyClaimed):
		return false, nil
	default:
		return false, err
	}
}
