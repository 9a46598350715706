package contract

import (
	"slices"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Decoder entry points as plain functions, for tables.
func decodeRequest(b []byte) error  { var v HTTPRequest; return v.UnmarshalMsgpack(b) }
func decodeResponse(b []byte) error { var v HTTPResponse; return v.UnmarshalMsgpack(b) }
func decodeIncrement(b []byte) error {
	var v IncrementRequest
	return v.UnmarshalMsgpack(b)
}
func decodeSet(b []byte) error          { var v SetRequest; return v.UnmarshalMsgpack(b) }
func decodeGet(b []byte) error          { var v GetResponse; return v.UnmarshalMsgpack(b) }
func decodePub(b []byte) error          { var v PubMessage; return v.UnmarshalMsgpack(b) }
func decodeRequestMsg(b []byte) error   { var v RequestMessage; return v.UnmarshalMsgpack(b) }
func decodeStringList(b []byte) error   { var v StringList; return v.UnmarshalMsgpack(b) }
func decodeListRange(b []byte) error    { var v ListRangeRequest; return v.UnmarshalMsgpack(b) }
func decodeListAdd(b []byte) error      { var v ListAddRequest; return v.UnmarshalMsgpack(b) }
func decodeRangeLimit(b []byte) error   { var v RangeLimit; return v.UnmarshalMsgpack(b) }
func decodeLogEntry(b []byte) error     { var v LogEntry; return v.UnmarshalMsgpack(b) }
func decodeScalarString(b []byte) error { _, err := UnmarshalString(b); return err }
func decodeScalarU32(b []byte) error    { _, err := UnmarshalU32(b); return err }
func decodeScalarI32(b []byte) error    { _, err := UnmarshalI32(b); return err }
func decodeScalarBool(b []byte) error   { _, err := UnmarshalBool(b); return err }

// validRequest returns the entries of a valid HttpRequest in Smithy order.
func validRequest() []kv {
	return []kv{
		{"method", str("GET")},
		{"path", str("/")},
		{"queryString", str("")},
		{"header", mapOf()},
		{"body", bin([]byte("hello"))},
	}
}

func validResponse() []kv {
	return []kv{
		{"statusCode", raw("ccc8")},
		{"header", mapOf()},
		{"body", bin(nil)},
	}
}

func without(entries []kv, key string) []kv {
	return slices.DeleteFunc(slices.Clone(entries), func(e kv) bool { return e.key == key })
}

func replaced(entries []kv, key string, val []byte) []kv {
	out := slices.Clone(entries)
	for i := range out {
		if out[i].key == key {
			out[i].val = val
		}
	}
	return out
}

func plus(entries []kv, extra ...kv) []kv { return append(slices.Clone(entries), extra...) }

func TestDecodeRefusals(t *testing.T) {
	req, resp := validRequest(), validResponse()
	tests := []struct {
		name   string
		decode func([]byte) error
		input  []byte
		want   error
		field  string
	}{
		// The top level.
		{name: "request top level array", decode: decodeRequest, input: raw("9101"), want: ErrNotMap},
		{name: "request top level nil", decode: decodeRequest, input: nilv(), want: ErrNotMap},
		{name: "response top level str", decode: decodeResponse, input: str("x"), want: ErrNotMap},
		{name: "increment top level int", decode: decodeIncrement, input: raw("01"), want: ErrNotMap},
		{name: "pub empty input", decode: decodePub, input: nil, want: ErrTruncated},
		{name: "get invalid prefix byte", decode: decodeGet, input: raw("c1"), want: ErrMalformed},
		{name: "request trailing bytes", decode: decodeRequest, input: append(mapOf(req...), 0xc0), want: ErrTrailingBytes},
		{name: "range limit trailing bytes", decode: decodeRangeLimit, input: append(mapOf(), 0x00), want: ErrTrailingBytes},
		{name: "map shorter than its header", decode: decodeLogEntry, input: append(raw("82"), append(str("level"), str("info")...)...), want: ErrTruncated},

		// Required fields.
		{name: "request without header", decode: decodeRequest, input: mapOf(without(req, "header")...), want: ErrMissingField, field: "header"},
		{name: "response without header", decode: decodeResponse, input: mapOf(without(resp, "header")...), want: ErrMissingField, field: "header"},
		{name: "request message without timeoutMs", decode: decodeRequestMsg, input: mapOf(kv{"subject", str("a")}, kv{"body", bin(nil)}), want: ErrMissingField, field: "timeoutMs"},

		// Duplicates.
		{name: "duplicate method", decode: decodeRequest, input: mapOf(plus(req, kv{"method", str("POST")})...), want: ErrDuplicateKey, field: "method"},
		{name: "duplicate header", decode: decodeResponse, input: mapOf(plus(resp, kv{"header", mapOf()})...), want: ErrDuplicateKey, field: "header"},
		{name: "duplicate header name", decode: decodeRequest, input: mapOf(replaced(req, "header", mapOf(kv{"Accept", arrOf(str("a"))}, kv{"Accept", arrOf(str("b"))}))...), want: ErrDuplicateKey, field: "header.Accept"},
		{name: "duplicate value", decode: decodeIncrement, input: mapOf(kv{"value", raw("01")}, kv{"key", str("k")}, kv{"value", raw("02")}), want: ErrDuplicateKey, field: "value"},
		{name: "duplicate replyTo", decode: decodePub, input: mapOf(kv{"replyTo", nilv()}, kv{"replyTo", str("x")}), want: ErrDuplicateKey, field: "replyTo"},
		{name: "duplicate listName", decode: decodeListAdd, input: mapOf(kv{"listName", str("a")}, kv{"listName", str("a")}), want: ErrDuplicateKey, field: "listName"},

		// Wrong types.
		{name: "method as bin", decode: decodeRequest, input: mapOf(replaced(req, "method", bin([]byte("GET")))...), want: ErrWrongType, field: "method"},
		{name: "path nil", decode: decodeRequest, input: mapOf(replaced(req, "path", nilv())...), want: ErrWrongType, field: "path"},
		{name: "body int", decode: decodeRequest, input: mapOf(replaced(req, "body", raw("05"))...), want: ErrWrongType, field: "body"},
		{name: "body nil", decode: decodeResponse, input: mapOf(replaced(resp, "body", nilv())...), want: ErrWrongType, field: "body"},
		{name: "body array of bytes", decode: decodePub, input: mapOf(kv{"body", arrOf(raw("01"), raw("02"))}), want: ErrWrongType, field: "body"},
		{name: "header nil", decode: decodeRequest, input: mapOf(replaced(req, "header", nilv())...), want: ErrWrongType, field: "header"},
		{name: "header value a bare str", decode: decodeRequest, input: mapOf(replaced(req, "header", mapOf(kv{"Accept", str("a")}))...), want: ErrWrongType, field: "header.Accept"},
		{name: "header value list holds an int", decode: decodeResponse, input: mapOf(replaced(resp, "header", mapOf(kv{"X-N", arrOf(str("1"), raw("02"))}))...), want: ErrWrongType, field: "header.X-N[1]"},
		{name: "header name int", decode: decodeResponse, input: mapOf(replaced(resp, "header", raw("81"+"01"+"90"))...), want: ErrWrongType, field: "header"},
		{name: "statusCode str", decode: decodeResponse, input: mapOf(replaced(resp, "statusCode", str("200"))...), want: ErrWrongType, field: "statusCode"},
		{name: "statusCode float", decode: decodeResponse, input: mapOf(replaced(resp, "statusCode", raw("cb4069000000000000"))...), want: ErrWrongType, field: "statusCode"},
		{name: "exists int", decode: decodeGet, input: mapOf(kv{"exists", raw("01")}), want: ErrWrongType, field: "exists"},
		{name: "value nil", decode: decodeGet, input: mapOf(kv{"value", nilv()}), want: ErrWrongType, field: "value"},
		{name: "replyTo int", decode: decodePub, input: mapOf(kv{"replyTo", raw("07")}), want: ErrWrongType, field: "replyTo"},
		{name: "key not a str", decode: decodeSet, input: raw("81" + "01" + "a0"), want: ErrWrongType},
		{name: "string list nil", decode: decodeStringList, input: nilv(), want: ErrWrongType},
		{name: "string list map", decode: decodeStringList, input: mapOf(), want: ErrWrongType},
		{name: "string list item int", decode: decodeStringList, input: arrOf(str("a"), raw("01")), want: ErrWrongType, field: "[1]"},
		{name: "string list item nil", decode: decodeStringList, input: arrOf(nilv()), want: ErrWrongType, field: "[0]"},

		// Integers out of range.
		{name: "statusCode 65536", decode: decodeResponse, input: mapOf(replaced(resp, "statusCode", raw("ce00010000"))...), want: ErrOutOfRange, field: "statusCode"},
		{name: "statusCode -1", decode: decodeResponse, input: mapOf(replaced(resp, "statusCode", raw("ff"))...), want: ErrOutOfRange, field: "statusCode"},
		{name: "increment 2^31", decode: decodeIncrement, input: mapOf(kv{"value", raw("ce80000000")}), want: ErrOutOfRange, field: "value"},
		{name: "increment -2^31-1", decode: decodeIncrement, input: mapOf(kv{"value", raw("d3ffffffff7fffffff")}), want: ErrOutOfRange, field: "value"},
		{name: "increment uint64 max", decode: decodeIncrement, input: mapOf(kv{"value", raw("cfffffffffffffffff")}), want: ErrOutOfRange, field: "value"},
		{name: "expires negative", decode: decodeSet, input: mapOf(kv{"expires", raw("d0c0")}), want: ErrOutOfRange, field: "expires"},
		{name: "expires 2^32", decode: decodeSet, input: mapOf(kv{"expires", raw("cf0000000100000000")}), want: ErrOutOfRange, field: "expires"},
		{name: "start 2^40", decode: decodeListRange, input: mapOf(kv{"start", raw("d30000010000000000")}), want: ErrOutOfRange, field: "start"},
		{name: "timeoutMs negative", decode: decodeRequestMsg, input: mapOf(kv{"timeoutMs", raw("e0")}), want: ErrOutOfRange, field: "timeoutMs"},

		// Truncation and malformed values.
		{name: "method cut short", decode: decodeRequest, input: raw("81a66d6574686f64a5474554"), want: ErrTruncated, field: "method"},
		{name: "body bin length past the end", decode: decodePub, input: raw("81a4626f6479c40a0102"), want: ErrTruncated, field: "body"},
		{name: "statusCode uint16 cut short", decode: decodeResponse, input: raw("81aa737461747573436f6465cd00"), want: ErrTruncated, field: "statusCode"},
		{name: "header value list past the end", decode: decodeRequest, input: mapOf(kv{"header", raw("81a1" + "61" + "dd7fffffff")}), want: ErrTruncated, field: "header.a[0]"},
		{name: "unknown key with a lying nested array", decode: decodeGet, input: mapOf(kv{"x", raw("dd7fffffff")}), want: ErrTruncated, field: "x"},
		{name: "unknown key with an invalid byte", decode: decodeGet, input: mapOf(kv{"x", raw("91c1")}), want: ErrMalformed, field: "x"},
		{name: "string list with a lying header", decode: decodeStringList, input: raw("dd7fffffff" + "a0"), want: ErrTruncated},
		{name: "header map with a lying header", decode: decodeResponse, input: mapOf(kv{"header", raw("df7fffffff")}), want: ErrTruncated, field: "header"},

		// Scalar payloads.
		{name: "string payload int", decode: decodeScalarString, input: raw("01"), want: ErrWrongType},
		{name: "string payload bin", decode: decodeScalarString, input: bin([]byte("k")), want: ErrWrongType},
		{name: "string payload trailing", decode: decodeScalarString, input: append(str("k"), 0xc0), want: ErrTrailingBytes},
		{name: "string payload empty", decode: decodeScalarString, input: nil, want: ErrTruncated},
		{name: "u32 payload negative", decode: decodeScalarU32, input: raw("ff"), want: ErrOutOfRange},
		{name: "u32 payload 2^32", decode: decodeScalarU32, input: raw("cf0000000100000000"), want: ErrOutOfRange},
		{name: "u32 payload bool", decode: decodeScalarU32, input: boolv(true), want: ErrWrongType},
		{name: "i32 payload 2^31", decode: decodeScalarI32, input: raw("ce80000000"), want: ErrOutOfRange},
		{name: "i32 payload str", decode: decodeScalarI32, input: str("42"), want: ErrWrongType},
		{name: "i32 payload trailing", decode: decodeScalarI32, input: raw("2a2a"), want: ErrTrailingBytes},
		{name: "bool payload nil", decode: decodeScalarBool, input: nilv(), want: ErrWrongType},
		{name: "bool payload int", decode: decodeScalarBool, input: raw("01"), want: ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertDecodeError(t, tt.decode(tt.input), tt.want, tt.field)
		})
	}
}

// TestDecodeErrorMessages pins the text of a few errors: the type, the field and what was wrong.
func TestDecodeErrorMessages(t *testing.T) {
	resp := validResponse()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "out of range",
			err:  decodeResponse(mapOf(replaced(resp, "statusCode", raw("ce00010000"))...)),
			want: `contract: decode HttpResponse: field "statusCode": 65536 is above 65535`,
		},
		{
			name: "wrong type in a header",
			err:  decodeResponse(mapOf(replaced(resp, "header", mapOf(kv{"X-N", arrOf(str("1"), raw("02"))}))...)),
			want: `contract: decode HttpResponse: field "header.X-N[1]": want str, got int`,
		},
		{
			name: "missing",
			err:  decodeRequest(mapOf(without(validRequest(), "header")...)),
			want: `contract: decode HttpRequest: field "header": missing required field`,
		},
		{
			name: "not a map",
			err:  decodeIncrement(raw("01")),
			want: `contract: decode IncrementRequest: top level is int, want map`,
		},
		{
			name: "scalar",
			err:  decodeScalarI32(raw("ce80000000")),
			want: `contract: decode i32: 2147483648 does not fit an i32`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
			require.Equal(t, "error", tt.err.Error(), tt.want)
		})
	}
}

// TestDecodeLeavesValueOnError checks that a refused input does not change the destination.
func TestDecodeLeavesValueOnError(t *testing.T) {
	r := HTTPRequest{Method: "GET", Path: "/keep"}
	bad := mapOf(kv{"method", str("POST")}, kv{"path", raw("01")}, kv{"header", mapOf()})
	if err := r.UnmarshalMsgpack(bad); err == nil {
		t.Fatal("no error")
	}
	require.Equal(t, "Method", r.Method, "GET")
	require.Equal(t, "Path", r.Path, "/keep")

	l := StringList{"keep"}
	if err := l.UnmarshalMsgpack(arrOf(str("a"), raw("01"))); err == nil {
		t.Fatal("no error")
	}
	assertDeepEqual(t, "list", l, StringList{"keep"})
}
