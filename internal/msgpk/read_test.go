package msgpk

import (
	"errors"
	"testing"
)

func TestTypeName(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "empty", in: nil, want: "end of input"},
		{name: "positive fixint", in: []byte{0x05}, want: "int"},
		{name: "uint64", in: []byte{0xcf, 0, 0, 0, 0, 0, 0, 0, 1}, want: "int"},
		{name: "negative fixint", in: []byte{0xff}, want: "int"},
		{name: "float32", in: []byte{0xca, 0, 0, 0, 0}, want: "float"},
		{name: "float64", in: []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, want: "float"},
		{name: "fixext1", in: []byte{0xd4, 0x01, 0x00}, want: "ext"},
		{name: "timestamp", in: []byte{0xd6, 0xff, 0, 0, 0, 0}, want: "ext"},
		{name: "str", in: []byte{0xa1, 'x'}, want: "str"},
		{name: "bin", in: []byte{0xc4, 0x00}, want: "bin"},
		{name: "nil", in: []byte{0xc0}, want: "nil"},
		{name: "bool", in: []byte{0xc3}, want: "bool"},
		{name: "array", in: []byte{0x90}, want: "array"},
		{name: "map", in: []byte{0x80}, want: "map"},
		{name: "unused prefix byte", in: []byte{0xc1}, want: "invalid byte 0xc1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TypeName(tt.in); got != tt.want {
				t.Fatalf("TypeName(%x) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTypeError(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		wantIs   error
		wantText string
	}{
		{name: "empty is truncated", in: nil, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "unused prefix byte is malformed", in: []byte{0xc1}, wantIs: errMalformed, wantText: "invalid msgpack prefix byte 0xc1"},
		{name: "other type", in: []byte{0x07}, wantIs: errWrongType, wantText: "want str, got int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, testSentinels.TypeError("str", tt.in), tt.wantIs, tt.wantText)
		})
	}
}

func TestPrimitiveError(t *testing.T) {
	_, _, short := testSentinels.ReadString([]byte{0xa3, 'a'})
	checkErr(t, short, errTruncated, "test: truncated input")
	other := errors.New("msgp: something odd")
	checkErr(t, testSentinels.PrimitiveError(other), errMalformed, "msgp: something odd")
}

func TestReadMapHeader(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		top      bool
		wantN    uint32
		wantRest []byte
		wantIs   error
		wantText string
	}{
		{name: "fixmap", in: []byte{0x82, 0xa1, 'a'}, wantN: 2, wantRest: []byte{0xa1, 'a'}},
		{name: "map16 at top", in: []byte{0xde, 0x01, 0x00}, top: true, wantN: 256, wantRest: []byte{}},
		{name: "str at top", in: []byte{0xa1, 'a'}, top: true, wantIs: errNotMap, wantText: "top level is str, want map"},
		{name: "str inside", in: []byte{0xa1, 'a'}, wantIs: errWrongType, wantText: "want map, got str"},
		{name: "empty at top", in: nil, top: true, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "unused prefix byte at top", in: []byte{0xc1}, top: true, wantIs: errMalformed, wantText: "invalid msgpack prefix byte 0xc1"},
		{name: "cut map16 header", in: []byte{0xde, 0x00}, wantIs: errTruncated, wantText: "test: truncated input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, rest, err := testSentinels.ReadMapHeader(tt.in, tt.top)
			checkErr(t, err, tt.wantIs, tt.wantText)
			if err != nil {
				wantRest(t, rest, tt.in)
				return
			}
			if n != tt.wantN {
				t.Fatalf("n = %d, want %d", n, tt.wantN)
			}
			wantRest(t, rest, tt.wantRest)
		})
	}
}

// reader adapts each value reader to one signature for the table below.
type reader func(b []byte) (string, []byte, error)

func TestValueReaders(t *testing.T) {
	key := func(b []byte) (string, []byte, error) {
		k, rest, err := testSentinels.ReadKey(b)
		return string(k), rest, err
	}
	blob := func(b []byte) (string, []byte, error) {
		v, rest, err := testSentinels.ReadBinOrStr(b)
		return string(v), rest, err
	}
	tests := []struct {
		name     string
		read     reader
		in       []byte
		want     string
		wantRest []byte
		wantIs   error
		wantText string
	}{
		{name: "key", read: key, in: []byte{0xa2, 'i', 'd', 0xc0}, want: "id", wantRest: []byte{0xc0}},
		{name: "key of another type", read: key, in: []byte{0x01}, wantIs: errWrongType, wantText: "map key: want str, got int"},
		{name: "key at end of input", read: key, in: nil, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "key with unused prefix byte", read: key, in: []byte{0xc1}, wantIs: errMalformed, wantText: "invalid msgpack prefix byte 0xc1"},
		{name: "cut key", read: key, in: []byte{0xa3, 'a'}, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "string", read: testSentinels.ReadString, in: []byte{0xd9, 0x02, 'h', 'i'}, want: "hi", wantRest: []byte{}},
		{name: "string refuses nil", read: testSentinels.ReadString, in: []byte{0xc0}, wantIs: errWrongType, wantText: "want str, got nil"},
		{name: "string refuses bin", read: testSentinels.ReadString, in: []byte{0xc4, 0x00}, wantIs: errWrongType, wantText: "want str, got bin"},
		{name: "optional string", read: testSentinels.ReadOptString, in: []byte{0xa1, 'x', 0x01}, want: "x", wantRest: []byte{0x01}},
		{name: "optional string nil", read: testSentinels.ReadOptString, in: []byte{0xc0, 0x01}, want: "", wantRest: []byte{0x01}},
		{name: "optional string refuses int", read: testSentinels.ReadOptString, in: []byte{0x01}, wantIs: errWrongType, wantText: "want str or nil, got int"},
		{name: "optional string at end of input", read: testSentinels.ReadOptString, in: nil, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "blob as bin", read: blob, in: []byte{0xc4, 0x02, 1, 2, 0xc3}, want: "\x01\x02", wantRest: []byte{0xc3}},
		{name: "blob as str", read: blob, in: []byte{0xa2, 'o', 'k'}, want: "ok", wantRest: []byte{}},
		{name: "blob refuses array", read: blob, in: []byte{0x90}, wantIs: errWrongType, wantText: "want bin or str, got array"},
		{name: "cut bin", read: blob, in: []byte{0xc4, 0x05, 1}, wantIs: errTruncated, wantText: "test: truncated input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := tt.read(tt.in)
			checkErr(t, err, tt.wantIs, tt.wantText)
			if err != nil {
				wantRest(t, rest, tt.in)
				return
			}
			if got != tt.want {
				t.Fatalf("value = %q, want %q", got, tt.want)
			}
			wantRest(t, rest, tt.wantRest)
		})
	}
}

func TestReadStringAliases(t *testing.T) {
	in := []byte{0xa2, 'h', 'i'}
	s, _, err := testSentinels.ReadString(in)
	checkErr(t, err, nil, "")
	in[1] = 'H'
	if s != "Hi" {
		t.Fatalf("ReadString result = %q after the input changed, want it to alias the input (%q)", s, "Hi")
	}
}

func TestSkip(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		wantRest []byte
		wantIs   error
		wantText string
	}{
		{name: "scalar", in: []byte{0xcd, 0x01, 0x00, 0xc0}, wantRest: []byte{0xc0}},
		{name: "nested map and array", in: []byte{0x81, 0xa1, 'a', 0x92, 0x01, 0x80, 0x07}, wantRest: []byte{0x07}},
		{name: "lying map32 header", in: []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01}, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "array one short", in: []byte{0x92, 0x01}, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "unused prefix byte inside", in: []byte{0x91, 0xc1}, wantIs: errMalformed, wantText: "invalid msgpack prefix byte 0xc1"},
		{name: "cut scalar", in: []byte{0xcd, 0x01}, wantIs: errTruncated, wantText: "test: truncated input"},
		{name: "empty", in: []byte{}, wantIs: errTruncated, wantText: "test: truncated input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest, err := testSentinels.Skip(tt.in)
			checkErr(t, err, tt.wantIs, tt.wantText)
			if err != nil {
				wantRest(t, rest, tt.in)
				return
			}
			wantRest(t, rest, tt.wantRest)
		})
	}
}

func TestSkipDeepNesting(t *testing.T) {
	// A million nested one-element arrays would overflow a recursive skipper's budget; Skip walks
	// them with a counter.
	const depth = 1 << 20
	in := make([]byte, depth+1)
	for i := range depth {
		in[i] = 0x91
	}
	in[depth] = 0xc0
	rest, err := testSentinels.Skip(in)
	checkErr(t, err, nil, "")
	wantRest(t, rest, []byte{})
}

func TestCheckTrailing(t *testing.T) {
	checkErr(t, testSentinels.CheckTrailing(nil, "map"), nil, "")
	checkErr(t, testSentinels.CheckTrailing([]byte{1, 2, 3}, "map"), errTrailingBytes, "3 trailing bytes after the top-level map")
}

func TestDetail(t *testing.T) {
	err := Detail(errWrongType, "want int, got str")
	checkErr(t, err, errWrongType, "want int, got str")
	var d *DetailError
	if !errors.As(err, &d) || d.Sentinel != errWrongType || d.Text != "want int, got str" {
		t.Fatalf("Detail returned %#v, want a *DetailError with the sentinel and text", err)
	}
}

func TestFieldMessage(t *testing.T) {
	tests := []struct {
		name  string
		field string
		err   error
		want  string
	}{
		{name: "sentinel with field", field: "origin.public_key", err: errTruncated, want: `field "origin.public_key": truncated input`},
		{name: "sentinel without field", err: errTruncated, want: "truncated input"},
		{name: "detail with field", field: "msg", err: Detail(errWrongType, "want bin or str, got int"), want: `field "msg": want bin or str, got int`},
		{name: "field is quoted", field: "header.\"x\"", err: errWrongType, want: `field "header.\"x\"": wrong type`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FieldMessage("test: ", tt.field, tt.err); got != tt.want {
				t.Fatalf("FieldMessage = %q, want %q", got, tt.want)
			}
		})
	}
}
