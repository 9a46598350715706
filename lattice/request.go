package lattice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// replyBuffer bounds the replies kept for one request while its caller checks an earlier one. Only plausible
// replies (see ReplyCheck) are kept, so only forgeries that claim a trusted signer can fill it.
const replyBuffer = 64

// ReplyCheck tells a request's genuine reply from the others.
type ReplyCheck interface {
	// Plausible is a cheap first look at a reply, made as it arrives on the inbox subscription: a reply it
	// refuses (one that answers another request, or whose signer is not trusted, say) is dropped at once and
	// takes no place in the request's buffer. It must not block, do I/O or check signatures.
	Plausible(reply []byte) bool
	// Accept checks a plausible reply fully; nil takes it as the answer.
	Accept(reply []byte) error
}

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
	pending map[string]pending // guarded by mu; by token
	closed  bool               // guarded by mu
}

// pending is one request waiting for its reply.
type pending struct {
	check   ReplyCheck
	ch      chan *nats.Msg
	dropped *atomic.Pointer[[]byte] // the last implausible reply, to say why none was taken
}

// NewRequester returns a Requester on nc. It does no I/O: the inbox subscription is made by the first request.
func NewRequester(nc *nats.Conn) *Requester {
	return &Requester{nc: nc, pending: map[string]pending{}}
}

func (r *Requester) subscribe() error {
	r.once.Do(func() {
		r.prefix = r.nc.NewInbox() + "."
		r.sub, r.err = r.nc.Subscribe(r.prefix+"*", func(m *nats.Msg) {
			token := m.Subject[len(r.prefix):]
			r.mu.Lock()
			p, ok := r.pending[token]
			r.mu.Unlock()
			if !ok {
				return // a late or unsolicited reply
			}
			if !noResponders(m) && !p.check.Plausible(m.Data) {
				p.dropped.Store(&m.Data)
				return
			}
			select {
			case p.ch <- m:
			default: // the caller is busy with enough plausible replies already
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
	r.once.Do(func() {})
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if r.sub != nil {
		_ = r.sub.Unsubscribe()
	}
}

// noResponders reports whether m is the server's "no responders" status (which anyone subscribed to the
// request's subject could forge as well).
func noResponders(m *nats.Msg) bool { return len(m.Data) == 0 && m.Header.Get("Status") == "503" }

// Request sends data to subject and waits, at most timeout and less when ctx ends first, for a reply check
// accepts. Replies check finds implausible are dropped as they arrive; replies it does not accept are
// skipped. When none is accepted, the error is the last refusal, or, when the only answer was the server's
// "no responders" status, ErrNoResponders naming the subject, or a timeout. A "no responders" status does not
// end the wait: anyone subscribed to the subject could send one, and the genuine reply may still come.
func (r *Requester) Request(ctx context.Context, subject string, data []byte, timeout time.Duration, check ReplyCheck) error {
	if err := r.subscribe(); err != nil {
		return err
	}
	token := nuid.Next()
	ch := make(chan *nats.Msg, replyBuffer)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("lattice: requester closed")
	}
	dropped := new(atomic.Pointer[[]byte])
	r.pending[token] = pending{check: check, ch: ch, dropped: dropped}
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
	nobody := false
	for {
		select {
		case m := <-ch:
			if noResponders(m) {
				nobody = true
				continue
			}
			err := check.Accept(m.Data)
			if err == nil {
				return nil
			}
			refused = err
		case <-timer.C:
			return r.failed(subject, check, refused, dropped.Load(), nobody, nats.ErrTimeout)
		case <-ctx.Done():
			return r.failed(subject, check, refused, dropped.Load(), nobody, ctx.Err())
		}
	}
}

// failed is the error of a request that got no reply it could take: why the last plausible reply was refused,
// or else why the last implausible one would have been (a reply signed by a host the caller does not trust
// says why that host refused, which is worth showing).
func (r *Requester) failed(subject string, check ReplyCheck, refused error, dropped *[]byte, nobody bool, cause error) error {
	if refused == nil && dropped != nil {
		refused = check.Accept(*dropped)
	}
	switch {
	case refused != nil:
		return refused
	case nobody:
		return fmt.Errorf("%w (%s)", ErrNoResponders, subject)
	}
	return fmt.Errorf("lattice: request %s: %w", subject, cause)
}
