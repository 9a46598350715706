// Package cosigntest makes cosign signatures in Go, in the layouts the cosign CLI writes, for the cases
// the CLI fixtures (internal/cosign/testdata/cli) do not cover: other key types, keyless signatures from
// an in-process sigstore (sigstore-go's VirtualSigstore: a Fulcio CA, a Rekor log, a timestamp
// authority), tampered and misdirected signatures. It is imported only by tests; the daemon must not link
// it (cmd/wasmcloud-host's TestDeps checks).
package cosigntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

// Media types and annotations of cosign's layouts, spelled out here rather than taken from the package
// under test.
const (
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	MediaTypeBundle        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	ArtifactTypeCosignSig  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	PredicateCosignSign    = "https://sigstore.dev/cosign/sign/v1"

	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	AnnotationBundle      = "dev.sigstore.cosign/bundle"
	AnnotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"

	mediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeEmpty       = "application/vnd.oci.empty.v1+json"
)

// Payload is the simple-signing payload cosign writes for digest in the repository named by reference.
func Payload(digest, reference string) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, reference, digest)
}

// Statement is the in-toto statement `cosign sign --new-bundle-format` signs for digest.
func Statement(digest, predicateType string) []byte {
	hexDigest, _ := strings.CutPrefix(digest, "sha256:")
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":%q}}],"predicateType":%q}`, hexDigest, predicateType)
}

// Layer is one simple-signing layer: the payload and the layer's annotations.
type Layer struct {
	Payload     []byte
	Annotations map[string]string
}

// Artifact is a manifest and the blobs it references, ready to push.
type Artifact struct {
	MediaType string
	Manifest  []byte
	Blobs     [][]byte
}

// descriptor is an OCI descriptor as cosign writes it.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Size         int               `json:"size"`
	Digest       string            `json:"digest"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifest is an OCI image manifest as cosign writes it.
type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Subject       *descriptor       `json:"subject,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
}

func desc(mediaType string, b []byte) descriptor {
	return descriptor{MediaType: mediaType, Size: len(b), Digest: ocitest.Digest(b)}
}

// SignatureManifest is the manifest of the sha256-<hex>.sig tag holding layers, as cosign writes it.
func SignatureManifest(layers ...Layer) Artifact {
	return sigManifest("application/vnd.oci.image.config.v1+json", nil, layers)
}

// SignatureReferrer is layers as cosign --registry-referrers-mode=oci-1-1 pushes them: a referrer of
// subject (a manifest of mediaType, digest and size) with artifact type application/vnd.dev.cosign.artifact.sig.v1+json.
func SignatureReferrer(subjectMediaType, subjectDigest string, subjectSize int, layers ...Layer) Artifact {
	return sigManifest(ArtifactTypeCosignSig, &descriptor{MediaType: subjectMediaType, Digest: subjectDigest, Size: subjectSize}, layers)
}

func sigManifest(configType string, subject *descriptor, layers []Layer) Artifact {
	var a Artifact
	m := manifest{SchemaVersion: 2, MediaType: mediaTypeOCIManifest, Subject: subject}
	var diffIDs []string
	for _, l := range layers {
		d := desc(MediaTypeSimpleSigning, l.Payload)
		d.Annotations = l.Annotations
		m.Layers = append(m.Layers, d)
		a.Blobs = append(a.Blobs, l.Payload)
		diffIDs = append(diffIDs, d.Digest)
	}
	config, _ := json.Marshal(map[string]any{"architecture": "", "os": "", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	m.Config = desc(configType, config)
	if subject != nil {
		m.ArtifactType = ArtifactTypeCosignSig
	}
	a.Blobs = append(a.Blobs, config)
	a.MediaType = mediaTypeOCIManifest
	a.Manifest, _ = json.Marshal(m)
	return a
}

// BundleReferrer is a sigstore bundle as cosign --new-bundle-format pushes it: a referrer of subject with
// artifact type application/vnd.dev.sigstore.bundle.v0.3+json whose one layer is the bundle.
func BundleReferrer(subjectMediaType, subjectDigest string, subjectSize int, bundle []byte) Artifact {
	empty := []byte("{}")
	config := desc(mediaTypeEmpty, empty)
	config.ArtifactType = MediaTypeBundle
	m := manifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeOCIManifest,
		Config:        config,
		Layers:        []descriptor{desc(MediaTypeBundle, bundle)},
		Annotations: map[string]string{
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": PredicateCosignSign,
		},
		Subject:      &descriptor{MediaType: subjectMediaType, Digest: subjectDigest, Size: subjectSize},
		ArtifactType: MediaTypeBundle,
	}
	b, _ := json.Marshal(m)
	return Artifact{MediaType: mediaTypeOCIManifest, Manifest: b, Blobs: [][]byte{empty, bundle}}
}

// PushTag pushes a's blobs and then a under tag (or by digest when tag is "") to repository in reg, and
// returns the manifest digest.
func PushTag(tb testing.TB, reg *ocitest.Registry, repository, tag string, a Artifact) string {
	tb.Helper()
	reg.PushBlobs(tb, repository, a.Blobs...)
	return reg.PushRawManifest(tb, repository, tag, a.MediaType, a.Manifest)
}

// SigTag is the tag cosign gives the signatures of digest.
func SigTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// KeyType selects the key a KeySigner signs with.
type KeyType int

// The key types; Ed25519 signs either as cosign does since v2.4 (Ed25519ph) or as older cosign did (pure).
const (
	ECDSAP256 KeyType = iota
	ECDSAP384
	Ed25519ph
	Ed25519
	RSA2048
)

// KeySigner signs with a key made for the test.
type KeySigner struct {
	Type KeyType
	key  crypto.Signer
}

// NewKeySigner makes a key of type t.
func NewKeySigner(tb testing.TB, t KeyType) *KeySigner {
	tb.Helper()
	var key crypto.Signer
	var err error
	switch t {
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519, Ed25519ph:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return &KeySigner{Type: t, key: key}
}

// PublicKeyPEM is the public key as cosign writes a .pub file.
func (s *KeySigner) PublicKeyPEM(tb testing.TB) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// WritePublicKey writes the public key to a file in dir and returns its path.
func (s *KeySigner) WritePublicKey(tb testing.TB, dir, name string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, s.PublicKeyPEM(tb), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Sign signs msg as cosign does with this key type.
func (s *KeySigner) Sign(tb testing.TB, msg []byte) []byte {
	tb.Helper()
	var sig []byte
	var err error
	switch s.Type {
	case Ed25519:
		sig, err = s.key.Sign(rand.Reader, msg, crypto.Hash(0))
	case Ed25519ph:
		sum := sha512Sum(msg)
		sig, err = s.key.Sign(rand.Reader, sum, &ed25519.Options{Hash: crypto.SHA512})
	case ECDSAP384:
		sum := sha384Sum(msg)
		sig, err = s.key.Sign(rand.Reader, sum, crypto.SHA384)
	default:
		sum := sha256.Sum256(msg)
		sig, err = s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

// SimpleSigning is the layer cosign writes when it signs payload with this key.
func (s *KeySigner) SimpleSigning(tb testing.TB, payload []byte) Layer {
	tb.Helper()
	return Layer{Payload: payload, Annotations: map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(s.Sign(tb, payload))}}
}

// DSSEBundle is the bundle cosign --new-bundle-format writes with a key: a DSSE envelope over statement,
// no transparency-log entry (as with --tlog-upload=false).
func (s *KeySigner) DSSEBundle(tb testing.TB, statement []byte) []byte {
	tb.Helper()
	sig := s.Sign(tb, dsse.PAE("application/vnd.in-toto+json", statement))
	return marshalBundle(tb, &protobundle.Bundle{
		MediaType:            MediaTypeBundle,
		VerificationMaterial: s.keyMaterial(tb),
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     statement,
			PayloadType: "application/vnd.in-toto+json",
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	})
}

// MessageBundle is a bundle with a message signature over content (a manifest) made with this key.
func (s *KeySigner) MessageBundle(tb testing.TB, content []byte) []byte {
	tb.Helper()
	sum := sha256.Sum256(content)
	return marshalBundle(tb, &protobundle.Bundle{
		MediaType:            MediaTypeBundle,
		VerificationMaterial: s.keyMaterial(tb),
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     s.Sign(tb, content),
		}},
	})
}

func (s *KeySigner) keyMaterial(tb testing.TB) *protobundle.VerificationMaterial {
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	hint := sha256.Sum256(der)
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(hint[:])}},
	}
}

func marshalBundle(tb testing.TB, b *protobundle.Bundle) []byte {
	tb.Helper()
	out, err := protojson.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Digest returns "sha256:" and the hex SHA-256 of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
