package cosign_test

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

// BenchmarkVerify measures one Verify against a registry on loopback: the registry round trips (the
// signature tag or the referrers listing, manifests, layers) and the cryptography, per layout.
func BenchmarkVerify(b *testing.B) {
	reg := ocitest.NewRegistry(b, ocitest.Options{Referrers: true})
	key := cosigntest.NewKeySigner(b, cosigntest.ECDSAP256)
	keys := load(b, keyConfig(b, key))
	ss := cosigntest.NewSigstore(b)
	keyless := load(b, keylessConfig(b, ss, cosigntest.RootOptions{}))

	cases := []struct {
		name string
		v    *cosign.Verifier
		sign func(a *actor)
	}{
		{"key/sig tag", keys, func(a *actor) { a.sign(b, key.SimpleSigning(b, a.payload())) }},
		{"key/bundle referrer", keys, func(a *actor) { a.attach(b, key.DSSEBundle(b, a.statement())) }},
		{"keyless/sig tag", keyless, func(a *actor) {
			a.sign(b, ss.SimpleSigning(b, identity, issuer, a.payload(), cosigntest.SignOptions{}))
		}},
		{"keyless/bundle referrer", keyless, func(a *actor) { a.attach(b, ss.DSSEBundle(b, identity, issuer, a.statement())) }},
	}
	for i, c := range cases {
		a := pushActor(b, reg, "bench", append([]byte("\x00asm\x01\x00\x00\x00"), byte(i)))
		c.sign(a)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.verify(b, c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
