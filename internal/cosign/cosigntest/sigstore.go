package cosigntest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

func sha512Sum(b []byte) []byte { s := sha512.Sum512(b); return s[:] }
func sha384Sum(b []byte) []byte { s := sha512.Sum384(b); return s[:] }

// Sigstore is an in-process sigstore: sigstore-go's VirtualSigstore, with a Fulcio CA that issues
// short-lived certificates for an identity and OIDC issuer, a Rekor log that signs entry timestamps and
// inclusion proofs, a timestamp authority and a CT log.
type Sigstore struct {
	VS *ca.VirtualSigstore
}

// NewSigstore starts an in-process sigstore.
func NewSigstore(tb testing.TB) *Sigstore {
	tb.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		tb.Fatal(err)
	}
	return &Sigstore{VS: vs}
}

// RootOptions choose what a trusted root lists besides the certificate authority.
type RootOptions struct {
	NoRekor bool // no transparency log: signatures are timed by the timestamp authority alone
	NoTSA   bool // no timestamp authority
	CTLog   bool // a CT log: certificates must then carry an SCT (the VirtualSigstore's never do)
}

// TrustedRoot is a trusted_root.json for this sigstore.
func (s *Sigstore) TrustedRoot(tb testing.TB, o RootOptions) []byte {
	tb.Helper()
	// VirtualSigstore gives log IDs as hex text; a trusted root holds the raw key ID.
	raw := func(logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
		out := make(map[string]*root.TransparencyLog, len(logs))
		for id, l := range logs {
			c := *l
			c.ID, _ = hex.DecodeString(id)
			out[id] = &c
		}
		return out
	}
	rekor, ctlogs := raw(s.VS.RekorLogs()), map[string]*root.TransparencyLog{}
	if o.NoRekor {
		rekor = map[string]*root.TransparencyLog{}
	}
	if o.CTLog {
		ctlogs = raw(s.VS.CTLogs())
	}
	tsas := s.VS.TimestampingAuthorities()
	if o.NoTSA {
		tsas = nil
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.VS.FulcioCertificateAuthorities(), ctlogs, tsas, rekor)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// WriteTrustedRoot writes TrustedRoot(o) to dir and returns its path.
func (s *Sigstore) WriteTrustedRoot(tb testing.TB, dir string, o RootOptions) string {
	tb.Helper()
	path := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(path, s.TrustedRoot(tb, o), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// SignOptions choose what a keyless simple-signing layer carries.
type SignOptions struct {
	NoRekorBundle bool // no dev.sigstore.cosign/bundle annotation
	NoTimestamp   bool // no dev.sigstore.cosign/rfc3161timestamp annotation
}

// SimpleSigning is the layer `cosign sign` writes for payload with a certificate for identity issued by
// issuer: the signature, certificate and chain annotations, the Rekor bundle annotation (a hashedrekord
// entry with its signed entry timestamp) and an RFC 3161 timestamp of the signature.
func (s *Sigstore) SimpleSigning(tb testing.TB, identity, issuer string, payload []byte, o SignOptions) Layer {
	tb.Helper()
	leaf, key, err := s.VS.GenerateLeafCert(identity, issuer)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	fulcio := s.VS.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	var chain []byte
	for _, c := range append(fulcio.Intermediates, fulcio.Root) {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	ann := map[string]string{
		AnnotationSignature:   base64.StdEncoding.EncodeToString(sig),
		AnnotationCertificate: string(certPEM),
		AnnotationChain:       string(chain),
	}
	if !o.NoRekorBundle {
		ann[AnnotationBundle] = s.rekorBundle(tb, sum[:], sig, certPEM)
	}
	if !o.NoTimestamp {
		ts, err := s.VS.TimestampResponse(sig)
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts})
		ann[AnnotationTimestamp] = string(b)
	}
	return Layer{Payload: payload, Annotations: ann}
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation for a hashedrekord entry of the payload
// digest, signature and certificate, integrated a minute after the certificate's start.
func (s *Sigstore) rekorBundle(tb testing.TB, digest, sig, certPEM []byte) string {
	tb.Helper()
	// The canonical (RFC 8785) form of a hashedrekord v0.0.1 entry: keys sorted, no spaces.
	body := fmt.Appendf(nil, `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":%q}},"signature":{"content":%q,"publicKey":{"content":%q}}}}`,
		hex.EncodeToString(digest), base64.StdEncoding.EncodeToString(sig), base64.StdEncoding.EncodeToString(certPEM))
	logID, err := s.VS.RekorLogID()
	if err != nil {
		tb.Fatal(err)
	}
	p := tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: time.Now().Add(time.Minute).Unix(),
		LogIndex:       42,
		LogID:          logID,
	}
	set, err := s.VS.RekorSignPayload(p)
	if err != nil {
		tb.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": p})
	return string(out)
}

// DSSEBundle is the bundle `cosign sign --new-bundle-format` writes for statement with a certificate for
// identity issued by issuer: a DSSE envelope, the certificate, a Rekor dsse entry with its inclusion proof,
// and an RFC 3161 timestamp.
func (s *Sigstore) DSSEBundle(tb testing.TB, identity, issuer string, statement []byte) []byte {
	tb.Helper()
	e, err := s.VS.AttestAtTime(identity, issuer, statement, time.Now().Add(time.Minute), true)
	if err != nil {
		tb.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []*protodsse.Signature
	for _, sg := range env.Signatures {
		b, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err != nil {
			tb.Fatal(err)
		}
		sigs = append(sigs, &protodsse.Signature{Sig: b, Keyid: sg.KeyID})
	}
	entries, _ := e.TlogEntries()
	var tles []*protorekor.TransparencyLogEntry
	for _, en := range entries {
		tle := en.TransparencyLogEntry()
		tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
		tles = append(tles, tle)
	}
	tss, _ := e.Timestamps()
	return marshalBundle(tb, &protobundle.Bundle{
		MediaType:            MediaTypeBundle,
		VerificationMaterial: certMaterial(vc.Certificate(), tles, tss),
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: sigs,
		}},
	})
}

// MessageBundle is a bundle with a message signature over content by a certificate for identity issued by
// issuer, timed by an RFC 3161 timestamp alone (verify it with a root that has no Rekor log).
func (s *Sigstore) MessageBundle(tb testing.TB, identity, issuer string, content []byte) []byte {
	tb.Helper()
	leaf, key, err := s.VS.GenerateLeafCert(identity, issuer)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(content)
	sig, err := ecdsa.SignASN1(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	ts, err := s.VS.TimestampResponse(sig)
	if err != nil {
		tb.Fatal(err)
	}
	return marshalBundle(tb, &protobundle.Bundle{
		MediaType:            MediaTypeBundle,
		VerificationMaterial: certMaterial(leaf, nil, [][]byte{ts}),
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	})
}

func certMaterial(cert *x509.Certificate, tles []*protorekor.TransparencyLogEntry, timestamps [][]byte) *protobundle.VerificationMaterial {
	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
		TlogEntries: tles,
	}
	if len(timestamps) > 0 {
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, ts := range timestamps {
			vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
		}
	}
	return vm
}
