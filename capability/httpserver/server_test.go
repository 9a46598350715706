package httpserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestBindRefusesAnotherOwner(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	base := bindLoopback(t, s, "MFIRST", okHandler("first"))
	addr := strings.TrimPrefix(base, "http://")

	err := s.Bind("127.0.0.1:0", "MSECOND", okHandler("second"))
	require.ErrorIs(t, err, ErrAddressTaken)
	var taken *AddressTakenError
	if !errors.As(err, &taken) {
		t.Fatalf("error %v is not an *AddressTakenError", err)
	}
	require.Equal(t, "Owner", taken.Owner, "MFIRST")
	require.Equal(t, "Addr", taken.Addr, "127.0.0.1:0")
	assertContains(t, "message", err.Error(), "MFIRST")

	// The port the kernel picked is another key, but the kernel refuses a second listener.
	require.ErrorIs(t, s.Bind(addr, "MSECOND", okHandler("second")), ErrListen)

	// The first owner still serves the address.
	r := send(t, newClient(t), "GET", base+"/", nil, nil)
	require.Equal(t, "body", r.body, "first")
}

func TestBindSameOwnerReplacesHandler(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	base := bindLoopback(t, s, "MOWNER", okHandler("v1"))
	c := newClient(t)
	require.Equal(t, "body before rebind", send(t, c, "GET", base+"/", nil, nil).body, "v1")

	require.NoError(t, s.Bind("127.0.0.1:0", "MOWNER", okHandler("v2")))
	require.Equal(t, "Addr after rebind", "http://"+s.Addr("127.0.0.1:0"), base)
	require.Equal(t, "body after rebind", send(t, c, "GET", base+"/", nil, nil).body, "v2")
}

func TestBindAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	addr := ln.Addr().String()

	s, _ := newTestServer(t, Config{})
	err = s.Bind(addr, "MOWNER", okHandler(""))
	require.ErrorIs(t, err, ErrListen)
	assertContains(t, "message", err.Error(), addr)
	require.Equal(t, "Addr", s.Addr(addr), "")
}

func TestBindInvalid(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	bad := New(Config{MaxBody: -1}, nil)
	tests := []struct {
		name  string
		s     *Server
		addr  string
		owner string
		h     Handler
		want  error
		text  string
	}{
		{"empty address", s, "", "MOWNER", okHandler(""), ErrInvalidBind, "empty address"},
		{"empty owner", s, "127.0.0.1:0", "", okHandler(""), ErrInvalidBind, "empty owner"},
		{"nil handler", s, "127.0.0.1:0", "MOWNER", nil, ErrInvalidBind, "nil handler"},
		{"unparsable address", s, "not an address", "MOWNER", okHandler(""), ErrListen, "not an address"},
		{"invalid config", bad, "127.0.0.1:0", "MOWNER", okHandler(""), ErrConfig, "MaxBody"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Bind(tc.addr, tc.owner, tc.h)
			require.ErrorIs(t, err, tc.want)
			assertContains(t, "message", err.Error(), tc.text)
		})
	}
}

func TestAddrKeysNormalForm(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	require.NoError(t, s.Bind("127.0.0.1:00", "MOWNER", okHandler("")))
	if s.Addr("127.0.0.1:0") == "" {
		t.Error(`Addr("127.0.0.1:0") is empty after Bind("127.0.0.1:00")`)
	}
	err := s.Bind("127.0.0.1:0", "MOTHER", okHandler(""))
	require.ErrorIs(t, err, ErrAddressTaken)
}

// TestUnbind checks that a request in flight finishes, that new connections are refused at once,
// and that the address can be bound again.
func TestUnbind(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	entered := make(chan struct{})
	release := make(chan struct{})
	base := bindLoopback(t, s, "MOWNER", func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		close(entered)
		<-release
		return &contract.HTTPResponse{StatusCode: 200, Body: []byte("finished")}, nil
	})
	addr := strings.TrimPrefix(base, "http://")
	c := newClient(t)
	inflight := make(chan reply, 1)
	go func() { inflight <- send(t, c, "GET", base+"/slow", nil, nil) }()
	<-entered

	require.ErrorIs(t, s.Unbind(t.Context(), "127.0.0.1:0", "MOTHER"), ErrAddressTaken)
	require.NoError(t, s.Unbind(t.Context(), "127.0.0.1:0", "MOWNER"))
	require.ErrorIs(t, s.Unbind(t.Context(), "127.0.0.1:0", "MOWNER"), ErrNotBound)
	require.Equal(t, "Addr after Unbind", s.Addr("127.0.0.1:0"), "")

	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Unbind succeeded, want connection refused", addr)
	}

	close(release)
	r := <-inflight
	require.Equal(t, "in-flight status", r.status, 200)
	require.Equal(t, "in-flight body", r.body, "finished")

	// The same port can be bound again at once, by another actor.
	require.NoError(t, s.Bind(addr, "MNEXT", okHandler("next")))
	require.Equal(t, "body after rebind", send(t, c, "GET", base+"/", nil, nil).body, "next")
}

// TestUnboundGets503 drives the handler of an address right after Unbind, as a request that was
// already read from a kept-alive connection would.
func TestUnboundGets503(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	var calls atomic.Int32
	require.NoError(t, s.Bind("127.0.0.1:0", "MOWNER", func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		calls.Add(1)
		return &contract.HTTPResponse{}, nil
	}))

	s.mu.Lock()
	b := s.bindings["127.0.0.1:0"]
	s.mu.Unlock()
	require.NoError(t, s.Unbind(t.Context(), "127.0.0.1:0", "MOWNER"))

	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	require.Equal(t, "status", rec.Code, http.StatusServiceUnavailable)
	require.Equal(t, "body", rec.Body.String(), textUnavailable)
	require.Equal(t, "Connection", rec.Header().Get("Connection"), "close")
	require.Equal(t, "handler calls", calls.Load(), int32(0))
}

// TestShutdownWaitsForInFlight checks that Shutdown returns only after the request in flight was
// answered, and that it is idempotent.
func TestShutdownWaitsForInFlight(t *testing.T) {
	s := New(Config{}, nil)
	entered := make(chan struct{})
	release := make(chan struct{})
	var released atomic.Bool
	base := bindLoopback(t, s, "MOWNER", func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		close(entered)
		<-release
		return &contract.HTTPResponse{StatusCode: 200, Body: []byte("done")}, nil
	})
	// A second, unbound address that is still draining is waited for too.
	require.NoError(t, s.Bind("127.0.0.2:0", "MOTHER", okHandler("")))
	require.NoError(t, s.Unbind(t.Context(), "127.0.0.2:0", "MOTHER"))

	c := newClient(t)
	inflight := make(chan reply, 1)
	go func() { inflight <- send(t, c, "GET", base+"/", nil, nil) }()
	<-entered

	type result struct {
		err         error
		sawReleased bool
	}
	shut := make(chan result, 1)
	go func() {
		err := s.Shutdown(context.Background())
		shut <- result{err, released.Load()}
	}()
	addr := strings.TrimPrefix(base, "http://")
	require.Eventually(t, 10*time.Second, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err != nil
	}, "the listener to close")

	released.Store(true)
	close(release)

	res := <-shut
	require.NoError(t, res.err)
	if !res.sawReleased {
		t.Error("Shutdown returned before the in-flight request was released")
	}
	r := <-inflight
	require.Equal(t, "in-flight status", r.status, 200)
	require.Equal(t, "in-flight body", r.body, "done")

	require.NoError(t, s.Shutdown(context.Background()))
	require.ErrorIs(t, s.Bind("127.0.0.1:0", "MOWNER", okHandler("")), ErrClosed)
	require.Equal(t, "Addr after Shutdown", s.Addr("127.0.0.1:0"), "")
}

// TestShutdownForced checks that a Shutdown whose context ends closes the connections, cancels the
// handler's context and reports the context's error.
func TestShutdownForced(t *testing.T) {
	s := New(Config{}, nil)
	entered := make(chan struct{})
	var cancelled atomic.Bool
	base := bindLoopback(t, s, "MOWNER", func(ctx context.Context, _ *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		close(entered)
		<-ctx.Done()
		cancelled.Store(true)
		return nil, ctx.Err()
	})
	c := newClient(t)
	clientErr := make(chan error, 1)
	go func() {
		resp, err := c.Get(base + "/")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Eventually(t, 10*time.Second, cancelled.Load, "the handler's context to be cancelled")
	if err := <-clientErr; err == nil {
		t.Error("client got a response, want a closed connection")
	}
	// A later Shutdown does not repeat the work and reports success.
	require.NoError(t, s.Shutdown(context.Background()))
}

func TestShutdownWithoutBindings(t *testing.T) {
	s := New(Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	require.NoError(t, s.Shutdown(ctx))
	require.ErrorIs(t, s.Unbind(t.Context(), "127.0.0.1:0", "MOWNER"), ErrNotBound)
}
