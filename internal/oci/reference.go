package oci

import (
	"net/netip"
	"strconv"
	"strings"
)

// Reference is a parsed actor reference: registry/repository[:tag][@sha256:hex].
type Reference struct {
	// Registry is host[:port], the host lower-cased; an IPv6 address is in brackets.
	Registry string
	// Repository is the repository path inside the registry, such as "wasmcloud/echo".
	Repository string
	// Tag is the tag, or "" when the reference has none.
	Tag string
	// Digest is "sha256:" and 64 lower-case hex digits, or "" when the reference is not pinned.
	Digest string
}

// Limits of the reference grammar. The repository limit is the distribution project's; the tag limit is
// the OCI distribution specification's.
const (
	maxRepositoryLen = 255
	maxTagLen        = 128
	maxHostLen       = 253
	digestPrefix     = "sha256:"
	digestHexLen     = 64
)

// Latest is the tag a reference without tag or digest stands for.
const Latest = "latest"

// ParseReference parses an actor reference. Unlike Docker, it never guesses a registry: the first path
// element must be a host (it contains a dot or a port, or is "localhost", or is a bracketed IPv6 address),
// so that "wasmcloud/echo:0.3.4" is refused rather than quietly pulled from Docker Hub. A reference may
// have both a tag and a digest (Pull then requires the tag to resolve to the digest). Errors are *RefError
// matching ErrInvalidReference.
func ParseReference(s string) (Reference, error) {
	fail := func(registry, reason string) (Reference, error) {
		return Reference{}, &RefError{Ref: s, Registry: registry, Kind: ErrInvalidReference, Reason: reason}
	}
	if s == "" {
		return fail("", "empty")
	}
	if strings.Contains(s, "://") {
		return fail("", "a URL scheme is not part of a reference (want registry/repository:tag)")
	}
	host, path, ok := strings.Cut(s, "/")
	if !ok {
		return fail("", "no registry (want registry/repository:tag)")
	}
	registry, reason := parseRegistry(host)
	if reason != "" {
		return fail("", reason)
	}
	var r Reference
	r.Registry = registry

	if name, digest, ok := strings.Cut(path, "@"); ok {
		if reason := checkDigest(digest); reason != "" {
			return fail(registry, reason)
		}
		r.Digest = digest
		path = name
	}
	if name, tag, ok := strings.Cut(path, ":"); ok {
		if reason := checkTag(tag); reason != "" {
			return fail(registry, reason)
		}
		r.Tag = tag
		path = name
	}
	if reason := checkRepository(path); reason != "" {
		return fail(registry, reason)
	}
	r.Repository = path
	return r, nil
}

// String returns the reference in its canonical form, which ParseReference parses back to r.
func (r Reference) String() string {
	s := r.Registry + "/" + r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Pinned reports whether r names one fixed artifact version: it has a digest, or a tag other than latest.
// Tags can be moved, but a version tag is the convention wasmCloud relies on.
func (r Reference) Pinned() bool {
	return r.Digest != "" || (r.Tag != "" && r.Tag != Latest)
}

// parseRegistry checks host[:port] and returns it with the host lower-cased, or a reason it is not one.
func parseRegistry(s string) (registry, reason string) {
	const want = "registry is not host[:port]"
	if s == "" {
		return "", "empty registry (want registry/repository:tag)"
	}
	var host, port string
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", want
		}
		addr, err := netip.ParseAddr(s[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", want + ": bad IPv6 address"
		}
		host = "[" + addr.String() + "]"
		rest := s[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return "", want
			}
			port = p
		}
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(s, ":")
		if hasPort && port == "" {
			return "", want + ": empty port"
		}
		if strings.Contains(port, ":") {
			return "", want + " (an IPv6 address goes in brackets)"
		}
		if !isHostName(host) {
			return "", want
		}
		host = strings.ToLower(host)
		if port == "" && host != "localhost" && !strings.Contains(host, ".") {
			return "", "no registry host: " + strconv.Quote(host) + " has no dot or port (want e.g. ghcr.io/org/actor:1.0; Docker Hub is docker.io)"
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", want + ": bad port"
		}
		return host + ":" + port, ""
	}
	return host, ""
}

// isHostName accepts a DNS name of letters, digits and hyphens (which covers IPv4 addresses).
func isHostName(h string) bool {
	if h == "" || len(h) > maxHostLen {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' {
				return false
			}
		}
	}
	return true
}

// checkRepository applies the OCI distribution grammar: path components of lower-case letters and digits,
// separated inside a component by ".", "_", "__" or a run of "-".
func checkRepository(p string) string {
	const want = "repository must be lower-case path components of letters and digits separated by '.', '_', '__' or '-'"
	if p == "" {
		return "empty repository"
	}
	if len(p) > maxRepositoryLen {
		return "repository longer than " + strconv.Itoa(maxRepositoryLen) + " characters"
	}
	for comp := range strings.SplitSeq(p, "/") {
		if comp == "" || !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return want
		}
		for i := 0; i < len(comp); {
			if isAlnum(comp[i]) {
				i++
				continue
			}
			j := i
			for j < len(comp) && !isAlnum(comp[j]) {
				j++
			}
			switch sep := comp[i:j]; {
			case sep == ".", sep == "_", sep == "__", strings.Trim(sep, "-") == "":
			default:
				return want
			}
			i = j
		}
	}
	return ""
}

// checkTag applies the OCI tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func checkTag(t string) string {
	const want = "tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
	if t == "" || len(t) > maxTagLen || t[0] == '.' || t[0] == '-' {
		return want
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '-' {
			return want
		}
	}
	return ""
}

// checkDigest accepts "sha256:" and 64 lower-case hex digits, the only pin wasmCloud registries use.
func checkDigest(d string) string {
	hex, ok := strings.CutPrefix(d, digestPrefix)
	if !ok {
		if algo, _, found := strings.Cut(d, ":"); found && algo != "" {
			return "digest algorithm " + strconv.Quote(algo) + " not supported (want sha256)"
		}
		return "digest must be sha256: and 64 lower-case hex digits"
	}
	if !isHex(hex) {
		return "digest must be sha256: and 64 lower-case hex digits"
	}
	return ""
}

// isHex reports whether s is exactly 64 lower-case hex digits.
func isHex(s string) bool {
	if len(s) != digestHexLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is a lower-case letter or a digit.
func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
