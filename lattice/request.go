package lattice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// replyBuffer bounds the replies kept for one request while its caller checks an earlier one; more are
// dropped, so a flood of forged replies costs the caller nothing but their decoding.
const replyBuffer = 16

// Requester sends RPC requests on one connection and, for each, waits for a reply its caller accepts. NATS
// hands a request the first reply that arrives; anyone who can subscribe to an actor's subject could answer
// first with a forgery. A Requester keeps reading the replies to a request until one verifies, so a forged
// reply costs a verification, not the call. It uses one wildcard inbox subscription for all its requests.
// It is safe for concurrent use.
type Requester struct {
	nc *nats.Conn

	once   sync.Once
	err    error
	prefix string // {inbox}.; a request's reply subject is prefix + token
	sub    *nats.Subscription

	mu      sync.Mutex
	pending map[string]chan *nats.Msg // guarded by mu; by token
}

// NewRequester returns a Requester on nc. It does no I/O: the inbox subscription is made by the first request.
func NewRequester(nc *nats.Conn) *Requester {
	return &Requester{nc: nc, pending: map[string]chan *nats.Msg{}}
}

func (r *Requester) subscribe() error {
	r.once.Do(func() {
		r.prefix = r.nc.NewInbox() + "."
		r.sub, r.err = r.nc.Subscribe(r.prefix+"*", func(m *nats.Msg) {
			token := m.Subject[len(r.prefix):]
			r.mu.Lock()
			ch := r.pending[token]
			r.mu.Unlock()
			if ch == nil {
				return // a late or unsolicited reply
			}
			select {
			case ch <- m:
			default: // the caller is busy with enough replies already
			}
		})
		if r.err != nil {
			r.err = fmt.Errorf("lattice: subscribe to reply inbox: %w", r.err)
		}
	})
	return r.err
}

// Close ends the inbox subscription. Requests after Close fail.
func (r *Requester) Close() {
	r.once.Do(func() { r.err = errors.New("lattice: requester closed") })
	if r.sub != nil {
		_ = r.sub.Unsubscribe()
	}
}

// Request sends data to subject and waits, at most timeout and less when ctx ends first, for a reply that
// accept takes (returns nil for). Replies accept refuses are skipped; when none is taken, the error is the
// last refusal, or a timeout. "No responders" is reported as ErrNoResponders, naming the subject.
func (r *Requester) Request(ctx context.Context, subject string, data []byte, timeout time.Duration, accept func([]byte) error) error {
	if err := r.subscribe(); err != nil {
		return err
	}
	token := nuid.Next()
	ch := make(chan *nats.Msg, replyBuffer)
	r.mu.Lock()
	r.pending[token] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, token)
		r.mu.Unlock()
	}()
	if err := r.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: r.prefix + token, Data: data}); err != nil {
		return fmt.Errorf("lattice: request %s: %w", subject, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var refused error
	for {
		select {
		case m := <-ch:
			if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
				return fmt.Errorf("%w (%s)", ErrNoResponders, subject)
			}
			err := accept(m.Data)
			if err == nil {
				return nil
			}
			refused = err
		case <-timer.C:
			if refused != nil {
				return refused
			}
			return fmt.Errorf("lattice: request %s: %w", subject, nats.ErrTimeout)
		case <-ctx.Done():
			if refused != nil {
				return refused
			}
			return fmt.Errorf("lattice: request %s: %w", subject, ctx.Err())
		}
	}
}
