package integration

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// footprint turns on TestFootprint, which takes tens of seconds and reports figures rather than checking them.
var footprint = flag.Bool("footprint", false, "run TestFootprint (slow; reports the daemon's start-up time and memory)")

// procMemory returns a process's resident set size and its peak, in bytes, from /proc/<pid>/status.
func procMemory(t testing.TB, pid int) (rss, peak uint64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc status for the daemon: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status: %q: %v", pid, s.Text(), err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// TestFootprint starts the daemon with 50 distinct actors (echo.wasm signed for 50 module keys) from files,
// first with an empty compilation cache and then again with the cache the first run left, and reports the
// time from launch to the readiness line (every start actor has then started) and the daemon's resident
// memory. It is opt-in: go test ./integration -run TestFootprint -footprint -v
func TestFootprint(t *testing.T) {
	if !*footprint {
		t.Skip("opt-in: go test ./integration -run TestFootprint -footprint -v")
	}
	const n = 50
	srv := runNATS(t, nil)
	c := newCluster(t)
	echo := testutil.Actor(t, "echo.wasm")
	issuer, err := nkey.Generate(nkey.Account)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refs := make([]string, n)
	for i := range refs {
		module, err := nkey.Generate(nkey.Module)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := actor.Sign(echo, actor.SignOptions{Issuer: issuer, Subject: module.Public(), Name: fmt.Sprintf("echo-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = filepath.Join(dir, fmt.Sprintf("echo-%d.wasm", i))
		if err := os.WriteFile(refs[i], signed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", strings.Join(refs, ","), "WASMCLOUD_LOG_LEVEL", "warn")
	for _, pass := range []string{"cold", "warm"} {
		start := time.Now()
		p := startHost(t, "host "+pass, e)
		took := time.Since(start)
		if got := strings.Count(p.stderr.String(), "actor failed to start"); got != 0 {
			t.Fatalf("%d actors failed to start:\n%s", got, p.stderr)
		}
		rss, peak := procMemory(t, p.cmd.Process.Pid)
		t.Logf("%s compilation cache: %d actors, launch to ready %s (%.1f ms per actor); RSS %.1f MiB, peak %.1f MiB",
			pass, n, took.Round(time.Millisecond), float64(took.Microseconds())/1000/n, float64(rss)/(1<<20), float64(peak)/(1<<20))
		if code := p.stop(t); code != 0 {
			t.Fatalf("%s: exit status %d", p.name, code)
		}
	}
}
