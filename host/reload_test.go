package host

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestRestartOnly checks that a reload names the settings it cannot apply, the admin listener's among them.
func TestRestartOnly(t *testing.T) {
	cur := config.Config{LatticePrefix: "default", AdminAddress: "127.0.0.1:9090"}
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
		want   []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"admin address", func(c *config.Config) { c.AdminAddress = "127.0.0.1:9091" }, []string{"WASMCLOUD_ADMIN_ADDRESS"}},
		{"pprof", func(c *config.Config) { c.Pprof = true }, []string{"WASMCLOUD_PPROF"}},
		{"lattice and pprof", func(c *config.Config) { c.LatticePrefix, c.Pprof = "other", true },
			[]string{"WASMCLOUD_LATTICE_PREFIX", "WASMCLOUD_PPROF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cur
			tc.change(&cfg)
			require.DeepEqual(t, "restart only", restartOnly(cur, cfg), tc.want)
		})
	}
}
