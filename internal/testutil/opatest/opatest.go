// Package opatest runs a real OPA server, its REST API and plugin manager as `opa run --server` wires them,
// in the test process on a loopback port, with policy and data files loaded. Only tests import it: the
// daemon speaks to OPA over HTTP with the standard library and never links OPA (TestDeps guards that).
package opatest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Server is a running OPA server.
type Server struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL  string
	stop func()
}

// Stop shuts the server down (also done when the test ends); it is idempotent.
func (s *Server) Stop() { s.stop() }

// Run starts OPA with the given policy (.rego) and data (.json) files and stops it when the test ends.
func Run(t testing.TB, files ...string) *Server {
	t.Helper()
	ctx := context.Background()
	loaded, err := loader.NewFileLoader().All(files)
	require.NoError(t, err)
	quiet := logging.NewNoOpLogger()
	store := inmem.New()
	mgr, err := plugins.New(nil, "wasmcloud-host-test", store, plugins.InitFiles(*loaded), plugins.Logger(quiet), plugins.ConsoleLogger(quiet))
	require.NoError(t, err)
	require.NoError(t, mgr.Start(ctx))
	srv, err := server.New().WithStore(store).WithManager(mgr).WithAddresses([]string{"127.0.0.1:0"}).Init(ctx)
	require.NoError(t, err)
	loops, err := srv.Listeners()
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Go(func() { _ = loop() }) // http.ErrServerClosed after Shutdown
	}
	require.Eventually(t, 10*time.Second, func() bool { return len(srv.Addrs()) > 0 }, "OPA to listen")
	var once sync.Once
	s := &Server{URL: "http://" + srv.Addrs()[0]}
	s.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("OPA shutdown: %v", err)
			}
			mgr.Stop(ctx)
			wg.Wait()
		})
	}
	t.Cleanup(s.stop)
	return s
}
