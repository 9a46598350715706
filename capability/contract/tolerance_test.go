package contract

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestDecodeTolerance decodes inputs that real senders could produce and that differ from what our
// encoders write: other key orders, wider integer and string forms, str for bin, absent optional
// fields and unknown keys.
func TestDecodeTolerance(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		fresh func() codec
		want  codec
	}{
		{
			name: "request: keys reversed, str16 method, str body, unknown keys with nested values",
			input: mapOf(
				kv{"body", str("payload")},
				kv{"x-extra", mapOf(kv{"a", arrOf(mapOf(), nilv(), raw("cb3ff0000000000000"))})},
				kv{"header", mapOf(kv{"Accept", arrOf(str("a"), str("b"))}, kv{"X-Empty", arrOf()})},
				kv{"queryString", str("q=1")},
				kv{"path", str("/p")},
				kv{"method", str16("GET")},
				kv{"trailer", nilv()},
			),
			fresh: func() codec { return new(HTTPRequest) },
			want: &HTTPRequest{
				Method: "GET", Path: "/p", QueryString: "q=1",
				Header: map[string][]string{"Accept": {"a", "b"}, "X-Empty": nil},
				Body:   []byte("payload"),
			},
		},
		{
			name:  "request: only header",
			input: mapOf(kv{"header", mapOf()}),
			fresh: func() codec { return new(HTTPRequest) },
			want:  &HTTPRequest{},
		},
		{
			name:  "response: statusCode as uint16, body as bin32",
			input: mapOf(kv{"header", mapOf()}, kv{"body", bin32([]byte("ok"))}, kv{"statusCode", raw("cd00c8")}),
			fresh: func() codec { return new(HTTPResponse) },
			want:  &HTTPResponse{StatusCode: 200, Body: []byte("ok")},
		},
		{
			name:  "response: statusCode as int64, no body",
			input: mapOf(kv{"statusCode", raw("d300000000000001f4")}, kv{"header", mapOf()}),
			fresh: func() codec { return new(HTTPResponse) },
			want:  &HTTPResponse{StatusCode: 500},
		},
		{
			name:  "response: statusCode as int16, no statusCode is 0",
			input: mapOf(kv{"header", mapOf(kv{"Location", arrOf(str("/x"))})}, kv{"statusCode", raw("d1012e")}),
			fresh: func() codec { return new(HTTPResponse) },
			want:  &HTTPResponse{StatusCode: 302, Header: map[string][]string{"Location": {"/x"}}},
		},
		{
			name:  "increment: value as uint64 and key after value",
			input: mapOf(kv{"value", raw("cf000000007fffffff")}, kv{"key", str("k")}),
			fresh: func() codec { return new(IncrementRequest) },
			want:  &IncrementRequest{Key: "k", Value: 1<<31 - 1},
		},
		{
			name:  "increment: value as int32 minimum",
			input: mapOf(kv{"key", str("k")}, kv{"value", raw("d280000000")}),
			fresh: func() codec { return new(IncrementRequest) },
			want:  &IncrementRequest{Key: "k", Value: -1 << 31},
		},
		{
			name:  "increment: negative fixint, no key",
			input: mapOf(kv{"value", raw("ff")}),
			fresh: func() codec { return new(IncrementRequest) },
			want:  &IncrementRequest{Value: -1},
		},
		{
			name:  "set: expires as int8, no value",
			input: mapOf(kv{"expires", raw("d005")}, kv{"key", str("k")}),
			fresh: func() codec { return new(SetRequest) },
			want:  &SetRequest{Key: "k", Expires: 5},
		},
		{
			name:  "set: expires as uint32 maximum",
			input: mapOf(kv{"key", str("k")}, kv{"value", str("v")}, kv{"expires", raw("ceffffffff")}),
			fresh: func() codec { return new(SetRequest) },
			want:  &SetRequest{Key: "k", Value: "v", Expires: 1<<32 - 1},
		},
		{
			name:  "get response: exists first, value absent",
			input: mapOf(kv{"exists", boolv(false)}),
			fresh: func() codec { return new(GetResponse) },
			want:  &GetResponse{},
		},
		{
			name:  "list range: negative int16 start",
			input: mapOf(kv{"stop", raw("00")}, kv{"start", raw("d1fc18")}, kv{"listName", str("l")}),
			fresh: func() codec { return new(ListRangeRequest) },
			want:  &ListRangeRequest{ListName: "l", Start: -1000},
		},
		{
			name:  "set add: value first",
			input: mapOf(kv{"value", str("v")}, kv{"setName", str("s")}),
			fresh: func() codec { return new(SetAddRequest) },
			want:  &SetAddRequest{SetName: "s", Value: "v"},
		},
		{
			name:  "pub: replyTo nil, body as str",
			input: mapOf(kv{"body", str("hi")}, kv{"replyTo", nilv()}, kv{"subject", str("s")}),
			fresh: func() codec { return new(PubMessage) },
			want:  &PubMessage{Subject: "s", Body: []byte("hi")},
		},
		{
			name:  "sub: the old alphabetical order, empty bin body",
			input: mapOf(kv{"body", bin(nil)}, kv{"replyTo", str("r")}, kv{"subject", str("s")}),
			fresh: func() codec { return new(SubMessage) },
			want:  &SubMessage{Subject: "s", ReplyTo: "r"},
		},
		{
			name:  "reply: empty map",
			input: mapOf(),
			fresh: func() codec { return new(ReplyMessage) },
			want:  &ReplyMessage{},
		},
		{
			name:  "request message: timeoutMs as uint8 first",
			input: mapOf(kv{"timeoutMs", raw("ccfa")}, kv{"subject", str("s")}),
			fresh: func() codec { return new(RequestMessage) },
			want:  &RequestMessage{Subject: "s", TimeoutMs: 250},
		},
		{
			name:  "string list: str16 and empty strings",
			input: arrOf(str16("a"), str(""), str("b")),
			fresh: func() codec { return new(StringList) },
			want:  &StringList{"a", "", "b"},
		},
		{
			name:  "string list: empty array",
			input: arrOf(),
			fresh: func() codec { return new(StringList) },
			want:  new(StringList),
		},
		{
			name:  "log entry: text before level, unknown key",
			input: mapOf(kv{"text", str("t")}, kv{"target", str("x")}, kv{"level", str("warn")}),
			fresh: func() codec { return new(LogEntry) },
			want:  &LogEntry{Level: "warn", Text: "t"},
		},
		{
			name:  "range limit: int64 min, no max",
			input: mapOf(kv{"min", raw("d30000000000000007")}),
			fresh: func() codec { return new(RangeLimit) },
			want:  &RangeLimit{Min: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.fresh()
			require.NoError(t, got.UnmarshalMsgpack(tt.input))
			assertDeepEqual(t, "decoded", got, tt.want)
		})
	}
}

// TestScalars checks the scalar payload helpers both ways, including wider forms a sender may use.
func TestScalars(t *testing.T) {
	t.Run("string", func(t *testing.T) {
		assertHex(t, "encoding", AppendString(nil, "counter::"), "a9636f756e7465723a3a")
		for _, in := range [][]byte{str("counter::"), str16("counter::")} {
			v, err := UnmarshalString(in)
			require.NoError(t, err)
			require.Equal(t, "value", v, "counter::")
		}
	})
	t.Run("u32", func(t *testing.T) {
		assertHex(t, "encoding of 3", AppendU32(nil, 3), "03")
		assertHex(t, "encoding of 70000", AppendU32(nil, 70000), "ce00011170")
		for _, c := range []struct {
			in   string
			want uint32
		}{{"03", 3}, {"cc03", 3}, {"d30000000000000003", 3}, {"ceffffffff", 1<<32 - 1}} {
			v, err := UnmarshalU32(raw(c.in))
			require.NoError(t, err)
			require.Equal(t, "value of "+c.in, v, c.want)
		}
	})
	t.Run("i32", func(t *testing.T) {
		assertHex(t, "encoding of 200", AppendI32(nil, 200), "ccc8")
		assertHex(t, "encoding of -33", AppendI32(nil, -33), "d0df")
		assertHex(t, "encoding of minimum", AppendI32(nil, -1<<31), "d280000000")
		for _, c := range []struct {
			in   string
			want int32
		}{{"2a", 42}, {"ccc8", 200}, {"d0df", -33}, {"cf000000007fffffff", 1<<31 - 1}, {"d3ffffffff80000000", -1 << 31}} {
			v, err := UnmarshalI32(raw(c.in))
			require.NoError(t, err)
			require.Equal(t, "value of "+c.in, v, c.want)
		}
	})
	t.Run("bool", func(t *testing.T) {
		assertHex(t, "true", AppendBool(nil, true), "c3")
		assertHex(t, "false", AppendBool(nil, false), "c2")
		v, err := UnmarshalBool(raw("c3"))
		require.NoError(t, err)
		require.Equal(t, "value", v, true)
	})
}

// TestEncodeReusesBuffer checks that encoding appends to b and, with room, does not allocate.
func TestEncodeReusesBuffer(t *testing.T) {
	r := HTTPResponse{StatusCode: 200, Header: map[string][]string{"A": {"1"}, "B": {"2"}}, Body: []byte("x")}
	buf := make([]byte, 0, 256)
	buf = append(buf, 0xff)
	out := r.AppendMsgpack(buf)
	require.Equal(t, "prefix kept", out[0], byte(0xff))
	allocs := testing.AllocsPerRun(100, func() { _ = r.AppendMsgpack(buf[:0]) })
	require.Equal(t, "allocations", allocs, 0.0)
}
