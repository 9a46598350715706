package lattice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Request sends one RPC request (an encoded invocation) to subject and returns the reply's data. It waits at
// most timeout, and less when ctx ends first. "No responders" is reported as ErrNoResponders, naming the
// subject.
func Request(ctx context.Context, nc *nats.Conn, subject string, msg []byte, timeout time.Duration) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := nc.RequestWithContext(rctx, subject, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%w (%s)", ErrNoResponders, subject)
	case err != nil:
		return nil, fmt.Errorf("lattice: request %s: %w", subject, err)
	}
	return m.Data, nil
}
