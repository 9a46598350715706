package oci_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
)

// FuzzParseReference: any string either parses to a reference whose canonical form parses back to the
// same reference, or is refused with a *RefError of kind ErrInvalidReference that has a reason; nothing
// panics.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"wasmcloud.azurecr.io/echo:0.3.4",
		"127.0.0.1:5000/org/echo@sha256:" + hexA,
		"[::1]:5000/echo:latest@sha256:" + hexA,
		"localhost/echo",
		"GHCR.io/a.b__c--d/e:V1",
		"echo:1", "https://x.io/e:1", "x.io/E:1", "x.io/e:", "x.io/e@sha512:00", "[::1", "x.io:0/e", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := oci.ParseReference(s)
		if err != nil {
			var re *oci.RefError
			if !errors.As(err, &re) || !errors.Is(err, oci.ErrInvalidReference) || re.Reason == "" || re.Ref != s {
				t.Fatalf("ParseReference(%q) error %#v is not an ErrInvalidReference with a reason", s, err)
			}
			return
		}
		if r.Registry == "" || r.Repository == "" {
			t.Fatalf("ParseReference(%q) = %+v: empty registry or repository", s, r)
		}
		if r.Registry != strings.ToLower(r.Registry) {
			t.Fatalf("ParseReference(%q): registry %q not lower-cased", s, r.Registry)
		}
		again, err := oci.ParseReference(r.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", r.String(), s, err)
		}
		if again != r {
			t.Fatalf("round trip of %q: %+v then %+v", s, r, again)
		}
	})
}
