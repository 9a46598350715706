package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// Log attribute keys.
const (
	logKeyActor   = "actor"
	logKeyAddress = "address"
)

// Handler delivers one HTTP request to the actor that owns the address, as an invocation of
// HttpServer.HandleRequest, and returns the actor's answer. The host supplies it.
//
// ctx carries Config.HandlerTimeout and is cancelled when the client goes away or the server is
// forced to close; the Handler must return soon after it is done. req and req.Body are valid only
// until the Handler returns (the body buffer is reused): a Handler that keeps them must copy them.
// The returned response is only read, and may alias req.Body.
//
// A non-nil error means the actor failed (the client gets 502), timed out (504, when ctx's
// deadline passed) or is gone (503, when the error wraps ErrActorGone).
type Handler func(ctx context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error)

// Server serves the addresses that actors are linked to, one net/http server per address. Its
// methods are safe for concurrent use.
type Server struct {
	cfg    Config
	cfgErr error
	log    *slog.Logger

	// wg counts the goroutines the Server started: one Serve per listener and one drain per
	// unbound address. Add is only called with mu held and closed false.
	wg sync.WaitGroup

	mu       sync.Mutex
	bindings map[string]*binding   // guarded by mu; keyed by addrKey
	draining map[*binding]struct{} // guarded by mu; unbound, still finishing requests
	closed   bool                  // guarded by mu
	done     chan struct{}         // closed when the first Shutdown has finished
}

// binding is one listening address and the actor it serves.
type binding struct {
	cfg   *Config // the Server's, read-only
	log   *slog.Logger
	key   string
	owner string
	ln    *onceCloseListener
	http  *http.Server

	// target is the Handler to call; nil once the address is unbound, so that a request racing
	// the unbind gets 503 instead of reaching an actor that no longer owns the address.
	target atomic.Pointer[Handler]
	// limits are the link's limits; a new Bind by the same owner replaces them.
	limits atomic.Pointer[Limits]
	// conns counts open connections, active the requests being read or handled; refusedConns and
	// refusedRequests count what the limits turned away (503).
	conns, active, reading        atomic.Int64
	refusedConns, refusedRequests atomic.Int64
	// bodyBytes is what the request bodies being read or handled hold, within Config.BodyBudget.
	bodyBytes atomic.Int64
	// idle holds the kept-alive connections waiting for their next request, and since when: the oldest is
	// closed to make room when a new connection would exceed MaxConnections.
	idleMu sync.Mutex
	idle   map[net.Conn]time.Time // guarded by idleMu
}

// connState tracks idle connections for the binding's http.Server.
func (b *binding) connState(c net.Conn, st http.ConnState) {
	b.idleMu.Lock()
	defer b.idleMu.Unlock()
	if st == http.StateIdle {
		b.idle[c] = time.Now()
	} else {
		delete(b.idle, c)
	}
}

// evictIdle closes the connection that has been idle longest, if any, and reports whether it did.
func (b *binding) evictIdle() bool {
	b.idleMu.Lock()
	var oldest net.Conn
	var since time.Time
	for c, t := range b.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(b.idle, oldest)
	b.idleMu.Unlock()
	if oldest == nil {
		return false
	}
	_ = oldest.Close()
	return true
}

// New returns a Server that applies cfg (zero fields take their defaults) and logs to log (nil
// discards). It does no I/O: Bind starts listening. If cfg fails Validate, every Bind returns the
// validation error.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:      cfg.withDefaults(),
		cfgErr:   cfg.Validate(),
		log:      log,
		bindings: make(map[string]*binding),
		draining: make(map[*binding]struct{}),
		done:     make(chan struct{}),
	}
}

// Bind serves addr (host:port; port 0 picks a free port, see Addr) for owner, the actor's public
// key, with h. An address held by another owner is refused with an *AddressTakenError. When owner
// already holds addr, h replaces its Handler for the next requests without listening again. A
// listen failure wraps ErrListen and names the address.
func (s *Server) Bind(addr, owner string, h Handler) error {
	return s.BindWith(addr, owner, s.cfg.Limits(), h)
}

// BindWith is Bind with the limits of the link (see ParseLink) instead of the Config's defaults. A new
// BindWith by the owner of addr replaces the limits for the next connections and requests.
func (s *Server) BindWith(addr, owner string, limits Limits, h Handler) error {
	switch {
	case addr == "":
		return fmt.Errorf("%w: empty address", ErrInvalidBind)
	case owner == "":
		return fmt.Errorf("%w of %s: empty owner", ErrInvalidBind, addr)
	case h == nil:
		return fmt.Errorf("%w of %s for %s: nil handler", ErrInvalidBind, addr, owner)
	case s.cfgErr != nil:
		return fmt.Errorf("httpserver: bind %s: %w", addr, s.cfgErr)
	case limits.MaxConnections < 1 || limits.MaxConcurrent < 1 || limits.MaxBody < 1:
		return fmt.Errorf("%w of %s for %s: limits %+v", ErrInvalidBind, addr, owner, limits)
	}
	key := addrKey(addr)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("bind %s: %w", key, ErrClosed)
	}
	if b, ok := s.bindings[key]; ok {
		if b.owner != owner {
			return &AddressTakenError{Addr: key, Owner: b.owner}
		}
		b.limits.Store(&limits)
		b.target.Store(&h)
		return nil
	}
	// Listening with mu held keeps two Binds of one address from both reaching the kernel; a
	// listen is a couple of system calls.
	tcp, err := net.Listen("tcp", key)
	if err != nil {
		return fmt.Errorf("%w on %s: %w", ErrListen, key, err)
	}
	log := s.log.With(slog.String(logKeyAddress, key), slog.String(logKeyActor, owner))
	b := &binding{cfg: &s.cfg, log: log, key: key, owner: owner, idle: map[net.Conn]time.Time{}}
	b.ln = &onceCloseListener{Listener: &limitListener{Listener: tcp, b: b}}
	b.limits.Store(&limits)
	b.target.Store(&h)
	b.http = &http.Server{
		Handler:           b,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:         b.connState,
	}
	s.bindings[key] = b
	s.wg.Go(func() {
		err := b.http.Serve(b.ln)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Error("HTTP server stopped accepting connections", slog.Any("error", err))
		}
	})
	return nil
}

// Unbind stops serving addr for owner. New connections are refused from the moment it returns;
// requests already in an actor finish in the background, within WriteTimeout of their headers and
// with ctx's values but not its cancellation (Shutdown waits for them), and requests
// that race the unbind get 503. It returns an error wrapping ErrNotBound when addr is not bound,
// or an *AddressTakenError when another owner holds it.
func (s *Server) Unbind(ctx context.Context, addr, owner string) error {
	key := addrKey(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bindings[key]
	if !ok {
		return fmt.Errorf("unbind %s: %w", key, ErrNotBound)
	}
	if b.owner != owner {
		return &AddressTakenError{Addr: key, Owner: b.owner}
	}
	delete(s.bindings, key)
	b.target.Store(nil)
	b.http.SetKeepAlivesEnabled(false)
	_ = b.ln.Close()
	s.draining[b] = struct{}{}
	s.wg.Go(func() {
		// A request started before the unbind ends within WriteTimeout of its headers.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ReadHeaderTimeout+s.cfg.WriteTimeout)
		defer cancel()
		if err := b.http.Shutdown(ctx); err != nil {
			_ = b.http.Close()
		}
		s.mu.Lock()
		delete(s.draining, b)
		s.mu.Unlock()
	})
	return nil
}

// Addr returns the address the listener for addr is bound to (with the port the kernel chose when
// addr asked for port 0), or "" when addr is not bound.
func (s *Server) Addr(addr string) string {
	key := addrKey(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bindings[key]; ok {
		return b.ln.Addr().String()
	}
	return ""
}

// Shutdown stops every listener, lets the requests in flight finish and waits for every goroutine
// the Server started. Requests that arrive meanwhile on open connections get 503. When ctx ends
// first, it closes every connection (cancelling the Handlers' contexts) and returns ctx's error.
// It is idempotent: later calls wait for the first to finish and return nil. After Shutdown, Bind
// returns ErrClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		select {
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.closed = true
	all := make([]*binding, 0, len(s.bindings)+len(s.draining))
	for _, b := range s.bindings {
		b.target.Store(nil)
		all = append(all, b)
	}
	clear(s.bindings)
	for b := range s.draining {
		all = append(all, b)
	}
	s.mu.Unlock()
	defer close(s.done)

	// Draining bindings are already shutting down; calling Shutdown again on them is harmless and
	// makes them all end under ctx.
	var (
		stopped sync.WaitGroup
		forced  atomic.Bool
	)
	for _, b := range all {
		stopped.Go(func() {
			if err := b.http.Shutdown(ctx); err != nil {
				forced.Store(true)
				_ = b.http.Close()
			}
		})
	}
	stopped.Wait()
	s.wg.Wait()
	if forced.Load() {
		return fmt.Errorf("httpserver: shutdown: connections closed before their requests finished: %w", ctx.Err())
	}
	return nil
}

// onceCloseListener closes its listener once: Unbind closes it to refuse new connections at once,
// and net/http closes it again when it shuts down, which must not look like a failure.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

// Close closes the listener the first time and returns that result every time.
func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
