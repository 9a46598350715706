package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const actorKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.ActorStarted(actorKey, nil)
	m.Invocation(actorKey, "Op", time.Millisecond, nil)
	m.LinkEstablished("wasmcloud:keyvalue")
	m.LinkRemoved("wasmcloud:keyvalue")
	m.SetHostUp(true)
	m.SetHostInfo("N", "default", "dev")
	m.NATSAuthFailure("rpc")
	m.NATSReconnect("ctl")
	m.NATSDisconnect("ctl")
	m.PolicyDenial("start_actor")
	m.Refusal(ReasonReplay)
	m.SetInstances(actorKey, 2)
	m.SetStartActorsFailed(1)
	m.ReplayCache(func() (int, int) { return 0, 0 })
	if m.Registry() != nil {
		t.Fatal("Registry of a nil Metrics is not nil")
	}
}

func TestOperationLabelBounded(t *testing.T) {
	m := New()
	// An operation the actor never answered successfully is "other", whatever the caller sent.
	m.Invocation(actorKey, "Made.Up", time.Millisecond, errors.New("no such operation"))
	require.Equal(t, "made-up errors", testutil.ToFloat64(m.actorErrors.WithLabelValues(actorKey, Other)), 1.0)
	m.Invocation(actorKey, "Echo", time.Millisecond, nil)
	m.Invocation(actorKey, "Echo", time.Millisecond, errors.New("trap"))
	require.Equal(t, "Echo ok", testutil.ToFloat64(m.invocations.WithLabelValues(actorKey, "Echo", ResultOK)), 1.0)
	require.Equal(t, "Echo error", testutil.ToFloat64(m.invocations.WithLabelValues(actorKey, "Echo", ResultError)), 1.0)
	for i := range MaxOperationsPerActor + 10 {
		m.Invocation(actorKey, "Op"+strings.Repeat("x", i), time.Millisecond, nil)
	}
	n := testutil.CollectAndCount(m.invocations, NameActorInvocations)
	// "other" (error), Echo ok and error, then MaxOperationsPerActor-1 more operations and "other" (ok).
	require.Equal(t, "invocation series", n, 3+MaxOperationsPerActor-1+1)
}

func TestActorLabelBounded(t *testing.T) {
	m := New()
	m.ActorStarted("", errors.New("cannot read"))
	require.Equal(t, "unknown", testutil.ToFloat64(m.actorStarts.WithLabelValues(Unknown, ResultError)), 1.0)
	for i := range maxActors + 5 {
		m.ActorStarted("M"+strings.Repeat("A", i%7)+string(rune('a'+i%26))+strings.Repeat("B", i/26), nil)
	}
	if got := testutil.ToFloat64(m.actorStarts.WithLabelValues(Other, ResultOK)); got < 5 {
		t.Fatalf("starts beyond the actor bound counted as other: %v, want at least 5", got)
	}
}

func TestBoundedValues(t *testing.T) {
	m := New()
	tests := []struct {
		name string
		do   func()
		got  func() float64
	}{
		{"unknown reason", func() { m.Refusal("made up") }, func() float64 { return testutil.ToFloat64(m.refusals.WithLabelValues(string(ReasonOther))) }},
		{"known reason", func() { m.Refusal(ReasonCtlReplay) }, func() float64 { return testutil.ToFloat64(m.refusals.WithLabelValues(string(ReasonCtlReplay))) }},
		{"unknown contract", func() { m.LinkEstablished("acme:thing") }, func() float64 { return testutil.ToFloat64(m.linkEstablished.WithLabelValues(Other)) }},
		{"unknown action", func() { m.PolicyDenial("fly") }, func() float64 { return testutil.ToFloat64(m.policyDenials.WithLabelValues(Other)) }},
		{"unknown connection", func() { m.NATSReconnect("x") }, func() float64 { return testutil.ToFloat64(m.reconnects.WithLabelValues(Other)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			require.Equal(t, tt.name, tt.got(), 1.0)
		})
	}
}

// TestExported checks that every named metric is exported from the start (counters at zero), so alert
// expressions find them before anything happened.
func TestExported(t *testing.T) {
	m := New()
	m.ReplayCache(func() (int, int) { return 3, 64 })
	m.SetHostInfo("NHOST", "default", "dev")
	body := scrape(t, m)
	for _, name := range []string{NameLinkEstablished, NameLinkRemoved,
		NameHostUp, NameNATSAuthFailures, NamePolicyDenials, NameRefusals, NameReplayCacheEntries, NameReplayCacheSize,
		NameNATSReconnects, NameHostInfo, NameStartActorFailed, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, "# TYPE "+name+" ") {
			t.Errorf("%s not exported", name)
		}
	}
	// Vectors whose series appear only once something happened.
	m.ActorStarted(actorKey, nil)
	m.Invocation(actorKey, "Echo", time.Millisecond, nil)
	m.Invocation(actorKey, "Echo", time.Millisecond, errors.New("trap"))
	m.SetInstances(actorKey, 3)
	body = scrape(t, m)
	for _, line := range []string{
		`wasmcloud_actor_starts_total{actor="` + actorKey + `",result="ok"} 1`,
		`wasmcloud_actor_invocations_total{actor="` + actorKey + `",operation="Echo",result="ok"} 1`,
		`wasmcloud_actor_errors_total{actor="` + actorKey + `",operation="Echo"} 1`,
		`wasmcloud_actor_instances{actor="` + actorKey + `"} 3`,
		`wasmcloud_replay_cache_entries 3`,
		`wasmcloud_replay_cache_capacity 64`,
		`wasmcloud_refusals_total{reason="signature"} 0`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("no line %q in:\n%s", line, body)
		}
	}
	m.SetInstances(actorKey, 0)
	if body := scrape(t, m); strings.Contains(body, "wasmcloud_actor_instances{") {
		t.Error("instances of a stopped actor still exported")
	}
}

func scrape(t testing.TB, m *Metrics) string {
	t.Helper()
	a, err := ListenAdmin("127.0.0.1:0", m, func() (bool, any) { return true, nil }, nil, AdminOptions{})
	require.NoError(t, err)
	defer a.Shutdown(context.Background())
	return get(t, "http://"+a.Addr()+"/metrics", http.StatusOK)
}

func get(t testing.TB, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "status of "+url, resp.StatusCode, want)
	return string(b)
}

func TestAdmin(t *testing.T) {
	ready := false
	a, err := ListenAdmin("127.0.0.1:0", New(), func() (bool, any) {
		return ready, map[string]any{"ready": ready, "connected": true}
	}, nil, AdminOptions{})
	require.NoError(t, err)
	base := "http://" + a.Addr()
	require.Equal(t, "healthz", get(t, base+"/healthz", http.StatusOK), "ok\n")
	require.Equal(t, "readyz not ready", get(t, base+"/readyz", http.StatusServiceUnavailable), "{\n  \"connected\": true,\n  \"ready\": false\n}\n")
	ready = true
	require.Equal(t, "readyz ready", get(t, base+"/readyz", http.StatusOK), "{\n  \"connected\": true,\n  \"ready\": true\n}\n")
	get(t, base+"/nothing", http.StatusNotFound)
	require.NoError(t, a.Shutdown(context.Background()))
	require.NoError(t, a.Shutdown(context.Background()))
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("admin listener still answers after Shutdown")
	}
	_, err = ListenAdmin("256.0.0.1:1", New(), nil, nil, AdminOptions{})
	require.ErrorIs(t, err, ErrAdminAddress)
}

// TestAdminPprof serves the admin listener with and without profiles, over real HTTP, and refuses profiles on
// an address that is not loopback.
func TestAdminPprof(t *testing.T) {
	ready := func() (bool, any) { return true, nil }
	for _, tc := range []struct {
		name   string
		addr   string
		pprof  bool
		want   int // status of /debug/pprof/ and the profiles
		refuse bool
	}{
		{name: "off", addr: "127.0.0.1:0", want: http.StatusNotFound},
		{name: "on", addr: "127.0.0.1:0", pprof: true, want: http.StatusOK},
		{name: "on IPv6 loopback", addr: "[::1]:0", pprof: true, want: http.StatusOK},
		{name: "on every interface", addr: ":0", pprof: true, refuse: true},
		{name: "on every IPv4 interface", addr: "0.0.0.0:0", pprof: true, refuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ListenAdmin(tc.addr, New(), ready, nil, AdminOptions{Pprof: tc.pprof})
			if tc.refuse {
				require.ErrorIs(t, err, ErrPprofNotLoopback)
				return
			}
			if err != nil && strings.Contains(tc.addr, "::1") {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			require.NoError(t, err)
			defer a.Shutdown(context.Background())
			base := "http://" + a.Addr()
			index := get(t, base+"/debug/pprof/", tc.want)
			goroutines := get(t, base+"/debug/pprof/goroutine?debug=1", tc.want)
			heap := get(t, base+"/debug/pprof/heap", tc.want)
			cpu := get(t, base+"/debug/pprof/profile?seconds=1", tc.want)
			get(t, base+"/debug/pprof/trace?seconds=0.1", tc.want)
			require.Equal(t, "healthz", get(t, base+"/healthz", http.StatusOK), "ok\n")
			if !tc.pprof {
				return
			}
			require.True(t, strings.Contains(index, "goroutine") && strings.Contains(index, "heap"), "index lists no profiles:\n%s", index)
			require.True(t, strings.Contains(goroutines, "metrics.TestAdminPprof"), "goroutine profile without this test:\n%.500s", goroutines)
			for name, p := range map[string]string{"heap": heap, "cpu": cpu} {
				require.True(t, strings.HasPrefix(p, "\x1f\x8b"), "%s profile is not gzipped protobuf: %.20q", name, p)
			}
		})
	}
}
