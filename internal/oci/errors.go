package oci

import (
	"errors"
	"strconv"
)

// ErrInvalidReference is matched by a reference that does not parse as registry/repository[:tag][@sha256:hex]:
// a missing registry, an upper-case repository, a bad tag, a digest that is not sha256, a URL scheme.
var ErrInvalidReference = errors.New("oci: invalid reference")

// ErrLatest is matched by a reference that names no fixed version, the tag "latest" or no tag and no digest,
// when Config.AllowLatest is off: what such a reference pulls can change under a running lattice.
var ErrLatest = errors.New("oci: unpinned reference (tag latest or no tag) not allowed")

// ErrInsecure is matched when a registry answers HTTPS with plain HTTP and is not listed in Config.Insecure.
// Plain HTTP is never tried on its own: the registry must be listed.
var ErrInsecure = errors.New("oci: registry speaks plain HTTP but is not listed as insecure")

// ErrUnauthorized is matched when the registry refuses the request: no credentials where some are needed,
// or credentials it does not accept (HTTP 401 or 403). The message names the registry, never a password.
var ErrUnauthorized = errors.New("oci: registry refused access")

// ErrNotFound is matched when the registry has no such repository, tag, manifest or layer.
var ErrNotFound = errors.New("oci: not found in registry")

// ErrDigestMismatch is matched when content does not hash to the digest that names it: the manifest does
// not match the reference's @sha256: pin or the registry's Docker-Content-Digest, or the layer does not
// match the manifest.
var ErrDigestMismatch = errors.New("oci: digest mismatch")

// ErrNotActor is matched when the manifest is not a wasmCloud actor artifact: not an image manifest, or not
// exactly one layer of a WebAssembly media type, or a malformed layer descriptor.
var ErrNotActor = errors.New("oci: not an actor artifact")

// ErrTooLarge is matched when the module layer is larger than Config.MaxSize (or the manifest larger than
// 4 MiB); it is refused before the download.
var ErrTooLarge = errors.New("oci: artifact too large")

// ErrSignature is matched when a cosign verifier is set and the artifact has no signature it accepts; the
// cause is a *cosign.Error whose Kind (cosign.ErrNoSignature, cosign.ErrBadSignature, cosign.ErrIdentity,
// cosign.ErrDigestMismatch, …) says why, and errors.Is matches that kind too. The module is not downloaded.
var ErrSignature = errors.New("oci: no trusted cosign signature")

// ErrFetch is matched by every other failure to talk to the registry: the network, TLS verification, an
// unexpected status, a response that breaks the distribution protocol.
var ErrFetch = errors.New("oci: fetch failed")

// RefError is what Pull and ParseReference return for every failure: the reference, the registry, which
// kind of refusal it is (one of the sentinels above, for errors.Is) and the underlying cause, if any. The
// message never contains credentials.
type RefError struct {
	// Ref is the reference as passed to Pull or ParseReference.
	Ref string
	// Registry is the registry host[:port], when the reference parsed far enough to have one.
	Registry string
	// Kind is one of the package's sentinel errors.
	Kind error
	// Reason says what is wrong in a few words; it may be empty.
	Reason string
	// Err is the underlying cause (from oras-go, net/http, crypto/tls), when there is one.
	Err error
}

// Error renders the problem as `kind: "ref": reason: cause`.
func (e *RefError) Error() string {
	s := e.Kind.Error() + ": " + strconv.Quote(e.Ref)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, so that errors.Is matches both.
func (e *RefError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
