package httpserver

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The link values that bound what one address takes in. 0.x's HTTP server provider reads max_content_len
// too; max_connections and max_concurrent are our own.
const (
	linkMaxBody        = "max_content_len"
	linkMaxConnections = "max_connections"
	linkMaxConcurrent  = "max_concurrent"
)

// Ceilings of the per-link limits: a link may lower the defaults of Config or raise them up to these.
const (
	MaxBodyCeiling        = 64 << 20 // the limit of an OCI layer, the largest thing a host reads
	MaxConnectionsCeiling = 10_000
	MaxConcurrentCeiling  = 4_096
)

// Limits bound what one bound address takes in at once. Memory is bounded by them: a request holds a body
// buffer only while it has one of MaxConcurrent slots, and that buffer grows with the bytes received, never
// with what a header claims.
type Limits struct {
	// MaxConnections is the number of open connections; the next one is answered 503 and closed.
	MaxConnections int
	// MaxConcurrent is the number of requests being read or handled; the next one gets 503.
	MaxConcurrent int
	// MaxBody is the largest request body handed to the actor; a larger one gets 413.
	MaxBody int64
}

// Link is what a link's values say to the HTTP server: the address to listen on and its limits.
type Link struct {
	Addr string
	Limits
}

// ParseLink reads the HTTP server's values of a link: the address (see ParseAddress) and the limits
// max_content_len (bytes, or with a K, M or G suffix as 0.x writes it: "10M"), max_connections and
// max_concurrent, each 1 up to its ceiling, defaulting to def. Errors name the value.
func ParseLink(values map[string]string, def Limits) (Link, error) {
	addr, err := ParseAddress(values)
	if err != nil {
		return Link{}, err
	}
	l := Link{Addr: addr, Limits: def}
	if v, ok := values[linkMaxBody]; ok {
		if l.MaxBody, err = parseSize(linkMaxBody, v, MaxBodyCeiling); err != nil {
			return Link{}, err
		}
	}
	if v, ok := values[linkMaxConnections]; ok {
		n, err := parseSize(linkMaxConnections, v, MaxConnectionsCeiling)
		if err != nil {
			return Link{}, err
		}
		l.MaxConnections = int(n)
	}
	if v, ok := values[linkMaxConcurrent]; ok {
		n, err := parseSize(linkMaxConcurrent, v, MaxConcurrentCeiling)
		if err != nil {
			return Link{}, err
		}
		l.MaxConcurrent = int(n)
	}
	return l, nil
}

// parseSize reads a positive count of at most ceiling, with an optional K, M or G suffix (powers of 1024).
func parseSize(key, v string, ceiling int64) (int64, error) {
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
	if err != nil || n < 1 || n > ceiling/mult {
		return 0, &LinkValueError{Key: key, Value: v, Reason: "want a number from 1 to " + strconv.FormatInt(ceiling, 10) +
			" (K, M and G suffixes allowed)"}
	}
	return n * mult, nil
}

// limitListener answers the connections beyond its binding's MaxConnections with 503 and closes them, so a
// flood of connections costs the host a file descriptor each for an instant, not a goroutine and buffers.
type limitListener struct {
	net.Listener
	b *binding
}

// tooManyConnections is the whole answer to a connection over the limit.
const tooManyConnections = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: 38\r\n\r\nservice unavailable: too many clients\n"

// Accept returns the next connection within the limit.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.b.conns.Add(1) <= int64(l.b.limits.Load().MaxConnections) {
			return &countedConn{Conn: c, n: &l.b.conns}, nil
		}
		// Full: a kept-alive connection waiting for its next request makes room, so that idle clients
		// cannot hold every place.
		if l.b.evictIdle() {
			return &countedConn{Conn: c, n: &l.b.conns}, nil
		}
		l.b.conns.Add(-1)
		l.b.refusedConns.Add(1)
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte(tooManyConnections))
		_ = c.Close()
	}
}

// countedConn gives its place back when it is closed.
type countedConn struct {
	net.Conn
	n    *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.n.Add(-1) })
	return c.Conn.Close()
}
