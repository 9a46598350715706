package httpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestMapping checks that a request reaches the actor field by field and that the actor's
// response reaches the client field by field.
func TestMapping(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	var (
		mu   sync.Mutex
		got  contract.HTTPRequest
		next *contract.HTTPResponse
	)
	base := bindLoopback(t, s, "MOWNER", func(_ context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		got = copyRequest(req)
		return next, nil
	})
	host := strings.TrimPrefix(base, "http://")
	c := newClient(t)

	tests := []struct {
		name     string
		method   string
		target   string // path and query
		body     io.Reader
		header   http.Header
		actor    contract.HTTPResponse
		want     contract.HTTPRequest // Header gets Host and User-Agent added
		status   int
		respHead http.Header // without Date
		respBody string
	}{
		{
			name:   "GET with query and repeated header",
			method: "GET", target: "/hello/world?a=1&b=two%20x&a=3",
			header: http.Header{"X-Multi": {"one", "two"}},
			actor: contract.HTTPResponse{Header: map[string][]string{
				"Content-Type": {"text/plain"}, "X-Two": {"a", "b"}}, Body: []byte("hi")},
			want: contract.HTTPRequest{Method: "GET", Path: "/hello/world", QueryString: "a=1&b=two%20x&a=3",
				Header: map[string][]string{"X-Multi": {"one", "two"}}},
			status:   200,
			respHead: http.Header{"Content-Type": {"text/plain"}, "X-Two": {"a", "b"}, "Content-Length": {"2"}},
			respBody: "hi",
		},
		{
			name:   "POST with body and status 201",
			method: "POST", target: "/items",
			body:   strings.NewReader(`{"n":1}`),
			header: http.Header{"Content-Type": {"application/json"}},
			actor:  contract.HTTPResponse{StatusCode: 201, Header: map[string][]string{"Location": {"/items/1"}}, Body: []byte("made")},
			want: contract.HTTPRequest{Method: "POST", Path: "/items",
				Header: map[string][]string{"Content-Type": {"application/json"}, "Content-Length": {"7"}},
				Body:   []byte(`{"n":1}`)},
			status:   201,
			respHead: http.Header{"Location": {"/items/1"}, "Content-Length": {"4"}},
			respBody: "made",
		},
		{
			name:   "chunked request body",
			method: "PUT", target: "/blob",
			body:  io.MultiReader(strings.NewReader("part one, "), strings.NewReader("part two")),
			actor: contract.HTTPResponse{StatusCode: 200},
			want: contract.HTTPRequest{Method: "PUT", Path: "/blob",
				Header: map[string][]string{}, Body: []byte("part one, part two")},
			status:   200,
			respHead: http.Header{"Content-Length": {"0"}},
		},
		{
			name:   "escaped path stays escaped",
			method: "GET", target: "/a%2Fb/c%20d/%E2%82%AC?q=%3F",
			actor: contract.HTTPResponse{StatusCode: 404, Body: []byte("nope")},
			want: contract.HTTPRequest{Method: "GET", Path: "/a%2Fb/c%20d/%E2%82%AC", QueryString: "q=%3F",
				Header: map[string][]string{}},
			status:   404,
			respHead: http.Header{"Content-Length": {"4"}},
			respBody: "nope",
		},
		{
			name:   "empty query after question mark",
			method: "DELETE", target: "/x?",
			actor:  contract.HTTPResponse{StatusCode: 202},
			want:   contract.HTTPRequest{Method: "DELETE", Path: "/x", Header: map[string][]string{}},
			status: 202, respHead: http.Header{"Content-Length": {"0"}},
		},
		{
			name:   "connection-level and invalid headers are dropped",
			method: "GET", target: "/",
			actor: contract.HTTPResponse{StatusCode: 200, Header: map[string][]string{
				"Connection":        {"close"},
				"Transfer-Encoding": {"chunked"},
				"content-length":    {"999"},
				"Keep-Alive":        {"timeout=1"},
				"Upgrade":           {"websocket"},
				"Bad Name":          {"x"},
				"X-Injected":        {"ok\r\nX-Evil: 1", "fine"},
				"x-lower-case":      {"kept"},
			}, Body: []byte("hello")},
			want:     contract.HTTPRequest{Method: "GET", Path: "/", Header: map[string][]string{}},
			status:   200,
			respHead: http.Header{"Content-Length": {"5"}, "X-Injected": {"fine"}, "X-Lower-Case": {"kept"}},
			respBody: "hello",
		},
		{
			name:   "content type is not sniffed",
			method: "GET", target: "/page",
			actor:    contract.HTTPResponse{StatusCode: 200, Body: []byte("<html><body>hi</body></html>")},
			want:     contract.HTTPRequest{Method: "GET", Path: "/page", Header: map[string][]string{}},
			status:   200,
			respHead: http.Header{"Content-Length": {"28"}},
			respBody: "<html><body>hi</body></html>",
		},
		{
			name:   "204 sends no body",
			method: "POST", target: "/ping",
			actor:  contract.HTTPResponse{StatusCode: 204, Header: map[string][]string{"X-A": {"1"}}, Body: []byte("ignored")},
			want:   contract.HTTPRequest{Method: "POST", Path: "/ping", Header: map[string][]string{"Content-Length": {"0"}}},
			status: 204, respHead: http.Header{"X-A": {"1"}},
		},
		{
			name:   "HEAD gets the length but no body",
			method: "HEAD", target: "/file",
			actor:  contract.HTTPResponse{StatusCode: 200, Body: []byte("abc")},
			want:   contract.HTTPRequest{Method: "HEAD", Path: "/file", Header: map[string][]string{}},
			status: 200, respHead: http.Header{"Content-Length": {"3"}},
		},
		{
			name:   "status 999 is passed on",
			method: "GET", target: "/odd",
			actor:  contract.HTTPResponse{StatusCode: 999, Body: []byte("x")},
			want:   contract.HTTPRequest{Method: "GET", Path: "/odd", Header: map[string][]string{}},
			status: 999, respHead: http.Header{"Content-Length": {"1"}},
			respBody: "x",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			next = &tc.actor
			got = contract.HTTPRequest{}
			mu.Unlock()

			r := send(t, c, tc.method, base+tc.target, tc.body, tc.header)

			mu.Lock()
			defer mu.Unlock()
			want := tc.want
			want.Header["Host"] = []string{host}
			want.Header["User-Agent"] = []string{"httpserver-test"}
			assertDeepEqual(t, "request", got, want)

			require.Equal(t, "status", r.status, tc.status)
			if len(r.header["Date"]) != 1 {
				t.Errorf("Date header = %q, want one value", r.header["Date"])
			}
			r.header.Del("Date")
			assertDeepEqual(t, "response header", r.header, tc.respHead)
			require.Equal(t, "response body", r.body, tc.respBody)
		})
	}
}

// TestFailures checks the status codes the server answers with when the actor does not produce
// a usable response, and that the cause is logged with the actor but not sent to the client.
func TestFailures(t *testing.T) {
	secret := errors.New("wasm trap at 0xdeadbeef in secret_function")
	tests := []struct {
		name    string
		handler Handler
		status  int
		body    string
		log     string // must appear in the log
	}{
		{
			name: "handler error",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return nil, fmt.Errorf("invoke: %w", secret)
			},
			status: 502, body: textBadGateway, log: "secret_function",
		},
		{
			name: "actor gone",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return nil, fmt.Errorf("deliver: %w", ErrActorGone)
			},
			status: 503, body: textActorGone, log: "actor is gone",
		},
		{
			name: "status above 999",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return &contract.HTTPResponse{StatusCode: 1000, Body: []byte("secret")}, nil
			},
			status: 502, body: textBadGateway, log: "status=1000",
		},
		{
			name: "status below 100",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return &contract.HTTPResponse{StatusCode: 42}, nil
			},
			status: 502, body: textBadGateway, log: "status=42",
		},
		{
			name: "informational status as the final one",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return &contract.HTTPResponse{StatusCode: 101}, nil
			},
			status: 502, body: textBadGateway, log: "status=101",
		},
		{
			name: "nil response without error",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				return nil, nil
			},
			status: 502, body: textBadGateway, log: "no response",
		},
		{
			name: "panic",
			handler: func(context.Context, *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				panic("secret_function exploded")
			},
			status: 500, body: textInternal, log: "secret_function exploded",
		},
		{
			name: "timeout honoured by the handler",
			handler: func(ctx context.Context, _ *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			status: 504, body: textTimeout, log: "did not answer",
		},
		{
			name: "timeout reported as another error",
			handler: func(ctx context.Context, _ *contract.HTTPRequest) (*contract.HTTPResponse, error) {
				<-ctx.Done()
				return nil, errors.New("nats: timeout")
			},
			status: 504, body: textTimeout, log: "nats: timeout",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, Config{HandlerTimeout: 50 * time.Millisecond})
			base := bindLoopback(t, s, "MFAILING", tc.handler)
			c := newClient(t)
			r := send(t, c, "GET", base+"/", nil, nil)
			require.Equal(t, "status", r.status, tc.status)
			require.Equal(t, "body", r.body, tc.body)
			require.Equal(t, "Content-Type", r.header.Get("Content-Type"), "text/plain; charset=utf-8")
			log := logs.String()
			assertContains(t, "log", log, "actor=MFAILING")
			assertContains(t, "log", log, tc.log)

			// The server is still up and serves the next request.
			require.NoError(t, s.Bind("127.0.0.1:0", "MFAILING", okHandler("alive")))
			r = send(t, c, "GET", base+"/", nil, nil)
			require.Equal(t, "status after failure", r.status, 200)
			require.Equal(t, "body after failure", r.body, "alive")
		})
	}
}

// TestMaxBody checks that a body over MaxBody gets 413 without reaching the actor, whether its
// length is announced or not, and that a body of exactly MaxBody gets through.
func TestMaxBody(t *testing.T) {
	const limit = 1024
	s, _ := newTestServer(t, Config{MaxBody: limit})
	var calls atomic.Int32
	var gotLen atomic.Int64
	base := bindLoopback(t, s, "MOWNER", func(_ context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		calls.Add(1)
		gotLen.Store(int64(len(req.Body)))
		return &contract.HTTPResponse{StatusCode: 200, Body: []byte("ok")}, nil
	})
	c := newClient(t)
	tests := []struct {
		name    string
		body    func() io.Reader
		status  int
		respond string
		calls   int32
	}{
		{"announced length over the limit", func() io.Reader { return bytes.NewReader(make([]byte, limit+1)) }, 413, textTooLarge, 0},
		{"chunked body over the limit", func() io.Reader { return io.MultiReader(bytes.NewReader(make([]byte, 2*limit))) }, 413, textTooLarge, 0},
		{"announced length at the limit", func() io.Reader { return bytes.NewReader(make([]byte, limit)) }, 200, "ok", 1},
		{"chunked body at the limit", func() io.Reader { return io.MultiReader(bytes.NewReader(make([]byte, limit))) }, 200, "ok", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			gotLen.Store(-1)
			r := send(t, c, "POST", base+"/upload", tc.body(), nil)
			require.Equal(t, "status", r.status, tc.status)
			require.Equal(t, "body", r.body, tc.respond)
			require.Equal(t, "handler calls", calls.Load(), tc.calls)
			if tc.calls == 1 {
				require.Equal(t, "body length seen by the actor", gotLen.Load(), int64(limit))
			}
		})
	}
}

// TestConcurrentClients runs 32 clients at once against one actor that echoes each request, so
// that a mixed-up body buffer or header map shows as a wrong answer (and -race sees the rest).
func TestConcurrentClients(t *testing.T) {
	const clients, requests = 32, 20
	s, _ := newTestServer(t, Config{})
	base := bindLoopback(t, s, "MOWNER", func(_ context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		return &contract.HTTPResponse{
			StatusCode: 200,
			Header:     map[string][]string{"X-Path": {req.Path}, "X-Client": req.Header["X-Client"]},
			Body:       req.Body, // aliasing the request body is allowed
		}, nil
	})
	c := newClient(t)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for j := range requests {
				body := strings.Repeat(fmt.Sprintf("client %d request %d;", i, j), 1+(i*j)%300)
				req, err := http.NewRequest("POST", fmt.Sprintf("%s/c%d/r%d", base, i, j), strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("X-Client", fmt.Sprint(i))
				resp, err := c.Do(req)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					errs <- err
					return
				case resp.StatusCode != 200 || string(got) != body ||
					resp.Header.Get("X-Path") != fmt.Sprintf("/c%d/r%d", i, j) || resp.Header.Get("X-Client") != fmt.Sprint(i):
					errs <- fmt.Errorf("client %d request %d: status %d, X-Path %q, X-Client %q, body of %d bytes (want %d)",
						i, j, resp.StatusCode, resp.Header.Get("X-Path"), resp.Header.Get("X-Client"), len(got), len(body))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
