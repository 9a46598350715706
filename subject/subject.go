package subject

import (
	"fmt"
	"strings"
)

// MaxLen bounds a subject (or a token): the NATS server closes a connection whose protocol line (PUB subject
// reply size) exceeds its max_control_line of 4,096 bytes, and nats.go does not reconnect after that, so a
// subject a host publishes on, with its reply subject, must stay well below that.
const MaxLen = 1024

// The NATS wildcards.
const (
	// Any matches exactly one token.
	Any = "*"
	// Rest matches one or more tokens; it may only be the last token of a pattern.
	Rest = ">"
)

// ValidateToken checks one token of a literal subject: not empty, and no '.', no wildcard character,
// no white space or control character.
func ValidateToken(s string) error {
	if reason := tokenProblem(s); reason != "" {
		return &InvalidError{Subject: s, Reason: reason}
	}
	return nil
}

// ValidateSubject checks a subject: one or more valid tokens separated by single dots. With
// allowWildcards it is a pattern, and a token may also be exactly "*", or exactly ">" when it is the
// last token.
func ValidateSubject(s string, allowWildcards bool) error {
	if s == "" {
		return &InvalidError{Subject: s, Reason: "empty"}
	}
	if len(s) > MaxLen {
		return &InvalidError{Subject: s[:32] + "…", Reason: fmt.Sprintf("%d bytes long, more than %d", len(s), MaxLen)}
	}
	for rest := s; ; {
		tok, after, more := strings.Cut(rest, ".")
		reason := ""
		switch {
		case tok == "":
			reason = "empty token"
		case allowWildcards && tok == Any:
		case allowWildcards && tok == Rest:
			if more {
				reason = "wildcard '>' is not the last token"
			}
		default:
			reason = tokenProblem(tok)
		}
		if reason != "" {
			return &InvalidError{Subject: s, Reason: reason}
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// tokenProblem says what is wrong with a token of a literal subject, or returns "".
func tokenProblem(s string) string {
	if s == "" {
		return "empty"
	}
	if len(s) > MaxLen {
		return fmt.Sprintf("%d bytes long, more than %d", len(s), MaxLen)
	}
	for _, r := range s {
		switch {
		case r == '.':
			return "contains '.'"
		case r == '*' || r == '>':
			return fmt.Sprintf("contains wildcard %q", r)
		case r <= ' ' || r == 0x7f:
			return "contains white space or a control character"
		}
	}
	return ""
}

// Matches reports whether subject matches pattern: a "*" token of the pattern matches exactly one token,
// and a ">" token matches the rest of the subject when at least one token is left. Neither argument is
// validated; a malformed one matches what its tokens say.
func Matches(pattern, subject string) bool {
	subjectDone := false // every token of subject has been matched
	for {
		ptok, prest, pmore := strings.Cut(pattern, ".")
		if ptok == Rest {
			return !subjectDone
		}
		if subjectDone {
			return false
		}
		stok, srest, smore := strings.Cut(subject, ".")
		if ptok != Any && ptok != stok {
			return false
		}
		if !pmore {
			return !smore
		}
		pattern = prest
		if smore {
			subject = srest
		} else {
			subjectDone = true
		}
	}
}
