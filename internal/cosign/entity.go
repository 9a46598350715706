package cosign

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// simpleSigning is one simple-signing layer as a sigstore-go signed entity: a message signature over the
// payload, made with a trusted key or with the key of the certificate annotation, with the Rekor entry of
// the bundle annotation and the RFC 3161 timestamp annotation when present. The chain annotation is not
// used: the trusted root holds the chains a certificate may use.
type simpleSigning struct {
	payload    []byte
	signature  []byte
	cert       *x509.Certificate // nil for a key signature
	tlogEntry  *tlog.Entry       // nil without a bundle annotation
	timestamps [][]byte
}

var _ verify.SignedEntity = (*simpleSigning)(nil)

// newSimpleSigning builds the entity from a layer's annotations and its payload.
func newSimpleSigning(annotations map[string]string, payload []byte) (*simpleSigning, error) {
	sig, err := decodeSignature(annotations[annotationSignature])
	if err != nil {
		return nil, err
	}
	e := &simpleSigning{payload: payload, signature: sig}
	if s, ok := annotations[annotationCertificate]; ok && s != "" {
		if e.cert, err = decodeCertificate(s); err != nil {
			return nil, err
		}
	}
	if s, ok := annotations[annotationRekorBundle]; ok && s != "" {
		rb, err := decodeRekorBundle(s)
		if err != nil {
			return nil, err
		}
		//nolint:staticcheck // NewEntry is the constructor for a Rekor v1 entry given as its parts, which is what cosign's annotation holds.
		e.tlogEntry, err = tlog.NewEntry(rb.Body, rb.IntegratedTime, rb.LogIndex, rb.LogID, rb.SignedEntryTimestamp, nil)
		if err != nil {
			return nil, errors.New(annotationRekorBundle + " annotation: the entry body does not parse")
		}
	}
	if s, ok := annotations[annotationTimestamp]; ok && s != "" {
		ts, err := decodeTimestamp(s)
		if err != nil {
			return nil, err
		}
		e.timestamps = [][]byte{ts}
	}
	return e, nil
}

// HasInclusionPromise implements verify.SignedEntity.
func (e *simpleSigning) HasInclusionPromise() bool { return e.tlogEntry != nil }

// HasInclusionProof implements verify.SignedEntity: the annotation carries no inclusion proof.
func (e *simpleSigning) HasInclusionProof() bool { return false }

// SignatureContent implements verify.SignedEntity: a message signature over the payload.
func (e *simpleSigning) SignatureContent() (verify.SignatureContent, error) {
	sum := sha256.Sum256(e.payload)
	return bundle.NewMessageSignature(sum[:], "SHA2_256", e.signature), nil
}

// Timestamps implements verify.SignedEntity.
func (e *simpleSigning) Timestamps() ([][]byte, error) { return e.timestamps, nil }

// TlogEntries implements verify.SignedEntity.
func (e *simpleSigning) TlogEntries() ([]*tlog.Entry, error) {
	if e.tlogEntry == nil {
		return nil, nil
	}
	return []*tlog.Entry{e.tlogEntry}, nil
}

// VerificationContent implements verify.SignedEntity: the certificate, or a key the trusted material
// names (the payload carries no key hint).
func (e *simpleSigning) VerificationContent() (verify.VerificationContent, error) {
	if e.cert != nil {
		return bundle.NewCertificate(e.cert), nil
	}
	return &bundle.PublicKey{}, nil
}

// Version implements verify.SignedEntity. The value only selects sigstore-go's compatibility fallbacks
// for bundles, which do not apply to simple signing.
func (e *simpleSigning) Version() (string, error) { return "cosign-simple-signing", nil }
