package config

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// childEnv marks the re-executed test binary that runs Load on its own environment.
const childEnv = "CONFIG_TEST_LOAD_CHILD"

// snapshot is what the child reports: the Config as JSON (secrets redacted), the secrets
// themselves (test keys only) and the error text.
type snapshot struct {
	Config  json.RawMessage
	Secrets []string
	Error   string
}

func takeSnapshot(t *testing.T, c Config, err error) snapshot {
	t.Helper()
	s := snapshot{Config: json.RawMessage(mustJSON(t, c))}
	for _, sec := range []Secret{c.HostSeed, c.ClusterSeed, c.RPC.Seed, c.RPC.JWT, c.CTL.Seed, c.CTL.JWT, c.OCI.Password} {
		s.Secrets = append(s.Secrets, string(sec.Reveal()))
	}
	if err != nil {
		s.Error = err.Error()
	}
	return s
}

// TestLoadChild is not a test on its own: it runs Load when re-executed by
// TestLoadReadsProcessEnvironment.
func TestLoadChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as the child of TestLoadReadsProcessEnvironment")
	}
	c, err := Load()
	out, merr := json.Marshal(takeSnapshot(t, c, err))
	if merr != nil {
		t.Fatal(merr)
	}
	os.Stdout.Write(append([]byte("SNAPSHOT "), append(out, '\n')...))
}

// TestLoadReadsProcessEnvironment runs Load (envconfig over the real process environment) in a
// child process with a chosen environment, so this process's environment is never modified, and
// checks it agrees with LoadFrom on the same entries.
func TestLoadReadsProcessEnvironment(t *testing.T) {
	clusterSeed, _ := seed(t, nkeys.CreateCluster)
	userSeed, _ := seed(t, nkeys.CreateUser)
	tests := []struct {
		name   string
		env    []string
		wantIn string // in the child's Config JSON or error
	}{
		{"defaults", environ(), `"LatticePrefix":"default"`},
		{"values", environ(
			"WASMCLOUD_LATTICE_PREFIX=prod",
			"WASMCLOUD_CLUSTER_SEED="+clusterSeed,
			"WASMCLOUD_RPC_SEED="+userSeed,
			"WASMCLOUD_RPC_PORT=4333",
			"WASMCLOUD_CTL_TLS=enabled",
			"WASMCLOUD_START_ACTORS=a, b",
			"WASMCLOUD_INVOCATION_VALIDITY=1m",
			"HOST_REGION=eu",
			"WASMCLOUD_OCI_ALLOWED_INSECURE=localhost:5000",
			"WASMCLOUD_OCI_REGISTRY=ghcr.io",
			"WASMCLOUD_OCI_REGISTRY_USER=bot",
			"WASMCLOUD_OCI_REGISTRY_PASSWORD=pw",
		), `"AllowedInsecure":["localhost:5000"]`},
		{"problems", environ("WASMCLOUD_RPC_PORT=0", "WASMCLOUD_CTL_TLS=perhaps", "WASMCLOUD_CLUSTER_SEED="+userSeed), `WASMCLOUD_CTL_TLS: "perhaps"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1")
			cmd.Env = append([]string{childEnv + "=1"}, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s%s", err, out, stderr.String())
			}
			var got snapshot
			found := false
			for line := range strings.Lines(string(out)) {
				if rest, ok := strings.CutPrefix(line, "SNAPSHOT "); ok {
					if err := json.Unmarshal([]byte(rest), &got); err != nil {
						t.Fatal(err)
					}
					found = true
				}
			}
			if !found {
				t.Fatalf("child printed no snapshot:\n%s", out)
			}
			c, err := LoadFrom(cmd.Env)
			want := takeSnapshot(t, c, err)
			require.DeepEqual(t, "error", got.Error, want.Error)
			require.DeepEqual(t, "secrets", got.Secrets, want.Secrets)
			require.DeepEqual(t, "config", string(got.Config), string(want.Config))
			if !strings.Contains(string(got.Config)+got.Error, tt.wantIn) {
				t.Fatalf("child result lacks %s: %s %s", tt.wantIn, got.Config, got.Error)
			}
		})
	}
}
