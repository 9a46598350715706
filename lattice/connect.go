// Package lattice owns the NATS plumbing and the state a lattice shares: the two client connections (RPC
// and control), authenticated the ways wasmCloud 0.x hosts are, the embedded nats-server a host starts when
// it is alone on the machine, the subjects and JetStream names of a lattice (subjects.go, the one place they
// are spelled), the lattice bucket of links, claims and reference maps (Data), the object store of chunked
// payloads (ChunkStore), and the CloudEvent envelope of lattice events (EventPublisher). It knows nothing of
// actors, capabilities or the daemon: the host observes the bucket through the Observer it passes to
// NewData, and tools read it through package client.
//
// Two connections, not one, because 0.x deployments give them different servers and different
// credentials (an RPC user allowed only wasmbus.rpc.>, a control user only wasmbus.ctl.> and
// wasmbus.evt.>). A connection takes a list of servers (the client
// tries them in random order). After the first successful connect it reconnects forever with
// capped exponential backoff and jitter, so a lattice of many hosts does not hammer a restarting
// server in lockstep, and every disconnect, reconnect and close is logged with the attribute
// connection=rpc|ctl and told to the ConnConfig's ConnObserver. Only a server that closes the
// connection for good (a protocol error such as "maximum control line exceeded") ends it; the
// observer hears of it, and the daemon exits so that its service manager restarts it. The first
// connect fails fast with an error that names the connection and the URL when the server refuses
// the credentials, because at start a wrong credential is a configuration mistake the operator
// must see; while no server can be reached it fails fast too, unless RetryConnect asks it to keep
// trying (the daemon does, so that a host started before its NATS servers waits for them).
//
// The embedded server runs in-process on a loopback address with JetStream, NoSigs (main owns
// the signals) and its log routed to slog. Decide and StartEmbedded implement
// WASMCLOUD_NATS_EMBEDDED, including the race of two hosts starting at once on one machine.
package lattice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// Log attribute keys.
const (
	attrConnection = "connection"
	attrURL        = "url"
	attrError      = "error"
	attrComponent  = "component"
)

// Defaults for ConnConfig's zero fields.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultReconnectWait    = 250 * time.Millisecond
	DefaultMaxReconnectWait = 8 * time.Second
	pingInterval            = 20 * time.Second
	maxPingsOutstanding     = 3
)

// ConnConfig is everything Connect needs for one connection. Build it with FromConfig or by hand.
// At most one of CredsFile, JWT+Seed and Seed alone is used; without any, the connection is
// unauthenticated.
type ConnConfig struct {
	// Name is "rpc" or "ctl": the connection attribute of every log line, the name in errors, and
	// part of the client name the server shows ("wasmcloud-host/rpc").
	Name string
	// URL is the server URL, or several separated by commas.
	URL string
	// CredsFile is a NATS .creds file (user JWT and seed), read at each (re)connect.
	CredsFile string
	// JWT is a NATS user JWT; it needs Seed, which signs the server's nonce.
	JWT config.Secret
	// Seed is an SU… user seed; alone, it is nkey authentication.
	Seed config.Secret
	// TLS requires TLS. TLSCA (PEM CA file; system roots when empty) and TLSCert/TLSKey (client
	// certificate) imply it; the files are read at each (re)connect, so rotated files are used.
	TLS     bool
	TLSCA   string
	TLSCert string
	TLSKey  string
	// ConnectTimeout bounds the initial connect to each server, and the context given to Connect
	// bounds the whole (DefaultConnectTimeout when zero).
	ConnectTimeout time.Duration
	// ReconnectWait is the first delay between reconnect rounds; it doubles each round up to
	// MaxReconnectWait, and up to half of it again is added at random (defaults when zero).
	ReconnectWait    time.Duration
	MaxReconnectWait time.Duration
	// RetryConnect makes the first connect try again, with the same backoff, while no server can be
	// reached, until the context given to Connect ends. An authentication failure or a TLS error still
	// fails at once: it is a configuration mistake that waiting does not fix.
	RetryConnect bool
	// Observer, when set, is told about the connection's life after the first connect.
	Observer ConnObserver
}

// ConnObserver is told about a connection's life after its first connect, on nats.go's callback goroutine
// (so its methods must not block). name is the ConnConfig's Name.
type ConnObserver interface {
	// Disconnected reports that the connection was lost; the client reconnects by itself.
	Disconnected(name string, err error)
	// Reconnected reports that the connection is back (to url, with user information removed).
	Reconnected(name, url string)
	// Closed reports that the connection is closed for good: by Close or Drain, or by the client giving up
	// after the server closed it (err is the last error, nil after a Close).
	Closed(name string, err error)
	// Error reports an asynchronous error, or a failed reconnect attempt.
	Error(name string, err error)
}

// IsAuthError reports whether err is a NATS authentication or authorization failure.
func IsAuthError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		errors.Is(err, nats.ErrAccountAuthExpired) || errors.Is(err, nats.ErrPermissionViolation) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "authorization violation") || strings.Contains(s, "authentication") ||
		strings.Contains(s, "permissions violation") || strings.Contains(s, "user authentication")
}

// retryable reports whether a failed first connect may succeed later: no server could be reached, as opposed
// to a server that refused the credentials or a TLS configuration that cannot work.
func retryable(err error) bool {
	if IsAuthError(err) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) || errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrSecureConnWanted) {
		return false
	}
	return true
}

// FromConfig builds the ConnConfig of the connection called name ("rpc" or "ctl") from its part
// of the host configuration. The secrets are shared with n, not copied.
func FromConfig(name string, n config.NATSConn) ConnConfig {
	return ConnConfig{
		Name:      name,
		URL:       n.URL(),
		CredsFile: n.CredsFile,
		JWT:       n.JWT,
		Seed:      n.Seed,
		TLS:       n.TLS,
		TLSCA:     n.TLSCA,
		TLSCert:   n.TLSCert,
		TLSKey:    n.TLSKey,
	}
}

// Connect opens the connection described by c. The first connect is bounded by ctx and
// c.ConnectTimeout and fails with a *ConnectError; once connected, the connection reconnects
// forever and logs its state changes on log (nil means no logging). The caller closes it, best
// with Drain.
func Connect(ctx context.Context, c ConnConfig, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fail := func(err error) (*nats.Conn, error) {
		return nil, &ConnectError{Name: c.Name, URL: redactURL(c.URL), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	opts, err := c.options(ctx, log.With(attrConnection, c.Name))
	if err != nil {
		return fail(err)
	}

	wait, maxWait := c.waits()
	for attempt := 1; ; attempt++ {
		nc, err := connectOnce(ctx, c.URL, opts)
		if err == nil {
			return nc, nil
		}
		if !c.RetryConnect || ctx.Err() != nil || !retryable(err) {
			return fail(err)
		}
		d := backoff(attempt, wait, maxWait)
		log.Warn("no NATS server reachable; retrying", attrConnection, c.Name, attrURL, redactURL(c.URL), "attempt", attempt,
			"retry_in", d.Round(time.Millisecond).String(), attrError, err)
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err))
		case <-time.After(d):
		}
	}
}

// connectOnce runs one nats.Connect (which tries every server of the list once), bounded by ctx.
func connectOnce(ctx context.Context, url string, opts []nats.Option) (*nats.Conn, error) {
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, opts...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		return r.nc, r.err
	case <-ctx.Done():
		// nats.Connect is bounded by its own timeout; close what it may still return.
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// waits returns the first and the longest delay between reconnect rounds.
func (c ConnConfig) waits() (time.Duration, time.Duration) {
	wait, maxWait := c.ReconnectWait, c.MaxReconnectWait
	if wait <= 0 {
		wait = DefaultReconnectWait
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxReconnectWait
	}
	return wait, max(maxWait, wait)
}

// options turns c into nats.go options.
func (c ConnConfig) options(ctx context.Context, log *slog.Logger) ([]nats.Option, error) {
	switch {
	case c.Name == "":
		return nil, fmt.Errorf("%w: connection has no name", ErrConfig)
	case strings.TrimSpace(c.URL) == "":
		return nil, fmt.Errorf("%w: no server URL", ErrConfig)
	case c.JWT.IsSet() && !c.Seed.IsSet():
		return nil, fmt.Errorf("%w: a user JWT needs its seed", ErrConfig)
	case c.CredsFile != "" && (c.JWT.IsSet() || c.Seed.IsSet()):
		return nil, fmt.Errorf("%w: a creds file excludes a JWT or seed", ErrConfig)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return nil, fmt.Errorf("%w: a client certificate and its key go together", ErrConfig)
	}

	timeout := c.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	wait, maxWait := c.waits()
	obs := c.Observer
	if obs == nil {
		obs = noObserver{}
	}
	name := c.Name

	opts := []nats.Option{
		nats.Name("wasmcloud-host/" + c.Name),
		nats.Timeout(timeout),
		nats.RetryOnFailedConnect(false),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration { return backoff(attempts, wait, maxWait) }),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOutstanding),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			obs.Disconnected(name, err)
			if err == nil {
				log.Info("nats disconnected")
				return
			}
			log.Warn("nats disconnected", attrError, err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", attrURL, nc.ConnectedUrlRedacted())
			obs.Reconnected(name, nc.ConnectedUrlRedacted())
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Debug("nats reconnect attempt failed", attrError, err)
			obs.Error(name, err)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("nats connection closed", attrError, err)
			} else {
				log.Info("nats connection closed")
			}
			obs.Closed(name, nc.LastError())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			obs.Error(name, err)
			if sub != nil {
				log.Warn("nats error", attrError, err, "subject", sub.Subject)
				return
			}
			log.Warn("nats error", attrError, err)
		}),
	}

	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.JWT.IsSet():
		// Like nats.UserJWTAndSeed, but reading the secrets at each handshake instead of
		// copying them into strings that live as long as the connection.
		jwtSecret, seed := c.JWT, c.Seed
		opts = append(opts, nats.UserJWT(
			func() (string, error) {
				if !jwtSecret.IsSet() {
					return "", errors.New("user JWT was wiped")
				}
				return string(jwtSecret.Reveal()), nil
			},
			func(nonce []byte) ([]byte, error) { return signNonce(seed, nonce) },
		))
	case c.Seed.IsSet():
		kp, err := nkeys.FromSeed(c.Seed.Reveal())
		if err != nil {
			return nil, fmt.Errorf("%w: seed is not an nkey seed", ErrConfig)
		}
		pub, err := kp.PublicKey()
		kp.Wipe()
		if err != nil {
			return nil, fmt.Errorf("%w: seed is not an nkey seed", ErrConfig)
		}
		seed := c.Seed
		opts = append(opts, nats.Nkey(pub, func(nonce []byte) ([]byte, error) { return signNonce(seed, nonce) }))
	}

	if c.TLS || c.TLSCA != "" || c.TLSCert != "" {
		// Verification is on: system roots unless TLSCA names others.
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
		if c.TLSCA != "" {
			opts = append(opts, nats.RootCAs(c.TLSCA))
		}
		if c.TLSCert != "" {
			opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
		}
	}
	return opts, nil
}

// noObserver is the ConnObserver of a ConnConfig without one.
type noObserver struct{}

func (noObserver) Disconnected(string, error) {}
func (noObserver) Reconnected(string, string) {}
func (noObserver) Closed(string, error)       {}
func (noObserver) Error(string, error)        {}

// signNonce signs a server nonce with a key pair made from seed for this one signature.
func signNonce(seed config.Secret, nonce []byte) ([]byte, error) {
	kp, err := nkeys.FromSeed(seed.Reveal())
	if err != nil {
		return nil, errors.New("lattice: cannot sign the server nonce: seed is not an nkey seed (or was wiped)")
	}
	defer kp.Wipe()
	return kp.Sign(nonce)
}

// backoff is the delay before reconnect round attempts (1, 2, …): wait doubled each round, capped
// at maxWait, plus a random extra of up to half of that.
func backoff(attempts int, wait, maxWait time.Duration) time.Duration {
	d := wait
	for i := 1; i < attempts && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d + rand.N(d/2+1)
}

// redactURL removes user information from each comma-separated URL.
func redactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		} else if err != nil && strings.Contains(p, "@") {
			p = "[unparsable URL]"
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// Drain drains nc (subscriptions finish their pending messages, then publishes are flushed) and
// waits until it is closed. If ctx ends first, nc is closed at once and ctx's error returned.
func Drain(ctx context.Context, nc *nats.Conn) error {
	if nc == nil || nc.IsClosed() {
		return nil
	}
	if !nc.IsConnected() {
		// Nothing can be flushed to a server the client is not connected to: a drain would wait for its
		// timeout. Whatever is buffered is lost either way.
		nc.Close()
		return nil
	}
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(closed)
	if err := nc.Drain(); err != nil {
		if nc.IsClosed() {
			return nil
		}
		nc.Close()
		return fmt.Errorf("lattice: drain: %w", err)
	}
	for !nc.IsClosed() {
		select {
		case <-closed:
		case <-ctx.Done():
			nc.Close()
			return fmt.Errorf("lattice: drain: %w", ctx.Err())
		}
	}
	return nil
}
