package wasmbin

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// FuzzParse checks that Parse never panics, that it either returns a *FormatError or sections that
// cover the input exactly, and that whatever parses can be embedded into a module whose two hashes agree
// with the original's minimal hash.
func FuzzParse(f *testing.F) {
	const prefix = 4 << 10
	f.Add(testutil.Actor(f, "example_policy_s.wasm"))
	for _, fx := range fixtures {
		b := testutil.Actor(f, fx.file)
		f.Add(b[:prefix])
		// The same prefix cut back to its last whole section, plus the fixture's token section, so the
		// seed is a valid module; for the padded fixture this keeps the 5-byte sizes.
		m := mustParse(f, b)
		var kept []byte
		for _, s := range m.Sections {
			if s.End <= prefix {
				kept = b[:s.End]
			}
		}
		f.Add(cat(kept, m.TokenSections()[0].Raw()))
	}
	for _, seed := range [][]byte{
		nil,
		module(),
		tiny,
		module(custom("jwt", []byte("a")), section(1, nil), custom("wasmcloud_jwt", []byte("b"))),
		module([]byte{12, 0x80, 0x80, 0x80, 0x80, 0x00}),
		module([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}),
		module(section(0, []byte{0x83, 0x80, 0x00, 'j', 'w', 't'})),
		{0, 'a', 's', 'm', 0x0d, 0, 1, 0},
	} {
		f.Add(seed)
	}

	token := []byte("header.claims.signature")
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		m, err := Parse(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", err, err)
			}
			if fe.Offset < 0 || fe.Offset > len(b) || fe.Section < -1 {
				t.Fatalf("error %v has a bad position", err)
			}
			return
		}
		off := PreambleSize
		for i, s := range m.Sections {
			if s.Offset != off || s.ContentOffset <= s.Offset || s.PayloadOffset < s.ContentOffset || s.End < s.PayloadOffset {
				t.Fatalf("section %d has bad offsets %+v", i, s)
			}
			off = s.End
		}
		if off != len(b) {
			t.Fatalf("sections end at %d, input at %d", off, len(b))
		}
		raw, minimal := m.Hashes()
		if raw != m.HashRaw() || minimal != m.HashMinimal() {
			t.Fatal("Hashes disagrees with HashRaw or HashMinimal")
		}
		if got := sha256.Sum256(m.Strip()); got != minimal {
			t.Fatal("SHA-256(Strip) != HashMinimal")
		}

		code := m.WithoutCustom()
		cm, err := Parse(code)
		if err != nil {
			t.Fatalf("Parse(WithoutCustom): %v", err)
		}
		var kept []Section
		for _, s := range m.Sections {
			if s.ID != CustomSectionID {
				kept = append(kept, s)
			}
		}
		if len(cm.Sections) != len(kept) {
			t.Fatalf("WithoutCustom kept %d sections, want %d", len(cm.Sections), len(kept))
		}
		for i, s := range cm.Sections {
			if !bytes.Equal(s.Raw(), kept[i].Raw()) {
				t.Fatalf("WithoutCustom changed section %d", i)
			}
		}

		e, err := Embed(b, token)
		if err != nil {
			t.Fatalf("Embed of a module that parsed: %v", err)
		}
		em, err := Parse(e)
		if err != nil {
			t.Fatalf("Parse(Embed): %v", err)
		}
		toks := em.TokenSections()
		if len(toks) != 1 || !bytes.Equal(toks[0].Payload(), token) {
			t.Fatalf("embedded module has %d token sections", len(toks))
		}
		if er, emin := em.Hashes(); er != emin || er != minimal {
			t.Fatal("embedded hashes differ from each other or from the original's HashMinimal")
		}
		if !bytes.Equal(b, orig) {
			t.Fatal("input modified")
		}
	})
}
