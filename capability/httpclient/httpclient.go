// Package httpclient is the built-in wasmcloud:httpclient provider: an actor's HttpClient.Request, made by
// the host, with the egress control the 0.x provider never had. A link lists the destinations its actor may
// reach (scheme, host and port; nothing by default); a redirect is followed only to a listed destination;
// every address a connection is made to is checked after name resolution, on the socket itself, so a name
// that resolves (or is rebound) to a loopback, private or otherwise internal address is refused unless the
// link lists that address literally; and the response body and the time a request takes are bounded. No
// proxy from the environment is used, so none can route around the list.
package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// Bounds that do not depend on a link.
const (
	maxRedirects      = 5
	maxResponseHeader = 64 << 10
	// DefaultTimeout bounds a request when neither the link nor the provider's Config sets a timeout.
	DefaultTimeout = 30 * time.Second
)

// Config is what the provider needs from the host.
type Config struct {
	// Timeout bounds every request (a link may set a shorter one). Zero: DefaultTimeout.
	Timeout time.Duration
}

// Provider makes the HTTP requests of the actors linked to it. It is safe for concurrent use.
type Provider struct {
	cfg Config
}

// New returns the provider. It does no I/O.
func New(cfg Config) *Provider {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Provider{cfg: cfg}
}

// ParseLink reads and checks a link's values (see the Value* constants).
func (p *Provider) ParseLink(values map[string]string) (Link, error) { return ParseLink(values) }

// Call serves one operation of wasmcloud:httpclient for an actor linked by l.
func (p *Provider) Call(ctx context.Context, l Link, op string, payload []byte) ([]byte, error) {
	if op != contract.OpHTTPClientRequest {
		return nil, fmt.Errorf("%w %q", ErrOperation, op)
	}
	var req contract.HTTPClientRequest
	if err := req.UnmarshalMsgpack(payload); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	resp, err := p.Do(ctx, l, &req)
	if err != nil {
		return nil, err
	}
	return resp.AppendMsgpack(nil), nil
}

// Do makes one request for an actor linked by l.
func (p *Provider) Do(ctx context.Context, l Link, r *contract.HTTPClientRequest) (*contract.HTTPResponse, error) {
	u, err := url.Parse(r.URL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: URL %q is not an absolute http or https URL", ErrRequest, r.URL)
	}
	if err := l.allows(u); err != nil {
		return nil, err
	}
	timeout := p.cfg.Timeout
	if l.timeout > 0 && l.timeout < timeout {
		timeout = l.timeout
	}
	if t := time.Duration(r.TimeoutSecs) * time.Second; t > 0 && t < timeout {
		timeout = t
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	for name, values := range r.Headers {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	client := p.client(&l)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return nil, fmt.Errorf("%w (%s %s)", unwrapNotAllowed(err), r.Method, redact(u))
		}
		return nil, fmt.Errorf("%w: %s %s: %v", ErrFailed, r.Method, redact(u), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, l.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: read the response: %v", ErrFailed, r.Method, redact(u), err)
	}
	if int64(len(body)) > l.maxBody {
		return nil, fmt.Errorf("%w: %s %s: the body is over the link's %d bytes (%s)", ErrTooLarge, r.Method, redact(u), l.maxBody, ValueMaxResponseBytes)
	}
	return &contract.HTTPResponse{StatusCode: uint16(resp.StatusCode), Header: resp.Header, Body: body}, nil
}

// notAllowedError carries a refusal out of the dialer or the redirect check through net/http's wrapping.
type notAllowedError struct{ err error }

func (e *notAllowedError) Error() string { return e.err.Error() }
func (e *notAllowedError) Unwrap() error { return e.err }

func unwrapNotAllowed(err error) error {
	var na *notAllowedError
	if errors.As(err, &na) {
		return na.err
	}
	return err
}

// redact drops the user information and query of a URL for an error message.
func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

// client returns an HTTP client for one request of a link: its own transport, so that no connection made for
// another link (or another request) is reused, a dialer that checks every address it connects to, and a
// redirect policy that follows only listed destinations.
func (p *Provider) client(l *Link) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		// Control runs for each address the dialer tries, after resolution: a name that resolves to (or is
		// rebound to) an internal address is refused here, whatever it resolved to when the URL was checked.
		Control: func(network, address string, _ syscall.RawConn) error {
			if network != "tcp4" && network != "tcp6" {
				return &notAllowedError{fmt.Errorf("%w: network %s", ErrNotAllowed, network)}
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &notAllowedError{fmt.Errorf("%w: address %s", ErrNotAllowed, address)}
			}
			// An internal address is allowed only on a port the link lists it with: listing 10.0.0.5:8080 does
			// not open 10.0.0.5:443 to a listed name that resolves there.
			if ip := ap.Addr().Unmap(); internal(ip) && !l.ips[netip.AddrPortFrom(ip, ap.Port())] {
				return &notAllowedError{fmt.Errorf("%w: %s is a loopback, private or reserved address the link does not list on port %d",
					ErrNotAllowed, ip, ap.Port())}
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                  nil, // never a proxy from the environment: it would dial instead of us
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeader,
		DisableKeepAlives:      true,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrFailed, maxRedirects)
			}
			if err := l.allows(req.URL); err != nil {
				return &notAllowedError{fmt.Errorf("redirect to %s: %w", redact(req.URL), err)}
			}
			return nil
		},
	}
}
