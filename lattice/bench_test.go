package lattice

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// BenchmarkConnectNkey measures one initial connect with nkey authentication (handshake and nonce
// signature) and close, against an in-process server: the cost a host pays twice at start.
func BenchmarkConnectNkey(b *testing.B) {
	seed, pub := userKey(b)
	srv := runServer(b, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	c := ConnConfig{Name: "rpc", URL: srv.ClientURL(), Seed: config.NewSecret(seed)}
	b.ReportAllocs()
	for b.Loop() {
		nc, err := Connect(b.Context(), c, nil)
		if err != nil {
			b.Fatal(err)
		}
		nc.Close()
	}
}
