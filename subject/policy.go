package subject

import (
	"fmt"
	"slices"
	"strings"
)

// Overlap reports whether some literal subject matches both patterns a and b. Either may be a literal
// subject; for two literal subjects Overlap is equality. Neither argument is validated: a malformed one
// overlaps what its tokens say.
//
// Two patterns overlap exactly when they can be walked token by token to their ends together: a literal
// token meets an equal literal or a '*', a '*' meets anything but the end, and a '>' (which matches one
// or more tokens) meets any non-empty remainder of the other pattern, because that remainder always has
// an instance of at least one token.
func Overlap(a, b string) bool {
	for {
		atok, arest, amore := strings.Cut(a, ".")
		btok, brest, bmore := strings.Cut(b, ".")
		switch {
		case atok == Rest || btok == Rest:
			return true // each side has at least this token left
		case atok != Any && btok != Any && atok != btok:
			return false
		}
		if amore != bmore {
			return false // one ends here; the other needs at least one more token
		}
		if !amore {
			return true
		}
		a, b = arest, brest
	}
}

// Policy says which subjects actors may never reach: the lattice's own namespaces. A subject is reserved
// when it matches one of the policy's patterns, or when its first token starts with '$' (the server's
// and JetStream's APIs: $SYS, $JS, $KV, $O, $NRG and any later one). The zero Policy reserves only the
// '$' namespaces; build one with NewPolicy.
type Policy struct {
	reserved []string
	exact    map[string]bool // reserved literal subjects a subscription may name exactly
}

// NewPolicy returns a Policy that reserves, besides the '$' namespaces, every pattern given. Each must be a
// valid pattern (wildcards allowed); an invalid one is an error that names it.
func NewPolicy(reserved ...string) (*Policy, error) {
	p := &Policy{}
	for _, r := range reserved {
		if err := ValidateSubject(r, true); err != nil {
			return nil, fmt.Errorf("reserved subject: %w", err)
		}
		p.reserved = append(p.reserved, r)
	}
	return p, nil
}

// AllowExact lets a subscription name each of the given reserved literal subjects exactly (a link's explicit
// grant, such as the policy topic for the actor that serves as the policy service), while every pattern that
// merely overlaps one stays refused. A subject that p does not reserve, or that is a pattern, is an error.
func (p *Policy) AllowExact(subjects ...string) error {
	for _, s := range subjects {
		if err := ValidateSubject(s, false); err != nil {
			return fmt.Errorf("exact grant: %w", err)
		}
		if !slices.Contains(p.reserved, s) {
			return fmt.Errorf("exact grant: %q is not reserved", s)
		}
		if p.exact == nil {
			p.exact = map[string]bool{}
		}
		p.exact[s] = true
	}
	return nil
}

// Reserved returns the patterns p reserves besides the '$' namespaces.
func (p *Policy) Reserved() []string { return append([]string(nil), p.reserved...) }

// dollar reports whether a pattern's first token can be a '$' token: it is one, or it is a wildcard.
func dollar(pattern string) bool {
	first, _, _ := strings.Cut(pattern, ".")
	return strings.HasPrefix(first, "$") || first == Any || first == Rest
}

// CheckLiteral refuses a subject that is not a valid literal subject or that is reserved. It is the check
// for every subject an actor sends to.
func (p *Policy) CheckLiteral(s string) error {
	if err := ValidateSubject(s, false); err != nil {
		return err
	}
	if dollar(s) {
		return &InvalidError{Subject: s, Reason: "is in the server's '$' namespace", reserved: true}
	}
	for _, r := range p.reserved {
		if Matches(r, s) {
			return &InvalidError{Subject: s, Reason: "is one of the lattice's own subjects (" + r + ")", reserved: true}
		}
	}
	return nil
}

// CheckPattern refuses a pattern that is not valid or that some reserved subject matches: a subscription
// that could receive a single message on the lattice's own subjects. It is the check for every subject a
// link subscribes an actor to.
func (p *Policy) CheckPattern(s string) error {
	if err := ValidateSubject(s, true); err != nil {
		return err
	}
	if dollar(s) {
		return &InvalidError{Subject: s, Reason: "can match subjects in the server's '$' namespace", reserved: true}
	}
	for _, r := range p.reserved {
		if Overlap(r, s) && !(r == s && p.exact[s]) {
			return &InvalidError{Subject: s, Reason: "can match the lattice's own subjects (" + r + ")", reserved: true}
		}
	}
	return nil
}
