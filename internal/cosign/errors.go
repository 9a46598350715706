package cosign

import (
	"errors"
	"fmt"
	"strings"
)

// ErrConfig is matched by every problem Load finds in a Config: a file that cannot be read or parsed, a
// key of an unsupported type, a certificate identity without a trusted root, an invalid expression. Each
// problem names the variable and, where there is one, the file.
var ErrConfig = errors.New("cosign: invalid configuration")

// ErrNoSignature is matched when the registry holds no signature for the manifest in any layout Verify
// reads: no sha256-<hex>.sig tag and no referrer that is a cosign signature or a sigstore bundle.
var ErrNoSignature = errors.New("cosign: no signature found")

// ErrBadSignature is matched when a signature is present but does not verify: it was made by a key that is
// not trusted, its certificate does not chain to the trusted root or lacks the transparency-log entry,
// timestamp or SCT the root calls for, or what it signs was changed after signing. A signature by another
// key and a payload altered after signing look the same to a verifier: neither verifies with a trusted key.
var ErrBadSignature = errors.New("cosign: signature does not verify")

// ErrIdentity is matched when a keyless signature verifies and its certificate chains to the trusted root,
// but the certificate's identity (subject alternative name) or OIDC issuer is not the configured one.
var ErrIdentity = errors.New("cosign: signed by another identity")

// ErrDigestMismatch is matched when a signature verifies but signs another manifest: the simple-signing
// payload's docker-manifest-digest, or the bundle's statement subject or message digest, is not the digest
// of the manifest that was pulled (a signature copied from another artifact).
var ErrDigestMismatch = errors.New("cosign: signature is for another manifest")

// ErrTampered is matched when the registry serves signature content that does not hash to the digest that
// names it: a signature manifest, payload or bundle altered in the registry or in transit.
var ErrTampered = errors.New("cosign: signature content does not match its digest")

// ErrMalformed is matched when a signature artifact cannot be read: a manifest, payload, bundle or
// annotation that does not parse, or that is larger than the limits Verify reads.
var ErrMalformed = errors.New("cosign: malformed signature")

// ErrFetch is matched when signatures could not be fetched from the registry (network, authorization,
// unexpected status) and no signature that was fetched verifies.
var ErrFetch = errors.New("cosign: fetch signatures failed")

// Error is what Verify returns when no signature is accepted. Kind is the sentinel that best describes why
// (the refusal closest to acceptance when several signatures were refused: ErrIdentity, then
// ErrDigestMismatch, ErrBadSignature, ErrTampered, ErrMalformed, ErrFetch; ErrNoSignature when there were
// none); Rejected lists every signature examined and why it was refused.
type Error struct {
	// Digest is the manifest digest whose signatures were verified.
	Digest string
	// Kind is one of the package's sentinel errors.
	Kind error
	// Rejected lists each signature examined (or each fetch that failed) and why it was refused.
	Rejected []Rejection
}

// Rejection is one signature Verify refused, or one fetch that failed.
type Rejection struct {
	// Source says where the signature was: "tag sha256-….sig layer 0", "referrer sha256:…".
	Source string
	// Kind is one of the package's sentinel errors.
	Kind error
	// Err says what was wrong.
	Err error
}

// String renders the rejection as `source: cause`.
func (r Rejection) String() string {
	if r.Err == nil {
		return r.Source + ": " + r.Kind.Error()
	}
	return r.Source + ": " + r.Err.Error()
}

// maxRendered bounds how many rejections Error renders; Rejected keeps all of them.
const maxRendered = 4

// Error renders `kind: digest: n signature(s) refused: source: cause; …`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": ")
	b.WriteString(e.Digest)
	if len(e.Rejected) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, ": %d refused: ", len(e.Rejected))
	for i, r := range e.Rejected {
		if i == maxRendered {
			fmt.Fprintf(&b, "; and %d more", len(e.Rejected)-maxRendered)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}

// Unwrap returns the kind, so that errors.Is matches it, and the causes of the rejections.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	for _, r := range e.Rejected {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errs
}

// rank orders the kinds by how close a refused signature came to being accepted.
func rank(kind error) int {
	switch kind {
	case ErrIdentity:
		return 6
	case ErrDigestMismatch:
		return 5
	case ErrBadSignature:
		return 4
	case ErrTampered:
		return 3
	case ErrMalformed:
		return 2
	case ErrFetch:
		return 1
	}
	return 0
}

// newError returns the *Error for rejections; its kind is the best-ranked one, or ErrNoSignature.
func newError(digest string, rejected []Rejection) *Error {
	e := &Error{Digest: digest, Kind: ErrNoSignature, Rejected: rejected}
	for _, r := range rejected {
		if rank(r.Kind) > rank(e.Kind) {
			e.Kind = r.Kind
		}
	}
	return e
}
