package lattice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// Defaults for EmbeddedConfig's zero fields.
const (
	DefaultEmbeddedHost = "127.0.0.1"
	DefaultEmbeddedPort = 4222
	DefaultStartTimeout = 10 * time.Second
	readyPoll           = 50 * time.Millisecond
)

// EmbeddedConfig configures the embedded nats-server.
type EmbeddedConfig struct {
	// Host is the loopback IP address to listen on (DefaultEmbeddedHost when empty). Anything
	// but a loopback address is refused: the embedded server is for the processes of one machine.
	Host string
	// Port is the client port (DefaultEmbeddedPort when zero); -1 picks a free port, for tests.
	Port int
	// StoreDir is the JetStream store directory, created (0700) when missing. Required.
	StoreDir string
	// JSDomain is the JetStream domain, if any.
	JSDomain string
	// ServerName is the server's name (its generated id when empty).
	ServerName string
	// StartTimeout bounds Start, together with its context (DefaultStartTimeout when zero).
	StartTimeout time.Duration
	// Debug turns on the server's debug log (routed to slog at debug level like the rest).
	Debug bool
	// UserDir is the state directory that holds the seed of the one NATS user the server accepts
	// (LocalUserFile, generated when missing; see LocalUser). Empty: the server asks for no
	// authentication, which only tests want.
	UserDir string
}

// Embedded is an in-process nats-server with JetStream. NewEmbedded does no I/O; Start starts
// it; Shutdown stops it and may be called any number of times.
type Embedded struct {
	cfg EmbeddedConfig
	log *slog.Logger

	mu       sync.Mutex     // guards the fields below
	srv      *server.Server // set by a successful Start
	user     config.Secret  // the seed of the server's user (UserDir); wiped by Shutdown
	userPub  string
	started  bool          // Start was called
	shutdown bool          // Shutdown was called
	stopped  chan struct{} // closed when the server has fully stopped
}

// NewEmbedded returns an embedded server that Start will run with c; log receives the server's
// own log (nil means none). It does no I/O and never fails: c is checked by Start.
func NewEmbedded(c EmbeddedConfig, log *slog.Logger) *Embedded {
	if c.Host == "" {
		c.Host = DefaultEmbeddedHost
	}
	if c.Port == 0 {
		c.Port = DefaultEmbeddedPort
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Embedded{cfg: c, log: log, stopped: make(chan struct{})}
}

// Addr returns the configured listen address, "127.0.0.1:4222".
func (e *Embedded) Addr() string { return net.JoinHostPort(e.cfg.Host, strconv.Itoa(e.cfg.Port)) }

// Start starts the server and waits until it accepts connections, for at most StartTimeout or
// until ctx ends. A failure (address in use, store not writable, not ready in time) returns an
// *EmbeddedError after stopping whatever had started; Start may be called once.
func (e *Embedded) Start(ctx context.Context) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer func() {
		if err != nil {
			e.user.Wipe() // the seed stays in its file; this process no longer needs it
		}
	}()
	switch {
	case e.shutdown:
		return ErrShutdown
	case e.started:
		return e.fail(errors.New("already started"))
	}
	e.started = true

	if err := ctx.Err(); err != nil {
		return e.fail(fmt.Errorf("%w: %w", ErrNotReady, err))
	}
	if err := e.check(); err != nil {
		return e.fail(err)
	}
	if err := os.MkdirAll(e.cfg.StoreDir, 0o700); err != nil {
		return e.fail(fmt.Errorf("create JetStream store: %w", err))
	}
	if e.cfg.UserDir != "" {
		user, pub, err := LocalUser(e.cfg.UserDir, true)
		if err != nil {
			return e.fail(err)
		}
		e.user, e.userPub = user, pub
	}
	// nats-server reports a taken port only through its log; try the address first so the
	// common case gets a precise error. The race that remains is caught from the log below.
	if e.cfg.Port > 0 {
		ln, err := net.Listen("tcp", e.Addr())
		if err != nil {
			return e.fail(listenError(err, err.Error()))
		}
		_ = ln.Close()
	}

	srv, err := server.NewServer(e.options())
	if err != nil {
		return e.fail(err)
	}
	sl := &serverLog{log: e.log.With(attrComponent, "nats-server")}
	srv.SetLoggerV2(sl, e.cfg.Debug, false, false)

	// Start is synchronous up to the listener but may take long (JetStream recovery), so it runs
	// aside while this goroutine watches the context, the clock and the log.
	startDone := make(chan struct{})
	go func() {
		defer close(startDone)
		srv.Start()
	}()
	deadline := time.Now().Add(e.cfg.StartTimeout)
	stop := func(cause error) error {
		srv.Shutdown()
		<-startDone
		srv.WaitForShutdown()
		return e.fail(cause)
	}
	for {
		if msg := sl.fatal(); msg != "" {
			return stop(listenError(nil, msg))
		}
		if srv.ReadyForConnections(readyPoll) {
			<-startDone
			if msg := sl.fatal(); msg != "" {
				return stop(listenError(nil, msg))
			}
			e.srv = srv
			return nil
		}
		if err := ctx.Err(); err != nil {
			return stop(fmt.Errorf("%w: %w", ErrNotReady, err))
		}
		if time.Now().After(deadline) {
			return stop(fmt.Errorf("%w after %s", ErrNotReady, e.cfg.StartTimeout))
		}
	}
}

// check validates the configuration.
func (e *Embedded) check() error {
	ip := net.ParseIP(e.cfg.Host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q is not a loopback IP address", ErrConfig, e.cfg.Host)
	}
	if e.cfg.Port < -1 || e.cfg.Port > 65535 {
		return fmt.Errorf("%w: port %d out of range", ErrConfig, e.cfg.Port)
	}
	if e.cfg.StoreDir == "" {
		return fmt.Errorf("%w: no JetStream store directory", ErrConfig)
	}
	return nil
}

// options returns the server options: loopback, no signal handling, JetStream in StoreDir, no
// monitoring port.
func (e *Embedded) options() *server.Options {
	var users []*server.NkeyUser
	if e.userPub != "" {
		users = []*server.NkeyUser{{Nkey: e.userPub}}
	}
	return &server.Options{
		Nkeys:                  users,
		ServerName:             e.cfg.ServerName,
		Host:                   e.cfg.Host,
		Port:                   e.cfg.Port,
		NoSigs:                 true,
		JetStream:              true,
		StoreDir:               e.cfg.StoreDir,
		JetStreamDomain:        e.cfg.JSDomain,
		DisableJetStreamBanner: true,
		Debug:                  e.cfg.Debug,
	}
}

func (e *Embedded) fail(err error) error {
	return &EmbeddedError{Host: e.cfg.Host, Port: e.cfg.Port, Err: err}
}

// ClientURL returns the URL clients connect to, "nats://127.0.0.1:4222" (with the real port when
// Port was -1), or "" before a successful Start and after Shutdown.
func (e *Embedded) ClientURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv == nil || e.shutdown {
		return ""
	}
	return e.srv.ClientURL()
}

// User returns the seed of the server's one user, for the connections of the process that started it (unset
// when the server asks for no authentication). It shares the bytes Shutdown wipes.
func (e *Embedded) User() config.Secret {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.user
}

// Shutdown stops the server, closing its client connections, and waits until it has stopped or
// ctx ends. It is safe to call any number of times, and before or without Start.
func (e *Embedded) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if !e.shutdown {
		e.shutdown = true
		srv := e.srv
		user := e.user
		go func() {
			defer close(e.stopped)
			defer user.Wipe()
			if srv != nil {
				srv.Shutdown()
				srv.WaitForShutdown()
				e.log.Debug("embedded nats-server stopped", attrComponent, "nats-server")
			}
		}()
	}
	e.mu.Unlock()
	select {
	case <-e.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("lattice: embedded nats-server shutdown: %w", ctx.Err())
	}
}

// portInUse is the cause of a failed listen on a taken address.
type portInUse struct{ cause error }

func (p portInUse) Error() string   { return ErrPortInUse.Error() }
func (p portInUse) Unwrap() []error { return []error{ErrPortInUse, p.cause} }

// listenError maps a listen failure (err from net.Listen, or msg from the server's log) to
// portInUse when the address is taken, and to a plain error otherwise.
func listenError(err error, msg string) error {
	if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(msg, syscall.EADDRINUSE.Error()) {
		if err == nil {
			err = errors.New(msg)
		}
		return portInUse{cause: err}
	}
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// serverLog routes nats-server's log to slog. Notices, debug and trace lines go to debug level;
// warnings and errors keep their level. A fatal line (the server gave up starting) is kept for
// Start to return, and logged at debug only since Start reports it.
type serverLog struct {
	log *slog.Logger

	mu       sync.Mutex // guards fatalMsg
	fatalMsg string
}

func (l *serverLog) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalMsg
}

func (l *serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Debug(msg, "fatal", true)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatalMsg == "" {
		l.fatalMsg = msg
	}
}
