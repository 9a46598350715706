package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

func TestCtlStopHost(t *testing.T) {
	f := newCtlFixture(t)
	r := runCLI(t, "ctl", "stop", "host", f.east.info.ID, "--drain-timeout", "1500ms", "--timeout", ctlWait)
	r.wantSuccess(t)
	r.wantStdout(t, "Host "+f.east.info.ID+" accepted: stop\n")
	wantRequests(t, f.l, ctlBase+".cmd."+f.east.info.ID+".stop", `{"timeout":1500,"host_id":"`+f.east.info.ID+`"}`)

	r = runCLI(t, "ctl", "stop", "host", f.echo, "--timeout", ctlWait)
	r.wantFailure(t, exitUsage, "host id")
}

func TestCtlRegistriesPut(t *testing.T) {
	f := newCtlFixture(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "ctl", "registries", "put", "registry.example:5000", "--user", "ada", "--password-file", pw, "--json", "--timeout", ctlWait)
	r.wantSuccess(t)
	if strings.Contains(r.stdout, "hunter2") {
		t.Fatalf("stdout shows the password: %s", r.stdout)
	}
	r.wantStdout(t, "{\n  \"registry\": \"registry.example:5000\",\n  \"username\": \"ada\",\n  \"secret\": \"password\"\n}\n")
	got := f.l.requests(ctlBase + ".registries.put")
	if len(got) == 0 || !strings.Contains(got[0], `"password":"hunter2"`) || !strings.Contains(got[0], `"username":"ada"`) {
		t.Fatalf("registries.put requests %q", got)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"user without password", []string{"r.example", "--user", "ada"}, exitUsage, "--user and --password-file go together"},
		{"token and user", []string{"r.example", "--token-file", pw, "--user", "ada", "--password-file", pw}, exitUsage, "--token-file excludes"},
		{"missing file", []string{"r.example", "--token-file", filepath.Join(dir, "none")}, exitFailure, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"ctl", "registries", "put"}, append(tt.args, "--timeout", ctlWait)...)...)
			r.wantFailure(t, tt.code, tt.want)
		})
	}
}

func TestCtlWatch(t *testing.T) {
	newCtlFixture(t)
	nc, err := nats.Connect("nats://127.0.0.1:" + os.Getenv("WASMCLOUD_CTL_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	host := fixedKey(t, nkey.Server, 7)
	pub := lattice.NewEventPublisher(nc, "default", host)

	for _, tt := range []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"json lines", []string{"--json", "--type", "actors_started", "--count", "2"}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
			}
			for _, l := range lines {
				var e lattice.CloudEvent
				if err := json.Unmarshal([]byte(l), &e); err != nil || e.Type != "com.wasmcloud.lattice.actors_started" || e.Source != host {
					t.Fatalf("line %q: %v", l, err)
				}
			}
		}},
		{"table", []string{"--host", host, "--type", "actors_started", "--count", "1"}, func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "TIME") || !strings.Contains(out, host+"  actors_started  image_ref=ghcr.io/x/y:1") {
				t.Fatalf("table:\n%s", out)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run(context.Background(), append([]string{"ctl", "watch"}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			}()
			// The command subscribes at some point: publish until it has printed enough and exited.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(30 * time.Second)
			for {
				select {
				case code := <-done:
					if code != exitOK {
						t.Fatalf("exit %d, stderr %s", code, stderr.String())
					}
					tt.check(t, stdout.String())
					return
				case <-tick.C:
					_ = pub.Publish("host_heartbeat", map[string]any{})
					_ = pub.Publish("actors_started", map[string]any{"image_ref": "ghcr.io/x/y:1"})
				case <-deadline:
					t.Fatalf("ctl watch did not finish; stdout:\n%s", stdout.String())
				}
			}
		})
	}

	r := runCLI(t, "ctl", "get", "events", "--for", "50ms", "--timeout", ctlWait)
	r.wantSuccess(t)
}
