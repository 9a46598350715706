package contract

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// codec is what every message type of the package implements.
type codec interface {
	AppendMsgpack([]byte) []byte
	UnmarshalMsgpack([]byte) error
}

// assertDecodeError checks that err wraps want and a *DecodeError for field.
func assertDecodeError(tb testing.TB, err, want error, field string) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Fatalf("error = %v, want errors.Is %v", err, want)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		tb.Fatalf("error %v does not wrap a *DecodeError", err)
	}
	if de.Field != field {
		tb.Fatalf("DecodeError.Field = %q, want %q (error: %v)", de.Field, field, err)
	}
}

// assertDeepEqual compares decoded values, which hold maps and slices.
func assertDeepEqual(tb testing.TB, name string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s =\n\t%#v\nwant\n\t%#v", name, got, want)
	}
}

func assertHex(tb testing.TB, name string, got []byte, want string) {
	tb.Helper()
	if hex.EncodeToString(got) != want {
		tb.Errorf("%s =\n\t%x\nwant\n\t%s", name, got, want)
	}
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// Builders for hand-made msgpack inputs.

type kv struct {
	key string
	val []byte
}

func mapOf(entries ...kv) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(entries)))
	for _, e := range entries {
		b = msgp.AppendString(b, e.key)
		b = append(b, e.val...)
	}
	return b
}

func str(s string) []byte { return msgp.AppendString(nil, s) }
func bin(v []byte) []byte { return msgp.AppendBytes(nil, v) }
func nilv() []byte        { return []byte{0xc0} }
func boolv(v bool) []byte { return msgp.AppendBool(nil, v) }
func raw(h string) []byte { b, _ := hex.DecodeString(h); return b }
func arrOf(vals ...[]byte) []byte {
	b := msgp.AppendArrayHeader(nil, uint32(len(vals)))
	for _, v := range vals {
		b = append(b, v...)
	}
	return b
}

// str16 encodes s as a str16 (da), a wider form than msgp picks for short strings.
func str16(s string) []byte {
	return append([]byte{0xda, byte(len(s) >> 8), byte(len(s))}, s...)
}

// bin32 encodes v as a bin32 (c6).
func bin32(v []byte) []byte {
	n := len(v)
	return append([]byte{0xc6, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, v...)
}

// decodeAs decodes b into a fresh T, failing the test on error.
func decodeAs[T any, PT interface {
	*T
	codec
}](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	require.NoError(tb, PT(&v).UnmarshalMsgpack(b))
	return v
}
