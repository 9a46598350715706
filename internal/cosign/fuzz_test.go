package cosign

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliBlob reads a blob of the cosign CLI fixtures, for seeds.
func cliBlob(f *testing.F, digest string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cli", "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

const (
	seedDigest       = "sha256:a2321fce9270d39bda621b31b7db547813e15fd2a9575ea5f7c9b61a43a6096f"
	seedSigManifest  = "sha256:2c0d81390f249a549cccf19ec0427e0188f085dc164a5d2c56255bba859fb843"
	seedPayload      = "sha256:925a3e4e2a7317f1beead8e8da54d707b6de812ee6538fd60cee445f4e6eaa01"
	seedBundle       = "sha256:e99db855208be2f975bded82677b38b183588bb610976b1babaeb83cd5043515"
	seedReferrer     = "sha256:d5a9309155a9589804785e45a9f3f3df1f1e59a45557b5de740ce2f72c0c573a"
	seedOCI11        = "sha256:7b59d49758728d3cc80ac328000df5f1fbf9888fe27a99dc4ec44c73fcbaae3a"
	seedReferrersIdx = "sha256:506c70fbe17cedddd05fc3f9f5e188d3b86393b8cd593e32c2bb2636f12de6a9"
)

// FuzzParsePublicKey: any input is a supported key with a fingerprint, or an error; nothing panics.
func FuzzParsePublicKey(f *testing.F) {
	for _, name := range []string{"ecdsa.pub", "ed25519.pub", "other.pub"} {
		b, err := os.ReadFile(filepath.Join("testdata", "cli", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		pk, err := ParsePublicKey(data)
		if err != nil {
			if pk != nil {
				t.Fatal("a key and an error")
			}
			return
		}
		if pk.Key == nil || !strings.HasPrefix(pk.Fingerprint, "sha256:") || len(pk.Fingerprint) != 71 {
			t.Fatalf("key %#v", pk)
		}
	})
}

// FuzzParsePayload: a payload that parses has the cosign type and a well-formed digest, and parses the
// same once re-encoded; nothing panics.
func FuzzParsePayload(f *testing.F) {
	f.Add(cliBlob(f, seedPayload))
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + seedDigest + `"},"type":"cosign container image signature"},"optional":{"a":"b"}}`))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"x"},"image":{}}}`))
	f.Add([]byte(`{"critical":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePayload(data)
		if err != nil {
			return
		}
		if checkDigest(p.Digest) != nil {
			t.Fatalf("digest %q accepted", p.Digest)
		}
		again, err := json.Marshal(map[string]any{"critical": map[string]any{
			"identity": map[string]any{"docker-reference": p.Reference},
			"image":    map[string]any{"docker-manifest-digest": p.Digest},
			"type":     simpleSigningType,
		}})
		if err != nil {
			t.Fatal(err)
		}
		q, err := parsePayload(again)
		if err != nil || *q != *p {
			t.Fatalf("re-encoded payload: %+v, %v; want %+v", q, err, p)
		}
	})
}

// FuzzParseManifest: a manifest that parses has 1..maxLayers layers with well-formed digests and sizes
// within the limit; nothing panics.
func FuzzParseManifest(f *testing.F) {
	for _, d := range []string{seedSigManifest, seedReferrer, seedOCI11, seedReferrersIdx} {
		f.Add(cliBlob(f, d))
	}
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"digest":"sha256:` + strings.Repeat("0", 64) + `","size":1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"digest":"sha256:` + strings.Repeat("A", 64) + `","size":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err != nil {
			return
		}
		if len(m.Layers) == 0 || len(m.Layers) > maxLayers {
			t.Fatalf("%d layers accepted", len(m.Layers))
		}
		for _, l := range m.Layers {
			if checkDigest(l.Digest) != nil || l.Size <= 0 || l.Size > maxLayerBytes {
				t.Fatalf("layer %+v accepted", l)
			}
		}
	})
}

// FuzzSimpleSigningAnnotations: the annotation decoders (signature, certificate, Rekor bundle, RFC 3161
// timestamp) and the entity built from them refuse bad input with an error; nothing panics.
func FuzzSimpleSigningAnnotations(f *testing.F) {
	var m sigManifest
	if err := json.Unmarshal(cliBlob(f, seedSigManifest), &m); err != nil {
		f.Fatal(err)
	}
	f.Add(m.Layers[0].Annotations[annotationSignature], "", "", "")
	f.Add("MEUCIQ==", "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
		`{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":0,"logID":"`+strings.Repeat("ab", 32)+`"}}`,
		`{"SignedRFC3161Timestamp":"MAA="}`)
	f.Add("", "", `{"Payload":{"logID":"zz"}}`, `{"SignedRFC3161Timestamp":""}`)
	f.Fuzz(func(t *testing.T, sig, cert, rekor, ts string) {
		ann := map[string]string{annotationSignature: sig, annotationCertificate: cert, annotationRekorBundle: rekor, annotationTimestamp: ts}
		e, err := newSimpleSigning(ann, []byte("payload"))
		if err != nil {
			return
		}
		if len(e.signature) == 0 || (cert != "" && e.cert == nil) || (rekor != "" && e.tlogEntry == nil) || (ts != "" && len(e.timestamps) != 1) {
			t.Fatalf("entity %+v from %q", e, ann)
		}
	})
}

// FuzzParseBundle: bundle decoding (sigstore-go's, behind our size limit) and verification with the CLI
// fixtures' ECDSA key err rather than panic; a refusal has a kind, and an accepted bundle signs the digest
// asked about.
func FuzzParseBundle(f *testing.F) {
	v, err := Load(Config{PublicKeys: []string{filepath.Join("testdata", "cli", "ecdsa.pub")}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cliBlob(f, seedBundle))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"signature":"AA=="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := parseBundle(data)
		if err != nil {
			return
		}
		res, err := v.verifyBundle(b, seedDigest)
		if err != nil {
			var r *refusal
			if !errors.As(err, &r) || rank(r.kind) == 0 {
				t.Fatalf("refusal without a kind: %v", err)
			}
			return
		}
		if res.Digest != seedDigest || res.KeyFile == "" {
			t.Fatalf("accepted %+v", res)
		}
	})
}

// FuzzParseTrustedRoot: a trusted root that parses has a certificate authority and a way to time
// signatures; nothing panics.
func FuzzParseTrustedRoot(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[{"baseUrl":"x","hashAlgorithm":"SHA2_256","publicKey":{"rawBytes":"AA==","keyDetails":"PKIX_ECDSA_P256_SHA_256","validFor":{"start":"2021-01-01T00:00:00Z"}},"logId":{"keyId":"AA=="}}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrustedRoot(data)
		if err != nil {
			return
		}
		if len(tr.FulcioCertificateAuthorities()) == 0 || len(tr.RekorLogs())+len(tr.TimestampingAuthorities()) == 0 {
			t.Fatal("accepted a root that cannot verify a keyless signature")
		}
	})
}
