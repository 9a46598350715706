package httpclient

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Link values of wasmcloud:httpclient.
const (
	// ValueAllow lists the destinations an actor may reach: comma-separated [scheme://]host[:port] entries.
	// The scheme is http or https (default https), the port defaults to the scheme's, and host is a DNS name,
	// "*." followed by a domain (any name below it, not the domain itself), an IPv4 address or a bracketed
	// IPv6 address. Nothing is allowed without it.
	ValueAllow = "allow"
	// ValueMaxResponseBytes bounds a response body (K, M and G suffixes allowed).
	ValueMaxResponseBytes = "max_response_bytes"
	// ValueTimeout bounds a request, redirects and body included, as a Go duration (such as 5s).
	ValueTimeout = "timeout"
)

// Defaults and ceilings of the link values.
const (
	DefaultMaxResponseBytes = 4 << 20
	MaxResponseBytesCeiling = 64 << 20
	MaxTimeout              = 5 * time.Minute
	maxAllowEntries         = 64
)

// rule is one allow entry.
type rule struct {
	scheme string
	host   string // lower case; for a wildcard, the domain after "*."
	port   string
	suffix bool       // host is a "*." domain
	ip     netip.Addr // valid when host is an IP address
}

// Link is a parsed wasmcloud:httpclient link.
type Link struct {
	rules   []rule
	ips     map[netip.AddrPort]bool // addresses listed literally, with their ports: the only internal ones that may be dialed
	maxBody int64
	timeout time.Duration // 0: the provider's
}

// ParseLink reads a link's values. Unknown values are refused, so a misspelled limit is not silently
// ignored.
func ParseLink(values map[string]string) (Link, error) {
	l := Link{ips: map[netip.AddrPort]bool{}, maxBody: DefaultMaxResponseBytes}
	for k, v := range values {
		var err error
		switch k {
		case ValueAllow:
			err = l.parseAllow(v)
		case ValueMaxResponseBytes:
			l.maxBody, err = parseSize(v)
		case ValueTimeout:
			l.timeout, err = time.ParseDuration(strings.TrimSpace(v))
			if err == nil && (l.timeout <= 0 || l.timeout > MaxTimeout) {
				err = fmt.Errorf("want a duration above 0 and at most %s", MaxTimeout)
			}
		default:
			err = fmt.Errorf("unknown value (want %s, %s or %s)", ValueAllow, ValueMaxResponseBytes, ValueTimeout)
		}
		if err != nil {
			return Link{}, fmt.Errorf("%w %s=%q: %v", ErrLink, k, v, err)
		}
	}
	return l, nil
}

func parseSize(v string) (int64, error) {
	s, mult := strings.TrimSpace(v), int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > MaxResponseBytesCeiling/mult {
		return 0, fmt.Errorf("want a number of bytes from 1 to %d (K, M and G suffixes allowed)", MaxResponseBytesCeiling)
	}
	return n * mult, nil
}

func (l *Link) parseAllow(v string) error {
	entries := strings.Split(v, ",")
	if len(entries) > maxAllowEntries {
		return fmt.Errorf("%d entries, at most %d", len(entries), maxAllowEntries)
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		r, err := parseRule(e)
		if err != nil {
			return fmt.Errorf("entry %q: %v", e, err)
		}
		l.rules = append(l.rules, r)
		if r.ip.IsValid() {
			port, _ := strconv.ParseUint(r.port, 10, 16) // checked by parseRule
			l.ips[netip.AddrPortFrom(r.ip, uint16(port))] = true
		}
	}
	return nil
}

func parseRule(e string) (rule, error) {
	r := rule{scheme: "https"}
	if scheme, rest, ok := strings.Cut(e, "://"); ok {
		r.scheme, e = strings.ToLower(scheme), rest
	}
	if r.scheme != "http" && r.scheme != "https" {
		return r, fmt.Errorf("scheme %q is not http or https", r.scheme)
	}
	if strings.ContainsAny(e, "/?#@") {
		return r, fmt.Errorf("want [scheme://]host[:port], without a path, query or user")
	}
	host, port := e, ""
	if h, p, err := net.SplitHostPort(e); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
		host = e[1 : len(e)-1]
	}
	if port == "" {
		port = defaultPort(r.scheme)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return r, fmt.Errorf("port %q is not a port", port)
	}
	r.port = port
	host = strings.ToLower(host)
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return r, fmt.Errorf("an address with a zone")
		}
		r.ip, r.host = ip.Unmap(), ip.Unmap().String()
		return r, nil
	}
	if d, ok := strings.CutPrefix(host, "*."); ok {
		r.suffix, host = true, d
	}
	if !validName(host) {
		return r, fmt.Errorf("host %q is not a DNS name or an IP address", host)
	}
	r.host = host
	return r, nil
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// validName reports whether s is a DNS name of letters, digits, '-' and '.', with at least one label.
func validName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// allows reports whether the link lists u's scheme, host and port.
func (l *Link) allows(u *url.URL) error {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrNotAllowed, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	for _, r := range l.rules {
		if r.scheme != scheme || r.port != port {
			continue
		}
		if r.host == host || r.suffix && strings.HasSuffix(host, "."+r.host) {
			return nil
		}
	}
	if len(l.rules) == 0 {
		return fmt.Errorf("%w: the link lists no destination (set %s)", ErrNotAllowed, ValueAllow)
	}
	return fmt.Errorf("%w: %s://%s is not listed", ErrNotAllowed, scheme, net.JoinHostPort(host, port))
}

// internal reports whether an address is one a link must list by address to reach: loopback, private,
// link-local, unspecified, multicast, shared (CGNAT), benchmarking, documentation or otherwise reserved.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fc00::/7"),
}
