package rpc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// chunkResponse signs a response over payload as a responder does, then chunks it the way a host sends one
// above the threshold: msg empty, content_length the full length.
func chunkResponse(t *testing.T, c *Cluster, id string, payload []byte, signed bool) []byte {
	t.Helper()
	resp := &wire.Response{Msg: payload}
	if err := c.SignResponse(resp, id); err != nil {
		t.Fatal(err)
	}
	if !signed {
		resp.Claims = ""
	}
	resp.Msg = []byte{}
	return resp.AppendMsgpack(nil)
}

func TestVerifyResponseChunked(t *testing.T) {
	clock := newClock()
	responder := newCluster(t, "cluster two", clock)
	caller := newCluster(t, "cluster one", clock, responder.PublicKey())
	const id = "5d0c1f7a-8e21-4b5b-a2a4-0c6f3b1e9d40"
	payload := bytes.Repeat([]byte("chunk"), 200_000) // 1,000,000 bytes
	swapped := bytes.Clone(payload)
	swapped[len(swapped)/2] ^= 1
	chunked := chunkResponse(t, responder, id, payload, true)
	unsigned := chunkResponse(t, responder, id, payload, false)
	partial := func() []byte {
		resp := &wire.Response{Msg: payload}
		if err := responder.SignResponse(resp, id); err != nil {
			t.Fatal(err)
		}
		resp.Msg = payload[:10]
		return resp.AppendMsgpack(nil)
	}()
	var asked uint64
	serve := func(b []byte) func(uint64) ([]byte, error) {
		return func(n uint64) ([]byte, error) { asked = n; return b, nil }
	}
	fetchErr := errors.New("object not found")

	tests := []struct {
		name  string
		msg   []byte
		fetch func(uint64) ([]byte, error)
		want  error
		body  []byte // the payload the verified response must carry
	}{
		{name: "stored payload is the signed one", msg: chunked, fetch: serve(payload), body: payload},
		{name: "unsigned chunked reply from a 0.x host", msg: unsigned, fetch: serve(payload), body: payload},
		{name: "stored object swapped", msg: chunked, fetch: serve(swapped), want: ErrResponseToken},
		{name: "stored object shorter than content_length", msg: chunked, fetch: serve(payload[:len(payload)-1]), want: ErrLength},
		{name: "stored object longer than content_length", msg: chunked, fetch: serve(append(bytes.Clone(payload), 0)), want: ErrLength},
		{name: "unsigned reply with a stored object of the wrong length", msg: unsigned, fetch: serve(payload[:5]), want: ErrLength},
		{name: "partial msg", msg: partial, fetch: serve(payload), want: ErrLength},
		{name: "fetch fails", msg: chunked, fetch: func(uint64) ([]byte, error) { return nil, fetchErr }, want: ErrChunked},
		{name: "no fetch", msg: chunked, fetch: nil, want: ErrChunked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			asked = 0
			resp, err := caller.VerifyResponseChunked(tc.msg, id, tc.fetch)
			if tc.fetch != nil && tc.want != ErrChunked && tc.name != "partial msg" && asked != uint64(len(payload)) {
				t.Fatalf("fetch was given content_length %d, want %d", asked, len(payload))
			}
			if tc.want != nil {
				wantReason(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.Msg, tc.body) || resp.ContentLength != uint64(len(tc.body)) || resp.InvocationID != id {
				t.Fatalf("response id %q, content_length %d, %d bytes of msg; want %q, %d, %d", resp.InvocationID,
					resp.ContentLength, len(resp.Msg), id, len(tc.body), len(tc.body))
			}
		})
	}

	t.Run("plain VerifyResponse refuses a chunked reply", func(t *testing.T) {
		_, err := caller.VerifyResponse(chunked, id)
		wantReason(t, err, ErrChunked)
	})
	t.Run("unchunked reply never fetches", func(t *testing.T) {
		resp := &wire.Response{Msg: []byte("small")}
		if err := responder.SignResponse(resp, id); err != nil {
			t.Fatal(err)
		}
		got, err := caller.VerifyResponseChunked(resp.AppendMsgpack(nil), id, func(uint64) ([]byte, error) {
			t.Fatal("fetched an unchunked reply")
			return nil, nil
		})
		if err != nil || string(got.Msg) != "small" {
			t.Fatalf("got %q, %v", got.Msg, err)
		}
	})
}

// TestForgedChunkedResponseFetchesNothing: a reply that cannot be accepted (unsigned when signed replies are
// required, signed by a key the caller does not trust, answering another invocation) never makes the caller
// fetch, and so consume, the genuine reply's payload from the object store.
func TestForgedChunkedResponseFetchesNothing(t *testing.T) {
	clock := newClock()
	responder := newCluster(t, "cluster two", clock)
	stranger := newCluster(t, "cluster three", clock)
	host := deterministicKey(t, nkey.Server, "strict caller")
	caller, err := New(Config{ClusterSeed: seedOf(t, deterministicKey(t, nkey.Cluster, "cluster one")), HostID: host.Public().String(),
		Issuers: []string{responder.PublicKey()}, RequireSignedResponses: true, Now: clock.Now})
	require.NoError(t, err)
	const id = "5d0c1f7a-8e21-4b5b-a2a4-0c6f3b1e9d40"
	payload := bytes.Repeat([]byte("chunk"), 200_000)
	for _, tc := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"unsigned", chunkResponse(t, responder, id, payload, false), ErrUnsignedResponse},
		{"signed by an untrusted key", chunkResponse(t, stranger, id, payload, true), ErrResponseToken},
		{"signed for another invocation", func() []byte {
			m := chunkResponse(t, responder, "0c6f3b1e-9d40-4b5b-a2a4-5d0c1f7a8e21", payload, true)
			var r wire.Response
			require.NoError(t, r.UnmarshalMsgpack(m))
			r.InvocationID = id
			return r.AppendMsgpack(nil)
		}(), ErrResponseToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetched := false
			_, err := caller.VerifyResponseChunked(tc.msg, id, func(uint64) ([]byte, error) { fetched = true; return payload, nil })
			wantReason(t, err, tc.want)
			require.False(t, fetched, "the payload was fetched for a reply that cannot be accepted")
		})
	}
}
