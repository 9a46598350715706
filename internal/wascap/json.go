package wascap

import (
	"encoding/json"
	"math"
	"strconv"
	"unsafe"
)

// The claims of an invocation or a response token are encoded and decoded on every call between hosts, where
// encoding/json's reflection cost as much as a tenth of the Ed25519 work and most of the allocations. This
// file holds a fixed-layout codec for them that never changes what is signed or accepted:
//
//   - The encoder writes the bytes marshal writes (same key order, same omissions, same escaping); a string
//     that needs escaping is handed to encoding/json itself. FuzzAppendJSON compares both.
//   - The decoder accepts only a narrow canonical subset — one JSON object whose keys are the exact lower-case
//     field names, each at most once; strings of printable ASCII without escapes; non-negative integers in
//     canonical form; true/false — and reports anything else as "not mine", upon which the caller decodes
//     with encoding/json as before. What it accepts it decodes to what encoding/json decodes. FuzzDecodeJSON
//     compares both.

// metadataAppender is implemented by the metadata kinds that have a fixed-layout encoder.
type metadataAppender interface {
	appendJSON(b []byte) []byte
}

// appendJSON appends the JSON of c, byte for byte what marshal(c) writes, provided c.Metadata is compact JSON
// (as marshal and the appendJSON methods produce it: marshal compacts a json.RawMessage, which leaves compact
// JSON as it is).
func (c *Claims) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if c.Expires != 0 {
		b = append(b, `"exp":`...)
		b = strconv.AppendInt(b, c.Expires, 10)
		b = append(b, ',')
	}
	b = append(b, `"jti":`...)
	b = appendString(b, c.ID)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"iss":`...)
	b = appendString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = appendString(b, c.Subject)
	if c.NotBefore != 0 {
		b = append(b, `,"nbf":`...)
		b = strconv.AppendInt(b, c.NotBefore, 10)
	}
	if len(c.Metadata) != 0 {
		b = append(b, `,"wascap":`...)
		b = append(b, c.Metadata...)
	}
	if c.Revision != 0 {
		b = append(b, `,"wascap_revision":`...)
		b = strconv.AppendInt(b, int64(c.Revision), 10)
	}
	return append(b, '}')
}

func (m Invocation) appendJSON(b []byte) []byte {
	b = append(b, `{"target_url":`...)
	b = appendString(b, m.TargetURL)
	b = append(b, `,"origin_url":`...)
	b = appendString(b, m.OriginURL)
	b = append(b, `,"hash":`...)
	b = appendString(b, m.Hash)
	if m.HostID != "" {
		b = append(b, `,"host_id":`...)
		b = appendString(b, m.HostID)
	}
	if m.Unauthenticated {
		b = append(b, `,"unauthenticated":true`...)
	}
	if m.Lattice != "" {
		b = append(b, `,"lattice":`...)
		b = appendString(b, m.Lattice)
	}
	return append(b, '}')
}

func (m Response) appendJSON(b []byte) []byte {
	b = append(b, `{"hash":`...)
	b = appendString(b, m.Hash)
	if m.ErrorHash != "" {
		b = append(b, `,"error_hash":`...)
		b = appendString(b, m.ErrorHash)
	}
	b = append(b, `,"host_id":`...)
	b = appendString(b, m.HostID)
	return append(b, '}')
}

// plain reports whether c stands for itself inside a JSON string, as encoding/json writes it without HTML
// escaping, and as the decoder accepts it: printable ASCII other than the quote and the backslash.
func plain(c byte) bool { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' }

// appendString appends s as a JSON string, as marshal writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			// Escapes, control characters, non-ASCII (and invalid UTF-8): encoding/json's own rules.
			q, err := marshal(s)
			if err != nil { // cannot happen for a string
				panic("wascap: encode string: " + err.Error())
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// scanner reads the canonical subset of JSON the fast decoder accepts. Every method reports false for
// anything outside it; the caller then falls back to encoding/json.
type scanner struct {
	s string
	i int
}

func (p *scanner) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and consumes c.
func (p *scanner) next(c byte) bool {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// peek skips white space and reports whether c comes next, without consuming it.
func (p *scanner) peek(c byte) bool {
	p.skipSpace()
	return p.i < len(p.s) && p.s[p.i] == c
}

// str reads a string of plain characters.
func (p *scanner) str() (string, bool) {
	if !p.next('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '"' {
			s := p.s[start:p.i]
			p.i++
			return s, true
		}
		if !plain(c) {
			return "", false
		}
		p.i++
	}
	return "", false
}

// integer reads a non-negative integer in canonical form (no sign, no leading zero, no fraction or exponent)
// of at most 18 digits, so it cannot overflow an int64; a number followed by anything that could continue it
// is refused.
func (p *scanner) integer() (int64, bool) {
	p.skipSpace()
	start := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
	}
	digits := p.i - start
	if digits == 0 || digits > 18 || (digits > 1 && p.s[start] == '0') {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E', '-', '+':
			return 0, false
		}
	}
	return n, true
}

// boolean reads true or false.
func (p *scanner) boolean() (bool, bool) {
	p.skipSpace()
	switch {
	case len(p.s)-p.i >= 4 && p.s[p.i:p.i+4] == "true":
		p.i += 4
		return true, true
	case len(p.s)-p.i >= 5 && p.s[p.i:p.i+5] == "false":
		p.i += 5
		return false, true
	}
	return false, false
}

// flat reads an object whose values are plain strings, canonical integers or booleans, and returns it as
// written (the bytes json.RawMessage would hold).
func (p *scanner) flat() (string, bool) {
	p.skipSpace()
	start := p.i
	if !p.next('{') {
		return "", false
	}
	if p.next('}') {
		return p.s[start:p.i], true
	}
	for {
		if _, ok := p.str(); !ok || !p.next(':') {
			return "", false
		}
		switch {
		case p.peek('"'):
			if _, ok := p.str(); !ok {
				return "", false
			}
		case p.peek('t') || p.peek('f'):
			if _, ok := p.boolean(); !ok {
				return "", false
			}
		default:
			if _, ok := p.integer(); !ok {
				return "", false
			}
		}
		if p.next('}') {
			return p.s[start:p.i], true
		}
		if !p.next(',') {
			return "", false
		}
	}
}

// object reads an object whose keys are among names (each at most once), calling field for each value;
// field reads the value and reports false when it cannot. The whole input must be the object (white space
// aside).
func (p *scanner) object(names []string, field func(k int) bool) bool {
	if !p.next('{') {
		return false
	}
	var seen uint64
	if !p.next('}') {
		for {
			key, ok := p.str()
			if !ok || !p.next(':') {
				return false
			}
			k := -1
			for j, n := range names {
				if n == key {
					k = j
					break
				}
			}
			if k < 0 || seen&(1<<k) != 0 || !field(k) {
				return false
			}
			seen |= 1 << k
			if p.next('}') {
				break
			}
			if !p.next(',') {
				return false
			}
		}
	}
	p.skipSpace()
	return p.i == len(p.s)
}

var claimNames = []string{"exp", "jti", "iat", "iss", "sub", "nbf", "wascap", "wascap_revision"}

// decodeClaims decodes body into c when body is in the canonical subset, and reports whether it was. The
// strings of c share body's memory, which the caller must never modify; Metadata is a copy.
func decodeClaims(body string, c *Claims) bool {
	var out Claims
	p := scanner{s: body}
	ok := p.object(claimNames, func(k int) bool {
		var ok bool
		switch k {
		case 0:
			out.Expires, ok = p.integer()
		case 1:
			out.ID, ok = p.str()
		case 2:
			out.IssuedAt, ok = p.integer()
		case 3:
			out.Issuer, ok = p.str()
		case 4:
			out.Subject, ok = p.str()
		case 5:
			out.NotBefore, ok = p.integer()
		case 6:
			var raw string
			if raw, ok = p.flat(); ok {
				out.Metadata = json.RawMessage(raw)
			}
		case 7:
			var n int64
			n, ok = p.integer()
			ok = ok && n <= math.MaxInt // on 32-bit builds encoding/json decides what does not fit
			out.Revision = int(n)
		}
		return ok
	})
	if !ok {
		return false
	}
	*c = out
	return true
}

var invocationNames = []string{"target_url", "origin_url", "hash", "host_id", "unauthenticated", "lattice"}

// decodeJSON decodes data into m as json.Unmarshal would (fields absent from data keep their values) when data
// is in the canonical subset, and reports whether it was.
func (m *Invocation) decodeJSON(data []byte) bool {
	out := *m
	p := scanner{s: string(data)} // one copy: the strings share it
	ok := p.object(invocationNames, func(k int) bool {
		var ok bool
		switch k {
		case 0:
			out.TargetURL, ok = p.str()
		case 1:
			out.OriginURL, ok = p.str()
		case 2:
			out.Hash, ok = p.str()
		case 3:
			out.HostID, ok = p.str()
		case 4:
			out.Unauthenticated, ok = p.boolean()
		case 5:
			out.Lattice, ok = p.str()
		}
		return ok
	})
	if !ok {
		return false
	}
	*m = out
	return true
}

var responseNames = []string{"hash", "error_hash", "host_id"}

// decodeJSON decodes data into m as json.Unmarshal would when data is in the canonical subset, and reports
// whether it was.
func (m *Response) decodeJSON(data []byte) bool {
	out := *m
	p := scanner{s: string(data)}
	ok := p.object(responseNames, func(k int) bool {
		var ok bool
		switch k {
		case 0:
			out.Hash, ok = p.str()
		case 1:
			out.ErrorHash, ok = p.str()
		case 2:
			out.HostID, ok = p.str()
		}
		return ok
	})
	if !ok {
		return false
	}
	*m = out
	return true
}

// bytesString returns b as a string sharing its memory. b must never be modified afterwards.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// stringBytes returns s as a byte slice sharing its memory, for reading only.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
