package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/sandbox"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestProviderSandbox: a provider that turns against its host, through the binary. The host has the cluster
// seed in its environment and the seed file on disk, and runs two providers. Confined (the default), the
// provider reads none of the seed file, the host's /proc environ and memory, the host's state directory or
// the other provider's binary, and may not open the host's compilation cache for writing, while it still serves calls and
// receives link puts. Unconfined (WASMCLOUD_PROVIDER_SANDBOX=false), the same provider reads the seed: the
// contrast shows that the probes would work without the sandbox.
func TestProviderSandbox(t *testing.T) {
	if sandbox.ABI() == 0 {
		t.Skip("no Landlock on this kernel")
	}
	srv := runNATS(t, nil)
	c := newCluster(t)
	archive, providerKey, _ := packProvider(t, testutil.BuildProvider(t))
	capsPath, capsKey := signWithCaps(t, testutil.BuildGuest(t, "examples/capabilities"), "caps", contractEcho)

	run := func(t *testing.T, confined bool) map[string]string {
		e := latticeEnv(t, srv, c).with("WASMCLOUD_CLUSTER_SEED_FILE", "", "WASMCLOUD_CLUSTER_SEED", c.seed,
			"WASMCLOUD_PROVIDER_SANDBOX", strconv.FormatBool(confined))
		h := startHost(t, "host", e)
		startActorOn(t, e, h, capsPath, capsKey)
		ctlOK(t, e, "start", "provider", archive, "--host", h.ready.HostID)
		ctlOK(t, e, "start", "provider", archive, "--host", h.ready.HostID, "--link-name", "other")
		linkPut(t, e, capsKey, providerKey, contractEcho)
		h.logLine(t, "testprovider link put "+capsKey)
		require.EventuallyNoError(t, pollTimeout, func() error {
			r := cli(t, e, "call", capsKey, "Caps.Call", "--data", `{"contract":"example:echo","operation":"Echo.Echo","body":"ping"}`)
			if r.code != 0 || strings.TrimSpace(r.stdout) != `{"reply":"ping"}` {
				return fmt.Errorf("status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			return nil
		}, "the provider to echo")
		links := callOK(t, e, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Echo.Links"}`)
		contains(t, "links the confined provider received", links, capsKey)
		// Files of the host's state directory that are not the calling provider's: its cache, the other
		// provider's binary.
		state := e["WASMCLOUD_STATE_DIR"]
		var mine string
		require.EventuallyNoError(t, pollTimeout, func() error {
			dirs, _ := filepath.Glob(filepath.Join(state, "providers", "*-default-*"))
			if len(dirs) != 1 {
				return fmt.Errorf("%d directories of the default provider", len(dirs))
			}
			mine = dirs[0]
			return nil
		}, "the provider's directory")
		var others []string
		require.EventuallyNoError(t, pollTimeout, func() error {
			others, _ = filepath.Glob(filepath.Join(state, "providers", "*-other-*", "provider.bin"))
			if len(others) != 1 {
				return fmt.Errorf("%d binaries of the other provider", len(others))
			}
			return nil
		}, "the other provider's binary")
		h.logLine(t, `msg="provider started"`, "link_name=other")
		cache, _ := filepath.Glob(filepath.Join(state, "compilation-cache", "*", "*"))
		require.True(t, len(cache) > 0, "the host's compilation cache has files")
		var stateFiles []string
		_ = filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.HasPrefix(path, mine+string(filepath.Separator)) && len(stateFiles) < 5 {
				stateFiles = append(stateFiles, path)
			}
			return nil
		})
		pid := strconv.Itoa(h.cmd.Process.Pid)
		probes := map[string][2]string{
			"seed file":                       {"Probe.ReadFile", c.file},
			"host environ":                    {"Probe.ReadFile", "/proc/" + pid + "/environ"},
			"host memory":                     {"Probe.ReadFile", "/proc/" + pid + "/mem"},
			"host cmdline":                    {"Probe.ReadFile", "/proc/" + pid + "/cmdline"},
			"other provider binary":           {"Probe.ReadFile", others[0]},
			"overwrite the compilation cache": {"Probe.WriteFile", cache[0]},
		}
		for i, f := range stateFiles {
			probes["state file "+strconv.Itoa(i)] = [2]string{"Probe.ReadFile", f}
		}
		replies := map[string]string{}
		for name, p := range probes {
			body, _ := json.Marshal(map[string]string{"contract": contractEcho, "operation": p[0], "body": p[1]})
			r := cli(t, e, "call", capsKey, "Caps.Call", "--data", string(body))
			if r.code != 0 {
				t.Fatalf("%s: the call failed: status %d, stderr %q", name, r.code, r.stderr)
			}
			var reply struct{ Reply string }
			if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil {
				t.Fatalf("%s: reply: %v", name, err)
			}
			replies[name] = reply.Reply
		}
		// Its own directory stays its own.
		pidFile := callOK(t, e, capsKey, "Caps.Call", `{"contract":"example:echo","operation":"Probe.ReadFile","body":"`+filepath.Join(mine, "pid")+`"}`)
		contains(t, "the provider's own pid file", pidFile, `"reply":"ok:`)
		return replies
	}

	t.Run("confined", func(t *testing.T) {
		replies := run(t, true)
		for name, reply := range replies {
			t.Logf("%s: %s", name, reply)
			if strings.Contains(reply, c.seed) {
				t.Errorf("%s: the reply holds the cluster seed", name)
			}
			if !strings.HasPrefix(reply, "error:") || !strings.Contains(reply, "permission denied") {
				t.Errorf("%s: %.200q, want permission denied", name, reply)
			}
		}
	})
	t.Run("unconfined", func(t *testing.T) {
		replies := run(t, false)
		seedFile, err := os.ReadFile(c.file)
		require.NoError(t, err)
		sum := sha256.Sum256(seedFile)
		if want := "ok:" + hex.EncodeToString(sum[:]); replies["seed file"] != want {
			t.Errorf("unconfined, the seed file was not readable: the probes prove nothing (%q, want %q)", replies["seed file"], want)
		}
		if replies["overwrite the compilation cache"] != "ok" {
			t.Errorf("unconfined, the compilation cache was not writable: %q", replies["overwrite the compilation cache"])
		}
		if !strings.HasPrefix(replies["other provider binary"], "ok:") {
			t.Errorf("unconfined, the other provider's binary was not readable: %.200q", replies["other provider binary"])
		}
	})
}
