package msgpk

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSkip checks that Skip never panics, that on success it consumes a prefix of its input, and
// that on failure it returns the input untouched with one of the sentinels.
func FuzzSkip(f *testing.F) {
	for _, seed := range [][]byte{
		{0xc0},
		{0x81, 0xa1, 'a', 0x92, 0x01, 0x80},
		{0xdf, 0xff, 0xff, 0xff, 0xff},
		{0x91, 0xc1},
		{0xc4, 0x05, 1},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rest, err := testSentinels.Skip(in)
		if err != nil {
			if !errors.Is(err, errTruncated) && !errors.Is(err, errMalformed) {
				t.Fatalf("Skip(%x) error %q is neither truncated nor malformed", in, err)
			}
			if !bytes.Equal(rest, in) {
				t.Fatalf("Skip(%x) failed but returned rest %x", in, rest)
			}
			return
		}
		if len(rest) >= len(in) || !bytes.HasSuffix(in, rest) {
			t.Fatalf("Skip(%x) returned rest %x, want a proper suffix", in, rest)
		}
	})
}
