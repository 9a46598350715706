package cosign

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Media types, artifact types and annotations of the layouts cosign writes.
const (
	// mediaTypeSimpleSigning is the layer media type of a simple-signing payload.
	mediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// artifactTypeCosignSig is the artifact type of a simple-signing signature pushed as a referrer
	// (cosign sign --registry-referrers-mode=oci-1-1).
	artifactTypeCosignSig = "application/vnd.dev.cosign.artifact.sig.v1+json"
	// mediaTypeBundle is the artifact type and layer media type of a sigstore bundle pushed as a referrer
	// (cosign sign --new-bundle-format).
	mediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"

	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationRekorBundle = "dev.sigstore.cosign/bundle"
	annotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"

	// simpleSigningType is the critical.type of a cosign simple-signing payload.
	simpleSigningType = "cosign container image signature"
	// predicateTypeCosignSign is the in-toto predicate type of `cosign sign --new-bundle-format`.
	predicateTypeCosignSign = "https://sigstore.dev/cosign/sign/v1"
)

// Limits on what Verify reads from a registry. A signature manifest, a referrer index page and a
// referrer manifest are at most maxManifestBytes; a payload or bundle at most maxLayerBytes. At most
// maxLayers layers of a signature manifest, maxReferrers referrers and maxReferrerPages pages of the
// referrers API are examined, so a hostile registry can make a pull neither buffer nor loop without bound.
const (
	maxManifestBytes = 1 << 20
	maxLayerBytes    = 1 << 20
	maxLayers        = 16
	maxReferrers     = 16
	maxReferrerPages = 4
)

// descriptor is the part of an OCI descriptor Verify reads.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// sigManifest is the part of a signature or referrer manifest Verify reads. A referrer's subject is not
// read: what the signature signs is what binds it to the digest.
type sigManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	ArtifactType  string       `json:"artifactType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// parseManifest decodes a signature manifest (the sha256-<hex>.sig tag or a referrer) and checks the
// layers Verify will fetch (see checkLayers).
func parseManifest(b []byte) (*sigManifest, error) {
	m, err := decodeManifest(b)
	if err != nil {
		return nil, err
	}
	if err := m.checkLayers(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeManifest decodes a manifest: at most maxManifestBytes of JSON with schema version 2.
func decodeManifest(b []byte) (*sigManifest, error) {
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("manifest is %d bytes, over the %d-byte limit", len(b), maxManifestBytes)
	}
	var m sigManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion is %d, want 2", m.SchemaVersion)
	}
	return &m, nil
}

// checkLayers checks what Verify relies on before fetching layers: at least one and at most maxLayers of
// them, each with a well-formed sha256 digest and a size within 1..maxLayerBytes.
func (m *sigManifest) checkLayers() error {
	if len(m.Layers) == 0 {
		return errors.New("manifest has no layers")
	}
	if len(m.Layers) > maxLayers {
		return fmt.Errorf("manifest has %d layers, more than the %d examined", len(m.Layers), maxLayers)
	}
	for i, l := range m.Layers {
		if err := checkDigest(l.Digest); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		if l.Size <= 0 || l.Size > maxLayerBytes {
			return fmt.Errorf("layer %d: size %d is not within 1..%d bytes", i, l.Size, maxLayerBytes)
		}
	}
	return nil
}

// checkDigest accepts "sha256:" and 64 lower-case hex digits.
func checkDigest(d string) error {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return fmt.Errorf("digest %q is not sha256: and 64 lower-case hex digits", truncate(d))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("digest %q is not sha256: and 64 lower-case hex digits", truncate(d))
	}
	return nil
}

// truncate shortens attacker-controlled text quoted in an error.
func truncate(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// payload is the part of a simple-signing payload Verify checks.
type payload struct {
	// Digest is critical.image.docker-manifest-digest.
	Digest string
	// Reference is critical.identity.docker-reference (informational: not checked, since a registry may
	// be reached under several names).
	Reference string
}

// parsePayload decodes a cosign simple-signing payload:
//
//	{"critical":{"identity":{"docker-reference":"…"},"image":{"docker-manifest-digest":"sha256:…"},
//	 "type":"cosign container image signature"},"optional":{…}}
//
// It requires the type and a well-formed digest, and refuses a critical section with duplicate or unknown
// keys, whose meaning a verifier could get wrong.
func parsePayload(b []byte) (*payload, error) {
	if len(b) > maxLayerBytes {
		return nil, fmt.Errorf("payload is %d bytes, over the %d-byte limit", len(b), maxLayerBytes)
	}
	var top struct {
		Critical json.RawMessage `json:"critical"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("payload is not valid JSON: %w", err)
	}
	if len(top.Critical) == 0 || bytes.Equal(top.Critical, []byte("null")) {
		return nil, errors.New("payload has no critical section")
	}
	var critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	}
	if err := strictUnmarshal(top.Critical, &critical); err != nil {
		return nil, fmt.Errorf("payload critical section: %w", err)
	}
	if critical.Type != simpleSigningType {
		return nil, fmt.Errorf("payload type is %q, want %q", truncate(critical.Type), simpleSigningType)
	}
	if err := checkDigest(critical.Image.DockerManifestDigest); err != nil {
		return nil, fmt.Errorf("payload docker-manifest-digest: %w", err)
	}
	return &payload{Digest: critical.Image.DockerManifestDigest, Reference: critical.Identity.DockerReference}, nil
}

// strictUnmarshal decodes b into v, refusing unknown fields, duplicate keys at any depth and trailing data.
func strictUnmarshal(b []byte, v any) error {
	if err := noDuplicateKeys(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// maxJSONDepth bounds the nesting noDuplicateKeys follows.
const maxJSONDepth = 32

// noDuplicateKeys refuses JSON with an object that has the same key twice, at any depth.
func noDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(depth int) error
	walk = func(depth int) error {
		if depth > maxJSONDepth {
			return errors.New("nested too deeply")
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				if seen[key] {
					return fmt.Errorf("duplicate key %q", truncate(key))
				}
				seen[key] = true
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
		return nil
	}
	return walk(0)
}

// decodeSignature decodes the base64 signature annotation.
func decodeSignature(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("no %s annotation", annotationSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s annotation is not base64: %w", annotationSignature, err)
	}
	if len(sig) == 0 || len(sig) > 1024 {
		return nil, fmt.Errorf("%s annotation holds %d bytes, not a signature", annotationSignature, len(sig))
	}
	return sig, nil
}

// decodeCertificate decodes the PEM certificate annotation of a keyless simple-signing layer: exactly one
// CERTIFICATE block.
func decodeCertificate(s string) (*x509.Certificate, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s annotation is not a PEM certificate", annotationCertificate)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%s annotation holds more than one certificate", annotationCertificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s annotation: %w", annotationCertificate, err)
	}
	return cert, nil
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation: a Rekor v1 entry with its signed entry
// timestamp (the inclusion promise).
type rekorBundle struct {
	SignedEntryTimestamp []byte // SET over the canonical JSON of the payload fields
	Body                 []byte // the canonicalized entry
	IntegratedTime       int64
	LogIndex             int64
	LogID                []byte // SHA-256 of the log's public key
}

// decodeRekorBundle decodes the dev.sigstore.cosign/bundle annotation:
//
//	{"SignedEntryTimestamp":"<base64>","Payload":{"body":"<base64>","integratedTime":n,"logIndex":n,"logID":"<hex>"}}
func decodeRekorBundle(s string) (*rekorBundle, error) {
	var raw struct {
		SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
		Payload              struct {
			Body           []byte `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		} `json:"Payload"`
	}
	if err := strictUnmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("%s annotation: %w", annotationRekorBundle, err)
	}
	logID, err := hex.DecodeString(raw.Payload.LogID)
	if err != nil || len(logID) != 32 {
		return nil, fmt.Errorf("%s annotation: logID is not 64 hex digits", annotationRekorBundle)
	}
	if len(raw.SignedEntryTimestamp) == 0 || len(raw.Payload.Body) == 0 {
		return nil, fmt.Errorf("%s annotation: no signed entry timestamp or no body", annotationRekorBundle)
	}
	if raw.Payload.IntegratedTime <= 0 || raw.Payload.LogIndex < 0 {
		return nil, fmt.Errorf("%s annotation: integratedTime %d, logIndex %d", annotationRekorBundle, raw.Payload.IntegratedTime, raw.Payload.LogIndex)
	}
	return &rekorBundle{
		SignedEntryTimestamp: raw.SignedEntryTimestamp,
		Body:                 raw.Payload.Body,
		IntegratedTime:       raw.Payload.IntegratedTime,
		LogIndex:             raw.Payload.LogIndex,
		LogID:                logID,
	}, nil
}

// decodeTimestamp decodes the dev.sigstore.cosign/rfc3161timestamp annotation, {"SignedRFC3161Timestamp":
// "<base64>"}, to the DER timestamp response.
func decodeTimestamp(s string) ([]byte, error) {
	var raw struct {
		SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
	}
	if err := strictUnmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("%s annotation: %w", annotationTimestamp, err)
	}
	if len(raw.SignedRFC3161Timestamp) == 0 {
		return nil, fmt.Errorf("%s annotation: empty", annotationTimestamp)
	}
	return raw.SignedRFC3161Timestamp, nil
}
