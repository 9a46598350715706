package wire

import (
	"bytes"
	"strconv"
	"testing"
)

// benchToken has the length of a real invocation claims token (about 600 bytes), so that the
// invocation with a 1 KiB payload encodes to 2,039 bytes.
var benchToken = dummyToken + string(bytes.Repeat([]byte("x"), 600-len(dummyToken)))

func benchInvocation(payload int) Invocation {
	inv := goldenInvocation()
	inv.Msg = bytes.Repeat([]byte{0xa5}, payload)
	inv.ContentLength = uint64(payload)
	inv.EncodedClaims = benchToken
	return inv
}

var benchSizes = []int{0, 1 << 10, 64 << 10}

func BenchmarkInvocationEncode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("payload="+strconv.Itoa(size), func(b *testing.B) {
			inv := benchInvocation(size)
			buf := inv.AppendMsgpack(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = inv.AppendMsgpack(buf[:0])
			}
		})
	}
}

func BenchmarkInvocationDecode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("payload="+strconv.Itoa(size), func(b *testing.B) {
			inv := benchInvocation(size)
			enc := inv.AppendMsgpack(nil)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			var out Invocation
			for b.Loop() {
				if err := out.UnmarshalMsgpack(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkResponseEncode(b *testing.B) {
	r := Response{Msg: bytes.Repeat([]byte{1}, 1<<10), InvocationID: hyphenID, ContentLength: 1 << 10, Claims: benchToken}
	buf := r.AppendMsgpack(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendMsgpack(buf[:0])
	}
}

func BenchmarkResponseDecode(b *testing.B) {
	r := Response{Msg: bytes.Repeat([]byte{1}, 1<<10), InvocationID: hyphenID, ContentLength: 1 << 10, Claims: benchToken}
	enc := r.AppendMsgpack(nil)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var out Response
	for b.Loop() {
		if err := out.UnmarshalMsgpack(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("payload="+strconv.Itoa(size), func(b *testing.B) {
			inv := benchInvocation(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				_ = inv.Hash()
			}
		})
	}
}

func BenchmarkEntityURL(b *testing.B) {
	b.Run("AppendURL", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			buf = providerEntity.AppendURL(buf[:0])
		}
	})
	b.Run("URL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = providerEntity.URL()
		}
	})
	b.Run("TargetURL", func(b *testing.B) {
		inv := goldenInvocation()
		b.ReportAllocs()
		for b.Loop() {
			_ = inv.TargetURL()
		}
	})
}

func BenchmarkParseID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseID(hyphenID)
	}
}
