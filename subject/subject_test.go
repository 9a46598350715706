package subject

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateToken(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"key", "NBZ5", ""},
		{"dash and underscore", "my-lattice_1", ""},
		{"unicode", "gätter", ""},
		{"empty", "", "empty"},
		{"dot", "a.b", "contains '.'"},
		{"star", "*", "contains wildcard '*'"},
		{"gt", "a>", "contains wildcard '>'"},
		{"space", "a b", "contains white space or a control character"},
		{"tab", "a\tb", "contains white space or a control character"},
		{"newline", "a\n", "contains white space or a control character"},
		{"del", "a\x7f", "contains white space or a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, ValidateToken(tc.in), tc.in, tc.reason)
		})
	}
}

func TestValidateSubject(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wildcards bool
		reason    string
	}{
		{"one token", "wasmbus", false, ""},
		{"several tokens", "wasmbus.ctl.default", false, ""},
		{"inbox", "_INBOX.abc.1", false, ""},
		{"empty", "", false, "empty"},
		{"empty pattern", "", true, "empty"},
		{"leading dot", ".a", false, "empty token"},
		{"trailing dot", "a.", false, "empty token"},
		{"double dot", "wasmbus..ctl", false, "empty token"},
		{"star in a literal", "policy.*", false, "contains wildcard '*'"},
		{"gt in a literal", "a.>", false, "contains wildcard '>'"},
		{"space", "a b.c", false, "contains white space or a control character"},
		{"NUL", "a.\x00", false, "contains white space or a control character"},
		{"star pattern", "orders.*", true, ""},
		{"gt pattern", "audit.>", true, ""},
		{"gt alone", ">", true, ""},
		{"star then gt", "*.>", true, ""},
		{"gt not last", "a.>.b", true, "wildcard '>' is not the last token"},
		{"star inside a token", "a*.b", true, "contains wildcard '*'"},
		{"gt inside a token", "a.b>", true, "contains wildcard '>'"},
		{"empty token in a pattern", "a..*", true, "empty token"},
		{"white space in a pattern", "a.\t.*", true, "contains white space or a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantReason(t, ValidateSubject(tc.in, tc.wildcards), tc.in, tc.reason)
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "a.b", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"*.*", "a.b", true},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{">", "anything.at.all", true},
		{"wasmbus.>", "wasmbus.rpc.default.M", true},
		{"_INBOX.>", "_INBOX.abc.1", true},
		{"_INBOX.>", "orders.new", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.subject, func(t *testing.T) {
			if got := Matches(tc.pattern, tc.subject); got != tc.want {
				t.Fatalf("Matches(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
			}
		})
	}
}

func wantReason(t *testing.T, err error, in, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("%q refused: %v", in, err)
		}
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%q: error %v, want one matching ErrInvalid", in, err)
	}
	if got := Reason(err); got != reason {
		t.Fatalf("%q: reason %q, want %q", in, got, reason)
	}
	if !strings.HasPrefix(err.Error(), "subject: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
}

func TestMaxLen(t *testing.T) {
	long := "orders." + strings.Repeat("a", MaxLen)
	if err := ValidateSubject(long, false); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "more than 1024") {
		t.Fatalf("a %d-byte subject: %v", len(long), err)
	}
	if err := ValidateToken(strings.Repeat("a", MaxLen+1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a long token: %v", err)
	}
	if err := ValidateSubject(strings.Repeat("a", MaxLen), false); err != nil {
		t.Fatalf("a subject of MaxLen bytes: %v", err)
	}
}
