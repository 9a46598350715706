package contract

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

// goldenCase is one pinned encoding: testdata/<name>.golden holds a hex dump of value's encoding.
// fresh returns an empty value of the same type, for the decoders and the fuzz targets.
type goldenCase struct {
	name  string
	about string
	value codec
	fresh func() codec
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:  "http_request",
			about: "HttpRequest with two header names (written sorted), a two-value header and a bin body",
			value: &HTTPRequest{
				Method: "PUT", Path: "/counter/a b", QueryString: "x=1&y=%20",
				Header: map[string][]string{"User-Agent": {"curl/8.5.0"}, "Accept": {"text/plain", "application/json"}},
				Body:   []byte(`{"n":1}`),
			},
			fresh: func() codec { return new(HTTPRequest) },
		},
		{
			name:  "http_request_empty",
			about: "HttpRequest with every field empty: the header is still written, as an empty map",
			value: &HTTPRequest{},
			fresh: func() codec { return new(HTTPRequest) },
		},
		{
			name:  "http_response",
			about: "HttpResponse 404 (uint16 form) with a Content-Type header",
			value: &HTTPResponse{StatusCode: 404, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("not found")},
			fresh: func() codec { return new(HTTPResponse) },
		},
		{
			name:  "get_response",
			about: "GetResponse for an existing key",
			value: &GetResponse{Value: "42", Exists: true},
			fresh: func() codec { return new(GetResponse) },
		},
		{
			name:  "set_request",
			about: "SetRequest with a 3600 s expiry (uint16 form)",
			value: &SetRequest{Key: "session:1", Value: "alice", Expires: 3600},
			fresh: func() codec { return new(SetRequest) },
		},
		{
			name:  "increment_request",
			about: "IncrementRequest with a negative value (int8 form)",
			value: &IncrementRequest{Key: "counter::", Value: -100},
			fresh: func() codec { return new(IncrementRequest) },
		},
		{
			name:  "list_add_request",
			about: "ListAddRequest",
			value: &ListAddRequest{ListName: "queue", Value: "job-1"},
			fresh: func() codec { return new(ListAddRequest) },
		},
		{
			name:  "list_del_request",
			about: "ListDelRequest",
			value: &ListDelRequest{ListName: "queue", Value: "job-1"},
			fresh: func() codec { return new(ListDelRequest) },
		},
		{
			name:  "list_range_request",
			about: "ListRangeRequest from 0 to -1 (the whole list)",
			value: &ListRangeRequest{ListName: "queue", Start: 0, Stop: -1},
			fresh: func() codec { return new(ListRangeRequest) },
		},
		{
			name:  "set_add_request",
			about: "SetAddRequest",
			value: &SetAddRequest{SetName: "tags", Value: "blue"},
			fresh: func() codec { return new(SetAddRequest) },
		},
		{
			name:  "set_del_request",
			about: "SetDelRequest",
			value: &SetDelRequest{SetName: "tags", Value: "blue"},
			fresh: func() codec { return new(SetDelRequest) },
		},
		{
			name:  "string_list",
			about: "StringList of three strings, one of them empty",
			value: &StringList{"a", "", "ccc"},
			fresh: func() codec { return new(StringList) },
		},
		{
			name:  "pub_message",
			about: "PubMessage with a replyTo",
			value: &PubMessage{Subject: "orders.new", ReplyTo: "_INBOX.x", Body: []byte("{}")},
			fresh: func() codec { return new(PubMessage) },
		},
		{
			name:  "request_message",
			about: "RequestMessage with a 5000 ms timeout",
			value: &RequestMessage{Subject: "svc.echo", Body: []byte("ping"), TimeoutMs: 5000},
			fresh: func() codec { return new(RequestMessage) },
		},
		{
			name:  "reply_message",
			about: "ReplyMessage without replyTo (the key is left out)",
			value: &ReplyMessage{Subject: "_INBOX.abc.1", Body: []byte("pong")},
			fresh: func() codec { return new(ReplyMessage) },
		},
		{
			name:  "sub_message",
			about: "SubMessage with a replyTo",
			value: &SubMessage{Subject: "orders.new", ReplyTo: "_INBOX.y", Body: []byte("hi")},
			fresh: func() codec { return new(SubMessage) },
		},
		{
			name:  "log_entry",
			about: "LogEntry",
			value: &LogEntry{Level: "info", Text: "hello from an actor"},
			fresh: func() codec { return new(LogEntry) },
		},
		{
			name:  "range_limit",
			about: "RangeLimit 1..4294967295 (uint32 form for max)",
			value: &RangeLimit{Min: 1, Max: 4294967295},
			fresh: func() codec { return new(RangeLimit) },
		},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden") }

// formatGolden renders a golden file: comment lines, then a hex dump.
func formatGolden(c goldenCase, b []byte) string {
	return "# " + c.about + "\n# Regenerate with: go test ./capability/contract -run TestGolden -update\n" + hex.Dump(b)
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

// TestGolden compares every encoding with its golden file and decodes the golden bytes back to the
// value they were made from.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got := c.value.AppendMsgpack(nil)
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
			golden := parseGolden(t, string(file))
			if !bytes.Equal(golden, got) {
				t.Errorf("parseGolden(%s) does not give back the encoded bytes", goldenPath(c.name))
			}
			decoded := c.fresh()
			require.NoError(t, decoded.UnmarshalMsgpack(golden))
			assertDeepEqual(t, "decoded golden", normalize(decoded), normalize(c.value))
		})
	}
}

// normalize maps the empty forms a decoder returns (nil body, nil header) and the ones a test
// writes ({} and []byte{}) to one form, for comparisons.
func normalize(v codec) codec {
	switch m := v.(type) {
	case *HTTPRequest:
		c := *m
		if len(c.Header) == 0 {
			c.Header = nil
		}
		if len(c.Body) == 0 {
			c.Body = nil
		}
		return &c
	case *HTTPClientRequest:
		c := *m
		if len(c.Headers) == 0 {
			c.Headers = nil
		}
		if len(c.Body) == 0 {
			c.Body = nil
		}
		return &c
	case *HTTPResponse:
		c := *m
		if len(c.Header) == 0 {
			c.Header = nil
		}
		if len(c.Body) == 0 {
			c.Body = nil
		}
		return &c
	}
	return v
}

// TestGoldenBytes pins, written out by hand, the parts of the encodings that carry a decision: Smithy
// key order, integers in rmp-serde's forms and sorted header names.
func TestGoldenBytes(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		want   string // hex that must appear in the encoding
	}{
		{"status 404 as uint16", "http_response", "aa" + hex.EncodeToString([]byte("statusCode")) + "cd0194"},
		{"header names sorted", "http_request", "82a6" + hex.EncodeToString([]byte("Accept")) + "92aa" + hex.EncodeToString([]byte("text/plain"))},
		{"empty header map", "http_request_empty", "a6" + hex.EncodeToString([]byte("header")) + "80a4" + hex.EncodeToString([]byte("body")) + "c400"},
		{"negative i32 as int8", "increment_request", "a5" + hex.EncodeToString([]byte("value")) + "d09c"},
		{"-1 as negative fixint", "list_range_request", "a4" + hex.EncodeToString([]byte("stop")) + "ff"},
		{"expires 3600 as uint16", "set_request", "a7" + hex.EncodeToString([]byte("expires")) + "cd0e10"},
		{"u32 max as uint32", "range_limit", "a3" + hex.EncodeToString([]byte("max")) + "ceffffffff"},
		{"replyTo left out", "reply_message", "82a7" + hex.EncodeToString([]byte("subject"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(readGolden(t, tt.golden))
			if !strings.Contains(got, tt.want) {
				t.Errorf("%s.golden = %s, want it to contain %s", tt.golden, got, tt.want)
			}
		})
	}
}

// TestKeyConstants checks the pre-encoded keys against msgp's own string encoding.
func TestKeyConstants(t *testing.T) {
	keys := map[string]string{
		keyMethod: "method", keyPath: "path", keyQueryString: "queryString", keyHeader: "header",
		keyBody: "body", keyStatusCode: "statusCode", keyValue: "value", keyExists: "exists",
		keyKey: "key", keyExpires: "expires", keyListName: "listName", keyStart: "start",
		keyStop: "stop", keySetName: "setName", keySubject: "subject", keyReplyTo: "replyTo",
		keyTimeoutMs: "timeoutMs", keyLevel: "level", keyText: "text", keyMin: "min", keyMax: "max",
	}
	if len(keys) != 21 {
		t.Fatalf("two key constants are equal")
	}
	for encoded, name := range keys {
		require.Equal(t, "encoded key "+name, encoded, string(str(name)))
	}
}
