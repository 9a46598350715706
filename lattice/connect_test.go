package lattice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// roundTrip subscribes on nc, publishes to subject and waits for the message.
func roundTrip(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Publish(subject, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no message on %s: %v", subject, err)
	}
	require.Equal(t, "payload", string(msg.Data), "ping")
}

func TestConnectPlain(t *testing.T) {
	srv := runServer(t, nil)
	log, buf := captureLog()
	nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: srv.ClientURL()}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	require.Equal(t, "connected URL", nc.ConnectedUrl(), srv.ClientURL())
	roundTrip(t, nc, "wasmbus.rpc.default.x")

	connz, err := srv.Connz(nil)
	if err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "connections", len(connz.Conns), 1)
	require.Equal(t, "client name", connz.Conns[0].Name, "wasmcloud-host/rpc")

	nc.Close()
	logLine(t, buf, `level=INFO msg="nats connection closed" connection=rpc`)
}

func TestConnectNkey(t *testing.T) {
	seed, pub := userKey(t)
	otherSeed, _ := userKey(t)
	srv := runServer(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	url := srv.ClientURL()

	nc, err := Connect(t.Context(), ConnConfig{Name: "ctl", URL: url, Seed: config.NewSecret(seed)}, nil)
	if err != nil {
		t.Fatalf("right seed: %v", err)
	}
	roundTrip(t, nc, "wasmbus.ctl.default.x")
	nc.Close()

	tests := []struct {
		name string
		seed []byte
	}{
		{"wrong seed", otherSeed},
		{"no seed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Connect(t.Context(), ConnConfig{Name: "ctl", URL: url, Seed: config.NewSecret(tt.seed)}, nil)
			wantConnectError(t, err, "ctl", url, nats.ErrAuthorization)
			require.Equal(t, "message", err.Error(), "lattice: connect ctl to "+url+": nats: Authorization Violation")
			if len(tt.seed) > 0 && strings.Contains(err.Error(), string(tt.seed[2:])) {
				t.Fatalf("error contains the seed: %v", err)
			}
		})
	}
}

func wantConnectError(t *testing.T, err error, name, url string, cause error) {
	t.Helper()
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *ConnectError", err, err)
	}
	require.Equal(t, "name", ce.Name, name)
	require.Equal(t, "url", ce.URL, url)
	if !errors.Is(err, cause) {
		t.Fatalf("errors.Is(%v, %v) = false", err, cause)
	}
}

// operatorSetup is a decentralized-auth world made in the test: an operator, a system account, an
// application account and users of it.
type operatorSetup struct {
	operator *jwt.OperatorClaims
	resolver *server.MemAccResolver
	sysPub   string
	account  nkeys.KeyPair
	accPub   string
}

func newOperatorSetup(t *testing.T) operatorSetup {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opub, _ := okp.PublicKey()
	account := func(name string) (nkeys.KeyPair, string, string) {
		akp, err := nkeys.CreateAccount()
		if err != nil {
			t.Fatal(err)
		}
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		ac.Name = name
		tok, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		return akp, apub, tok
	}
	_, sysPub, sysJWT := account("SYS")
	akp, apub, accJWT := account("APP")
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test operator"
	oc.SystemAccount = sysPub
	otok, err := oc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	oclaims, err := jwt.DecodeOperatorClaims(otok)
	if err != nil {
		t.Fatal(err)
	}
	res := &server.MemAccResolver{}
	if err := res.Store(sysPub, sysJWT); err != nil {
		t.Fatal(err)
	}
	if err := res.Store(apub, accJWT); err != nil {
		t.Fatal(err)
	}
	return operatorSetup{operator: oclaims, resolver: res, sysPub: sysPub, account: akp, accPub: apub}
}

func (o operatorSetup) server(t *testing.T) *server.Server {
	return runServer(t, &server.Options{
		TrustedOperators: []*jwt.OperatorClaims{o.operator},
		AccountResolver:  o.resolver,
		SystemAccount:    o.sysPub,
	})
}

// user issues a user of the application account allowed to publish and subscribe on allow.
func (o operatorSetup) user(t *testing.T, signer nkeys.KeyPair, allow ...string) (token string, seed []byte) {
	t.Helper()
	seed, pub := userKey(t)
	uc := jwt.NewUserClaims(pub)
	uc.IssuerAccount = o.accPub
	uc.Pub.Allow.Add(allow...)
	uc.Sub.Allow.Add(allow...)
	token, err := uc.Encode(signer)
	if err != nil {
		t.Fatal(err)
	}
	return token, seed
}

func TestConnectJWT(t *testing.T) {
	o := newOperatorSetup(t)
	srv := o.server(t)
	url := srv.ClientURL()
	log, buf := captureLog()

	// RPC through a creds file, CTL through JWT and seed, each with its own permissions.
	rpcJWT, rpcSeed := o.user(t, o.account, "wasmbus.rpc.>", "_INBOX.>")
	creds, err := jwt.FormatUserConfig(rpcJWT, rpcSeed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(t.TempDir(), "rpc.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	ctlJWT, ctlSeed := o.user(t, o.account, "wasmbus.ctl.>", "wasmbus.evt.>", "_INBOX.>")

	rpc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: url, CredsFile: credsFile}, log)
	if err != nil {
		t.Fatalf("creds file: %v", err)
	}
	defer rpc.Close()
	ctl, err := Connect(t.Context(), ConnConfig{Name: "ctl", URL: url, JWT: config.NewSecret([]byte(ctlJWT)), Seed: config.NewSecret(ctlSeed)}, log)
	if err != nil {
		t.Fatalf("JWT and seed: %v", err)
	}
	defer ctl.Close()

	roundTrip(t, rpc, "wasmbus.rpc.default.MABC")
	roundTrip(t, ctl, "wasmbus.ctl.default.ping.hosts")
	roundTrip(t, ctl, "wasmbus.evt.default")

	// Each connection is refused the other's subjects: they carry different credentials.
	if err := rpc.Publish("wasmbus.ctl.default.ping.hosts", nil); err != nil {
		t.Fatal(err)
	}
	logLine(t, buf, "level=WARN", `msg="nats error"`, "connection=rpc", `Permissions Violation for Publish to \"wasmbus.ctl.default.ping.hosts\"`)
	if err := ctl.Publish("wasmbus.rpc.default.MABC", nil); err != nil {
		t.Fatal(err)
	}
	logLine(t, buf, "level=WARN", `msg="nats error"`, "connection=ctl", `Permissions Violation for Publish to \"wasmbus.rpc.default.MABC\"`)

	// The server sees two users of the same account.
	connz, err := srv.Connz(&server.ConnzOptions{Username: true})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, c := range connz.Conns {
		users[c.Name] = c.AuthorizedUser
	}
	rpcClaims, _ := jwt.DecodeUserClaims(rpcJWT)
	ctlClaims, _ := jwt.DecodeUserClaims(ctlJWT)
	require.Equal(t, "rpc user", users["wasmcloud-host/rpc"], rpcClaims.Subject)
	require.Equal(t, "ctl user", users["wasmcloud-host/ctl"], ctlClaims.Subject)

	t.Run("refused", func(t *testing.T) {
		foreign, err := nkeys.CreateAccount()
		if err != nil {
			t.Fatal(err)
		}
		foreignJWT, foreignSeed := o.user(t, foreign, ">")
		otherSeed, _ := userKey(t)
		tests := []struct {
			name string
			c    ConnConfig
		}{
			{"no credentials", ConnConfig{Name: "ctl", URL: url}},
			{"JWT of an unknown account", ConnConfig{Name: "ctl", URL: url, JWT: config.NewSecret([]byte(foreignJWT)), Seed: config.NewSecret(foreignSeed)}},
			{"JWT with the wrong seed", ConnConfig{Name: "ctl", URL: url, JWT: config.NewSecret([]byte(ctlJWT)), Seed: config.NewSecret(otherSeed)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := Connect(t.Context(), tt.c, nil)
				wantConnectError(t, err, "ctl", url, nats.ErrAuthorization)
				for _, secret := range []string{string(foreignSeed[2:]), string(otherSeed[2:]), strings.Split(ctlJWT, ".")[2]} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error contains a secret: %v", err)
					}
				}
			})
		}
	})
}

func TestConnectTLS(t *testing.T) {
	p := newPKI(t)
	srv := runServer(t, &server.Options{TLSConfig: p.serverTLS, TLS: true, TLSVerify: true, TLSTimeout: 5})
	port := srv.Addr().(*net.TCPAddr).Port
	n := config.NATSConn{Host: "127.0.0.1", Port: port, TLS: true, TLSCA: p.caFile, TLSCert: p.clientCert, TLSKey: p.clientKey}

	nc, err := Connect(t.Context(), FromConfig("rpc", n), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	state, err := nc.TLSConnectionState()
	if err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "verified chains", len(state.VerifiedChains), 1)
	require.Equal(t, "server CN", state.PeerCertificates[0].Subject.CommonName, "server")
	roundTrip(t, nc, "wasmbus.rpc.default.x")
	connz, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "server saw TLS", connz.Conns[0].TLSVersion != "", true)

	url := "tls://127.0.0.1:" + strconv.Itoa(port)
	t.Run("no client certificate", func(t *testing.T) {
		c := n
		c.TLSCert, c.TLSKey = "", ""
		_, err := Connect(t.Context(), FromConfig("ctl", c), nil)
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.Name != "ctl" || ce.URL != url {
			t.Fatalf("err = %v, want a ConnectError for ctl at %s", err, url)
		}
	})
	t.Run("system roots", func(t *testing.T) {
		c := n
		c.TLSCA = ""
		_, err := Connect(t.Context(), FromConfig("ctl", c), nil)
		if !errors.Is(err, nats.ErrTLS) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("err = %v, want the server certificate refused", err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		c := n
		c.TLSCA = newPKI(t).caFile
		_, err := Connect(t.Context(), FromConfig("ctl", c), nil)
		var unknown interface{ Error() string }
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("err = %v, want unknown authority", err)
		}
		if !strings.HasPrefix(err.Error(), "lattice: connect ctl to "+url+": ") {
			t.Fatalf("err = %v, want it to name ctl and %s", err, url)
		}
	})
}

func TestReconnectLogs(t *testing.T) {
	port := freePort(t)
	opts := func() *server.Options { return &server.Options{Port: port} }
	srv := runServer(t, opts())
	log, buf := captureLog()
	nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: srv.ClientURL(), ReconnectWait: 5 * time.Millisecond, MaxReconnectWait: 20 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	srv.Shutdown()
	srv.WaitForShutdown()
	line := logLine(t, buf, `msg="nats disconnected"`, "connection=rpc")
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "error=") {
		t.Fatalf("disconnect line lacks level or error: %s", line)
	}
	logLine(t, buf, `msg="nats reconnect attempt failed"`, "connection=rpc")

	srv2 := runServer(t, opts())
	logLine(t, buf, "level=INFO", `msg="nats reconnected"`, "connection=rpc", "url=nats://127.0.0.1:"+strconv.Itoa(port))
	require.Equal(t, "connected to", nc.ConnectedServerId(), srv2.ID())
	roundTrip(t, nc, "wasmbus.rpc.default.after")

	if err := Drain(t.Context(), nc); err != nil {
		t.Fatal(err)
	}
	logLine(t, buf, "level=INFO", `msg="nats connection closed"`, "connection=rpc")
}

func TestConnectFailsFast(t *testing.T) {
	// A listener that accepts TCP but never speaks NATS: without a bound, Connect would hang.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	muteURL := "nats://" + mute.Addr().String()
	closedURL := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	seed, _ := userKey(t)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		c       ConnConfig
		wantURL string
		cause   error
	}{
		{"nothing listening", t.Context(), ConnConfig{Name: "rpc", URL: closedURL}, closedURL, nats.ErrNoServers},
		{"server never answers", t.Context(), ConnConfig{Name: "rpc", URL: muteURL, ConnectTimeout: 100 * time.Millisecond}, muteURL, os.ErrDeadlineExceeded},
		{"context already cancelled", cancelled, ConnConfig{Name: "ctl", URL: muteURL}, muteURL, context.Canceled},
		{"credentials in the URL are not shown", t.Context(), ConnConfig{Name: "rpc", URL: "nats://admin:hunter2@" + strings.TrimPrefix(closedURL, "nats://")}, closedURL, nats.ErrNoServers},
		{"JWT without seed", t.Context(), ConnConfig{Name: "rpc", URL: closedURL, JWT: config.NewSecret([]byte("a.b.c"))}, closedURL, ErrConfig},
		{"creds file and seed", t.Context(), ConnConfig{Name: "rpc", URL: closedURL, CredsFile: "x.creds", Seed: config.NewSecret(seed)}, closedURL, ErrConfig},
		{"cert without key", t.Context(), ConnConfig{Name: "rpc", URL: closedURL, TLSCert: "c.pem"}, closedURL, ErrConfig},
		{"no name", t.Context(), ConnConfig{URL: closedURL}, closedURL, ErrConfig},
		{"no URL", t.Context(), ConnConfig{Name: "rpc"}, "", ErrConfig},
		{"missing creds file", t.Context(), ConnConfig{Name: "rpc", URL: closedURL, CredsFile: filepath.Join(t.TempDir(), "none.creds")}, closedURL, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := Connect(tt.ctx, tt.c, nil)
			if err == nil {
				nc.Close()
				t.Fatal("Connect succeeded")
			}
			wantConnectError(t, err, tt.c.Name, tt.wantURL, tt.cause)
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), string(seed[2:])) {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
}

// TestConnectContextDeadline: a context deadline shorter than ConnectTimeout bounds the connect.
func TestConnectContextDeadline(t *testing.T) {
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = Connect(ctx, ConnConfig{Name: "rpc", URL: "nats://" + mute.Addr().String(), ConnectTimeout: time.Hour}, nil)
	if err == nil {
		t.Fatal("Connect succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline or nats' own timeout", err)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		base     time.Duration
	}{
		{"first", 1, 100 * time.Millisecond},
		{"second", 2, 200 * time.Millisecond},
		{"third", 3, 400 * time.Millisecond},
		{"capped", 10, time.Second},
		{"far", 1000, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				d := backoff(tt.attempts, 100*time.Millisecond, time.Second)
				if d < tt.base || d > tt.base+tt.base/2 {
					t.Fatalf("backoff(%d) = %v, want in [%v, %v]", tt.attempts, d, tt.base, tt.base+tt.base/2)
				}
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"user and password", "nats://u:p@h:4222", "nats://h:4222"},
		{"token", "tls://s3cr3t@h:4222", "tls://h:4222"},
		{"list", "nats://a:1, nats://u:p@b:2", "nats://a:1,nats://b:2"},
		{"unparsable with credentials", "nats://u:p@h:bad port%", "[unparsable URL]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, "redactURL", redactURL(tt.in), tt.want)
		})
	}
}

func TestDrain(t *testing.T) {
	srv := runServer(t, nil)
	nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: srv.ClientURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if _, err := nc.Subscribe("x", func(m *nats.Msg) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("x", []byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := Drain(t.Context(), nc); err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "closed", nc.IsClosed(), true)
	require.Equal(t, "pending message delivered", <-got, "last")
	if err := Drain(t.Context(), nc); err != nil {
		t.Fatalf("second Drain: %v", err)
	}
	if err := Drain(t.Context(), nil); err != nil {
		t.Fatalf("Drain(nil): %v", err)
	}
}
