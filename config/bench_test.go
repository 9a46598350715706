package config

import (
	"testing"

	"github.com/nats-io/nkeys"
)

// BenchmarkLoadFrom measures reading and validating a typical production environment (seeds that
// are decoded, labels, TLS off), which the host does once at start.
func BenchmarkLoadFrom(b *testing.B) {
	hostSeed, _ := seed(b, nkeys.CreateServer)
	clusterSeed, clusterPub := seed(b, nkeys.CreateCluster)
	env := environ(
		"WASMCLOUD_LATTICE_PREFIX=prod",
		"WASMCLOUD_HOST_SEED="+hostSeed,
		"WASMCLOUD_CLUSTER_SEED="+clusterSeed,
		"WASMCLOUD_CLUSTER_ISSUERS="+clusterPub,
		"WASMCLOUD_RPC_HOST=nats.internal",
		"WASMCLOUD_CTL_HOST=nats.internal",
		"HOST_REGION=eu",
		"PATH=/usr/bin:/bin",
	)
	b.ReportAllocs()
	for b.Loop() {
		c, err := LoadFrom(env)
		if err != nil {
			b.Fatal(err)
		}
		c.Wipe()
	}
}
