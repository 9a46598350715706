package integration

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestEcho runs the OTP echo fixture on one host and calls it with the CLI, as the README shows.
func TestEcho(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))

	t.Run("readiness line", func(t *testing.T) {
		require.Equal(t, "cluster_key", h.ready.ClusterKey, c.pub)
		require.Equal(t, "lattice", h.ready.Lattice, "default")
		require.Equal(t, "nats_url", h.ready.NATSURL, srv.ClientURL())
		oneLine(t, "stdout", h.stdout.String()) // logs go to stderr; stdout has the readiness line only
	})
	t.Run("call by key", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})
	t.Run("bench", func(t *testing.T) {
		// The figures are the user's to judge; the test checks that both runs happened and every call succeeded.
		r := cli(t, e, "bench", echoKey, "HttpServer.HandleRequest", "--data", echoRequest, "-c", "8", "-d", "1s")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("bench: exit status %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
		}
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		want := []*regexp.Regexp{
			regexp.MustCompile(`^bench: ` + echoKey + ` HttpServer\.HandleRequest, 8 in flight, 1s per run; [0-9]+ bytes out, [0-9]+ back$`),
			regexp.MustCompile(`^signed +[0-9]+ calls/s  p50 [0-9.]+[µm]?s +p99 [0-9.]+[µm]?s +\([1-9][0-9]* ok, 0 failed in [0-9.]+s\)$`),
			regexp.MustCompile(`^raw NATS +[0-9]+ requests/s  p50 [0-9.]+[µm]?s +p99 [0-9.]+[µm]?s +\([1-9][0-9]* ok, 0 failed in [0-9.]+s\)$`),
			regexp.MustCompile(`^signed/raw +[0-9.]+% of the raw rate; p50 [0-9.]+×, p99 [0-9.]+× the raw latency$`),
		}
		if len(lines) != len(want) {
			t.Fatalf("bench printed %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
		}
		for i, re := range want {
			if !re.MatchString(lines[i]) {
				t.Errorf("line %d = %q, want it to match %s", i+1, lines[i], re)
			}
		}
	})
}
