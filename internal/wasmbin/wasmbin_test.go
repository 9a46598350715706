package wasmbin

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			b := testutil.Actor(t, fx.file)
			m := mustParse(t, b)

			require.Equal(t, "section count", len(m.Sections), fx.sections)
			require.Equal(t, "first section offset", m.Sections[0].Offset, PreambleSize)
			require.Equal(t, "last section end", m.Sections[len(m.Sections)-1].End, len(b))
			if &m.Bytes()[0] != &b[0] {
				t.Error("Bytes() is a copy of the input")
			}

			toks := m.TokenSections()
			if len(toks) != 1 {
				t.Fatalf("%d token sections, want 1", len(toks))
			}
			tok := toks[0]
			require.Equal(t, "token name", tok.Name, fx.tokenName)
			require.Equal(t, "token offset", tok.Offset, fx.tokenOffset)
			require.Equal(t, "token section", m.Sections[fx.tokenIndex].Offset, tok.Offset)
			require.Equal(t, "token length", len(tok.Payload()), fx.tokenLen)
			require.Equal(t, "payload offset", tok.PayloadOffset, tok.ContentOffset+1+len(fx.tokenName))
			if &tok.Payload()[0] != &b[tok.PayloadOffset] {
				t.Error("Payload() is a copy of the input")
			}
			require.Equal(t, "token hash claim", tokenHash(t, tok.Payload()), fx.hash)

			raw, minimal := m.Hashes()
			require.Equal(t, "HashRaw", HexUpper(m.HashRaw()), fx.hash)
			require.Equal(t, "Hashes raw", HexUpper(raw), fx.hash)
			require.Equal(t, "HashMinimal", HexUpper(m.HashMinimal()), HexUpper(minimal))
			require.Equal(t, "HashMinimal matches the claim", HexUpper(minimal) == fx.hash, fx.minimalMatch)
			require.Equal(t, "MinimalSizes", m.MinimalSizes(), fx.minimalMatch)
			require.Equal(t, "whole-file SHA-256 differs", sha256.Sum256(b) != raw, true)

			stripped, err := Strip(b)
			if err != nil {
				t.Fatalf("Strip: %v", err)
			}
			require.Equal(t, "SHA-256(Strip)", sha256.Sum256(stripped), minimal)
			sm := mustParse(t, stripped)
			require.Equal(t, "stripped sections", len(sm.Sections), fx.sections-1)
			require.Equal(t, "stripped token sections", len(sm.TokenSections()), 0)
			require.Equal(t, "stripped MinimalSizes", sm.MinimalSizes(), true)
			if fx.minimalMatch {
				require.True(t, bytes.Equal(stripped, b[:tok.Offset]), "%s differs: got %d bytes, want %d bytes", "Strip", len(stripped), len(b[:tok.Offset])) // the token is last
			}
		})
	}
}

// TestPaddedFixture pins the walrus-emitted layout: 5-byte sizes on every kept section.
func TestPaddedFixture(t *testing.T) {
	b := testutil.Actor(t, paddedFixture)
	m := mustParse(t, b)
	for i, s := range m.Sections {
		padded := s.ContentOffset-s.Offset-1 == 5
		require.Equal(t, fmt.Sprintf("section %d (id %d %q) padded", i, s.ID, s.Name), padded, !s.IsToken())
		require.Equal(t, fmt.Sprintf("section %d MinimalSize", i), s.MinimalSize, s.IsToken() || s.Size() >= 1<<28)
	}
	stripped := m.Strip()
	// The 12 kept sizes shrink from 5 bytes to 1, 2 or 3 (39 bytes in all) and the token goes.
	require.Equal(t, "stripped length", len(stripped), 178891-39)
}

func TestParse(t *testing.T) {
	type want struct {
		ids     []byte
		names   []string
		minimal []bool
		tokens  int
	}
	tests := []struct {
		name string
		in   []byte
		want want
	}{
		{"preamble only", module(), want{}},
		{"tiny module", tiny, want{ids: []byte{1, 3, 10, 0}, names: []string{"", "", "", "name"},
			minimal: []bool{true, true, true, true}}},
		{"empty sections", module(section(1, nil), section(13, nil)),
			want{ids: []byte{1, 13}, names: []string{"", ""}, minimal: []bool{true, true}}},
		{"padded zero size", module([]byte{12, 0x80, 0x80, 0x80, 0x80, 0x00}),
			want{ids: []byte{12}, names: []string{""}, minimal: []bool{false}}},
		{"two-byte size 128", module(section(11, make([]byte, 128))),
			want{ids: []byte{11}, names: []string{""}, minimal: []bool{true}}},
		{"padded two-byte size 1", module([]byte{5, 0x81, 0x00, 0x00}),
			want{ids: []byte{5}, names: []string{""}, minimal: []bool{false}}},
		{"empty custom name", module(custom("", []byte("x"))),
			want{ids: []byte{0}, names: []string{""}, minimal: []bool{true}}},
		{"unicode custom name", module(custom("é✓", nil)),
			want{ids: []byte{0}, names: []string{"é✓"}, minimal: []bool{true}}},
		{"padded name length", module(section(0, []byte{0x83, 0x80, 0x00, 'j', 'w', 't', 'T'})),
			want{ids: []byte{0}, names: []string{"jwt"}, minimal: []bool{true}, tokens: 1}},
		{"both token names", module(custom("jwt", []byte("a")), section(1, nil), custom("wasmcloud_jwt", []byte("b"))),
			want{ids: []byte{0, 1, 0}, names: []string{"jwt", "", "wasmcloud_jwt"},
				minimal: []bool{true, true, true}, tokens: 2}},
		{"look-alike names", module(custom("JWT", nil), custom("jwt ", nil), custom("wasmcloud_jwt2", nil)),
			want{ids: []byte{0, 0, 0}, names: []string{"JWT", "jwt ", "wasmcloud_jwt2"},
				minimal: []bool{true, true, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.in)
			var ids []byte
			var names []string
			var minimal []bool
			off := PreambleSize
			for _, s := range m.Sections {
				ids = append(ids, s.ID)
				names = append(names, s.Name)
				minimal = append(minimal, s.MinimalSize)
				require.Equal(t, "section offset", s.Offset, off)
				off = s.End
			}
			require.Equal(t, "end", off, len(tt.in))
			require.Equal(t, "ids", fmt.Sprint(ids), fmt.Sprint(tt.want.ids))
			require.Equal(t, "names", fmt.Sprintf("%q", names), fmt.Sprintf("%q", tt.want.names))
			require.Equal(t, "minimal", fmt.Sprint(minimal), fmt.Sprint(tt.want.minimal))
			require.Equal(t, "token sections", len(m.TokenSections()), tt.want.tokens)
		})
	}
}

func TestSectionAccessors(t *testing.T) {
	b := module(section(1, []byte{1, 0x60, 0, 0}), custom("wasmcloud_jwt", []byte("a.b.c")))
	m := mustParse(t, b)
	typ, tok := m.Sections[0], m.Sections[1]
	require.Equal(t, "type Offset", typ.Offset, 8)
	require.Equal(t, "type ContentOffset", typ.ContentOffset, 10)
	require.Equal(t, "type PayloadOffset", typ.PayloadOffset, 10)
	require.Equal(t, "type End", typ.End, 14)
	require.Equal(t, "type Size", typ.Size(), 4)
	require.True(t, bytes.Equal(typ.Raw(), b[8:14]), "%s differs: got %d bytes, want %d bytes", "type Raw", len(typ.Raw()), len(b[8:14]))
	require.True(t, bytes.Equal(typ.Payload(), []byte{1, 0x60, 0, 0}), "%s differs: got %d bytes, want %d bytes", "type Payload", len(typ.Payload()), len([]byte{1, 0x60, 0, 0}))
	require.Equal(t, "type IsToken", typ.IsToken(), false)
	require.Equal(t, "token Offset", tok.Offset, 14)
	require.Equal(t, "token ContentOffset", tok.ContentOffset, 16)
	require.Equal(t, "token PayloadOffset", tok.PayloadOffset, 30)
	require.Equal(t, "token Size", tok.Size(), 1+13+5)
	require.True(t, bytes.Equal(tok.Content(), b[16:]), "%s differs: got %d bytes, want %d bytes", "token Content", len(tok.Content()), len(b[16:]))
	require.True(t, bytes.Equal(tok.Payload(), []byte("a.b.c")), "%s differs: got %d bytes, want %d bytes", "token Payload", len(tok.Payload()), len([]byte("a.b.c")))
	require.Equal(t, "token IsToken", tok.IsToken(), true)
	// Appending to a sub-slice must not write into the next section.
	_ = append(typ.Raw(), 0xff)
	require.Equal(t, "byte after type section", b[14], byte(0))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		sentinel error
		section  int
		offset   int
		msg      string
	}{
		{"empty", nil, ErrTruncated, -1, 0,
			"wasmbin: preamble at offset 0: truncated: 0 bytes, the preamble needs 8"},
		{"magic only", []byte("\x00asm"), ErrTruncated, -1, 0, ""},
		{"seven bytes", preamble[:7], ErrTruncated, -1, 0, ""},
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), ErrNotModule, -1, 0,
			"wasmbin: preamble at offset 0: not a WebAssembly module"},
		{"short and not wasm", []byte("MZ"), ErrNotModule, -1, 0, ""},
		{"component", []byte{0, 'a', 's', 'm', 0x0d, 0, 1, 0}, ErrComponent, -1, 4,
			"wasmbin: preamble at offset 4: WebAssembly component, not a core module"},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, ErrUnsupportedVersion, -1, 4,
			"wasmbin: preamble at offset 4: unsupported binary version: 02 00 00 00"},
		{"version 1 with a layer", []byte{0, 'a', 's', 'm', 1, 0, 1, 0}, ErrUnsupportedVersion, -1, 4, ""},
		{"unknown id 14", module(section(1, nil), section(14, nil)), ErrUnknownSection, 1, 10,
			"wasmbin: section 1 at offset 10: unknown section id: 14"},
		{"unknown id 255", module([]byte{0xff, 0}), ErrUnknownSection, 0, 8, ""},
		{"no size", module([]byte{1}), ErrTruncated, 0, 9,
			"wasmbin: section 0 at offset 9: truncated: section size"},
		{"size cut inside", module([]byte{1, 0x80, 0x80}), ErrTruncated, 0, 9, ""},
		{"size past end", cat(tiny, []byte{11, 5, 0, 0}), ErrTruncated, 4, len(tiny) + 1,
			fmt.Sprintf("wasmbin: section 4 at offset %d: truncated: section size 5, 2 bytes left", len(tiny)+1)},
		{"max size past end", module([]byte{11, 0xff, 0xff, 0xff, 0xff, 0x0f}), ErrTruncated, 0, 9, ""},
		{"six-byte size", module([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), ErrMalformedLEB, 0, 9,
			"wasmbin: section 0 at offset 9: malformed LEB128: section size"},
		{"size over 32 bits", module([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x1f}), ErrMalformedLEB, 0, 9, ""},
		{"garbage in fifth byte", module([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x70}), ErrMalformedLEB, 0, 9, ""},
		{"custom without name", module(section(0, nil)), ErrMalformedName, 0, 10,
			"wasmbin: section 0 at offset 10: malformed custom section name: name length: truncated"},
		{"custom name length cut", module(section(0, []byte{0x80})), ErrMalformedName, 0, 10, ""},
		{"custom name length malformed", module(section(0, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0})),
			ErrMalformedName, 0, 10,
			"wasmbin: section 0 at offset 10: malformed custom section name: name length: malformed LEB128"},
		{"custom name too long", module(section(0, []byte{4, 'j', 'w', 't'})), ErrMalformedName, 0, 10,
			"wasmbin: section 0 at offset 10: malformed custom section name: 4-byte name, 3 bytes left in the section"},
		{"custom name not utf-8", module(section(0, []byte{2, 0xc3, 0x28})), ErrMalformedName, 0, 10,
			"wasmbin: section 0 at offset 10: malformed custom section name: not UTF-8"},
		{"custom name surrogate", module(section(0, []byte{3, 0xed, 0xa0, 0x80})), ErrMalformedName, 0, 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.in)
			if m != nil {
				t.Errorf("Parse returned a module with the error")
			}
			formatError(t, err, tt.sentinel, tt.section, tt.offset)
			if tt.msg != "" {
				require.Equal(t, "message", err.Error(), tt.msg)
			}
			// Strip and Embed report the same error.
			if _, serr := Strip(tt.in); serr == nil || serr.Error() != err.Error() {
				t.Errorf("Strip error = %v, want %v", serr, err)
			}
			if _, eerr := Embed(tt.in, []byte("t")); eerr == nil || eerr.Error() != err.Error() {
				t.Errorf("Embed error = %v, want %v", eerr, err)
			}
		})
	}
}

// TestTruncation cuts fixtures at every byte (the small ones) or around every section boundary and
// inside every size (the large ones). A cut on a boundary leaves a shorter valid module; any other cut
// is a truncation reported at the size of the section it falls in.
func TestTruncation(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			b := testutil.Actor(t, fx.file)
			m := mustParse(t, b)
			var cuts []int
			if len(b) < 200_000 {
				for n := 0; n <= len(b); n++ {
					cuts = append(cuts, n)
				}
			} else {
				cuts = append(cuts, 0, 1, 4, 7, 8)
				for _, s := range m.Sections {
					for n := s.Offset + 1; n <= s.ContentOffset+1; n++ {
						cuts = append(cuts, n)
					}
					cuts = append(cuts, s.PayloadOffset, s.End-1, s.End)
				}
			}
			for _, n := range cuts {
				checkCut(t, m, n)
			}
		})
	}
}

func checkCut(t *testing.T, full *Module, n int) {
	t.Helper()
	got, err := Parse(full.Bytes()[:n])
	if n < PreambleSize {
		formatError(t, err, ErrTruncated, -1, 0)
		return
	}
	kept := 0
	for i, s := range full.Sections {
		if s.End <= n {
			kept++
			continue
		}
		if s.Offset < n {
			if err == nil {
				t.Fatalf("cut at %d (inside section %d) parsed", n, i)
			}
			formatError(t, err, ErrTruncated, i, s.Offset+1)
			return
		}
	}
	if err != nil {
		t.Fatalf("cut at %d (a section boundary): %v", n, err)
	}
	require.Equal(t, fmt.Sprintf("sections after cut at %d", n), len(got.Sections), kept)
}

func TestTamper(t *testing.T) {
	for _, file := range []string{"example_policy_s.wasm", paddedFixture} {
		t.Run(file, func(t *testing.T) {
			b := testutil.Actor(t, file)
			m := mustParse(t, b)
			raw, minimal := m.Hashes()
			tok := m.TokenSections()[0]
			var code Section
			for _, s := range m.Sections {
				if s.ID == CodeSectionID {
					code = s
				}
			}
			var rest [][]byte // every section but the token, as stored
			for _, s := range m.Sections {
				if !s.IsToken() {
					rest = append(rest, s.Raw())
				}
			}

			tests := []struct {
				name    string
				in      []byte
				same    bool     // hashes unchanged
				tokens  []string // token section names, in order
				tokenAt []int    // their section indexes
			}{
				{
					name:   "flipped code byte",
					in:     flip(b, code.ContentOffset+code.Size()/2),
					tokens: []string{tok.Name}, tokenAt: []int{len(m.Sections) - 1},
				},
				{
					name:   "flipped preamble-adjacent byte",
					in:     flip(b, m.Sections[0].ContentOffset),
					tokens: []string{tok.Name}, tokenAt: []int{len(m.Sections) - 1},
				},
				{
					name:   "flipped token byte",
					in:     flip(b, tok.PayloadOffset+10),
					same:   true,
					tokens: []string{tok.Name}, tokenAt: []int{len(m.Sections) - 1},
				},
				{
					name:   "token moved to the front",
					in:     cat(append([][]byte{preamble[:], tok.Raw()}, rest...)...),
					same:   true,
					tokens: []string{tok.Name}, tokenAt: []int{0},
				},
				{
					name:   "token in the middle",
					in:     cat(append(append([][]byte{preamble[:]}, rest[:3]...), append([][]byte{tok.Raw()}, rest[3:]...)...)...),
					same:   true,
					tokens: []string{tok.Name}, tokenAt: []int{3},
				},
				{
					name:   "second token appended",
					in:     cat(b, custom(TokenSectionName, []byte("forged"))),
					same:   true,
					tokens: []string{tok.Name, TokenSectionName}, tokenAt: []int{len(m.Sections) - 1, len(m.Sections)},
				},
				{
					name:   "second token in front",
					in:     cat(preamble[:], custom(LegacyTokenSectionName, []byte("forged")), b[PreambleSize:]),
					same:   true,
					tokens: []string{LegacyTokenSectionName, tok.Name}, tokenAt: []int{0, len(m.Sections)},
				},
				{
					name:   "other custom section added",
					in:     cat(b, custom("jwt2", []byte("x"))),
					tokens: []string{tok.Name}, tokenAt: []int{len(m.Sections) - 1},
				},
				{
					name:   "token removed",
					in:     b[:tok.Offset],
					same:   true,
					tokens: nil, tokenAt: nil,
				},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tm := mustParse(t, tt.in)
					var names []string
					var at []int
					for i, s := range tm.Sections {
						if s.IsToken() {
							names = append(names, s.Name)
							at = append(at, i)
						}
					}
					var tokNames []string
					for _, s := range tm.TokenSections() {
						tokNames = append(tokNames, s.Name)
					}
					require.Equal(t, "TokenSections", fmt.Sprint(tokNames), fmt.Sprint(tt.tokens))
					require.Equal(t, "token names", fmt.Sprint(names), fmt.Sprint(tt.tokens))
					require.Equal(t, "token indexes", fmt.Sprint(at), fmt.Sprint(tt.tokenAt))
					r, mn := tm.Hashes()
					require.Equal(t, "HashRaw unchanged", r == raw, tt.same)
					require.Equal(t, "HashMinimal unchanged", mn == minimal, tt.same)
				})
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0xff
	return out
}

func TestEmbed(t *testing.T) {
	t1 := []byte("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.e30.c2ln")
	t2 := bytes.Repeat([]byte("x"), 20000) // a 3-byte size
	type input struct {
		name string
		b    []byte
	}
	ins := []input{{"tiny", tiny}, {"preamble only", module()}}
	for _, fx := range fixtures {
		ins = append(ins, input{fx.file, testutil.Actor(t, fx.file)})
	}
	for _, in := range ins {
		t.Run(in.name, func(t *testing.T) {
			m := mustParse(t, in.b)
			want := m.HashMinimal()
			stripped := m.Strip()

			e1 := mustEmbed(t, in.b, t1)
			require.True(t, bytes.Equal(e1, cat(stripped, custom(TokenSectionName, t1))), "%s differs: got %d bytes, want %d bytes", "Embed", len(e1), len(cat(stripped, custom(TokenSectionName, t1))))
			checkEmbedded(t, e1, t1, want)
			require.True(t, bytes.Equal(mustStrip(t, e1), stripped), "%s differs: got %d bytes, want %d bytes", "Strip(Embed)", len(mustStrip(t, e1)), len(stripped))

			e2 := mustEmbed(t, e1, t2)
			checkEmbedded(t, e2, t2, want)
			require.Equal(t, "re-embedded length", len(e2), len(stripped)+1+3+1+13+len(t2))

			e3 := mustEmbed(t, e2, nil)
			checkEmbedded(t, e3, nil, want)
			require.True(t, bytes.Equal(mustEmbed(t, e3, t1), e1), "%s differs: got %d bytes, want %d bytes", "Embed(Embed(Embed(x,t1),t2),t1)", len(mustEmbed(t, e3, t1)), len(e1))
		})
	}
}

func checkEmbedded(t *testing.T, b, token []byte, hash [32]byte) {
	t.Helper()
	m := mustParse(t, b)
	toks := m.TokenSections()
	if len(toks) != 1 {
		t.Fatalf("%d token sections, want 1", len(toks))
	}
	require.Equal(t, "token name", toks[0].Name, TokenSectionName)
	require.Equal(t, "token is last", toks[0].End, len(b))
	require.True(t, bytes.Equal(toks[0].Payload(), token), "%s differs: got %d bytes, want %d bytes", "token payload", len(toks[0].Payload()), len(token))
	require.Equal(t, "MinimalSizes", m.MinimalSizes(), true)
	raw, minimal := m.HashRaw(), m.HashMinimal()
	require.Equal(t, "HashRaw", HexUpper(raw), HexUpper(hash))
	require.Equal(t, "HashMinimal", HexUpper(minimal), HexUpper(hash))
	require.Equal(t, "SHA-256(Strip)", sha256.Sum256(mustStrip(t, b)), hash)
}

func mustStrip(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := Strip(b)
	if err != nil {
		t.Fatalf("Strip: %v", err)
	}
	return out
}

func TestLEB(t *testing.T) {
	tests := []struct {
		name string
		v    uint32
		enc  []byte
	}{
		{"zero", 0, []byte{0}},
		{"127", 127, []byte{0x7f}},
		{"128", 128, []byte{0x80, 0x01}},
		{"16383", 16383, []byte{0xff, 0x7f}},
		{"16384", 16384, []byte{0x80, 0x80, 0x01}},
		{"1<<28", 1 << 28, []byte{0x80, 0x80, 0x80, 0x80, 0x01}},
		{"max", 0xffffffff, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, bytes.Equal(appendLEB(nil, tt.v), tt.enc), "%s differs: got %d bytes, want %d bytes", "appendLEB", len(appendLEB(nil, tt.v)), len(tt.enc))
			require.Equal(t, "lebLen", lebLen(tt.v), len(tt.enc))
			v, n, err := readU32(append(bytes.Clone(tt.enc), 0xaa))
			if err != nil {
				t.Fatalf("readU32: %v", err)
			}
			require.Equal(t, "value", v, tt.v)
			require.Equal(t, "length", n, len(tt.enc))
		})
	}
}

func TestHexUpper(t *testing.T) {
	sum := sha256.Sum256([]byte("abc"))
	require.Equal(t, "HexUpper", HexUpper(sum), "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
	require.Equal(t, "zero", HexUpper([32]byte{}), "0000000000000000000000000000000000000000000000000000000000000000")
}

func TestWithoutCustom(t *testing.T) {
	types, fn := section(1, []byte{1, 0x60, 0, 0}), section(3, []byte{1, 0})
	padded := []byte{10, 0x84, 0x80, 0x80, 0x80, 0x00, 1, 2, 0, 0x0b} // a code section with a 5-byte size
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"preamble only", module(), module()},
		{"no custom section", module(types, fn), module(types, fn)},
		{"custom sections anywhere", module(custom("name", []byte("n")), types, custom("jwt", []byte("a")), fn,
			custom(".debug_info", []byte("d")), custom(TokenSectionName, []byte("b"))), module(types, fn)},
		{"padded sizes kept", module(types, padded, custom("x", nil)), module(types, padded)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustParse(t, tc.in).WithoutCustom()
			require.True(t, bytes.Equal(got, tc.want), "WithoutCustom = %x, want %x", got, tc.want)
		})
	}
	// One build signed twice: same code, different tokens.
	echo := testutil.Actor(t, "echo.wasm")
	a, b := mustEmbed(t, echo, []byte("token-a")), mustEmbed(t, echo, []byte("token-b"))
	ca, cb := mustParse(t, a).WithoutCustom(), mustParse(t, b).WithoutCustom()
	require.True(t, bytes.Equal(ca, cb), "the code of one build signed twice differs")
	for _, s := range mustParse(t, ca).Sections {
		require.True(t, s.ID != CustomSectionID, "section %q kept", s.Name)
	}
}
