package contract

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestHTTPClientRequest(t *testing.T) {
	in := HTTPClientRequest{Method: "POST", URL: "https://example.com/x", Headers: map[string][]string{"A": {"1"}}, Body: []byte("b"), TimeoutSecs: 3}
	var out HTTPClientRequest
	require.NoError(t, out.UnmarshalMsgpack(in.AppendMsgpack(nil)))
	require.DeepEqual(t, "round trip", out, in)

	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{name: "no url", b: mapOf(kv{"headers", mapOf()}), want: ErrMissingField},
		{name: "no headers", b: mapOf(kv{"url", str("http://a")}), want: ErrMissingField},
		{name: "url not a string", b: mapOf(kv{"url", raw("01")}, kv{"headers", mapOf()}), want: ErrWrongType},
		{name: "timeout too large", b: mapOf(kv{"url", str("http://a")}, kv{"headers", mapOf()}, kv{"timeoutSecs", raw("ce00010000")}), want: ErrOutOfRange},
		{name: "duplicate url", b: mapOf(kv{"url", str("a")}, kv{"url", str("b")}, kv{"headers", mapOf()}), want: ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r HTTPClientRequest
			require.ErrorIs(t, r.UnmarshalMsgpack(tt.b), tt.want)
		})
	}
	var r HTTPClientRequest
	require.NoError(t, r.UnmarshalMsgpack(mapOf(kv{"url", str("http://a")}, kv{"headers", mapOf()}, kv{"timeoutSecs", nilv()})))
	require.Equal(t, "default method", r.Method, "GET")
}

func FuzzHTTPClientRequest(f *testing.F) {
	fuzzCodec[HTTPClientRequest](f,
		(&HTTPClientRequest{Method: "GET", URL: "http://127.0.0.1:1/", Headers: map[string][]string{"A": {"1", "2"}}, Body: []byte("x"), TimeoutSecs: 5}).AppendMsgpack(nil),
		mapOf(kv{"url", str("http://a")}, kv{"headers", mapOf()}, kv{"timeoutSecs", nilv()}),
	)
}
