package integration

import (
	"fmt"
	"testing"

	"github.com/nats-io/nkeys"
)

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// TestSecretScan checks the check every test relies on: output that shows a generated seed, whole or
// without its prefix, fails the test, and output without one does not.
func TestSecretScan(t *testing.T) {
	k := newKey(t, nkeys.PrefixByteCluster)
	tests := []struct {
		name   string
		output string
		fails  bool
	}{
		{name: "seed", output: "level=INFO seed=" + k.seed + "\n", fails: true},
		{name: "seed without its prefix", output: "…" + k.seed[2:], fails: true},
		{name: "public key", output: "cluster_key=" + k.pub, fails: false},
		{name: "nothing", output: "", fails: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			checkNoSecrets(r, "output", tt.output)
			if got := len(r.errors) > 0; got != tt.fails {
				t.Fatalf("check failed = %v (%q), want %v", got, r.errors, tt.fails)
			}
		})
	}
}
