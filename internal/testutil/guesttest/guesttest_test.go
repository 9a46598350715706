package guesttest

import (
	"slices"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

func TestSignGuest(t *testing.T) {
	wasm := testutil.BuildGuest(t, "examples/hello")
	signed, subject := SignGuest(t, wasm, "hello", "hello", "wasmcloud:httpserver", "wasmcloud:keyvalue")
	c, err := actor.Verify("hello", signed, actor.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != subject || subject[0] != 'M' || len(subject) != 56 {
		t.Errorf("subject %q, claims say %q", subject, c.Subject)
	}
	if c.Issuer[0] != 'A' || c.Name != "hello" || c.CallAlias != "hello" || c.WascapRevision != 3 ||
		!slices.Equal(c.Caps, []string{"wasmcloud:httpserver", "wasmcloud:keyvalue"}) {
		t.Errorf("claims: issuer %q name %q alias %q revision %d caps %q",
			c.Issuer, c.Name, c.CallAlias, c.WascapRevision, c.Caps)
	}
	if len(signed) <= len(wasm) {
		t.Errorf("signed module (%d bytes) is not longer than the input (%d)", len(signed), len(wasm))
	}

	// Fresh keys every time.
	again, subject2 := SignGuest(t, wasm, "hello", "")
	c2, err := actor.Verify("hello", again, actor.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if subject2 == subject || c2.Issuer == c.Issuer {
		t.Errorf("keys reused: subject %s, issuer %s", subject2, c2.Issuer)
	}
	if c2.CallAlias != "" || len(c2.Caps) != 0 {
		t.Errorf("second token: alias %q caps %q, want none", c2.CallAlias, c2.Caps)
	}
}
