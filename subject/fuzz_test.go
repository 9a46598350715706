package subject

import (
	"errors"
	"strings"
	"testing"
)

var seeds = []string{
	"", "a", "a.b", "wasmbus.ctl.default", "_INBOX.x.1", ".", "..", "a.", ".a", "a..b", "*", ">", "a.*", "a.>",
	"a.>.b", "*.*", "a*", "a b", "a\tb", "a\x00", "a\x7f", "gätter.ü", "$JS.API.>", "\xff",
}

// FuzzValidate checks the validators against each other and against what a valid subject must look like:
// a token is a one-token subject without wildcards, a literal subject is a valid pattern, and whatever
// is accepted has no empty token and no white space.
func FuzzValidate(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tokErr := ValidateToken(s)
		litErr := ValidateSubject(s, false)
		patErr := ValidateSubject(s, true)
		for _, err := range []error{tokErr, litErr, patErr} {
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: error %v does not match ErrInvalid", s, err)
			}
		}
		if (tokErr == nil) != (litErr == nil && !strings.Contains(s, ".")) {
			t.Fatalf("%q: token %v, literal subject %v", s, tokErr, litErr)
		}
		if litErr == nil && patErr != nil {
			t.Fatalf("%q: a literal subject refused as a pattern: %v", s, patErr)
		}
		if patErr != nil {
			return
		}
		if s == "" || strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") ||
			strings.ContainsAny(s, " \t\r\n") {
			t.Fatalf("%q accepted", s)
		}
		if litErr == nil && !Matches(s, s) {
			t.Fatalf("the literal subject %q does not match itself", s)
		}
	})
}

// FuzzMatches checks Matches against a plain reference that splits both sides into tokens.
func FuzzMatches(f *testing.F) {
	for _, p := range seeds {
		f.Add(p, "a.b")
		f.Add(p, p)
	}
	f.Fuzz(func(t *testing.T, pattern, subject string) {
		if got, want := Matches(pattern, subject), reference(pattern, subject); got != want {
			t.Fatalf("Matches(%q, %q) = %v, reference says %v", pattern, subject, got, want)
		}
	})
}

func reference(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return i < len(s)
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

func BenchmarkValidateSubject(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = ValidateSubject("wasmbus.rpc.default.MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", false)
	}
}

func BenchmarkMatches(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Matches("wasmbus.>", "wasmbus.rpc.default.MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5")
	}
}
