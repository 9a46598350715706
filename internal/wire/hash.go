package wire

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// hashState is a reusable SHA-256 hasher with a scratch buffer for the URLs.
type hashState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// maxPooledScratch bounds the scratch buffer a pooled hashState keeps.
const maxPooledScratch = 4 << 10

var hashPool = sync.Pool{New: func() any {
	return &hashState{h: sha256.New(), buf: make([]byte, 0, 512)}
}}

// Hash returns the invocation hash that the invocation claims sign, byte for byte as every 0.x
// peer computes it: SHA-256 over the origin URL, the target URL (with "/" and the operation
// appended), the operation and Msg, concatenated without separators. When the payload was chunked,
// set Msg to the whole payload first. It does not allocate in steady state.
func (inv *Invocation) Hash() [sha256.Size]byte {
	s := hashPool.Get().(*hashState)
	s.h.Reset()
	b := inv.Origin.AppendURL(s.buf[:0])
	b = inv.Target.AppendURL(b)
	b = append(b, '/')
	b = append(b, inv.Operation...)
	b = append(b, inv.Operation...)
	s.h.Write(b)
	s.h.Write(inv.Msg)
	s.h.Sum(s.sum[:0])
	sum := s.sum
	if cap(b) <= maxPooledScratch {
		s.buf = b[:0]
	}
	hashPool.Put(s)
	return sum
}

// HashHex formats an invocation hash as the claims carry it: 64 upper-case hex digits.
func HashHex(sum [sha256.Size]byte) string {
	const digits = "0123456789ABCDEF"
	var s [2 * sha256.Size]byte
	for i, c := range sum {
		s[2*i] = digits[c>>4]
		s[2*i+1] = digits[c&0x0f]
	}
	return string(s[:])
}
