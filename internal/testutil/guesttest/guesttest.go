// Package guesttest signs guest modules built by testutil.BuildGuest, so tests can load them into a
// host that verifies claims. It is separate from testutil because it imports package actor, whose
// own tests import testutil: keeping the signing here avoids an import cycle.
package guesttest

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// SignGuest signs wasm with a fresh account key and a fresh module key, as actor name with the given
// call alias (may be empty) and capability contracts, in a wascap_revision 3 token. It returns the
// signed module and its subject, the actor's public key (M…). The signed module is verified before
// it is returned, so a test fails here rather than in the host.
func SignGuest(tb testing.TB, wasm []byte, name, callAlias string, caps ...string) (signed []byte, subject string) {
	tb.Helper()
	account, err := nkey.Generate(nkey.Account)
	if err != nil {
		tb.Fatalf("generate account key: %v", err)
	}
	defer account.Wipe()
	module, err := nkey.Generate(nkey.Module)
	if err != nil {
		tb.Fatalf("generate module key: %v", err)
	}
	defer module.Wipe()
	signed, err = actor.Sign(wasm, actor.SignOptions{
		Issuer:    account,
		Subject:   module.Public(),
		Name:      name,
		Caps:      caps,
		CallAlias: callAlias,
	})
	if err != nil {
		tb.Fatalf("sign %s: %v", name, err)
	}
	claims, err := actor.Verify(name, signed, actor.VerifyOptions{})
	if err != nil {
		tb.Fatalf("verify freshly signed %s: %v", name, err)
	}
	if claims.Subject != module.Public().String() {
		tb.Fatalf("signed %s has subject %s, want %s", name, claims.Subject, module.Public())
	}
	return signed, claims.Subject
}
