package httpserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func assertDeepEqual(tb testing.TB, name string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s =\n\t%#v\nwant\n\t%#v", name, got, want)
	}
}

func assertContains(tb testing.TB, name, s, sub string) {
	tb.Helper()
	if !strings.Contains(s, sub) {
		tb.Errorf("%s = %q, want it to contain %q", name, s, sub)
	}
}

// newTestServer returns a Server that logs every level to the returned buffer and is shut down
// when the test ends.
func newTestServer(tb testing.TB, cfg Config) (*Server, *testutil.SyncBuffer) {
	tb.Helper()
	logs := &testutil.SyncBuffer{}
	s := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
	})
	return s, logs
}

// bindLoopback binds a free loopback port for owner and returns the base URL to reach it.
func bindLoopback(tb testing.TB, s *Server, owner string, h Handler) string {
	tb.Helper()
	require.NoError(tb, s.Bind("127.0.0.1:0", owner, h))
	addr := s.Addr("127.0.0.1:0")
	if addr == "" {
		tb.Fatal("Addr is empty after Bind")
	}
	return "http://" + addr
}

// newClient returns a client with its own connection pool, which asks for no compression so that
// the request headers are exactly the ones a test sets.
func newClient(tb testing.TB) *http.Client {
	tb.Helper()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// reply is what a client received.
type reply struct {
	status int
	header http.Header
	body   string
}

// send makes a request and reads the whole reply.
func send(tb testing.TB, c *http.Client, method, url string, body io.Reader, header http.Header) reply {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(tb, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "httpserver-test")
	}
	resp, err := c.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// copyRequest returns a deep copy of req, which is only valid while the Handler runs.
func copyRequest(req *contract.HTTPRequest) contract.HTTPRequest {
	c := *req
	c.Header = make(map[string][]string, len(req.Header))
	for k, v := range req.Header {
		c.Header[k] = append([]string(nil), v...)
	}
	if req.Body != nil {
		c.Body = bytes.Clone(req.Body)
	}
	return c
}

// okHandler answers every request with 200 and body.
func okHandler(body string) Handler {
	return func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		return &contract.HTTPResponse{StatusCode: 200, Body: []byte(body)}, nil
	}
}
