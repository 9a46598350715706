package par

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
)

var sink any

// benchArchive returns an archive of targets binaries of size random bytes each (random, like machine code
// compresses poorly), gzipped or plain.
func benchArchive(b *testing.B, targets, size int, gzipped bool) []byte {
	b.Helper()
	o := exampleOptions(b)
	o.Binaries = map[string][]byte{}
	for i := range targets {
		bin := make([]byte, size)
		rand.Read(bin)
		o.Binaries[[]string{"x86_64-linux", "aarch64-linux", "x86_64-macos", "aarch64-macos", "x86_64-windows"}[i]] = bin
	}
	par := create(b, o)
	if !gzipped {
		par = gunzip(b, par)
	}
	return par
}

// BenchmarkRead reads an archive of five targets as a host does (keeping one binary) and as inspect does
// (keeping none); bytes/s count the uncompressed binaries.
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		for _, gzipped := range []bool{true, false} {
			par := benchArchive(b, 5, size, gzipped)
			for _, mode := range []struct {
				name string
				keep func(string) bool
			}{{"keep-one", KeepTarget("x86_64-linux")}, {"keep-none", KeepNone}} {
				b.Run(fmt.Sprintf("%dMiB/gzip=%v/%s", size>>20, gzipped, mode.name), func(b *testing.B) {
					b.SetBytes(int64(5 * size))
					b.ReportAllocs()
					for b.Loop() {
						a, err := ReadWith(bytes.NewReader(par), ReadOptions{Keep: mode.keep})
						if err != nil {
							b.Fatal(err)
						}
						sink = a
					}
				})
			}
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	a := read(b, create(b, exampleOptions(b)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		sink = c
	}
}

// BenchmarkCreate writes a one-target archive: most of the time is gzip at its best compression, as wasmCloud
// writes archives.
func BenchmarkCreate(b *testing.B) {
	o := exampleOptions(b)
	bin := make([]byte, 4<<20)
	rand.Read(bin)
	o.Binaries = map[string][]byte{"x86_64-linux": bin}
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	for b.Loop() {
		sink = create(b, o)
	}
}
