package wire

import (
	"crypto/rand"
	"encoding/hex"
)

// ParseID parses an invocation id in either form the 0.x peers send, a hyphenated UUID
// (8-4-4-4-12 hex digits) or a simple one (32 hex digits), in either case, and returns its 16
// bytes; the replay cache keys on them so that both spellings of one id collide. Any other string
// gives ok=false. The version and variant bits are not checked.
func ParseID(id string) (key [16]byte, ok bool) {
	switch len(id) {
	case 32:
		if _, err := hex.Decode(key[:], []byte(id)); err != nil {
			return [16]byte{}, false
		}
		return key, true
	case 36:
		if id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return [16]byte{}, false
		}
		var simple [32]byte
		n := copy(simple[:], id[0:8])
		n += copy(simple[n:], id[9:13])
		n += copy(simple[n:], id[14:18])
		n += copy(simple[n:], id[19:23])
		copy(simple[n:], id[24:36])
		if _, err := hex.Decode(key[:], simple[:]); err != nil {
			return [16]byte{}, false
		}
		return key, true
	default:
		return [16]byte{}, false
	}
}

// NewID returns a new random (version 4) UUID in hyphenated lower-case form, read from
// crypto/rand.
func NewID() string {
	var u [16]byte
	// crypto/rand.Read never returns an error (it aborts the program if the system source fails).
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], u[10:16])
	return string(s[:])
}
