package oci_test

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

// BenchmarkPull pulls echo.wasm (1.8 MB) by tag from the loopback registry: manifest, layer, both hashes.
func BenchmarkPull(b *testing.B) {
	module := echo(b)
	reg, c := plainRegistry(b, ocitest.Options{}, oci.Config{})
	defer c.CloseIdleConnections()
	ref, _ := reg.Push(b, "echo:0.1.0", module)
	b.SetBytes(int64(len(module)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Pull(b.Context(), ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReference parses a tag-and-digest reference, which Pull does first.
func BenchmarkParseReference(b *testing.B) {
	const ref = "wasmcloud.azurecr.io/wasmcloud/echo:0.3.4@sha256:" + hexA
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oci.ParseReference(ref); err != nil {
			b.Fatal(err)
		}
	}
}
