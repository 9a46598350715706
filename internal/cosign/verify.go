package cosign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// timeZero is the unset time: no validity bound for a configured key.
var timeZero time.Time

// Layout is where a signature was found.
type Layout string

// The layouts Verify reads.
const (
	// LayoutTag is a simple-signing layer of the sha256-<hex>.sig tag.
	LayoutTag Layout = "sig tag"
	// LayoutReferrer is a simple-signing layer of a referrer (cosign --registry-referrers-mode=oci-1-1).
	LayoutReferrer Layout = "sig referrer"
	// LayoutBundle is a sigstore bundle referrer (cosign --new-bundle-format).
	LayoutBundle Layout = "bundle referrer"
)

// Result says which signature Verify accepted and who made it.
type Result struct {
	// Digest is the manifest digest the signature signs: the one Verify was asked about.
	Digest string
	// Layout is where the signature was found.
	Layout Layout
	// Signature is the digest of the manifest that carried the signature (the .sig manifest or the
	// referrer).
	Signature string
	// KeyFile and KeyFingerprint name the trusted public key that verified a key-based signature.
	KeyFile        string
	KeyFingerprint string
	// Identity and Issuer are the certificate's subject alternative name and OIDC issuer for a keyless
	// signature.
	Identity string
	Issuer   string
}

// Signer describes who signed: the key or the certificate identity.
func (r *Result) Signer() string {
	if r.KeyFingerprint != "" {
		return "key " + r.KeyFingerprint + " (" + r.KeyFile + ")"
	}
	return "identity " + r.Identity + " issued by " + r.Issuer
}

// manifestMediaTypes is the Accept list for signature manifests and the referrers tag.
var manifestMediaTypes = []string{
	ocispec.MediaTypeImageManifest,
	"application/vnd.docker.distribution.manifest.v2+json",
	ocispec.MediaTypeImageIndex,
}

// Verify looks for a signature of subject, the manifest just pulled from repo, that this Verifier trusts,
// and returns the first one accepted. It fetches through repo's client (the same transport, credentials
// and token cache as the pull) from repo's repository: first the sha256-<hex>.sig tag, then the referrers.
// Every read is bounded. When no signature is accepted the error is an *Error.
func (v *Verifier) Verify(ctx context.Context, repo *remote.Repository, subject ocispec.Descriptor) (*Result, error) {
	digest := string(subject.Digest)
	if err := checkDigest(digest); err != nil {
		return nil, fmt.Errorf("cosign: verify: %w", err)
	}
	s := &session{
		v:      v,
		digest: digest,
		repo: &remote.Repository{
			Client:               repo.Client,
			Reference:            repo.Reference,
			PlainHTTP:            repo.PlainHTTP,
			ManifestMediaTypes:   manifestMediaTypes,
			MaxMetadataBytes:     maxManifestBytes,
			ReferrerListMaxPages: maxReferrerPages,
		},
	}
	if res := s.fromTag(ctx); res != nil {
		return res, nil
	}
	if res := s.fromReferrers(ctx, subject); res != nil {
		return res, nil
	}
	return nil, newError(digest, s.rejected)
}

// session is the state of one Verify; it is used from one goroutine.
type session struct {
	v        *Verifier
	digest   string
	repo     *remote.Repository
	rejected []Rejection
}

func (s *session) reject(source string, kind, err error) {
	s.rejected = append(s.rejected, Rejection{Source: source, Kind: kind, Err: err})
}

// refused records a *refusal.
func (s *session) refused(source string, err error) {
	var r *refusal
	if errors.As(err, &r) {
		s.reject(source, r.kind, r.err)
		return
	}
	s.reject(source, ErrBadSignature, err)
}

// fetchKind classifies a registry error.
func fetchKind(err error) error {
	if errors.Is(err, errdef.ErrSizeExceedsLimit) {
		return ErrMalformed
	}
	return ErrFetch
}

// fetchManifest fetches the manifest ref (a tag or a digest) with at most maxManifestBytes read, and
// checks that it hashes to the digest the registry gave (and to ref, when ref is a digest).
func (s *session) fetchManifest(ctx context.Context, ref string) (string, []byte, error) {
	desc, rc, err := s.repo.FetchReference(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	defer rc.Close()
	if desc.Size > maxManifestBytes {
		return "", nil, fmt.Errorf("%w: manifest is %d bytes, over the %d-byte limit", errdef.ErrSizeExceedsLimit, desc.Size, maxManifestBytes)
	}
	limit := desc.Size
	if limit < 0 {
		limit = maxManifestBytes // not announced: the limit bounds the read, the digest check does the rest
	}
	body, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return "", nil, err
	}
	got := sha256Digest(body)
	if int64(len(body)) != desc.Size || got != string(desc.Digest) || (checkDigest(ref) == nil && got != ref) {
		return "", nil, errTampered{fmt.Sprintf("manifest %s is %d bytes hashing to %s; the registry announced %d bytes, %s", truncate(ref), len(body), got, desc.Size, desc.Digest)}
	}
	return got, body, nil
}

// errTampered reports content that does not hash to its digest.
type errTampered struct{ msg string }

func (e errTampered) Error() string { return e.msg }

// fetchLayer fetches a layer the manifest lists (checked by checkLayers) and checks its digest.
func (s *session) fetchLayer(ctx context.Context, l descriptor) ([]byte, error) {
	desc := ocispec.Descriptor{MediaType: l.MediaType, Digest: godigest.Digest(l.Digest), Size: l.Size}
	rc, err := s.repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, l.Size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("read layer %s: %w", l.Digest, err)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(rc, extra[:]); n > 0 {
		return nil, errTampered{fmt.Sprintf("layer %s is longer than its %d bytes", l.Digest, l.Size)}
	}
	if got := sha256Digest(b); got != l.Digest {
		return nil, errTampered{fmt.Sprintf("layer hashes to %s, the manifest says %s", got, l.Digest)}
	}
	return b, nil
}

// classify returns the kind of a fetch failure.
func classify(err error) error {
	var t errTampered
	if errors.As(err, &t) {
		return ErrTampered
	}
	return fetchKind(err)
}

// fromTag verifies the simple-signing layers of the sha256-<hex>.sig tag.
func (s *session) fromTag(ctx context.Context) *Result {
	tag := "sha256-" + s.digest[len("sha256:"):] + ".sig"
	source := "tag " + tag
	sigDigest, body, err := s.fetchManifest(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil
	}
	if err != nil {
		s.reject(source, classify(err), err)
		return nil
	}
	m, err := parseManifest(body)
	if err != nil {
		s.reject(source, ErrMalformed, err)
		return nil
	}
	return s.simpleSigningLayers(ctx, source, LayoutTag, sigDigest, m)
}

// simpleSigningLayers verifies each simple-signing layer of m until one is accepted.
func (s *session) simpleSigningLayers(ctx context.Context, source string, layout Layout, sigDigest string, m *sigManifest) *Result {
	found := false
	for i, l := range m.Layers {
		if l.MediaType != mediaTypeSimpleSigning {
			continue
		}
		found = true
		src := fmt.Sprintf("%s layer %d", source, i)
		b, err := s.fetchLayer(ctx, l)
		if err != nil {
			s.reject(src, classify(err), err)
			continue
		}
		e, err := newSimpleSigning(l.Annotations, b)
		if err != nil {
			s.reject(src, ErrMalformed, err)
			continue
		}
		res, err := s.v.verifySimpleSigning(e, s.digest)
		if err != nil {
			s.refused(src, err)
			continue
		}
		res.Layout, res.Signature = layout, sigDigest
		return res
	}
	if !found {
		s.reject(source, ErrMalformed, fmt.Errorf("no layer of media type %s", mediaTypeSimpleSigning))
	}
	return nil
}

// errEnough stops the referrers listing once maxReferrers are collected.
var errEnough = errors.New("enough referrers")

// fromReferrers verifies the referrers of subject that are cosign signatures or sigstore bundles. The
// artifact type a referrers index gives is not trusted (cosign's tag-schema index lists bundles as
// application/vnd.oci.empty.v1+json): each referrer manifest is fetched and classified by its own
// artifactType or config media type.
func (s *session) fromReferrers(ctx context.Context, subject ocispec.Descriptor) *Result {
	var refs []ocispec.Descriptor
	err := s.repo.Referrers(ctx, ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}, "", func(page []ocispec.Descriptor) error {
		for _, d := range page {
			if len(refs) == maxReferrers {
				return errEnough
			}
			refs = append(refs, d)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) && !errors.Is(err, errdef.ErrNotFound) {
		s.reject("referrers", classify(err), err)
	}
	for _, d := range refs {
		if d.MediaType != ocispec.MediaTypeImageManifest || checkDigest(string(d.Digest)) != nil {
			continue // not a manifest cosign writes
		}
		source := "referrer " + string(d.Digest)
		sigDigest, body, err := s.fetchManifest(ctx, string(d.Digest))
		if err != nil {
			s.reject(source, classify(err), err)
			continue
		}
		m, err := decodeManifest(body)
		if err != nil {
			s.reject(source, ErrMalformed, err)
			continue
		}
		kind := m.ArtifactType
		if kind == "" {
			kind = m.Config.MediaType
		}
		switch kind {
		case artifactTypeCosignSig:
			if err := m.checkLayers(); err != nil {
				s.reject(source, ErrMalformed, err)
				continue
			}
			if res := s.simpleSigningLayers(ctx, source, LayoutReferrer, sigDigest, m); res != nil {
				return res
			}
		case mediaTypeBundle:
			if res := s.bundleReferrer(ctx, source, sigDigest, m); res != nil {
				return res
			}
		}
	}
	return nil
}

// bundleReferrer verifies the bundle layer of a bundle referrer.
func (s *session) bundleReferrer(ctx context.Context, source, sigDigest string, m *sigManifest) *Result {
	if err := m.checkLayers(); err != nil {
		s.reject(source, ErrMalformed, err)
		return nil
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != mediaTypeBundle {
		s.reject(source, ErrMalformed, fmt.Errorf("a bundle referrer has one layer of media type %s", mediaTypeBundle))
		return nil
	}
	b, err := s.fetchLayer(ctx, m.Layers[0])
	if err != nil {
		s.reject(source, classify(err), err)
		return nil
	}
	bn, err := parseBundle(b)
	if err != nil {
		s.reject(source, ErrMalformed, err)
		return nil
	}
	res, err := s.v.verifyBundle(bn, s.digest)
	if err != nil {
		s.refused(source, err)
		return nil
	}
	res.Layout, res.Signature = LayoutBundle, sigDigest
	return res
}

// parseBundle decodes a sigstore bundle with sigstore-go (which checks its structure for the bundle
// version: v0.1 entries need an inclusion promise, later ones an inclusion proof).
func parseBundle(b []byte) (*bundle.Bundle, error) {
	if len(b) > maxLayerBytes {
		return nil, fmt.Errorf("bundle is %d bytes, over the %d-byte limit", len(b), maxLayerBytes)
	}
	var bn bundle.Bundle
	if err := bn.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("not a sigstore bundle: %w", err)
	}
	return &bn, nil
}

// verifySimpleSigning verifies a simple-signing entity with the configured trust and then its payload's
// digest. It returns the kind of a refusal with the error.
func (v *Verifier) verifySimpleSigning(e *simpleSigning, digest string) (*Result, error) {
	artifact := func() verify.ArtifactPolicyOption { return verify.WithArtifact(bytes.NewReader(e.payload)) }
	res, err := v.verifyEntity(e, e.cert != nil, artifact)
	if err != nil {
		return nil, err
	}
	p, err := parsePayload(e.payload)
	if err != nil {
		return nil, refuse(ErrMalformed, err)
	}
	if p.Digest != digest {
		return nil, refusef(ErrDigestMismatch, "the payload signs %s", p.Digest)
	}
	res.Digest = digest
	return &res.Result, nil
}

// verifyBundle verifies a bundle with the configured trust and then what it signs: a DSSE in-toto
// statement of cosign's sign predicate type with the digest as subject, or a message signature over the
// manifest.
func (v *Verifier) verifyBundle(b *bundle.Bundle, digest string) (*Result, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, refuse(ErrMalformed, err)
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return nil, refuse(ErrMalformed, err)
	}
	var artifact func() verify.ArtifactPolicyOption
	var msgDigest []byte
	if env := sc.EnvelopeContent(); env != nil {
		// The envelope's signature is verified here; its statement's subject is checked below.
		artifact = verify.WithoutArtifactUnsafe
	} else if msg := sc.MessageSignatureContent(); msg != nil {
		if msg.DigestAlgorithm() != "SHA2_256" || len(msg.Digest()) != sha256.Size {
			return nil, refusef(ErrMalformed, "message signature digest algorithm %s, want SHA2_256", msg.DigestAlgorithm())
		}
		msgDigest = msg.Digest()
		artifact = func() verify.ArtifactPolicyOption { return verify.WithArtifactDigest("sha256", msgDigest) }
	} else {
		return nil, refusef(ErrMalformed, "bundle holds neither a DSSE envelope nor a message signature")
	}
	res, err := v.verifyEntity(b, vc.Certificate() != nil, artifact)
	if err != nil {
		return nil, err
	}
	if msgDigest != nil {
		if got := "sha256:" + hex.EncodeToString(msgDigest); got != digest {
			return nil, refusef(ErrDigestMismatch, "the message signature signs %s", got)
		}
	} else if err := checkStatement(res.statement, digest); err != nil {
		return nil, err
	}
	res.Result.Digest = digest
	return &res.Result, nil
}

// verified is a Result with the statement sigstore-go decoded from a verified envelope.
type verified struct {
	Result
	statement *statement
}

// statement is what checkStatement reads of an in-toto statement.
type statement struct {
	Type          string
	PredicateType string
	Subjects      []map[string]string
}

// refusal is why a signature was refused: the kind (a sentinel) and the cause.
type refusal struct {
	kind error
	err  error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// refuse returns a *refusal of kind for err.
func refuse(kind, err error) error { return &refusal{kind: kind, err: err} }

// refusef returns a *refusal of kind with a formatted cause.
func refusef(kind error, format string, args ...any) error {
	return &refusal{kind: kind, err: fmt.Errorf(format, args...)}
}

// checkStatement requires an in-toto statement of cosign's sign predicate type with digest as a subject.
func checkStatement(st *statement, digest string) error {
	if st == nil {
		return refusef(ErrMalformed, "the envelope holds no in-toto statement")
	}
	if st.Type != "https://in-toto.io/Statement/v1" && st.Type != "https://in-toto.io/Statement/v0.1" {
		return refusef(ErrMalformed, "statement type %q is not in-toto", truncate(st.Type))
	}
	if st.PredicateType != predicateTypeCosignSign {
		return refusef(ErrMalformed, "predicate type %q is not a cosign signature (%s)", truncate(st.PredicateType), predicateTypeCosignSign)
	}
	want := digest[len("sha256:"):]
	var got []string
	for _, sub := range st.Subjects {
		if d, ok := sub["sha256"]; ok {
			if d == want {
				return nil
			}
			got = append(got, "sha256:"+truncate(d))
		}
	}
	if len(got) == 0 {
		return refusef(ErrDigestMismatch, "the statement has no sha256 subject")
	}
	return refusef(ErrDigestMismatch, "the statement signs %v", got)
}

// verifyEntity verifies e with the trusted keys (withCert false) or the keyless trust (withCert true):
// signature, and for keyless the certificate path, log entry, timestamps, SCT and identity.
func (v *Verifier) verifyEntity(e verify.SignedEntity, withCert bool, artifact func() verify.ArtifactPolicyOption) (*verified, error) {
	if withCert {
		if v.keyless == nil {
			return nil, refusef(ErrBadSignature, "signed with a certificate, and no trusted root is configured for keyless signatures")
		}
		r, err := v.keyless.verifier.Verify(e, verify.NewPolicy(artifact(), verify.WithCertificateIdentity(v.keyless.identity)))
		if err != nil {
			var idErr *verify.ErrNoMatchingCertificateIdentity
			if errors.As(err, &idErr) {
				return nil, refusef(ErrIdentity, "certificate identity: %v", idErr)
			}
			return nil, refuse(ErrBadSignature, err)
		}
		out := &verified{statement: toStatement(r)}
		if r.Signature != nil && r.Signature.Certificate != nil {
			out.Identity = r.Signature.Certificate.SubjectAlternativeName
			out.Issuer = r.Signature.Certificate.Issuer
		}
		return out, nil
	}
	if len(v.keys) == 0 {
		return nil, refusef(ErrBadSignature, "signed with a key, and no public keys are trusted")
	}
	for _, k := range v.keys {
		for _, sv := range k.verifiers {
			r, err := sv.Verify(e, verify.NewPolicy(artifact(), verify.WithKey()))
			if err != nil {
				continue
			}
			return &verified{Result: Result{KeyFile: k.file, KeyFingerprint: k.fingerprint}, statement: toStatement(r)}, nil
		}
	}
	if len(v.keys) == 1 {
		return nil, refusef(ErrBadSignature, "does not verify with the trusted key %s", v.keys[0].file)
	}
	return nil, refusef(ErrBadSignature, "does not verify with any of the %d trusted keys", len(v.keys))
}

// toStatement extracts what checkStatement needs from a verification result.
func toStatement(r *verify.VerificationResult) *statement {
	if r == nil || r.Statement == nil {
		return nil
	}
	st := &statement{Type: r.Statement.GetType(), PredicateType: r.Statement.GetPredicateType()}
	for _, sub := range r.Statement.GetSubject() {
		st.Subjects = append(st.Subjects, sub.GetDigest())
	}
	return st
}

// sha256Digest returns "sha256:" and the hex SHA-256 of b.
func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
