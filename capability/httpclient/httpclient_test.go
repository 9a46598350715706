package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// servers starts two loopback HTTP servers: the one a link allows, and another one the link does not list.
func servers(t *testing.T) (allowed, other *httptest.Server) {
	t.Helper()
	other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, "other server")
	}))
	t.Cleanup(other.Close)
	allowed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hello":
			w.Header().Set("X-Test", "yes")
			_, _ = fmt.Fprintf(w, "hello %s %s", r.Method, r.Header.Get("X-Actor"))
		case "/redirect-out":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/redirect-in":
			http.Redirect(w, r, "/hello", http.StatusFound)
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	t.Cleanup(allowed.Close)
	return allowed, other
}

func call(t *testing.T, p *Provider, l Link, method, url string) (*contract.HTTPResponse, error) {
	t.Helper()
	req := contract.HTTPClientRequest{Method: method, URL: url, Headers: map[string][]string{"X-Actor": {"a1"}}}
	out, err := p.Call(context.Background(), l, contract.OpHTTPClientRequest, req.AppendMsgpack(nil))
	if err != nil {
		return nil, err
	}
	var resp contract.HTTPResponse
	require.NoError(t, resp.UnmarshalMsgpack(out))
	return &resp, nil
}

func TestEgress(t *testing.T) {
	allowed, other := servers(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(allowed.URL, "http://"))
	link, err := ParseLink(map[string]string{ValueAllow: allowed.URL + ", https://example.com", ValueMaxResponseBytes: "1K", ValueTimeout: "1s"})
	require.NoError(t, err)
	p := New(Config{Timeout: 5 * time.Second})

	resp, err := call(t, p, link, "POST", allowed.URL+"/hello")
	require.NoError(t, err)
	require.Equal(t, "status", resp.StatusCode, uint16(200))
	require.Equal(t, "body", string(resp.Body), "hello POST a1")
	require.DeepEqual(t, "header", resp.Header["X-Test"], []string{"yes"})

	resp, err = call(t, p, link, "GET", allowed.URL+"/redirect-in")
	require.NoError(t, err)
	require.Equal(t, "body after a redirect within the list", string(resp.Body), "hello GET a1")

	tests := []struct {
		name  string
		link  Link
		url   string
		want  error
		parts []string
	}{
		{name: "unlisted host", link: link, url: other.URL + "/", want: ErrNotAllowed, parts: []string{"is not listed"}},
		{name: "unlisted scheme", link: link, url: "https://" + strings.TrimPrefix(allowed.URL, "http://") + "/", want: ErrNotAllowed},
		{name: "not http", link: link, url: "file:///etc/passwd", want: ErrRequest},
		{name: "ftp", link: link, url: "ftp://example.com/", want: ErrNotAllowed},
		{name: "redirect to an unlisted host", link: link, url: allowed.URL + "/redirect-out", want: ErrNotAllowed, parts: []string{"redirect to"}},
		{name: "oversize response", link: link, url: allowed.URL + "/big", want: ErrTooLarge},
		{name: "timeout", link: link, url: allowed.URL + "/slow", want: ErrFailed},
		{name: "default allows nothing", link: Link{maxBody: DefaultMaxResponseBytes}, url: allowed.URL + "/hello", want: ErrNotAllowed, parts: []string{"lists no destination"}},
		{name: "a listed name that resolves to a loopback address", link: mustLink(t, "http://localhost:"+port),
			url: "http://localhost:" + port + "/hello", want: ErrNotAllowed, parts: []string{"loopback, private or reserved"}},
		{name: "relative URL", link: link, url: "/hello", want: ErrRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, p, tt.link, "GET", tt.url)
			require.ErrorIs(t, err, tt.want)
			for _, other := range []error{ErrNotAllowed, ErrTooLarge, ErrFailed, ErrRequest} {
				require.False(t, other != tt.want && errors.Is(err, other), "%v also matches %v", err, other)
			}
			require.ErrorContains(t, err, tt.parts...)
		})
	}

	_, err = p.Call(context.Background(), link, "HttpClient.Other", nil)
	require.ErrorIs(t, err, ErrOperation)
}

func mustLink(t *testing.T, allow string) Link {
	t.Helper()
	l, err := ParseLink(map[string]string{ValueAllow: allow})
	require.NoError(t, err)
	return l
}

func TestInternal(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
		"::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "224.0.0.1"} {
		ip, err := netipParse(s)
		require.NoError(t, err)
		require.True(t, internal(ip), "%s counts as internal", s)
	}
	for _, s := range []string{"93.184.216.34", "2606:2800:220:1::1", "1.1.1.1"} {
		ip, _ := netipParse(s)
		require.False(t, internal(ip), "%s counts as internal", s)
	}
}

func TestParseLink(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		ok     bool
	}{
		{name: "none", values: nil, ok: true},
		{name: "entries", values: map[string]string{ValueAllow: "api.example.com, http://10.0.0.5:8080,https://*.example.org:8443,[::1]:80"}, ok: true},
		{name: "path", values: map[string]string{ValueAllow: "example.com/x"}},
		{name: "user", values: map[string]string{ValueAllow: "u@example.com"}},
		{name: "scheme", values: map[string]string{ValueAllow: "ftp://example.com"}},
		{name: "port", values: map[string]string{ValueAllow: "example.com:99999"}},
		{name: "name", values: map[string]string{ValueAllow: "exa mple.com"}},
		{name: "size", values: map[string]string{ValueMaxResponseBytes: "1T"}},
		{name: "size too large", values: map[string]string{ValueMaxResponseBytes: "65M"}},
		{name: "timeout", values: map[string]string{ValueTimeout: "forever"}},
		{name: "unknown", values: map[string]string{"allow_all": "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLink(tt.values)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrLink)
			}
		})
	}
}

// FuzzParseLink: no allow value makes the parser panic, and what it accepts allows only URLs of its entries.
func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"api.example.com", "http://127.0.0.1:8080", "https://*.example.org:8443", "[::1]", "", ",,", "http://[fe80::1%eth0]:80", "*.", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, allow string) {
		l, err := ParseLink(map[string]string{ValueAllow: allow})
		if err != nil {
			return
		}
		for _, r := range l.rules {
			if r.scheme != "http" && r.scheme != "https" || r.port == "" || r.host == "" {
				t.Fatalf("accepted entry %+v from %q", r, allow)
			}
		}
	})
}

func netipParse(s string) (netip.Addr, error) { return netip.ParseAddr(s) }

// TestListedAddressOnlyOnItsPort: an internal address a link lists is reachable on the port (and through the
// entry) the link lists it with, not on every port: a listed name that resolves (or is rebound) to that
// address reaches another service there only if the link lists the address on that port too.
func TestListedAddressOnlyOnItsPort(t *testing.T) {
	allowed, other := servers(t)
	_, otherPort, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
	link := mustLink(t, allowed.URL+", http://localhost:"+otherPort)
	p := New(Config{Timeout: 5 * time.Second})

	resp, err := call(t, p, link, "GET", allowed.URL+"/hello")
	require.NoError(t, err)
	require.Equal(t, "the listed address on its port", string(resp.Body), "hello GET a1")
	_, err = call(t, p, link, "GET", "http://localhost:"+otherPort+"/")
	require.ErrorIs(t, err, ErrNotAllowed)
	require.ErrorContains(t, err, "loopback, private or reserved")

	// Listed on both ports, the other server answers through the name as well.
	both := mustLink(t, allowed.URL+", "+other.URL+", http://localhost:"+otherPort)
	resp, err = call(t, p, both, "GET", "http://localhost:"+otherPort+"/")
	require.NoError(t, err)
	require.Equal(t, "the listed address on the other port", string(resp.Body), "other server")
}

// TestLoopbackSpellings: the other spellings of a loopback address (decimal, octal, hex, IPv4-mapped IPv6,
// with a user) that a link lists as names or a URL names reach nothing on loopback: whatever a resolver makes
// of them, the dialed address is checked.
func TestLoopbackSpellings(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p := New(Config{Timeout: 5 * time.Second})
	for _, host := range []string{"2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			link := mustLink(t, "http://"+host+":"+port)
			_, err := call(t, p, link, "GET", "http://"+host+":"+port+"/")
			require.True(t, err != nil, "a request to %s answered", host)
			_, err = call(t, p, link, "GET", "http://someone@"+host+":"+port+"/")
			require.True(t, err != nil, "a request to someone@%s answered", host)
		})
	}
	// Listed as a name, the mapped form is not the loopback address the link would have to list.
	_, err := call(t, p, mustLink(t, "http://localhost:"+port), "GET", "http://[::ffff:127.0.0.1]:"+port+"/")
	require.ErrorIs(t, err, ErrNotAllowed)
	require.Equal(t, "requests the loopback server received", hits.Load(), int64(0))
}
