package rpc

import (
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestResponses(t *testing.T) {
	clock := newClock()
	responder := newCluster(t, "cluster two", clock)
	caller := newCluster(t, "cluster one", clock, responder.PublicKey())
	strict, err := New(Config{HostID: caller.HostID(), ClusterSeed: seedOf(t, deterministicKey(t, nkey.Cluster, "cluster one")),
		Issuers: []string{responder.PublicKey()}, RequireSignedResponses: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const id = "0b2a6f5e-1c4b-4a39-9d7e-2f4f8d2d9c11"
	sign := func(c *Cluster, resp *wire.Response) []byte {
		t.Helper()
		if err := c.SignResponse(resp, id); err != nil {
			t.Fatal(err)
		}
		return resp.AppendMsgpack(nil)
	}
	edit := func(msg []byte, f func(*wire.Response)) []byte {
		var r wire.Response
		if err := r.UnmarshalMsgpack(msg); err != nil {
			t.Fatal(err)
		}
		f(&r)
		return r.AppendMsgpack(nil)
	}
	good := sign(responder, &wire.Response{Msg: []byte("reply")})
	failed := sign(responder, &wire.Response{Error: "actor: guest error"})
	foreign := sign(newCluster(t, "foreign", clock), &wire.Response{Msg: []byte("reply")})

	tests := []struct {
		name   string
		caller *Cluster
		msg    []byte
		id     string
		want   error
	}{
		{"signed reply", caller, good, id, nil},
		{"signed error", caller, failed, id, nil},
		{"signed reply, strict caller", strict, good, id, nil},
		{"unsigned reply from a 0.x host", caller, edit(good, func(r *wire.Response) { r.Claims = "" }), id, nil},
		{"unsigned reply, strict caller", strict, edit(good, func(r *wire.Response) { r.Claims = "" }), id, ErrUnsignedResponse},
		{"answer to another invocation", caller, good, "another", ErrResponseID},
		{"tampered payload", caller, edit(good, func(r *wire.Response) { r.Msg = []byte("REPLY") }), id, ErrResponseToken},
		{"error turned into success", caller, edit(failed, func(r *wire.Response) { r.Error = "" }), id, ErrResponseToken},
		{"success turned into error", caller, edit(good, func(r *wire.Response) { r.Error = "denied" }), id, ErrResponseToken},
		{"untrusted responder", caller, foreign, id, ErrResponseToken},
		{"token of another response", caller, edit(good, func(r *wire.Response) {
			var other wire.Response
			_ = other.UnmarshalMsgpack(sign(responder, &wire.Response{Msg: []byte("reply")}))
			tok, _ := wascap.Sign(wascap.Claims{Subject: "another", IssuedAt: clock.Now().Unix()},
				responseMeta{Hash: wire.HashHex([32]byte{}), HostID: responder.HostID()}, responder.key)
			r.Claims = tok
		}), id, ErrResponseToken},
		{"garbage", caller, []byte{0x93}, id, ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.caller.VerifyResponse(tc.msg, tc.id)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if resp.InvocationID != id {
					t.Fatalf("response %+v", resp)
				}
				return
			}
			wantReason(t, err, tc.want)
		})
	}

	t.Run("expired responder token", func(t *testing.T) {
		msg := sign(responder, &wire.Response{Msg: []byte("late")})
		clock.Advance(time.Hour)
		_, err := caller.VerifyResponse(msg, id)
		wantReason(t, err, ErrResponseToken)
	})
}

// The exact bytes of a signed invocation and of a signed response, with keys derived from fixed labels and a
// fixed clock: Ed25519 is deterministic, so any change to the token layout, the claims or the wire encoding
// shows here.
func TestSignedGolden(t *testing.T) {
	clock := newClock()
	c := newCluster(t, "golden cluster", clock)
	inv := testInvocation("hello")
	inv.ID = "0b2a6f5e-1c4b-4a39-9d7e-2f4f8d2d9c11"
	invBytes := signed(t, c, inv)
	resp := &wire.Response{Msg: []byte(`{"ok":true}`)}
	if err := c.SignResponse(resp, inv.ID); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"signed_invocation": invBytes, "signed_response": resp.AppendMsgpack(nil)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".golden")
			got := "# regenerate: go test ./rpc -run TestSignedGolden -update\n" + hex.Dump(b)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("%s changed; run with -update if intended\ngot:\n%s", name, got)
			}
			if regexp.MustCompile(`S[ACNMOUV][A-Z2-7]{56}`).MatchString(strings.ReplaceAll(string(want), "\n", "")) {
				t.Fatal("golden file holds something shaped like a seed")
			}
		})
	}
	// The golden invocation verifies.
	if _, _, err := c.Verify(ctx, invBytes, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestResponsePayload(t *testing.T) {
	clock := newClock()
	responder := newCluster(t, "cluster two", clock)
	caller := newCluster(t, "cluster one", clock, responder.PublicKey())
	stranger := newCluster(t, "cluster three", clock) // trusts nobody but itself
	const id = "0b2a6f5e-1c4b-4a39-9d7e-2f4f8d2d9c11"
	sign := func(resp *wire.Response) []byte {
		t.Helper()
		if err := responder.SignResponse(resp, id); err != nil {
			t.Fatal(err)
		}
		return resp.AppendMsgpack(nil)
	}
	good, failed := sign(&wire.Response{Msg: []byte("reply")}), sign(&wire.Response{Error: "actor: guest error"})

	got, err := caller.ResponsePayload(good, id, nil)
	if err != nil || string(got) != "reply" {
		t.Fatalf("payload %q, error %v", got, err)
	}
	_, err = caller.ResponsePayload(failed, id, nil)
	var remote *RemoteError
	if !errors.As(err, &remote) || remote.Message != "actor: guest error" {
		t.Fatalf("error %v, want the responder's text as a *RemoteError", err)
	}
	_, err = stranger.ResponsePayload(failed, id, nil)
	wantReason(t, err, ErrResponseToken)
	if errors.As(err, &remote) || !strings.HasSuffix(err.Error(), "(unverified response says: actor: guest error)") {
		t.Fatalf("error %q, want the unverified text shown, not a *RemoteError", err)
	}
}
