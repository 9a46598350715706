package wasmbin

import (
	"crypto/sha256"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// The hash benchmarks and BenchmarkSHA256 run over the same bytes, so that the cost of the section
// walk on top of SHA-256 shows as the ratio of their ns/op.

func BenchmarkParse(b *testing.B) {
	mod := testutil.Actor(b, "echo.wasm")
	b.SetBytes(int64(len(mod)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(mod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for _, bm := range []struct {
		name    string
		file    string
		minimal bool
	}{
		{"raw/echo", "echo.wasm", false},
		{"minimal/echo", "echo.wasm", true},
		{"raw/padded", paddedFixture, false},
		{"minimal/padded", paddedFixture, true},
	} {
		b.Run(bm.name, func(b *testing.B) {
			m := mustParse(b, testutil.Actor(b, bm.file))
			b.SetBytes(int64(len(m.Bytes())))
			b.ReportAllocs()
			for b.Loop() {
				if bm.minimal {
					m.HashMinimal()
				} else {
					m.HashRaw()
				}
			}
		})
	}
}

func BenchmarkSHA256(b *testing.B) {
	for _, bm := range []struct{ name, file string }{{"echo", "echo.wasm"}, {"padded", paddedFixture}} {
		b.Run(bm.name, func(b *testing.B) {
			mod := testutil.Actor(b, bm.file)
			b.SetBytes(int64(len(mod)))
			b.ReportAllocs()
			for b.Loop() {
				sha256.Sum256(mod)
			}
		})
	}
}

func BenchmarkEmbed(b *testing.B) {
	mod := testutil.Actor(b, "echo.wasm")
	token := make([]byte, 600)
	b.SetBytes(int64(len(mod)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Embed(mod, token); err != nil {
			b.Fatal(err)
		}
	}
}
