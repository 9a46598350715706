package msgpk

import (
	"errors"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// The sentinels of an imaginary calling package, so that the tests can tell them apart.
var (
	errTruncated     = errors.New("test: truncated input")
	errMalformed     = errors.New("test: malformed msgpack")
	errWrongType     = errors.New("test: wrong type")
	errNotMap        = errors.New("test: top level is not a map")
	errTrailingBytes = errors.New("test: trailing bytes")
)

var testSentinels = Sentinels{
	Truncated:     errTruncated,
	Malformed:     errMalformed,
	WrongType:     errWrongType,
	NotMap:        errNotMap,
	TrailingBytes: errTrailingBytes,
}

// checkErr checks that err is wantIs (or wraps it) with exactly the text wantText. A nil wantIs
// means no error is expected.
func checkErr(t *testing.T, err, wantIs error, wantText string) {
	t.Helper()
	if wantIs == nil {
		require.NoError(t, err)
		return
	}
	require.ErrorIs(t, err, wantIs)
	require.Equal(t, "error text", err.Error(), wantText)
}

// wantRest checks that a reader left exactly want unread.
func wantRest(t *testing.T, rest, want []byte) {
	t.Helper()
	if string(rest) != string(want) {
		t.Fatalf("rest = %x, want %x", rest, want)
	}
}
