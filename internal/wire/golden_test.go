package wire

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the current encoder")

// goldenCase is one pinned encoding: testdata/<name>.golden holds a hex dump of encode()'s output.
type goldenCase struct {
	name   string
	about  string
	encode func() []byte
	// invocation tells the fuzz targets which decoder the bytes are for.
	invocation bool
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:       "invocation",
			about:      "actor -> httpserver provider, 5-byte payload, hyphenated id, dummy token, N host id",
			invocation: true,
			encode: func() []byte {
				inv := goldenInvocation()
				return inv.AppendMsgpack(nil)
			},
		},
		{
			name:       "invocation_trace",
			about:      "the invocation above with a two-entry traceContext (keys written sorted)",
			invocation: true,
			encode: func() []byte {
				inv := goldenInvocation()
				inv.TraceContext = map[string]string{
					"tracestate":  "congo=t61rcWkgMzE",
					"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
				}
				return inv.AppendMsgpack(nil)
			},
		},
		{
			name:       "invocation_chunked",
			about:      "a chunked invocation: empty msg (c4 00) and content_length 1 MiB (uint32 form)",
			invocation: true,
			encode: func() []byte {
				inv := goldenInvocation()
				inv.Msg = nil
				inv.ContentLength = 1 << 20
				return inv.AppendMsgpack(nil)
			},
		},
		{
			name:  "response_success",
			about: "a successful response with a 5-byte payload",
			encode: func() []byte {
				r := Response{Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5}
				return r.AppendMsgpack(nil)
			},
		},
		{
			name:  "response_error",
			about: "an error response: empty msg, error text, content_length 0",
			encode: func() []byte {
				r := Response{InvocationID: hyphenID, Error: "invocation claims signature invalid"}
				return r.AppendMsgpack(nil)
			},
		},
		{
			name:  "response_claims",
			about: "a successful response carrying our response_claims extension and an instance id",
			encode: func() []byte {
				r := Response{
					Msg:           []byte("hello"),
					InvocationID:  hyphenID,
					ContentLength: 5,
					InstanceID:    "9f1e2d3c-4b5a-4968-8776-655443322110",
					Claims:        dummyToken,
				}
				return r.AppendMsgpack(nil)
			},
		},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden") }

// formatGolden renders a golden file: comment lines, then a hex dump.
func formatGolden(c goldenCase, b []byte) string {
	return "# " + c.about + "\n# Regenerate with: go test ./internal/wire -run TestGolden -update\n" + hex.Dump(b)
}

// parseGolden turns a golden file back into bytes, reading the hex column of each dump line.
func parseGolden(tb testing.TB, text string) []byte {
	tb.Helper()
	var out []byte
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bar := strings.IndexByte(line, '|')
		if len(line) < 10 || bar < 10 {
			tb.Fatalf("malformed golden line %q", line)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(line[10:bar]), " ", ""))
		if err != nil {
			tb.Fatalf("malformed golden line %q: %v", line, err)
		}
		out = append(out, b...)
	}
	return out
}

func readGolden(tb testing.TB, name string) []byte {
	tb.Helper()
	text, err := os.ReadFile(goldenPath(name))
	if err != nil {
		tb.Fatalf("read golden file: %v", err)
	}
	return parseGolden(tb, string(text))
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got := c.encode()
			want := formatGolden(c, got)
			if *update {
				if err := os.WriteFile(goldenPath(c.name), []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			file, err := os.ReadFile(goldenPath(c.name))
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if string(file) != want {
				t.Errorf("encoding differs from %s:\ngot:\n%s\nwant:\n%s", goldenPath(c.name), want, file)
			}
			if !bytes.Equal(parseGolden(t, string(file)), got) {
				t.Errorf("parseGolden(%s) does not give back the encoded bytes", goldenPath(c.name))
			}
		})
	}
}

// TestGoldenPrefix pins the start of the invocation encoding against the layout in the protocol
// notes, written out by hand: a fixmap of 8, then origin as a 3-entry entity map in the Rust key
// order with the 56-character key as str8.
func TestGoldenPrefix(t *testing.T) {
	got := readGolden(t, "invocation")
	want := "88" + "a6" + hex.EncodeToString([]byte("origin")) +
		"83" + "aa" + hex.EncodeToString([]byte("public_key")) + "d938" + hex.EncodeToString([]byte(actorKey)) +
		"a9" + hex.EncodeToString([]byte("link_name")) + "a0" +
		"ab" + hex.EncodeToString([]byte("contract_id")) + "a0"
	if !strings.HasPrefix(hex.EncodeToString(got), want) {
		t.Fatalf("invocation.golden starts %x, want %s", got[:len(want)/2], want)
	}
	// msg is a 5-byte bin and content_length a positive fixint.
	msg := "a3" + hex.EncodeToString([]byte("msg")) + "c405" + hex.EncodeToString([]byte("hello"))
	if !strings.Contains(hex.EncodeToString(got), msg) {
		t.Errorf("invocation.golden lacks msg as bin %s", msg)
	}
	if !strings.HasSuffix(hex.EncodeToString(got), "ae"+hex.EncodeToString([]byte("content_length"))+"05") {
		t.Errorf("invocation.golden does not end with content_length 5 as a fixint")
	}
	chunked := hex.EncodeToString(readGolden(t, "invocation_chunked"))
	if !strings.Contains(chunked, msg[:8]+"c400") || !strings.HasSuffix(chunked, "ce00100000") {
		t.Errorf("invocation_chunked.golden lacks c4 00 for msg or ce 00100000 for content_length")
	}
}

// TestKeyConstants checks the pre-encoded keys against msgp's own string encoding.
func TestKeyConstants(t *testing.T) {
	keys := map[string]string{
		keyOrigin: "origin", keyTarget: "target", keyOperation: "operation", keyMsg: "msg", keyID: "id",
		keyEncodedClaims: "encoded_claims", keyHostID: "host_id", keyContentLength: "content_length",
		keyTraceContext: "traceContext", keyPublicKey: "public_key", keyLinkName: "link_name",
		keyContractID: "contract_id", keyInvocationID: "invocation_id", keyError: "error",
		keyInstanceID: "instance_id", keyResponseClaims: "response_claims",
	}
	for encoded, name := range keys {
		want := append([]byte{0xa0 | byte(len(name))}, name...)
		require.Equal(t, "encoded key "+name, encoded, string(want))
	}
}
