package wire

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// validInvocation returns the entries of a valid invocation in the Rust key order.
func validInvocation() []kv {
	return []kv{
		{"origin", rustEntity(actorEntity)},
		{"target", rustEntity(providerEntity)},
		{"operation", str(operation)},
		{"msg", bin([]byte("hello"))},
		{"id", str(hyphenID)},
		{"encoded_claims", str(dummyToken)},
		{"host_id", str(hostKey)},
		{"content_length", uintv(5)},
	}
}

func validResponse() []kv {
	return []kv{
		{"msg", bin([]byte("hello"))},
		{"invocation_id", str(hyphenID)},
		{"content_length", uintv(5)},
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

// bigTrace is a traceContext map with n entries.
func bigTrace(n int) []byte {
	var kvs []string
	for i := range n {
		kvs = append(kvs, "k"+strconv.Itoa(i), "v")
	}
	return strMap(kvs...)
}

func TestDecodeRefusals(t *testing.T) {
	inv, resp := validInvocation(), validResponse()
	tests := []struct {
		name      string
		response  bool
		input     []byte
		want      error
		wantField string
	}{
		// Not a map at the top level.
		{name: "top level array", input: raw("9101"), want: ErrNotMap},
		{name: "top level str", input: str("hello"), want: ErrNotMap},
		{name: "top level nil", input: nilv(), want: ErrNotMap},
		{name: "top level int", input: raw("05"), want: ErrNotMap},
		{name: "response top level bin", response: true, input: bin([]byte{1}), want: ErrNotMap},
		{name: "empty input", input: nil, want: ErrTruncated},

		// Missing required fields.
		{name: "missing origin", input: mapOf(without(inv, "origin")...), want: ErrMissingField, wantField: "origin"},
		{name: "missing target", input: mapOf(without(inv, "target")...), want: ErrMissingField, wantField: "target"},
		{name: "missing operation", input: mapOf(without(inv, "operation")...), want: ErrMissingField, wantField: "operation"},
		{name: "missing id", input: mapOf(without(inv, "id")...), want: ErrMissingField, wantField: "id"},
		{name: "missing encoded_claims", input: mapOf(without(inv, "encoded_claims")...), want: ErrMissingField, wantField: "encoded_claims"},
		{name: "missing host_id", input: mapOf(without(inv, "host_id")...), want: ErrMissingField, wantField: "host_id"},
		{name: "empty map", input: raw("80"), want: ErrMissingField, wantField: "origin"},
		{
			name:  "missing origin.public_key",
			input: mapOf(replaced(inv, "origin", mapOf(kv{"contract_id", str("")}, kv{"link_name", str("")}))...),
			want:  ErrMissingField, wantField: "origin.public_key",
		},
		{name: "response missing invocation_id", response: true, input: mapOf(without(resp, "invocation_id")...), want: ErrMissingField, wantField: "invocation_id"},

		// Wrong types.
		{name: "msg array", input: mapOf(replaced(inv, "msg", raw("9101"))...), want: ErrWrongType, wantField: "msg"},
		{name: "msg empty array in an invocation", input: mapOf(replaced(inv, "msg", raw("90"))...), want: ErrWrongType, wantField: "msg"},
		{name: "msg nil in an invocation", input: mapOf(replaced(inv, "msg", nilv())...), want: ErrWrongType, wantField: "msg"},
		{name: "msg int", input: mapOf(replaced(inv, "msg", raw("01"))...), want: ErrWrongType, wantField: "msg"},
		{name: "operation int", input: mapOf(replaced(inv, "operation", raw("01"))...), want: ErrWrongType, wantField: "operation"},
		{name: "operation nil", input: mapOf(replaced(inv, "operation", nilv())...), want: ErrWrongType, wantField: "operation"},
		{name: "id bin", input: mapOf(replaced(inv, "id", bin([]byte(hyphenID)))...), want: ErrWrongType, wantField: "id"},
		{name: "host_id bool", input: mapOf(replaced(inv, "host_id", raw("c3"))...), want: ErrWrongType, wantField: "host_id"},
		{name: "encoded_claims array", input: mapOf(replaced(inv, "encoded_claims", raw("90"))...), want: ErrWrongType, wantField: "encoded_claims"},
		{name: "origin str", input: mapOf(replaced(inv, "origin", str(actorKey))...), want: ErrWrongType, wantField: "origin"},
		{
			name:  "target.contract_id int",
			input: mapOf(replaced(inv, "target", mapOf(kv{"public_key", str(providerKey)}, kv{"contract_id", raw("07")}))...),
			want:  ErrWrongType, wantField: "target.contract_id",
		},
		{
			name:  "origin.public_key nil",
			input: mapOf(replaced(inv, "origin", mapOf(kv{"public_key", nilv()}))...),
			want:  ErrWrongType, wantField: "origin.public_key",
		},
		{
			name:  "entity key not a str",
			input: mapOf(replaced(inv, "origin", raw("81"+"01"+"a0"))...),
			want:  ErrWrongType, wantField: "origin",
		},
		{name: "content_length str", input: mapOf(replaced(inv, "content_length", str("5"))...), want: ErrWrongType, wantField: "content_length"},
		{name: "content_length float", input: mapOf(replaced(inv, "content_length", raw("cb4014000000000000"))...), want: ErrWrongType, wantField: "content_length"},
		{name: "traceContext array", input: mapOf(plus(inv, kv{"traceContext", raw("90")})...), want: ErrWrongType, wantField: "traceContext"},
		{name: "traceContext value int", input: mapOf(plus(inv, kv{"traceContext", mapOf(kv{"traceparent", raw("01")})})...), want: ErrWrongType, wantField: "traceContext.traceparent"},
		{name: "traceContext value nil", input: mapOf(plus(inv, kv{"traceContext", mapOf(kv{"traceparent", nilv()})})...), want: ErrWrongType, wantField: "traceContext.traceparent"},
		{name: "traceContext key int", input: mapOf(plus(inv, kv{"traceContext", raw("81" + "01" + "a0")})...), want: ErrWrongType, wantField: "traceContext"},
		{name: "top-level key int", input: append(raw("89"+"01"+"a0"), mapOf(inv...)[1:]...), want: ErrWrongType, wantField: ""},
		{name: "top-level key bin", input: append(append(raw("89"), bin([]byte("msg"))...), append(bin(nil), mapOf(inv...)[1:]...)...), want: ErrWrongType, wantField: ""},
		{name: "response msg non-empty array", response: true, input: mapOf(replaced(resp, "msg", raw("9101"))...), want: ErrWrongType, wantField: "msg"},
		{name: "response msg map", response: true, input: mapOf(replaced(resp, "msg", raw("80"))...), want: ErrWrongType, wantField: "msg"},
		{name: "response invocation_id nil", response: true, input: mapOf(replaced(resp, "invocation_id", nilv())...), want: ErrWrongType, wantField: "invocation_id"},
		{name: "response error int", response: true, input: mapOf(plus(resp, kv{"error", raw("01")})...), want: ErrWrongType, wantField: "error"},
		{name: "response instance_id map", response: true, input: mapOf(plus(resp, kv{"instance_id", raw("80")})...), want: ErrWrongType, wantField: "instance_id"},
		{name: "response response_claims bin", response: true, input: mapOf(plus(resp, kv{"response_claims", bin([]byte("t"))})...), want: ErrWrongType, wantField: "response_claims"},

		// Duplicate keys.
		{name: "duplicate msg", input: mapOf(plus(inv, kv{"msg", str("other")})...), want: ErrDuplicateKey, wantField: "msg"},
		{name: "duplicate id", input: mapOf(plus(inv, kv{"id", str(simpleID)})...), want: ErrDuplicateKey, wantField: "id"},
		{name: "duplicate origin", input: mapOf(plus(inv, kv{"origin", rustEntity(providerEntity)})...), want: ErrDuplicateKey, wantField: "origin"},
		{name: "duplicate content_length", input: mapOf(plus(inv, kv{"content_length", uintv(6)})...), want: ErrDuplicateKey, wantField: "content_length"},
		{name: "duplicate traceContext", input: mapOf(plus(inv, kv{"traceContext", strMap()}, kv{"traceContext", strMap()})...), want: ErrDuplicateKey, wantField: "traceContext"},
		{
			name:  "duplicate origin.public_key",
			input: mapOf(replaced(inv, "origin", mapOf(kv{"public_key", str(actorKey)}, kv{"public_key", str("MOTHER")}))...),
			want:  ErrDuplicateKey, wantField: "origin.public_key",
		},
		{
			name:  "duplicate target.link_name",
			input: mapOf(replaced(inv, "target", mapOf(kv{"public_key", str(providerKey)}, kv{"link_name", str("a")}, kv{"link_name", str("b")}))...),
			want:  ErrDuplicateKey, wantField: "target.link_name",
		},
		{name: "duplicate traceContext key", input: mapOf(plus(inv, kv{"traceContext", strMap("a", "1", "a", "2")})...), want: ErrDuplicateKey, wantField: "traceContext.a"},
		{name: "response duplicate invocation_id", response: true, input: mapOf(plus(resp, kv{"invocation_id", str(simpleID)})...), want: ErrDuplicateKey, wantField: "invocation_id"},
		{name: "response duplicate msg", response: true, input: mapOf(plus(resp, kv{"msg", raw("90")})...), want: ErrDuplicateKey, wantField: "msg"},
		{name: "response duplicate error", response: true, input: mapOf(plus(resp, kv{"error", nilv()}, kv{"error", str("x")})...), want: ErrDuplicateKey, wantField: "error"},
		{name: "response duplicate response_claims", response: true, input: mapOf(plus(resp, kv{"response_claims", str("a")}, kv{"response_claims", str("b")})...), want: ErrDuplicateKey, wantField: "response_claims"},

		// Trailing bytes.
		{name: "one trailing byte", input: append(mapOf(inv...), 0x00), want: ErrTrailingBytes},
		{name: "a second map", input: append(mapOf(inv...), mapOf(inv...)...), want: ErrTrailingBytes},
		{name: "response trailing nil", response: true, input: append(mapOf(resp...), 0xc0), want: ErrTrailingBytes},

		// traceContext size.
		{name: "traceContext 65 entries", input: mapOf(plus(inv, kv{"traceContext", bigTrace(65)})...), want: ErrTooManyTraceEntries, wantField: "traceContext"},
		{name: "traceContext header claims 4 billion", input: mapOf(plus(inv, kv{"traceContext", raw("dfffffffff")})...), want: ErrTooManyTraceEntries, wantField: "traceContext"},
		{name: "response traceContext 65 entries", response: true, input: mapOf(plus(resp, kv{"traceContext", bigTrace(65)})...), want: ErrTooManyTraceEntries, wantField: "traceContext"},

		// Negative content_length.
		{name: "content_length negative fixint", input: mapOf(replaced(inv, "content_length", raw("ff"))...), want: ErrNegativeLength, wantField: "content_length"},
		{name: "content_length int8 -1", input: mapOf(replaced(inv, "content_length", raw("d0ff"))...), want: ErrNegativeLength, wantField: "content_length"},
		{name: "content_length int64 min", input: mapOf(replaced(inv, "content_length", raw("d38000000000000000"))...), want: ErrNegativeLength, wantField: "content_length"},
		{name: "response content_length int16 negative", response: true, input: mapOf(replaced(resp, "content_length", raw("d1fffe"))...), want: ErrNegativeLength, wantField: "content_length"},

		// Malformed and truncated.
		{name: "unused prefix byte in an unknown value", input: mapOf(plus(inv, kv{"x", raw("c1")})...), want: ErrMalformed, wantField: "x"},
		{name: "unused prefix byte nested in an unknown value", input: mapOf(plus(inv, kv{"x", raw("9201c1")})...), want: ErrMalformed, wantField: "x"},
		{name: "unused prefix byte as msg", input: mapOf(replaced(inv, "msg", raw("c1"))...), want: ErrMalformed, wantField: "msg"},
		{name: "unused prefix byte as key", input: append(raw("89c1"), mapOf(inv...)[1:]...), want: ErrMalformed},
		{name: "top level unused prefix byte", input: raw("c1"), want: ErrMalformed},
		{name: "map header claims more entries than present", input: append(raw("de0100"), mapOf(inv...)[1:]...), want: ErrTruncated},
		{name: "unknown array header claims 4 billion", input: mapOf(plus(inv, kv{"x", raw("ddffffffff01")})...), want: ErrTruncated, wantField: "x"},
		{name: "unknown nested arrays end early", input: mapOf(plus(inv, kv{"x", raw("919191")})...), want: ErrTruncated, wantField: "x"},
		{name: "bin length past the end", input: mapOf(replaced(inv, "msg", raw("c5ffff00"))...), want: ErrTruncated, wantField: "msg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.response {
				var r Response
				err = r.UnmarshalMsgpack(tt.input)
			} else {
				var inv Invocation
				err = inv.UnmarshalMsgpack(tt.input)
			}
			require.ErrorIs(t, err, tt.want)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v does not wrap a *DecodeError", err)
			}
			require.Equal(t, "DecodeError.Field", de.Field, tt.wantField)
		})
	}
}

func TestDecodeErrorMessages(t *testing.T) {
	inv := validInvocation()
	tests := []struct {
		name     string
		response bool
		input    []byte
		want     string
	}{
		{
			name:  "msg array",
			input: mapOf(replaced(inv, "msg", raw("9101"))...),
			want:  `wire: decode invocation: field "msg": want bin or str, got array`,
		},
		{
			name:  "missing host_id",
			input: mapOf(without(inv, "host_id")...),
			want:  `wire: decode invocation: field "host_id": missing required field`,
		},
		{
			name:  "duplicate nested key",
			input: mapOf(replaced(inv, "origin", mapOf(kv{"public_key", str("M1")}, kv{"public_key", str("M2")}))...),
			want:  `wire: decode invocation: field "origin.public_key": duplicate key`,
		},
		{
			name:  "top level",
			input: raw("90"),
			want:  `wire: decode invocation: top level is array, want map`,
		},
		{
			name:  "trailing",
			input: append(mapOf(inv...), 1, 2),
			want:  `wire: decode invocation: 2 trailing bytes after the top-level map`,
		},
		{
			name:     "response msg",
			response: true,
			input:    mapOf(kv{"msg", raw("9101")}, kv{"invocation_id", str("x")}),
			want:     `wire: decode response: field "msg": want bin, str, nil or empty array, got array of 1`,
		},
		{
			name:     "response negative length",
			response: true,
			input:    mapOf(kv{"invocation_id", str("x")}, kv{"content_length", raw("ff")}),
			want:     `wire: decode response: field "content_length": negative content_length -1`,
		},
		{
			name:  "too many trace entries",
			input: mapOf(plus(inv, kv{"traceContext", bigTrace(65)})...),
			want:  `wire: decode invocation: field "traceContext": 65 traceContext entries, at most 64 allowed`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.response {
				var r Response
				err = r.UnmarshalMsgpack(tt.input)
			} else {
				var v Invocation
				err = v.UnmarshalMsgpack(tt.input)
			}
			if err == nil {
				t.Fatal("decode succeeded, want an error")
			}
			require.Equal(t, "error", err.Error(), tt.want)
		})
	}
}

// TestTraceContextLimit accepts exactly MaxTraceEntries entries.
func TestTraceContextLimit(t *testing.T) {
	got := decodeInvocation(t, mapOf(plus(validInvocation(), kv{"traceContext", bigTrace(MaxTraceEntries)})...))
	require.Equal(t, "len(TraceContext)", len(got.TraceContext), MaxTraceEntries)
	require.Equal(t, "TraceContext[k63]", got.TraceContext["k63"], "v")
}

// TestDecodeTruncated cuts valid encodings at every length: each strict prefix is refused as
// truncated, and the value decoded into is left unchanged.
func TestDecodeTruncated(t *testing.T) {
	inputs := map[string][]byte{
		"invocation":       readGolden(t, "invocation"),
		"invocation_trace": readGolden(t, "invocation_trace"),
		"otp invocation":   peerInvocations()[0].input,
		"response":         readGolden(t, "response_claims"),
		"otp response":     peerResponses()[2].input,
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			isResponse := name == "response" || name == "otp response"
			for n := range len(b) {
				var err error
				if isResponse {
					r := Response{InvocationID: "unchanged"}
					err = r.UnmarshalMsgpack(b[:n])
					require.Equal(t, "InvocationID after a failed decode", r.InvocationID, "unchanged")
				} else {
					inv := Invocation{ID: "unchanged"}
					err = inv.UnmarshalMsgpack(b[:n])
					require.Equal(t, "ID after a failed decode", inv.ID, "unchanged")
				}
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("prefix of %d/%d bytes: error = %v, want ErrTruncated", n, len(b), err)
				}
			}
		})
	}
}

// TestDeepNestingInUnknownValue skips a deeply nested unknown value without recursion.
func TestDeepNestingInUnknownValue(t *testing.T) {
	const depth = 200_000
	nested := make([]byte, 0, depth+1)
	for range depth {
		nested = append(nested, 0x91) // array of one
	}
	nested = append(nested, 0x01)
	got := decodeInvocation(t, mapOf(plus(validInvocation(), kv{"x", nested})...))
	require.Equal(t, "ID", got.ID, hyphenID)
}
