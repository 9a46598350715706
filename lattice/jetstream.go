package lattice

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream returns the JetStream API reached through nc: the account's own JetStream when domain is empty,
// otherwise the JetStream of that domain (WASMCLOUD_JS_DOMAIN). The lattice bucket, the object store of
// chunked payloads and the key-value provider's buckets are all opened through it.
func JetStream(nc *nats.Conn, domain string) (jetstream.JetStream, error) {
	var (
		js  jetstream.JetStream
		err error
	)
	if domain == "" {
		js, err = jetstream.New(nc)
	} else {
		js, err = jetstream.NewWithDomain(nc, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("lattice: JetStream: %w", err)
	}
	return js, nil
}
