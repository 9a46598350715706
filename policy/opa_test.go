package policy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/opatest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// runOPA runs a real OPA server with the given files loaded.
func runOPA(t testing.TB, files ...string) *opatest.Server { return opatest.Run(t, files...) }

var linkPolicy = []string{filepath.Join("testdata", "link_policy.rego"), filepath.Join("testdata", "link_data.json")}

// TestOPALinkPolicy runs testdata/link_policy.rego in OPA, through its package document
// ({"allow", "message"}) and through its allow rule (a bare boolean).
func TestOPALinkPolicy(t *testing.T) {
	o := runOPA(t, linkPolicy...)
	tests := []struct {
		name    string
		req     Request
		message string // empty: permitted
	}{
		{"own bucket", putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "acme-orders"}), ""},
		{"other tenant's bucket", putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "globex-payroll"}),
			`bucket "globex-payroll" is outside "acme-", the tenant prefix of actor ` + echoActor},
		{"no bucket", putLink(kvcounterActor, "wasmcloud:keyvalue", nil), `bucket "" is outside "globex-", the tenant prefix of actor ` + kvcounterActor},
		{"actor of no tenant", putLink(policyActor, "wasmcloud:keyvalue", map[string]string{"bucket": "acme-orders"}),
			"actor " + policyActor + " belongs to no tenant and may not link to a key-value store"},
		{"listed for httpserver", putLink(echoActor, "wasmcloud:httpserver", map[string]string{"port": "8080"}), ""},
		{"not listed for messaging", putLink(echoActor, "wasmcloud:messaging", map[string]string{"subscription": "orders.>"}),
			"actor " + echoActor + " may not link to wasmcloud:messaging"},
		{"listed for messaging", putLink(kvcounterActor, "wasmcloud:messaging", nil), ""},
		{"not a link", startActor(policyActor), ""},
	}
	for _, form := range []string{"package", "rule"} {
		endpoint := o.URL + "/v1/data/wasmcloud"
		if form == "rule" {
			endpoint += "/allow"
		}
		s, _ := newService(t, Config{Endpoint: endpoint}, nil)
		for _, tt := range tests {
			t.Run(form+"/"+tt.name, func(t *testing.T) {
				d, err := s.Decide(t.Context(), tt.req)
				if tt.message == "" {
					permits(t, d, err)
					require.Equal(t, "message", d.Message, "")
					return
				}
				pe := denies(t, d, err, ErrDenied, "(http, request ")
				if form == "rule" {
					require.Equal(t, "message", d.Message, "") // a bare boolean says no more
					return
				}
				require.Equal(t, "message", d.Message, tt.message)
				require.Equal(t, "error's reason", pe.Reason, tt.message)
			})
		}
	}
}

func TestOPAFailures(t *testing.T) {
	o := runOPA(t, linkPolicy...)
	own := putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "acme-orders"})

	t.Run("undefined document", func(t *testing.T) {
		s, _ := newService(t, Config{Endpoint: o.URL + "/v1/data/wasmcloud/nothing_here"}, nil)
		d, err := s.Decide(t.Context(), own)
		denies(t, d, err, ErrBadResponse, "OPA response has no result")
		require.Equal(t, "cached decisions", s.cached(), 0)
	})

	t.Run("not found", func(t *testing.T) {
		s, _ := newService(t, Config{Endpoint: o.URL + "/v2/data/wasmcloud"}, nil)
		d, err := s.Decide(t.Context(), own)
		denies(t, d, err, ErrUnavailable, o.URL+"/v2/data/wasmcloud answered 404 Not Found")
	})

	t.Run("stopped", func(t *testing.T) {
		s, _ := newService(t, Config{Endpoint: o.URL + "/v1/data/wasmcloud"}, nil)
		mustPermit(t, s, own)
		o.Stop()
		s.Flush()
		for range 2 {
			d, err := s.Decide(t.Context(), own)
			denies(t, d, err, ErrUnavailable, "POST "+o.URL+"/v1/data/wasmcloud: ")
			require.Equal(t, "cached decisions", s.cached(), 0)
		}
	})
}

// TestBothServices: with a NATS policy service and OPA, both are asked and both must permit.
func TestBothServices(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	o := runOPA(t, linkPolicy...)
	var mu sync.Mutex
	natsSays := true
	r := respond(t, nc, topic, func(id string, _ []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		msg := ""
		if !natsSays {
			msg = "no links on Fridays"
		}
		return reply(id, natsSays, msg)
	})
	const changes = "wasmcloud.policy.changes"
	cfg := Config{Topic: topic, ChangesTopic: changes, Endpoint: o.URL + "/v1/data/wasmcloud"}
	own := putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "acme-orders"})
	foreign := putLink(echoActor, "wasmcloud:keyvalue", map[string]string{"bucket": "globex-payroll"})

	s, _ := newService(t, cfg, nc)
	mustPermit(t, s, own)
	d, err := s.Decide(t.Context(), foreign)
	pe := denies(t, d, err, ErrDenied, "(http, request ", `is outside "acme-"`)
	require.Equal(t, "requests", r.count(), 2) // NATS was asked too

	// A change on the NATS side cannot lift OPA's denial.
	if _, err := nc.Request(changes, []byte(`{"requestId":"`+pe.RequestID+`","permitted":true}`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	d, err = s.Decide(t.Context(), foreign)
	denies(t, d, err, ErrDenied, `is outside "acme-"`)
	require.Equal(t, "cached", d.Cached, true)

	// NATS says no: denied, whatever OPA says.
	mu.Lock()
	natsSays = false
	mu.Unlock()
	s2, _ := newService(t, cfg, nc)
	d, err = s2.Decide(t.Context(), own)
	denies(t, d, err, ErrDenied, "(nats, request ", "no links on Fridays")
	d, err = s2.Decide(t.Context(), foreign)
	denies(t, d, err, ErrDenied, "no links on Fridays; bucket \"globex-payroll\" is outside")
}

// TestHTTPMisbehaving plays OPA servers that answer badly, and pins the exact input posted.
func TestHTTPMisbehaving(t *testing.T) {
	var mu sync.Mutex
	var body []byte
	release := make(chan struct{})
	mux := http.NewServeMux()
	answer := func(status int, text string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			body = b
			mu.Unlock()
			w.WriteHeader(status)
			_, _ = io.WriteString(w, text)
		}
	}
	mux.Handle("/ok", answer(200, `{"result":{"allow":true,"message":"fine","ttl":30},"decision_id":"d1"}`))
	mux.Handle("/error", answer(500, `{"code":"internal_error","message":"boom"}`))
	mux.Handle("/garbage", answer(200, `{"result":tru`))
	mux.Handle("/string", answer(200, `{"result":"yes"}`))
	mux.Handle("/no-allow", answer(200, `{"result":{"message":"hi"}}`))
	mux.Handle("/allow-string", answer(200, `{"result":{"allow":"true"}}`))
	mux.Handle("/huge", answer(200, `{"result":true,"pad":"`+strings.Repeat("x", MaxResponseBytes)+`"}`))
	mux.Handle("/redirect", http.RedirectHandler("/ok", http.StatusTemporaryRedirect))
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer close(release)

	tests := []struct {
		path  string
		kind  error
		parts []string
	}{
		{"/error", ErrUnavailable, []string{hs.URL + "/error answered 500 Internal Server Error"}},
		{"/redirect", ErrUnavailable, []string{"answered 307 Temporary Redirect"}},
		{"/garbage", ErrBadResponse, []string{"OPA response does not decode"}},
		{"/string", ErrBadResponse, []string{"OPA result is neither a boolean nor an object"}},
		{"/no-allow", ErrBadResponse, []string{"OPA result has no boolean allow"}},
		{"/allow-string", ErrBadResponse, []string{"not a boolean"}},
		{"/huge", ErrBadResponse, []string{"OPA response exceeds 65536 bytes"}},
		{"/slow", ErrUnavailable, []string{"no answer from " + hs.URL + "/slow within 100ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			s, _ := newService(t, Config{Endpoint: hs.URL + tt.path, Timeout: 100 * time.Millisecond}, nil)
			d, err := s.Decide(t.Context(), startActor(echoActor))
			denies(t, d, err, tt.kind, tt.parts...)
			require.Equal(t, "cached decisions", s.cached(), 0)
		})
	}

	t.Run("input and ttl", func(t *testing.T) {
		s, clk := newService(t, Config{Endpoint: hs.URL + "/ok"}, nil)
		s.newID = func() string { return "0f8e2c4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b" }
		req := Request{Action: ActionPutLink,
			Source: Entity{Issuer: wasmcloudAcc, Capabilities: []string{"wasmcloud:keyvalue", "wasmcloud:httpserver"}},
			Link:   &LinkRequest{ActorID: echoActor, ProviderID: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{"bucket": "tenant-a-counters", "prefix": "app1"}}}
		d := mustPermit(t, s, req)
		require.Equal(t, "message", d.Message, "fine")
		mu.Lock()
		got := body
		mu.Unlock()
		// The input is the NATS request of the same question.
		golden(t, filepath.Join("testdata", "opa_input_put_link.golden"), got)
		want, err := os.ReadFile(filepath.Join("testdata", "request_put_link.golden"))
		if err != nil {
			t.Fatal(err)
		}
		require.Equal(t, "input", string(got), `{"input":`+string(want)+`}`)
		clk.advance(29 * time.Second)
		d = mustPermit(t, s, req)
		require.Equal(t, "cached at 29 s", d.Cached, true)
		clk.advance(time.Second)
		d = mustPermit(t, s, req)
		require.Equal(t, "cached at 30 s", d.Cached, false)
	})

	t.Run("password stays out of errors", func(t *testing.T) {
		u := strings.Replace(hs.URL, "http://", "http://user:hunter2@", 1) + "/error"
		s, _ := newService(t, Config{Endpoint: u}, nil)
		_, err := s.Decide(t.Context(), startActor(echoActor))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error %v", err)
		}
		hs2 := httptest.NewServer(mux)
		hs2.Close() // refused
		s2, _ := newService(t, Config{Endpoint: strings.Replace(hs2.URL, "http://", "http://user:hunter2@", 1)}, nil)
		_, err = s2.Decide(t.Context(), startActor(echoActor))
		if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error %v", err)
		}
	})
}
