package wire

import (
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// urlScheme prefixes every entity URL.
const urlScheme = "wasmbus://"

// Entity identifies one end of an invocation: an actor (an M key, with empty ContractID and
// LinkName) or a capability provider (a V key with the contract it implements and the link name
// it serves).
type Entity struct {
	PublicKey  string
	ContractID string
	LinkName   string
}

// URL returns the entity's URL as every 0.x peer computes it (the invocation claims sign it):
// "wasmbus://{public key}" when the key starts with M or m, otherwise
// "wasmbus://{contract id}/{link name}/{public key}" where the contract id has ':' replaced by '/'
// and the contract id and link name have ' ' replaced by '_' and are lower-cased.
func (e *Entity) URL() string {
	n := len(urlScheme) + len(e.PublicKey)
	if !e.isActor() {
		n += len(e.ContractID) + len(e.LinkName) + 2
	}
	b := e.AppendURL(make([]byte, 0, n))
	// b is never written again, so the string can share its memory.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// AppendURL appends the entity's URL (see URL) to dst and returns the extended slice. It does not
// allocate when dst has room for the result.
func (e *Entity) AppendURL(dst []byte) []byte {
	dst = append(dst, urlScheme...)
	if !e.isActor() {
		dst = appendURLSegment(dst, e.ContractID, true)
		dst = append(dst, '/')
		dst = appendURLSegment(dst, e.LinkName, false)
		dst = append(dst, '/')
	}
	return append(dst, e.PublicKey...)
}

// isActor reports whether the public key's upper-cased form starts with 'M', as the peers test it.
func (e *Entity) isActor() bool {
	return len(e.PublicKey) > 0 && (e.PublicKey[0] == 'M' || e.PublicKey[0] == 'm')
}

// appendURLSegment appends s with ' ' replaced by '_' (and ':' by '/' when colon is set) and
// lower-cased the way Rust's str::to_lowercase does for everything but the context-dependent
// final sigma. ASCII takes a fast path; invalid UTF-8 bytes are copied unchanged.
func appendURLSegment(dst []byte, s string, colon bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c == ' ':
				c = '_'
			case c == ':' && colon:
				c = '/'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, c)
		case r == '\u0130':
			// LATIN CAPITAL LETTER I WITH DOT ABOVE lower-cases to two code points in Rust.
			dst = append(dst, "i\u0307"...)
		default:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	return dst
}
