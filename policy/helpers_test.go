package policy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// runServer starts an in-process nats-server on a free loopback port and stops it when the test ends.
func runServer(t testing.TB) *server.Server {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// connect opens a client connection to srv, closed when the test ends.
func connect(t testing.TB, srv *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// responder plays a NATS policy service on a topic: answer gets each request's id and body and returns
// the reply, or nil for no reply.
type responder struct {
	mu       sync.Mutex
	requests [][]byte
}

func respond(t testing.TB, nc *nats.Conn, topic string, answer func(id string, body []byte) []byte) *responder {
	t.Helper()
	r := &responder{}
	sub, err := nc.Subscribe(topic, func(m *nats.Msg) {
		r.mu.Lock()
		r.requests = append(r.requests, m.Data)
		r.mu.Unlock()
		var req struct {
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(m.Data, &req)
		if reply := answer(req.RequestID, m.Data); reply != nil {
			_ = m.Respond(reply)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return r
}

// count is how many requests the responder received.
func (r *responder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// last is the last request the responder received.
func (r *responder) last(t testing.TB) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		t.Fatal("the policy service received no request")
	}
	return r.requests[len(r.requests)-1]
}

// reply encodes a NATS policy answer.
func reply(id string, permitted bool, message string) []byte {
	b, _ := json.Marshal(map[string]any{"requestId": id, "permitted": permitted, "message": message})
	return b
}

// clock is a settable time source for cache expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newService makes a started Service with a settable clock, shut down when the test ends.
func newService(t testing.TB, cfg Config, nc *nats.Conn) (*Service, *clock) {
	t.Helper()
	if cfg.Host.PublicKey == "" {
		cfg.Host = testHost
	}
	s, err := New(cfg, nc)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	s.now = c.now
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, c
}

var testHost = HostInfo{
	PublicKey:      "NBVEWE3W3B5SUG7JTRNO3TAZRJPSXKJHYJNW6VSVOSXTK3V6D5AXRXCG",
	Issuer:         "CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN",
	LatticeID:      "default",
	Labels:         map[string]string{"hostcore.os": "linux", "region": "eu"},
	ClusterIssuers: []string{"CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN"},
}

// Keys of the OTP host's policy tests and of the real policy actor (testdata/actors).
const (
	policyActor    = "MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3"
	kvcounterActor = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"
	echoActor      = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
	kvProvider     = "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC"
	wasmcloudAcc   = "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW"
	otherAcc       = "ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY"
)

func startActor(key string) Request {
	return Request{Action: ActionStartActor, Target: Entity{PublicKey: key, Issuer: wasmcloudAcc}}
}

func putLink(actor, contract string, values map[string]string) Request {
	provider := kvProvider
	if contract != "wasmcloud:keyvalue" {
		provider = "VCF5SU6YJF4VOJX65JHPTP75IBN422J3YXXPCRHP3AVJ5QYBFODRSMLQ"
	}
	return Request{Action: ActionPutLink, Link: &LinkRequest{ActorID: actor, ProviderID: provider, ContractID: contract, LinkName: "default", Values: values}}
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// permits checks that Decide permitted.
func permits(t testing.TB, d Decision, err error) {
	t.Helper()
	if err != nil || !d.Permitted {
		t.Fatalf("Decide = %+v, %v; want permitted", d, err)
	}
}

// mustPermit asks s about r and checks that it permitted.
func mustPermit(t testing.TB, s *Service, r Request) Decision {
	t.Helper()
	d, err := s.Decide(context.Background(), r)
	permits(t, d, err)
	return d
}

// denies checks that Decide denied with kind, and that the error's text contains every part.
func denies(t testing.TB, d Decision, err error, kind error, parts ...string) *Error {
	t.Helper()
	if err == nil || d.Permitted {
		t.Fatalf("Decide = %+v, %v; want denied (%v)", d, err, kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("Decide error %q is not %v", err, kind)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Decide error %q is not a *Error", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("Decide error %q does not contain %q", err, p)
		}
	}
	return pe
}

// cached is how many decisions the cache holds.
func (s *Service) cached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache.len()
}

// waiting is how many Decide calls wait on flights in progress.
func (s *Service) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.flights {
		n += f.waiters
	}
	return n
}
