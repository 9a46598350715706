package httpserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestParseLink(t *testing.T) {
	def := Config{}.Limits()
	tests := []struct {
		name   string
		values map[string]string
		want   Limits
		err    bool
	}{
		{"defaults", map[string]string{"port": "8080"}, def, false},
		{"0.x size", map[string]string{"port": "8080", "max_content_len": "1M"}, Limits{256, 64, 1 << 20}, false},
		{"bytes", map[string]string{"port": "8080", "max_content_len": "4096"}, Limits{256, 64, 4096}, false},
		{"counts", map[string]string{"port": "8080", "max_connections": "10", "max_concurrent": "2"}, Limits{10, 2, def.MaxBody}, false},
		{"body over the ceiling", map[string]string{"port": "8080", "max_content_len": "65M"}, Limits{}, true},
		{"zero", map[string]string{"port": "8080", "max_concurrent": "0"}, Limits{}, true},
		{"negative", map[string]string{"port": "8080", "max_connections": "-1"}, Limits{}, true},
		{"garbage", map[string]string{"port": "8080", "max_connections": "many"}, Limits{}, true},
		{"overflowing suffix", map[string]string{"port": "8080", "max_content_len": "9999999999999G"}, Limits{}, true},
		{"no address", map[string]string{"max_concurrent": "2"}, Limits{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLink(tc.values, def)
			if tc.err {
				require.True(t, err != nil, "no error for %v", tc.values)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "limits", l.Limits, tc.want)
		})
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"1", "10M", "64M", "65M", "0", "-3", "1k", " 7 ", "G", "99999999999999999999"} {
		f.Add(s, s, s)
	}
	def := Config{}.Limits()
	f.Fuzz(func(t *testing.T, body, conns, concurrent string) {
		l, err := ParseLink(map[string]string{"port": "80", linkMaxBody: body, linkMaxConnections: conns, linkMaxConcurrent: concurrent}, def)
		if err != nil {
			if !errors.Is(err, ErrLinkValue) {
				t.Fatalf("error %v does not match ErrLinkValue", err)
			}
			return
		}
		if l.MaxBody < 1 || l.MaxBody > MaxBodyCeiling || l.MaxConnections < 1 || l.MaxConnections > MaxConnectionsCeiling ||
			l.MaxConcurrent < 1 || l.MaxConcurrent > MaxConcurrentCeiling {
			t.Fatalf("limits out of range: %+v", l.Limits)
		}
	})
}

// bindLimited binds a loopback port with limits and returns its host:port.
func bindLimited(t *testing.T, s *Server, limits Limits, h Handler) string {
	t.Helper()
	require.NoError(t, s.BindWith("127.0.0.1:0", "MLIMITED", limits, h))
	return s.Addr("127.0.0.1:0")
}

// boundAt returns the binding of the address Bind was given.
func boundAt(s *Server, addr string) *binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bindings[addrKey(addr)]
}

// rawRequest sends a request on a new connection and returns the status line of the answer.
func rawRequest(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write([]byte(request))
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func TestConnectionLimit(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	addr := bindLimited(t, s, Limits{MaxConnections: 2, MaxConcurrent: 8, MaxBody: 1 << 10}, okHandler("ok"))
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		held = append(held, c)
	}
	b := boundAt(s, "127.0.0.1:0")
	require.Eventually(t, 5*time.Second, func() bool { return b.conns.Load() == 2 }, "two connections held")
	require.Equal(t, "over the limit", rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 503 Service Unavailable")
	require.Equal(t, "refused connections", b.refusedConns.Load(), int64(1))
	_ = held[0].Close()
	require.Eventually(t, 5*time.Second, func() bool { return b.conns.Load() == 1 }, "a place given back")
	require.Equal(t, "within the limit again", rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200 OK")
	_ = held[1].Close()
}

func TestConcurrencyLimit(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	addr := bindLimited(t, s, Limits{MaxConnections: 8, MaxConcurrent: 1, MaxBody: 1 << 10},
		func(ctx context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
			entered <- struct{}{}
			<-release
			return &contract.HTTPResponse{StatusCode: 200, Body: []byte("done")}, nil
		})
	first := make(chan string, 1)
	go func() { first <- rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }()
	<-entered
	require.Equal(t, "a second request while one is in flight",
		rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 503 Service Unavailable")
	close(release)
	require.Equal(t, "the first request", <-first, "HTTP/1.1 200 OK")
	go func() { <-entered }()
	require.Equal(t, "after it", rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 200 OK")
}

func TestHeaderLimit(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxHeaderBytes: 1 << 10})
	addr := bindLimited(t, s, Config{}.Limits(), okHandler("ok"))
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n"
	require.Equal(t, "large headers", rawRequest(t, addr, big), "HTTP/1.1 431 Request Header Fields Too Large")
}

// TestDeclaredLengthCostsNothing: requests that announce a large body and send a little hold memory for the
// little they sent, not for what they announced.
func TestDeclaredLengthCostsNothing(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	addr := bindLimited(t, s, Limits{MaxConnections: 256, MaxConcurrent: 256, MaxBody: 10 << 20}, okHandler("ok"))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const clients = 100
	var conns []net.Conn
	for range clients {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n%s", strings.Repeat("x", 1024))
		require.NoError(t, err)
	}
	b := boundAt(s, "127.0.0.1:0")
	require.Eventually(t, 10*time.Second, func() bool { return b.reading.Load() == clients }, "every request being read")
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	// 100 × 10 MB would be 1 GB; what arrived is 100 KB, and each request holds at most a 64 KiB buffer.
	require.True(t, grown < 64<<20, "heap grew by %d bytes for %d requests that sent 1 KiB each", grown, clients)
	for _, c := range conns {
		_ = c.Close()
	}
	require.Eventually(t, 10*time.Second, func() bool { return b.reading.Load() == 0 && b.bodyBytes.Load() == 0 }, "the body budget given back")
	// The server still answers.
	reply := send(t, newClient(t), http.MethodGet, "http://"+addr+"/", nil, nil)
	require.Equal(t, "status after the flood", reply.status, 200)
}

// TestTricklingBodiesHoldNoSlot: requests whose bodies arrive slowly hold a share of the body budget for what
// they sent, not a handling slot: with one slot, a request completes while another's body trickles in.
func TestTricklingBodiesHoldNoSlot(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	addr := bindLimited(t, s, Limits{MaxConnections: 16, MaxConcurrent: 1, MaxBody: 1 << 20}, okHandler("ok"))
	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = fmt.Fprintf(slow, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
	require.NoError(t, err)
	b := boundAt(s, "127.0.0.1:0")
	require.Eventually(t, 5*time.Second, func() bool { return b.reading.Load() == 1 }, "the slow body being read")
	require.Equal(t, "a request while a body trickles in", rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 200 OK")
}

// TestBodyBudget: the bodies an address holds at once are bounded by the budget; a request that would exceed
// it gets 503, and the budget comes back when requests end.
func TestBodyBudget(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBody: 64 << 10, BodyBudget: 128 << 10})
	addr := bindLimited(t, s, Limits{MaxConnections: 64, MaxConcurrent: 64, MaxBody: 64 << 10}, okHandler("ok"))
	b := boundAt(s, "127.0.0.1:0")
	var conns []net.Conn
	for range 3 { // each holds 60 KiB of a 64 KiB body: the third does not fit in 128 KiB
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", 64<<10, strings.Repeat("x", 60<<10))
		require.NoError(t, err)
	}
	require.Eventually(t, 5*time.Second, func() bool { return b.refusedRequests.Load() == 1 }, "one request refused for the budget")
	require.True(t, b.bodyBytes.Load() <= 128<<10, "bodies hold %d bytes", b.bodyBytes.Load())
	for _, c := range conns {
		_ = c.Close()
	}
	require.Eventually(t, 5*time.Second, func() bool { return b.bodyBytes.Load() == 0 }, "the budget given back")
	require.Equal(t, "after", rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"), "HTTP/1.1 200 OK")
}

// TestIdleConnectionsMakeRoom: at MaxConnections, a new connection closes the one idle longest rather than
// being refused, so clients that keep connections open and quiet cannot hold every place.
func TestIdleConnectionsMakeRoom(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	addr := bindLimited(t, s, Limits{MaxConnections: 4, MaxConcurrent: 4, MaxBody: 1 << 10}, okHandler("ok"))
	for range 4 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "kept-alive request", strings.TrimSpace(line), "HTTP/1.1 200 OK")
	}
	b := boundAt(s, "127.0.0.1:0")
	require.Eventually(t, 5*time.Second, func() bool {
		b.idleMu.Lock()
		defer b.idleMu.Unlock()
		return len(b.idle) == 4
	}, "four idle connections")
	for i := range 3 {
		require.Equal(t, fmt.Sprintf("new client %d", i), rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "HTTP/1.1 200 OK")
	}
	require.Equal(t, "refused connections", b.refusedConns.Load(), int64(0))
}
