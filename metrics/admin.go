package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// ReadyFunc reports whether the daemon is ready to serve, with a report of its checks that /readyz shows as
// JSON (it must not hold secrets).
type ReadyFunc func() (ready bool, report any)

// Admin is the admin listener: /metrics, /healthz (the process is alive and serves HTTP) and /readyz (the
// daemon says it is ready: 200, or 503, with its report as JSON), and with AdminOptions.Pprof the Go runtime's
// profiles under /debug/pprof/.
type Admin struct {
	srv  *http.Server
	addr string
	done chan struct{}
	err  error // of Serve, read after done is closed
}

// AdminOptions are the optional parts of the admin listener.
type AdminOptions struct {
	// Pprof serves net/http/pprof's handlers under /debug/pprof/: the index, cmdline, profile, symbol, trace
	// and every named profile (heap, goroutine, allocs, block, mutex, threadcreate). The listener must then be
	// on a loopback address.
	Pprof bool
}

// ListenAdmin listens on addr (host:port) and serves the admin endpoints until Shutdown. It fails at once when
// the address cannot be listened on, and with ErrPprofNotLoopback when opts asks for profiles on an address
// that is not loopback (whatever addr says, the address actually listened on is checked).
func ListenAdmin(addr string, m *Metrics, ready ReadyFunc, log *slog.Logger, opts AdminOptions) (*Admin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrAdminAddress, addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); opts.Pprof && (!ok || !tcp.IP.IsLoopback()) {
		_ = ln.Close()
		return nil, fmt.Errorf("%w: %s listens on %s", ErrPprofNotLoopback, addr, ln.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, report := ready()
		b, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			b, _ = json.Marshal(map[string]string{"error": err.Error()})
			ok = false
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write(append(b, '\n'))
	})
	if opts.Pprof {
		// Mounted on this mux only: importing net/http/pprof also registers them on http.DefaultServeMux,
		// which the daemon never serves.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		// A CPU profile or a trace runs for the seconds the client asks; pprof extends the write deadline of
		// that response by as much, and stops when the client goes away.
	}
	a := &Admin{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(a.done)
		if err := a.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.err = err
			log.Error("admin listener stopped", "address", a.addr, "error", err)
		}
	}()
	return a, nil
}

// Addr returns the address listened on (with the port chosen when addr had port 0).
func (a *Admin) Addr() string { return a.addr }

// Shutdown stops the listener, letting requests in flight finish as long as ctx allows. It may be called on a
// nil Admin and more than once.
func (a *Admin) Shutdown(ctx context.Context) error {
	if a == nil {
		return nil
	}
	err := a.srv.Shutdown(ctx)
	if err != nil {
		_ = a.srv.Close()
	}
	select {
	case <-a.done:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("metrics: admin listener: %w", err)
	}
	return nil
}
