package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/nats-io/nats.go"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const topic = "wasmcloud.policy.evaluator"

func TestDecideNATS(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	big := `{"requestId":"%s","permitted":true,"message":"` + strings.Repeat("x", MaxResponseBytes) + `"}`
	tests := []struct {
		name   string
		answer func(id string) string // the responder's reply
		kind   error                  // nil: permitted
		parts  []string               // in the error text (or the message when permitted)
	}{
		{"permit", func(id string) string { return string(reply(id, true, "")) }, nil, nil},
		{"permit with message", func(id string) string { return `{"requestId":"` + id + `","permitted":true,"message":"ok by me"}` }, nil, []string{"ok by me"}},
		{"permit, snake_case id", func(id string) string { return `{"request_id":"` + id + `","permitted":true}` }, nil, nil},
		{"deny", func(id string) string {
			return string(reply(id, false, "Issuer was not the official wasmCloud issuer"))
		}, ErrDenied,
			[]string{"policy: denied: start_actor " + echoActor + " (nats, request ", "): Issuer was not the official wasmCloud issuer"}},
		{"deny without message", func(id string) string { return `{"requestId":"` + id + `","permitted":false,"message":null}` }, ErrDenied, []string{"policy: denied: start_actor"}},
		{"garbage", func(string) string { return "<html>" }, ErrBadResponse, []string{"policy: bad response: start_actor", "answer does not decode"}},
		{"empty", func(string) string { return "" }, ErrBadResponse, []string{"answer does not decode"}},
		{"array", func(string) string { return "[true]" }, ErrBadResponse, []string{"not a JSON object"}},
		{"trailing data", func(id string) string { return string(reply(id, true, "")) + "{}" }, ErrBadResponse, []string{"data after the JSON object"}},
		{"wrong requestId", func(string) string { return string(reply("11111111-2222-3333-4444-555555555555", true, "")) }, ErrBadResponse,
			[]string{`answer is for request "11111111-2222-3333-4444-555555555555", not this one`}},
		{"no requestId", func(string) string { return `{"permitted":true}` }, ErrBadResponse, []string{"answer has no requestId"}},
		{"ids disagree", func(id string) string { return `{"requestId":"` + id + `","request_id":"x","permitted":true}` }, ErrBadResponse, []string{"has requestId"}},
		{"no permitted", func(id string) string { return `{"requestId":"` + id + `","message":"yes"}` }, ErrBadResponse, []string{"answer has no boolean permitted"}},
		{"permitted as string", func(id string) string { return `{"requestId":"` + id + `","permitted":"true"}` }, ErrBadResponse, []string{`has permitted "\"true\"", not a boolean`}},
		{"permitted null", func(id string) string { return `{"requestId":"` + id + `","permitted":null}` }, ErrBadResponse, []string{"not a boolean"}},
		{"duplicate permitted", func(id string) string { return `{"requestId":"` + id + `","permitted":false,"permitted":true}` }, ErrBadResponse, []string{`duplicate member "permitted"`}},
		{"message not a string", func(id string) string { return `{"requestId":"` + id + `","permitted":true,"message":1}` }, ErrBadResponse, []string{"not a string"}},
		{"negative ttl", func(id string) string { return `{"requestId":"` + id + `","permitted":true,"ttl":-1}` }, ErrBadResponse, []string{"ttl"}},
		{"oversized", func(id string) string { return strings.Replace(big, "%s", id, 1) }, ErrBadResponse, []string{"exceeds 65536 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := "policy." + strings.ReplaceAll(tt.name, " ", "_")
			topic = strings.NewReplacer(",", "", "(", "", ")", "").Replace(topic)
			r := respond(t, nc, topic, func(id string, _ []byte) []byte { return []byte(tt.answer(id)) })
			s, _ := newService(t, Config{Topic: topic}, nc)
			d, err := s.Decide(t.Context(), startActor(echoActor))
			require.Equal(t, "requests", r.count(), 1)
			if tt.kind == nil {
				permits(t, d, err)
				for _, p := range tt.parts {
					require.Equal(t, "message", d.Message, p)
				}
				if d.RequestID == "" {
					t.Fatal("no request id in the decision")
				}
				return
			}
			denies(t, d, err, tt.kind, tt.parts...)
			if tt.kind != ErrDenied {
				// Failures are not cached: the next call asks again.
				_, err = s.Decide(t.Context(), startActor(echoActor))
				denies(t, Decision{}, err, tt.kind)
				require.Equal(t, "requests after a second call", r.count(), 2)
				require.Equal(t, "cached decisions", s.cached(), 0)
			}
		})
	}
}

func TestDecideNATSUnavailable(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)

	t.Run("no responders", func(t *testing.T) {
		s, _ := newService(t, Config{Topic: "policy.nobody"}, nc)
		d, err := s.Decide(t.Context(), startActor(echoActor))
		e := denies(t, d, err, ErrUnavailable, "policy: service unavailable: start_actor "+echoActor+" (nats, request ", "): no responders on policy.nobody")
		if !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("error %v does not wrap nats.ErrNoResponders", err)
		}
		require.Equal(t, "decision's request id", d.RequestID, e.RequestID)
		require.Equal(t, "cached decisions", s.cached(), 0)
	})

	t.Run("timeout", func(t *testing.T) {
		r := respond(t, nc, "policy.silent", func(string, []byte) []byte { return nil })
		s, _ := newService(t, Config{Topic: "policy.silent", Timeout: 50 * time.Millisecond}, nc)
		for i := 1; i <= 2; i++ {
			d, err := s.Decide(t.Context(), startActor(echoActor))
			denies(t, d, err, ErrUnavailable, "no answer on policy.silent within 50ms")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v does not wrap context.DeadlineExceeded", err)
			}
			require.Equal(t, "requests", r.count(), i) // never cached
		}
	})

	t.Run("caller's context", func(t *testing.T) {
		release := make(chan struct{})
		r := respond(t, nc, "policy.slow", func(id string, _ []byte) []byte { <-release; return reply(id, true, "") })
		s, _ := newService(t, Config{Topic: "policy.slow", Timeout: 10 * time.Second}, nc)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := s.Decide(ctx, startActor(echoActor))
			done <- err
		}()
		eventually(t, "the question to arrive", func() bool { return r.count() == 1 })
		cancel()
		err := <-done
		denies(t, Decision{}, err, ErrUnavailable, "no decision before the caller's context ended")
		// The question goes on, and its answer serves the next caller.
		close(release)
		eventually(t, "the answer to be cached", func() bool { return s.cached() == 1 })
		d, err := s.Decide(t.Context(), startActor(echoActor))
		permits(t, d, err)
		require.Equal(t, "cached", d.Cached, true)
		require.Equal(t, "requests", r.count(), 1)
	})

	t.Run("shutdown", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		r := respond(t, nc, "policy.stuck", func(string, []byte) []byte { <-release; return nil })
		s, err := New(Config{Topic: "policy.stuck", Timeout: time.Minute}, nc)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := s.Decide(context.Background(), startActor(echoActor))
			done <- err
		}()
		eventually(t, "the question to arrive", func() bool { return r.count() == 1 })
		for range 2 { // idempotent
			if err := s.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		denies(t, Decision{}, <-done, ErrUnavailable, "the policy service was shut down")
		d, err := s.Decide(t.Context(), startActor(echoActor))
		denies(t, d, err, ErrUnavailable, "the policy service was shut down")
		require.Equal(t, "requests", r.count(), 1)
	})
}

func TestCache(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	var mu sync.Mutex
	answers := map[string]string{} // target public key -> the reply's extra members
	r := respond(t, nc, topic, func(id string, body []byte) []byte {
		var req struct {
			Target struct {
				PublicKey string `json:"publicKey"`
			} `json:"target"`
		}
		_ = json.Unmarshal(body, &req)
		mu.Lock()
		extra := answers[req.Target.PublicKey]
		mu.Unlock()
		return []byte(`{"requestId":"` + id + `","permitted":true` + extra + `}`)
	})
	answer := func(key, extra string) {
		mu.Lock()
		answers[key] = extra
		mu.Unlock()
	}

	t.Run("asked once", func(t *testing.T) {
		s, _ := newService(t, Config{Topic: topic}, nc)
		before := r.count()
		d1, err := s.Decide(t.Context(), startActor(echoActor))
		permits(t, d1, err)
		require.Equal(t, "first cached", d1.Cached, false)
		d2, err := s.Decide(t.Context(), startActor(echoActor))
		permits(t, d2, err)
		require.Equal(t, "second cached", d2.Cached, true)
		require.Equal(t, "request id", d2.RequestID, d1.RequestID)
		require.Equal(t, "requests", r.count()-before, 1)
		// Any difference in what is asked is another question.
		for _, req := range []Request{
			{Action: ActionStartProvider, Target: Entity{PublicKey: echoActor, Issuer: wasmcloudAcc}},
			{Action: ActionStartActor, Target: Entity{PublicKey: echoActor, Issuer: otherAcc}},
			{Action: ActionPerformInvocation, Source: Entity{PublicKey: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default"}, Target: Entity{PublicKey: echoActor}},
			{Action: ActionPerformInvocation, Source: Entity{PublicKey: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "other"}, Target: Entity{PublicKey: echoActor}},
		} {
			mustPermit(t, s, req)
		}
		require.Equal(t, "requests", r.count()-before, 5)
	})

	t.Run("default TTL", func(t *testing.T) {
		s, clk := newService(t, Config{Topic: topic, CacheTTL: 30 * time.Second}, nc)
		before := r.count()
		mustPermit(t, s, startActor(echoActor))
		clk.advance(29 * time.Second)
		d, err := s.Decide(t.Context(), startActor(echoActor))
		permits(t, d, err)
		require.Equal(t, "cached at 29 s", d.Cached, true)
		clk.advance(time.Second)
		d, err = s.Decide(t.Context(), startActor(echoActor))
		permits(t, d, err)
		require.Equal(t, "cached at 30 s", d.Cached, false)
		require.Equal(t, "requests", r.count()-before, 2)
	})

	t.Run("answered TTL", func(t *testing.T) {
		answer(policyActor, `,"ttl":5`)
		s, clk := newService(t, Config{Topic: topic}, nc)
		mustPermit(t, s, startActor(policyActor))
		clk.advance(4 * time.Second)
		d, _ := s.Decide(t.Context(), startActor(policyActor))
		require.Equal(t, "cached at 4 s", d.Cached, true)
		clk.advance(time.Second)
		d, _ = s.Decide(t.Context(), startActor(policyActor))
		require.Equal(t, "cached at 5 s", d.Cached, false)
	})

	t.Run("answered TTL is capped", func(t *testing.T) {
		answer(policyActor, `,"ttl":1e12`)
		s, clk := newService(t, Config{Topic: topic}, nc)
		mustPermit(t, s, startActor(policyActor))
		clk.advance(MaxTTL - time.Second)
		d, _ := s.Decide(t.Context(), startActor(policyActor))
		require.Equal(t, "cached just before MaxTTL", d.Cached, true)
		clk.advance(time.Second)
		d, _ = s.Decide(t.Context(), startActor(policyActor))
		require.Equal(t, "cached at MaxTTL", d.Cached, false)
	})

	t.Run("ttl 0 is not cached", func(t *testing.T) {
		answer(policyActor, `,"ttl":0`)
		s, _ := newService(t, Config{Topic: topic}, nc)
		before := r.count()
		mustPermit(t, s, startActor(policyActor))
		mustPermit(t, s, startActor(policyActor))
		require.Equal(t, "requests", r.count()-before, 2)
		require.Equal(t, "cached decisions", s.cached(), 0)
	})

	t.Run("bounded", func(t *testing.T) {
		answer(policyActor, "")
		s, _ := newService(t, Config{Topic: topic, CacheSize: 3}, nc)
		for i := range 10 {
			mustPermit(t, s, startActor(echoActor+string(rune('a'+i))))
			if n := s.cached(); n > 3 {
				t.Fatalf("%d decisions cached, want at most 3", n)
			}
		}
		before := r.count()
		d, _ := s.Decide(t.Context(), startActor(echoActor+"j")) // the newest stays
		require.Equal(t, "newest cached", d.Cached, true)
		d, _ = s.Decide(t.Context(), startActor(echoActor+"a")) // the oldest went
		require.Equal(t, "oldest cached", d.Cached, false)
		require.Equal(t, "requests", r.count()-before, 1)
	})

	t.Run("flush", func(t *testing.T) {
		s, _ := newService(t, Config{Topic: topic}, nc)
		mustPermit(t, s, startActor(echoActor))
		s.Flush()
		d, _ := s.Decide(t.Context(), startActor(echoActor))
		require.Equal(t, "cached after Flush", d.Cached, false)
	})
}

// TestSingleflight: concurrent identical questions put one request on the wire, and every caller gets
// its answer.
func TestSingleflight(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	release := make(chan struct{})
	r := respond(t, nc, topic, func(id string, _ []byte) []byte { <-release; return reply(id, false, "not today") })
	s, _ := newService(t, Config{Topic: topic, Timeout: time.Minute}, nc)
	const n = 16
	type result struct {
		d   Decision
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			d, err := s.Decide(context.Background(), startActor(echoActor))
			results <- result{d, err}
		}()
	}
	eventually(t, "every caller to wait", func() bool { return s.waiting() == n })
	close(release)
	var id string
	for range n {
		res := <-results
		denies(t, res.d, res.err, ErrDenied, "not today")
		if id == "" {
			id = res.d.RequestID
		}
		require.Equal(t, "request id", res.d.RequestID, id)
	}
	require.Equal(t, "requests", r.count(), 1)
}

func TestChanges(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	const changes = "wasmcloud.policy.changes"
	r := respond(t, nc, topic, func(id string, _ []byte) []byte { return reply(id, true, "") })
	// publish sends a change message as a request, as the OTP host's policy manager answers them.
	publish := func(t *testing.T, msg string) string {
		t.Helper()
		m, err := nc.Request(changes, []byte(msg), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Data)
	}

	for _, tt := range []struct{ name, idKey string }{
		{"OTP snake_case", "request_id"},
		{"wasmCloud 0.82 camelCase", "requestId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newService(t, Config{Topic: topic, ChangesTopic: changes}, nc)
			d, err := s.Decide(t.Context(), startActor(echoActor))
			permits(t, d, err)
			other, err := s.Decide(t.Context(), startActor(policyActor))
			permits(t, other, err)
			before := r.count()

			ack := publish(t, `{"`+tt.idKey+`":"`+d.RequestID+`","permitted":false,"message":"revoked"}`)
			require.Equal(t, "ack", ack, `{"success":true}`)
			d2, err := s.Decide(t.Context(), startActor(echoActor))
			pe := denies(t, d2, err, ErrDenied, "revoked")
			require.Equal(t, "cached", d2.Cached, true)
			require.Equal(t, "request id", pe.RequestID, d.RequestID)
			// The other decision is untouched, and nothing was asked.
			d3, err := s.Decide(t.Context(), startActor(policyActor))
			permits(t, d3, err)
			require.Equal(t, "other cached", d3.Cached, true)
			require.Equal(t, "requests", r.count()-before, 0)

			// And back.
			require.Equal(t, "ack", publish(t, `{"`+tt.idKey+`":"`+d.RequestID+`","permitted":true}`), `{"success":true}`)
			mustPermit(t, s, startActor(echoActor))
		})
	}

	t.Run("unknown id flushes", func(t *testing.T) {
		s, _ := newService(t, Config{Topic: topic, ChangesTopic: changes}, nc)
		mustPermit(t, s, startActor(echoActor))
		require.Equal(t, "ack", publish(t, `{"requestId":"00000000-0000-4000-8000-000000000000","permitted":false}`), `{"success":true}`)
		require.Equal(t, "cached decisions", s.cached(), 0)
	})

	t.Run("garbage flushes", func(t *testing.T) {
		var logs bytes.Buffer
		var logMu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
		s, _ := newService(t, Config{Topic: topic, ChangesTopic: changes, Logger: log}, nc)
		mustPermit(t, s, startActor(echoActor))
		require.Equal(t, "ack", publish(t, `{"requestId":"x","permitted":"no"}`), `{"success":false}`)
		require.Equal(t, "cached decisions", s.cached(), 0)
		logMu.Lock()
		line := logs.String()
		logMu.Unlock()
		if !strings.Contains(line, `level=WARN msg="policy change message does not decode; cache flushed" subject=wasmcloud.policy.changes error="change has permitted`) {
			t.Fatalf("log: %s", line)
		}
	})

	t.Run("plain publish", func(t *testing.T) {
		s, _ := newService(t, Config{Topic: topic, ChangesTopic: changes}, nc)
		d, err := s.Decide(t.Context(), startActor(echoActor))
		permits(t, d, err)
		if err := nc.Publish(changes, []byte(`{"requestId":"`+d.RequestID+`","permitted":false,"message":"revoked"}`)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the change to take effect", func() bool {
			_, err := s.Decide(t.Context(), startActor(echoActor))
			return errors.Is(err, ErrDenied)
		})
	})

	t.Run("answer in flight during a flush is not cached", func(t *testing.T) {
		release := make(chan struct{})
		slow := respond(t, nc, "policy.inflight", func(id string, _ []byte) []byte { <-release; return reply(id, true, "") })
		s, _ := newService(t, Config{Topic: "policy.inflight", ChangesTopic: changes}, nc)
		done := make(chan error)
		go func() {
			_, err := s.Decide(t.Context(), startActor(echoActor))
			done <- err
		}()
		eventually(t, "the question to arrive", func() bool { return slow.count() == 1 })
		publish(t, `{"requestId":"unknown","permitted":false}`)
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("the caller in flight: %v", err)
		}
		require.Equal(t, "cached decisions", s.cached(), 0)
	})
}

// TestRequestGolden pins the exact JSON of a request for each action, as the policy service receives it.
func TestRequestGolden(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	r := respond(t, nc, topic, func(id string, _ []byte) []byte { return reply(id, true, "") })
	s, _ := newService(t, Config{Topic: topic}, nc)
	s.newID = func() string { return "0f8e2c4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b" }
	expires := int64(1_900_000_000)
	tests := []struct {
		name string
		req  Request
	}{
		{"start_actor", Request{Action: ActionStartActor, Target: Entity{PublicKey: policyActor, Issuer: otherAcc}}},
		{"start_provider", Request{Action: ActionStartProvider, Target: Entity{PublicKey: kvProvider, Issuer: wasmcloudAcc, ContractID: "wasmcloud:keyvalue", LinkName: "default"}}},
		{"perform_invocation", Request{Action: ActionPerformInvocation,
			Source: Entity{PublicKey: echoActor, Issuer: wasmcloudAcc, Capabilities: []string{"wasmcloud:httpserver"}, IssuedOn: "1642791045", ExpiresAt: &expires},
			Target: Entity{PublicKey: policyActor, Issuer: otherAcc}}},
		{"put_link", Request{Action: ActionPutLink,
			Source: Entity{Issuer: wasmcloudAcc, Capabilities: []string{"wasmcloud:keyvalue", "wasmcloud:httpserver"}},
			Link:   &LinkRequest{ActorID: echoActor, ProviderID: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{"bucket": "tenant-a-counters", "prefix": "app1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPermit(t, s, tt.req)
			// The bytes exactly as they went on the wire (json.Indent them to read).
			golden(t, filepath.Join("testdata", "request_"+tt.name+".golden"), r.last(t))
		})
	}
}

// golden compares got with the file, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestDisabled(t *testing.T) {
	s, err := New(Config{ChangesTopic: "ignored.when.disabled"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "Enabled", s.Enabled(), false)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	d, err := s.Decide(t.Context(), startActor(echoActor))
	permits(t, d, err)
	require.Equal(t, "request id", d.RequestID, "")
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidRequest(t *testing.T) {
	s, err := New(Config{}, nil) // invalid requests are refused even when disabled
	if err != nil {
		t.Fatal(err)
	}
	link := func() *LinkRequest {
		return &LinkRequest{ActorID: echoActor, ProviderID: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default"}
	}
	tests := []struct {
		name   string
		req    Request
		reason string
	}{
		{"no action", Request{}, `unknown action ""`},
		{"unknown action", Request{Action: "mine_bitcoin"}, `unknown action "mine_bitcoin"`},
		{"put_link without link", Request{Action: ActionPutLink}, "put_link without a link"},
		{"link with another action", Request{Action: ActionStartActor, Link: link()}, "only asked about with put_link"},
		{"link without actor", Request{Action: ActionPutLink, Link: &LinkRequest{ProviderID: kvProvider, ContractID: "c", LinkName: "default"}}, "the link has no actor"},
		{"link without provider", Request{Action: ActionPutLink, Link: &LinkRequest{ActorID: echoActor, ContractID: "c", LinkName: "default"}}, "the link has no provider"},
		{"link without contract", Request{Action: ActionPutLink, Link: &LinkRequest{ActorID: echoActor, ProviderID: kvProvider, LinkName: "default"}}, "the link has no contract"},
		{"link without name", Request{Action: ActionPutLink, Link: &LinkRequest{ActorID: echoActor, ProviderID: kvProvider, ContractID: "c"}}, "the link has no link name"},
		{"source is not the actor", Request{Action: ActionPutLink, Source: Entity{PublicKey: policyActor}, Link: link()}, "is not the link's actor"},
		{"target is not the provider", Request{Action: ActionPutLink, Target: Entity{PublicKey: echoActor}, Link: link()}, "is not the link's provider"},
		{"other contract", Request{Action: ActionPutLink, Target: Entity{ContractID: "wasmcloud:messaging"}, Link: link()}, "is not the link's contract"},
		{"other link name", Request{Action: ActionPutLink, Target: Entity{LinkName: "backup"}, Link: link()}, "is not the link's link name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := s.Decide(t.Context(), tt.req)
			denies(t, d, err, ErrInvalidRequest, "policy: invalid request: ", tt.reason)
		})
	}
	// A put_link whose source and target agree with the link is fine.
	mustPermit(t, s, Request{Action: ActionPutLink, Source: Entity{PublicKey: echoActor},
		Target: Entity{PublicKey: kvProvider, ContractID: "wasmcloud:keyvalue", LinkName: "default"}, Link: link()})
}

func TestNewConfig(t *testing.T) {
	srv := runServer(t)
	nc := connect(t, srv)
	tests := []struct {
		name  string
		cfg   Config
		nc    *nats.Conn
		parts []string // empty: valid
	}{
		{"disabled", Config{}, nil, nil},
		{"nats", Config{Topic: "wasmcloud.policy", ChangesTopic: "wasmcloud.policy.changes.>", Timeout: time.Second}, nc, nil},
		{"http", Config{Endpoint: "http://127.0.0.1:8181/v1/data/wasmcloud"}, nil, nil},
		{"topic without connection", Config{Topic: "wasmcloud.policy"}, nil, []string{"Topic and ChangesTopic need a NATS connection"}},
		{"changes without connection", Config{Endpoint: "https://opa.example/v1/data/x", ChangesTopic: "c"}, nil, []string{"need a NATS connection"}},
		{"wildcard topic", Config{Topic: "wasmcloud.*"}, nc, []string{`Topic "wasmcloud.*": has a wildcard`}},
		{"empty token", Config{Topic: "wasmcloud..policy"}, nc, []string{"has an empty token"}},
		{"white space", Config{ChangesTopic: "a b"}, nc, []string{`ChangesTopic "a b": contains white space`}},
		{"> not last", Config{ChangesTopic: "a.>.b"}, nc, []string{"has > before its last token"}},
		{"endpoint scheme", Config{Endpoint: "ftp://opa/v1/data"}, nil, []string{"want an http or https URL"}},
		{"endpoint password", Config{Endpoint: "ftp://u:secret@opa/v1/data"}, nil, []string{"xxxxx"}},
		{"endpoint host", Config{Endpoint: "http:///v1/data"}, nil, []string{"Endpoint \"http:///v1/data\": no host"}},
		{"endpoint not a URL", Config{Endpoint: "http://[::1"}, nil, []string{"Endpoint is not a URL"}},
		{"negatives", Config{Timeout: -1, CacheTTL: -1, CacheSize: -1}, nil, []string{"Timeout -1ns is negative", "CacheTTL -1ns is negative", "CacheSize -1 is negative"}},
		{"TTL over the cap", Config{CacheTTL: time.Hour}, nil, []string{"CacheTTL 1h0m0s exceeds 10m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.nc)
			if len(tt.parts) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			for _, p := range tt.parts {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error %q does not contain %q", err, p)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q shows the endpoint's password", err)
			}
		})
	}
}

// lockedWriter serializes writes to w (the changes handler runs on a nats.go goroutine).
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
