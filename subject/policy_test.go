package subject

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a", "a.b", false},
		{">", "a", true},
		{">", "a.b.c", true},
		{"*.>", "wasmbus.>", true},
		{"*.>", "wasmbus", false},
		{"*", "wasmbus.>", false},
		{"*.rpc.default.M", "wasmbus.rpc.default.>", true},
		{"*.ctl.>", "wasmbus.ctl.>", true},
		{"acme.*.x", "acme.ctl.>", true},
		{"acme.*", "acme.ctl.>", false},
		{"a.*.c", "*.b.*", true},
		{"a.*.c", "*.b.d", false},
		{"a.>", "*.*", true},
		{"a.>", "a", false},
		{"x.>", "y.>", false},
		{"_INBOX.>", "_INBOX.abc.1", true},
		{"orders.*", "_INBOX.>", false},
	}
	for _, tc := range tests {
		t.Run(tc.a+" "+tc.b, func(t *testing.T) {
			require.Equal(t, "Overlap(a, b)", Overlap(tc.a, tc.b), tc.want)
			require.Equal(t, "Overlap(b, a)", Overlap(tc.b, tc.a), tc.want)
			require.Equal(t, "brute force", bruteOverlap(tc.a, tc.b), tc.want)
		})
	}
}

func testPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := NewPolicy("wasmbus.>", "acme.ctl.>", "_INBOX.>", "policy.changes")
	require.NoError(t, err)
	return p
}

func TestPolicyLiteral(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		in   string
		want error
	}{
		{"orders.new", nil},
		{"wasmbus", nil}, // wasmbus.> needs a second token
		{"wasmbus.rpc.default.M", ErrReserved},
		{"acme.ctl.default.cmd.N.stop", ErrReserved},
		{"acme.other", nil},
		{"_INBOX.abc", ErrReserved},
		{"policy.changes", ErrReserved},
		{"policy.changes.x", nil},
		{"$JS.API.STREAM.DELETE.x", ErrReserved},
		{"$SYS.REQ.SERVER.PING", ErrReserved},
		{"$ANYTHING", ErrReserved},
		{"orders.*", ErrInvalid},
		{"", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := p.CheckLiteral(tc.in)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			other := ErrInvalid
			if tc.want == ErrInvalid {
				other = ErrReserved
			}
			require.False(t, errors.Is(err, other), "%v also matches %v", err, other)
		})
	}
}

func TestPolicyPattern(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		in   string
		want error
	}{
		{"orders.*", nil},
		{"orders.>", nil},
		{">", ErrReserved},
		{"*.>", ErrReserved},
		{"*", ErrReserved}, // could be a '$' subject of one token
		{"*.rpc.default.M", ErrReserved},
		{"*.ctl.>", ErrReserved},
		{"acme.*.x", ErrReserved},
		{"acme.*", nil},
		{"_INBOX.>", ErrReserved},
		{"_INBOX.*", ErrReserved},
		{"policy.*", ErrReserved},
		{"$KV.>", ErrReserved},
		{"a.>.b", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := p.CheckPattern(tc.in)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestNewPolicyRefusesAnInvalidPattern(t *testing.T) {
	_, err := NewPolicy("wasmbus.>", "a..b")
	require.ErrorIs(t, err, ErrInvalid)
}

// fuzzTokens are the tokens fuzzed patterns are built from: few literals, so that the brute-force oracle
// stays small, and both wildcards.
var fuzzTokens = []string{"a", "b", "c", Any, Rest}

// patternFrom builds a pattern of 1 to 5 tokens from fuzz bytes.
func patternFrom(b []byte) string {
	if len(b) == 0 {
		b = []byte{0}
	}
	if len(b) > 5 {
		b = b[:5]
	}
	toks := make([]string, len(b))
	for i, c := range b {
		toks[i] = fuzzTokens[int(c)%len(fuzzTokens)]
	}
	return strings.Join(toks, ".")
}

// bruteOverlap is the oracle: it tries every subject of up to 6 tokens over the patterns' literal tokens
// and one token that appears in neither. A witness, when one exists, is among them: no pattern needs more
// tokens than it has, and a wildcard is satisfied by the fresh token as well as by any other.
func bruteOverlap(a, b string) bool {
	alphabet := []string{"fresh-token"}
	seen := map[string]bool{}
	n := 0
	for _, p := range []string{a, b} {
		toks := strings.Split(p, ".")
		n = max(n, len(toks))
		for _, tok := range toks {
			if tok != Any && tok != Rest && !seen[tok] {
				seen[tok] = true
				alphabet = append(alphabet, tok)
			}
		}
	}
	var try func(prefix []string) bool
	try = func(prefix []string) bool {
		if len(prefix) > 0 {
			s := strings.Join(prefix, ".")
			if Matches(a, s) && Matches(b, s) {
				return true
			}
		}
		if len(prefix) == n {
			return false
		}
		for _, tok := range alphabet {
			if try(append(prefix, tok)) {
				return true
			}
		}
		return false
	}
	return try(nil)
}

func FuzzOverlap(f *testing.F) {
	f.Add([]byte{0, 1}, []byte{3, 4})
	f.Add([]byte{4}, []byte{0})
	f.Add([]byte{0, 3, 2}, []byte{3, 1, 3})
	f.Add([]byte{0, 4}, []byte{0})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a, b := patternFrom(x), patternFrom(y)
		if ValidateSubject(a, true) != nil || ValidateSubject(b, true) != nil {
			return // '>' in the middle: not a pattern Overlap is asked about
		}
		got, want := Overlap(a, b), bruteOverlap(a, b)
		if got != want {
			t.Fatalf("Overlap(%q, %q) = %v, brute force says %v", a, b, got, want)
		}
		if Overlap(b, a) != got {
			t.Fatalf("Overlap is not symmetric for %q and %q", a, b)
		}
	})
}

// FuzzPolicy checks the policy on arbitrary strings: it never panics, a subject it accepts is valid, and no
// accepted literal matches, and no accepted pattern overlaps, a reserved pattern or the '$' namespace.
func FuzzPolicy(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add("*.ctl.>")
	f.Add("$JS.>")
	p := testPolicy(f)
	f.Fuzz(func(t *testing.T, s string) {
		if p.CheckLiteral(s) == nil {
			if ValidateSubject(s, false) != nil || strings.HasPrefix(s, "$") {
				t.Fatalf("%q accepted as a literal", s)
			}
			for _, r := range p.Reserved() {
				if Matches(r, s) {
					t.Fatalf("%q accepted but matches %q", s, r)
				}
			}
		}
		if p.CheckPattern(s) == nil {
			if ValidateSubject(s, true) != nil || Overlap(s, "$X.>") || Overlap(s, "$X") {
				t.Fatalf("%q accepted as a pattern", s)
			}
			for _, r := range p.Reserved() {
				if Overlap(r, s) {
					t.Fatalf("%q accepted but overlaps %q", s, r)
				}
			}
		}
	})
}

// TestAllowExact: a reserved literal subject granted exactly may be subscribed to by name, never by a pattern
// that overlaps it, and publishing to it stays refused.
func TestAllowExact(t *testing.T) {
	p, err := NewPolicy("wasmbus.>", "_INBOX.>", "wasmcloud.policy.evaluator")
	require.NoError(t, err)
	require.NoError(t, p.AllowExact("wasmcloud.policy.evaluator"))
	require.NoError(t, p.CheckPattern("wasmcloud.policy.evaluator"))
	for _, s := range []string{"wasmcloud.policy.*", "wasmcloud.>", "*.policy.evaluator"} {
		require.ErrorIs(t, p.CheckPattern(s), ErrReserved)
	}
	require.ErrorIs(t, p.CheckLiteral("wasmcloud.policy.evaluator"), ErrReserved)
	require.True(t, p.AllowExact("wasmbus.>") != nil, "a pattern granted exactly")
	require.True(t, p.AllowExact("orders.new") != nil, "a subject that is not reserved granted exactly")
}
