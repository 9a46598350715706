package msgpk

import (
	"strconv"
	"testing"
)

// BenchmarkReadString measures the checks around msgp's zero-copy string read.
func BenchmarkReadString(b *testing.B) {
	in := []byte{0xb8}
	in = append(in, "a-24-byte-long-str-value"...)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, _, err := testSentinels.ReadString(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSkip measures skipping an unknown value made of n nested small maps.
func BenchmarkSkip(b *testing.B) {
	for _, n := range []int{1, 64} {
		var in []byte
		for range n {
			in = append(in, 0x82, 0xa1, 'k', 0x01, 0xa1, 'v')
		}
		in = append(in, 0xc0)
		b.Run("depth="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := testSentinels.Skip(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
