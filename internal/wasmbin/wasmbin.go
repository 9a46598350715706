// Package wasmbin walks the top-level sections of a WebAssembly core module, finds the custom section
// that carries a wasmCloud actor's signed token, and computes the module hash that the token signs.
//
// A wasmCloud 0.x actor is a core module with a JWT in a custom section named "jwt" (wascap before 0.9)
// or "wasmcloud_jwt" (later). The token's wascap.hash claim is the SHA-256 of the module with every such
// section removed, so the host must find the sections wherever they are and hash everything else.
// Two rules exist: older signers hashed the remaining bytes as they are (HashRaw); wascap 0.10 and later
// re-encode each section size as a minimal LEB128 first (HashMinimal). They differ only when a kept
// section has a padded size, as walrus-emitted modules do.
//
// The package checks only the framing (preamble, section ids, sizes and custom section names). The
// contents of the sections are left to the wasm compiler. Parse does not copy the module: sections and
// payloads are sub-slices of the input, which callers must therefore not modify while they use them.
package wasmbin

import (
	"crypto/sha256"
	"hash"
	"math"
	"math/bits"
	"unicode/utf8"
)

// Section ids and names this package gives meaning to.
const (
	// CustomSectionID is the id of a custom section, the only kind that has a name.
	CustomSectionID = 0
	// CodeSectionID is the id of the code section (function bodies).
	CodeSectionID = 10
	// MaxSectionID is the highest section id Parse accepts (13, the tag section).
	MaxSectionID = 13

	// TokenSectionName is the custom section name that wascap 0.9 and later write the token into.
	TokenSectionName = "wasmcloud_jwt"
	// LegacyTokenSectionName is the custom section name that wascap before 0.9 wrote the token into.
	LegacyTokenSectionName = "jwt"

	// PreambleSize is the length of the magic bytes plus the version.
	PreambleSize = 8
)

// preamble is the start of every core module: "\0asm" and version 1.
var preamble = [PreambleSize]byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// componentVersion is the version field (version 0x0d, layer 1) of a component-model binary.
var componentVersion = [4]byte{0x0d, 0x00, 0x01, 0x00}

// Section is one top-level section of a module. Offsets are byte offsets into the input of Parse.
type Section struct {
	// ID is the section id, 0 (custom) to 13.
	ID byte
	// Name is the name of a custom section; it is empty for the other sections.
	Name string
	// Offset is the offset of the id byte.
	Offset int
	// ContentOffset is the offset of the first byte after the size, where the section's contents
	// (for a custom section, its name and then its payload) begin.
	ContentOffset int
	// PayloadOffset is where Payload begins: after the name for a custom section, ContentOffset
	// otherwise.
	PayloadOffset int
	// End is the offset just past the section.
	End int
	// MinimalSize reports whether the section size is written as a minimal LEB128 (no padding).
	MinimalSize bool

	raw []byte // the whole section, id byte to End, aliasing the input
}

// Size returns the size of the section's contents, as written in its header.
func (s Section) Size() int { return s.End - s.ContentOffset }

// Raw returns the whole section as stored: id byte, size and contents.
func (s Section) Raw() []byte { return s.raw }

// Content returns the section's contents (for a custom section: name length, name and payload).
func (s Section) Content() []byte { return s.raw[s.ContentOffset-s.Offset:] }

// Payload returns the bytes after the name for a custom section (for a token section, the token) and
// the whole contents for any other section.
func (s Section) Payload() []byte { return s.raw[s.PayloadOffset-s.Offset:] }

// IsToken reports whether the section is a custom section named "jwt" or "wasmcloud_jwt".
func (s Section) IsToken() bool {
	return s.ID == CustomSectionID && (s.Name == TokenSectionName || s.Name == LegacyTokenSectionName)
}

// Module is a parsed module: the input bytes and their top-level sections in file order.
type Module struct {
	// Sections lists the top-level sections in file order; together with the preamble they cover
	// the input exactly.
	Sections []Section

	b      []byte
	inline [24]Section // backing store for Sections, so that a typical module costs one allocation
}

// Bytes returns the input that the module was parsed from (not a copy).
func (m *Module) Bytes() []byte { return m.b }

// Parse checks the preamble and the framing of every top-level section of b. It does not copy b;
// the Module refers to it. Any malformed input gives a *FormatError.
func Parse(b []byte) (*Module, error) {
	if err := checkPreamble(b); err != nil {
		return nil, err
	}
	m := &Module{b: b}
	m.Sections = m.inline[:0]
	for off, i := PreambleSize, 0; off < len(b); i++ {
		s, err := parseSection(b, off, i)
		if err != nil {
			return nil, err
		}
		m.Sections = append(m.Sections, s)
		off = s.End
	}
	return m, nil
}

func checkPreamble(b []byte) error {
	n := min(len(b), 4)
	if string(b[:n]) != string(preamble[:n]) {
		return &FormatError{Offset: 0, Section: -1, Err: ErrNotModule}
	}
	if len(b) < PreambleSize {
		return &FormatError{Offset: 0, Section: -1,
			Err: wrapf(ErrTruncated, "%d bytes, the preamble needs %d", len(b), PreambleSize)}
	}
	switch v := [4]byte(b[4:8]); {
	case v == [4]byte(preamble[4:8]):
		return nil
	case v == componentVersion:
		return &FormatError{Offset: 4, Section: -1, Err: ErrComponent}
	default:
		return &FormatError{Offset: 4, Section: -1, Err: wrapf(ErrUnsupportedVersion, "% x", b[4:8])}
	}
}

// parseSection decodes the section whose id byte is b[off]; idx is its index, for errors.
func parseSection(b []byte, off, idx int) (Section, error) {
	id := b[off]
	if id > MaxSectionID {
		return Section{}, &FormatError{Offset: off, Section: idx, Err: wrapf(ErrUnknownSection, "%d", id)}
	}
	sizeOff := off + 1
	size, n, err := readU32(b[sizeOff:])
	if err != nil {
		return Section{}, &FormatError{Offset: sizeOff, Section: idx, Err: wrapf(err, "section size")}
	}
	content := sizeOff + n
	if rest := len(b) - content; uint64(size) > uint64(rest) {
		return Section{}, &FormatError{Offset: sizeOff, Section: idx,
			Err: wrapf(ErrTruncated, "section size %d, %d bytes left", size, rest)}
	}
	end := content + int(size)
	s := Section{
		ID:            id,
		Offset:        off,
		ContentOffset: content,
		PayloadOffset: content,
		End:           end,
		MinimalSize:   n == lebLen(size),
		raw:           b[off:end:end],
	}
	if id != CustomSectionID {
		return s, nil
	}
	nameLen, k, err := readU32(b[content:end])
	if err != nil {
		return Section{}, &FormatError{Offset: content, Section: idx,
			Err: wrapf(ErrMalformedName, "name length: %s", trimPrefix(err))}
	}
	nameStart := content + k
	if rest := end - nameStart; uint64(nameLen) > uint64(rest) {
		return Section{}, &FormatError{Offset: content, Section: idx,
			Err: wrapf(ErrMalformedName, "%d-byte name, %d bytes left in the section", nameLen, rest)}
	}
	name := b[nameStart : nameStart+int(nameLen)]
	if !utf8.Valid(name) {
		return Section{}, &FormatError{Offset: content, Section: idx, Err: wrapf(ErrMalformedName, "not UTF-8")}
	}
	s.Name = internName(name)
	s.PayloadOffset = nameStart + int(nameLen)
	return s, nil
}

// internName returns the name as a string, without allocating for the names that compilers and
// wascap usually write.
func internName(name []byte) string {
	switch string(name) {
	case LegacyTokenSectionName:
		return LegacyTokenSectionName
	case TokenSectionName:
		return TokenSectionName
	case "name":
		return "name"
	case "producers":
		return "producers"
	case "target_features":
		return "target_features"
	case ".debug_info":
		return ".debug_info"
	case ".debug_pubtypes":
		return ".debug_pubtypes"
	case ".debug_ranges":
		return ".debug_ranges"
	case ".debug_aranges":
		return ".debug_aranges"
	case ".debug_abbrev":
		return ".debug_abbrev"
	case ".debug_line":
		return ".debug_line"
	case ".debug_str":
		return ".debug_str"
	case ".debug_pubnames":
		return ".debug_pubnames"
	}
	return string(name)
}

// readU32 decodes an unsigned LEB128 of at most 5 bytes whose value fits in 32 bits from the start of
// b. It returns the value and the number of bytes read. Padded (non-minimal) encodings are accepted.
func readU32(b []byte) (v uint32, n int, err error) {
	for i := 0; ; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		c := b[i]
		if i == 4 {
			if c > 0x0f {
				// A continuation bit, or value bits above bit 31, in the fifth byte.
				return 0, 0, ErrMalformedLEB
			}
			return v | uint32(c)<<28, 5, nil
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
}

// lebLen returns the length of the minimal unsigned LEB128 encoding of v.
func lebLen(v uint32) int {
	if v == 0 {
		return 1
	}
	return (bits.Len32(v) + 6) / 7
}

// appendLEB appends the minimal unsigned LEB128 encoding of v.
func appendLEB(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// TokenSections returns every top-level custom section named "jwt" or "wasmcloud_jwt", in file order.
func (m *Module) TokenSections() []Section {
	var out []Section
	for _, s := range m.Sections {
		if s.IsToken() {
			out = append(out, s)
		}
	}
	return out
}

// MinimalSizes reports whether every section that the hash covers (every section but the token
// sections) has a minimal size LEB128, in which case HashRaw and HashMinimal are equal.
func (m *Module) MinimalSizes() bool {
	for i := range m.Sections {
		if s := &m.Sections[i]; !s.MinimalSize && !s.IsToken() {
			return false
		}
	}
	return true
}

// HashRaw returns the SHA-256 of the module with every token section cut out byte for byte and all other
// bytes, preamble included, as they are. This reproduces wascap.hash for modules signed before wascap
// 0.10, including walrus-emitted ones with padded section sizes.
func (m *Module) HashRaw() [32]byte { return m.hash(false) }

// HashMinimal returns the SHA-256 of the preamble followed by every section but the token sections,
// each written as id, minimal LEB128 size and contents: the rule of wascap 0.10 and later, and the
// SHA-256 of Strip's output.
func (m *Module) HashMinimal() [32]byte { return m.hash(true) }

// Hashes returns HashRaw and HashMinimal, hashing the module only once when they are equal.
func (m *Module) Hashes() (raw, minimal [32]byte) {
	raw = m.hash(false)
	if m.MinimalSizes() {
		return raw, raw
	}
	return raw, m.hash(true)
}

func (m *Module) hash(minimal bool) [32]byte {
	h := sha256.New()
	m.writeKept(h, minimal)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// writeKept streams the kept bytes to h as sub-slices of the input: verbatim runs between the token
// sections and, if minimal is set, a re-encoded header for each kept section with a padded size.
func (m *Module) writeKept(h hash.Hash, minimal bool) {
	run := 0       // start of the verbatim bytes not yet written
	var hdr []byte // id and size of a re-encoded section header, allocated only if needed
	for i := range m.Sections {
		s := &m.Sections[i]
		switch {
		case s.IsToken():
			h.Write(m.b[run:s.Offset])
			run = s.End
		case minimal && !s.MinimalSize:
			h.Write(m.b[run:s.Offset])
			if hdr == nil {
				hdr = make([]byte, 0, 6)
			}
			h.Write(appendLEB(append(hdr[:0], s.ID), uint32(s.Size())))
			run = s.ContentOffset
		}
	}
	h.Write(m.b[run:])
}

// strippedLen returns the length of Strip's output.
func (m *Module) strippedLen() int {
	n := PreambleSize
	for i := range m.Sections {
		if s := &m.Sections[i]; !s.IsToken() {
			n += 1 + lebLen(uint32(s.Size())) + s.Size()
		}
	}
	return n
}

// appendStripped appends the preamble and every section but the token sections, with minimal sizes.
func (m *Module) appendStripped(dst []byte) []byte {
	dst = append(dst, preamble[:]...)
	for i := range m.Sections {
		s := &m.Sections[i]
		if s.IsToken() {
			continue
		}
		if s.MinimalSize {
			dst = append(dst, s.raw...)
			continue
		}
		dst = appendLEB(append(dst, s.ID), uint32(s.Size()))
		dst = append(dst, s.Content()...)
	}
	return dst
}

// Strip returns a new module: the preamble and every section but the token sections, each with a
// minimal size. Its SHA-256 is HashMinimal.
func (m *Module) Strip() []byte {
	return m.appendStripped(make([]byte, 0, m.strippedLen()))
}

// WithoutCustom returns a new module: the preamble and every section that is not a custom section, each
// as stored. Custom sections (names, DWARF debug information, producers, tokens) take no part in
// validation or execution, so the result runs exactly as the input does; two modules that differ only in
// their custom sections, such as one build signed for several actors, give the same bytes.
func (m *Module) WithoutCustom() []byte {
	n := PreambleSize
	for i := range m.Sections {
		if s := &m.Sections[i]; s.ID != CustomSectionID {
			n += s.End - s.Offset
		}
	}
	dst := append(make([]byte, 0, n), m.b[:PreambleSize]...)
	for i := range m.Sections {
		if s := &m.Sections[i]; s.ID != CustomSectionID {
			dst = append(dst, s.raw...)
		}
	}
	return dst
}

// Embed returns Strip's output followed by one custom section named "wasmcloud_jwt" holding token, so
// the result has exactly one token section and its HashRaw and HashMinimal both equal m.HashMinimal.
func (m *Module) Embed(token []byte) ([]byte, error) {
	nameLen := len(TokenSectionName)
	size := uint64(lebLen(uint32(nameLen))) + uint64(nameLen) + uint64(len(token))
	if size > math.MaxUint32 {
		return nil, wrapf(ErrTooLarge, "token section of %d bytes", size)
	}
	total := uint64(m.strippedLen()) + 1 + uint64(lebLen(uint32(size))) + size
	if total > math.MaxInt {
		return nil, wrapf(ErrTooLarge, "module of %d bytes", total)
	}
	dst := m.appendStripped(make([]byte, 0, int(total)))
	dst = appendLEB(append(dst, CustomSectionID), uint32(size))
	dst = appendLEB(dst, uint32(nameLen))
	dst = append(dst, TokenSectionName...)
	return append(dst, token...), nil
}

// Strip parses b and returns it without its token sections and with minimal section sizes, so that
// SHA-256(Strip(b)) equals the module's HashMinimal. It returns Parse's error for malformed input.
func Strip(b []byte) ([]byte, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return m.Strip(), nil
}

// Embed parses b, strips its token sections as Strip does, and appends one custom section named
// "wasmcloud_jwt" holding token. Embedding into an already signed module replaces its token.
func Embed(b, token []byte) ([]byte, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return m.Embed(token)
}

const hexUpper = "0123456789ABCDEF"

// HexUpper returns the hash as 64 upper-case hex digits, the form stored in wascap.hash.
func HexUpper(sum [32]byte) string {
	var buf [64]byte
	for i, c := range sum {
		buf[2*i] = hexUpper[c>>4]
		buf[2*i+1] = hexUpper[c&0x0f]
	}
	return string(buf[:])
}
