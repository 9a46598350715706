package wasmbin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fixture describes one actor under testdata/actors, with the values pinned from VECTORS.md §4 or, for
// the two wascap fixtures, from the tokens they carry.
type fixture struct {
	file         string
	sections     int
	tokenName    string
	tokenIndex   int
	tokenOffset  int // offset of the token section's id byte
	tokenLen     int // length of the token (the payload after the name)
	hash         string
	minimalMatch bool // whether HashMinimal also equals hash
}

var fixtures = []fixture{
	{"echo.wasm", 20, "jwt", 19, 1819632, 601,
		"4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97", true},
	{"echo_unpriv_s.wasm", 21, "jwt", 20, 1845807, 574,
		"AB107F5C2239D84980CC217FF31B286D158029D15E524D7FB266D289CED4462E", true},
	{"example_policy_s.wasm", 11, "jwt", 10, 174728, 625,
		"6EF893FA304B5138C67BDAF92AB8FBDEED2D5E47D95E9DB2598202EBA9CAC46B", true},
	{"kvcounter.wasm", 21, "jwt", 20, 1782434, 635,
		"7CC05764EF3F818E305FD7C598F80BA98936B3FBA8948D40879BD65D60DC28C1", true},
	{"kvcounter_unpriv_s.wasm", 21, "jwt", 20, 1782441, 607,
		"A2CC0655766DDCE08FA5CB8C663E7AD6AEB44CEEAB790F5BC31ED31B8DD518E3", true},
	{"wascap_echo_messaging_v0.9.0.wasm", 13, "wasmcloud_jwt", 12, 178891, 677,
		"0A116480EF09116D59E441A125EF472E362B6F2AE0938E4D33A964C349BE13C7", false},
	{"wascap_logger.wasm", 21, "jwt", 20, 1770262, 630,
		"7941152C0674229576BBF50D880DF71C0A579FEF9ECEDC5069AC1009D33E81F1", true},
}

// paddedFixture has 5-byte section sizes (walrus output).
const paddedFixture = "wascap_echo_messaging_v0.9.0.wasm"

// tokenHash decodes the claims segment of a token and returns its wascap.hash.
func tokenHash(t *testing.T, token []byte) string {
	t.Helper()
	parts := strings.Split(string(token), ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode claims: %v", err)
	}
	var claims struct {
		Wascap struct {
			Hash string `json:"hash"`
		} `json:"wascap"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("unmarshal claims: %v", err)
	}
	return claims.Wascap.Hash
}

func mustParse(t testing.TB, b []byte) *Module {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func mustEmbed(t testing.TB, b, token []byte) []byte {
	t.Helper()
	out, err := Embed(b, token)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	return out
}

// formatError checks that err is a *FormatError at the given place that matches sentinel.
func formatError(t testing.TB, err, sentinel error, section, offset int) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *FormatError", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q does not match %q", err, sentinel)
	}
	if fe.Section != section || fe.Offset != offset {
		t.Errorf("error %q at section %d offset %d, want section %d offset %d",
			err, fe.Section, fe.Offset, section, offset)
	}
}

// Builders for hand-made modules, with minimal sizes unless said otherwise.

func leb(v uint32) []byte { return appendLEB(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func section(id byte, content []byte) []byte {
	return cat([]byte{id}, leb(uint32(len(content))), content)
}

func custom(name string, payload []byte) []byte {
	return section(0, cat(leb(uint32(len(name))), []byte(name), payload))
}

func module(sections ...[]byte) []byte { return cat(append([][]byte{preamble[:]}, sections...)...) }

// tiny is a small valid module: a type section, a function section, a code section and a name section.
var tiny = module(
	section(1, []byte{1, 0x60, 0, 0}),              // one type: () -> ()
	section(3, []byte{1, 0}),                       // one function of type 0
	section(10, []byte{1, 2, 0, 0x0b}),             // its body: no locals, end
	custom("name", []byte{0, 4, 3, 'a', 'b', 'c'}), // module name "abc"
)
