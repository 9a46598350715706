// Package cosign verifies cosign signatures of OCI artifacts before they are loaded, bound to the manifest
// digest that was pulled.
//
// Trust is configured once (Load) and is either or both of:
//
//   - key-based: PEM public keys (ECDSA P-256/P-384/P-521, Ed25519, RSA), as `cosign generate-key-pair`
//     writes them. Verification is offline: transparency-log entries, if any, are not required.
//   - keyless: a sigstore trusted_root.json and the certificate identity and OIDC issuer (exact values or
//     regular expressions) a certificate must carry. Verification is offline: the certificate must chain to
//     a certificate authority of the trusted root at a time proven by a transparency-log entry the root's
//     logs signed (required when the root lists logs) or an RFC 3161 timestamp of one of its authorities,
//     and carry an SCT from one of its CT logs when it lists any.
//
// A signature is accepted when it verifies with any trusted key or, carrying a certificate, passes the
// keyless checks. Verify reads every layout cosign writes, in the repository of the artifact:
//
//   - the sha256-<hex>.sig tag: an image manifest whose simple-signing layers (payload JSON, signature in
//     the dev.cosignproject.cosign/signature annotation; for keyless also the certificate and the Rekor
//     bundle or RFC 3161 timestamp annotations) sign the manifest digest;
//   - referrers (the OCI 1.1 referrers API, or the sha256-<hex> referrers tag where the registry lacks it):
//     sigstore bundles (artifact type application/vnd.dev.sigstore.bundle.v0.3+json; a DSSE in-toto
//     statement of predicate type https://sigstore.dev/cosign/sign/v1 whose subject is the digest, or a
//     message signature over the manifest), and simple-signing manifests pushed as referrers (cosign
//     --registry-referrers-mode=oci-1-1).
//
// What is signed must name the digest that was pulled: the payload's docker-manifest-digest, the
// statement's subject or the message digest. Every read is bounded (see the limits in decode.go), so a
// hostile registry can make Verify neither buffer nor loop without bound.
//
// The cryptography (certificate paths, transparency-log promises and proofs, RFC 3161 timestamps, SCTs,
// DSSE) is sigstore-go's; this package finds the signatures, decodes cosign's layouts into sigstore-go
// entities and checks the binding to the digest.
package cosign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Names of the environment variables the fields of Config are read from; errors name them.
const (
	EnvPublicKeys                  = "WASMCLOUD_COSIGN_PUBLIC_KEYS"
	EnvTrustedRoot                 = "WASMCLOUD_COSIGN_TRUSTED_ROOT"
	EnvCertificateIdentity         = "WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY"
	EnvCertificateIdentityRegexp   = "WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY_REGEXP"
	EnvCertificateOIDCIssuer       = "WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER"
	EnvCertificateOIDCIssuerRegexp = "WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER_REGEXP"
)

// maxTrustedRootFile bounds the size of a trusted_root.json; the public-good instance's is about 10 KiB.
const maxTrustedRootFile = 4 << 20

// Config is what to trust. The zero value trusts nothing and asks for no verification.
type Config struct {
	// PublicKeys are paths of PEM public key files (WASMCLOUD_COSIGN_PUBLIC_KEYS, comma-separated).
	PublicKeys []string
	// TrustedRoot is the path of a sigstore trusted_root.json (WASMCLOUD_COSIGN_TRUSTED_ROOT); it enables
	// keyless verification and needs an identity and an issuer.
	TrustedRoot string
	// CertificateIdentity is the exact subject alternative name (email, URI) a certificate must carry
	// (WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY), cosign's --certificate-identity.
	CertificateIdentity string
	// CertificateIdentityRegexp is a Go regular expression the whole subject alternative name must match
	// (WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY_REGEXP). Unlike cosign's, it is anchored at both ends.
	CertificateIdentityRegexp string
	// CertificateOIDCIssuer is the exact OIDC issuer a certificate must name
	// (WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER), cosign's --certificate-oidc-issuer.
	CertificateOIDCIssuer string
	// CertificateOIDCIssuerRegexp is a Go regular expression the whole OIDC issuer must match
	// (WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER_REGEXP), anchored at both ends.
	CertificateOIDCIssuerRegexp string
}

// Enabled reports whether cfg asks for verification: any field is set.
func (cfg Config) Enabled() bool {
	return len(cfg.PublicKeys) > 0 || cfg.TrustedRoot != "" || cfg.CertificateIdentity != "" ||
		cfg.CertificateIdentityRegexp != "" || cfg.CertificateOIDCIssuer != "" || cfg.CertificateOIDCIssuerRegexp != ""
}

// Verifier verifies signatures with the trust a Config describes. It is immutable and safe for concurrent
// use; a new configuration is a new Verifier.
type Verifier struct {
	keys    []trustedKey
	keyless *keyless // nil without a trusted root
}

// trustedKey is one configured public key with the sigstore-go verifiers that may check it: one, or for
// Ed25519 two (cosign signs with Ed25519ph since v2.4 and with pure Ed25519 before).
type trustedKey struct {
	file        string
	fingerprint string
	verifiers   []*verify.Verifier
}

// keyless is the keyless trust: the verifier over the trusted root and the identity policy.
type keyless struct {
	file     string
	digest   string // sha256 of the trusted root file
	verifier *verify.Verifier
	identity verify.CertificateIdentity
}

// Trust describes what v trusts, for a reload to say whether it changed: the fingerprints of the public
// keys and the digest of the trusted root (the identity policy comes from the environment, which a running
// process cannot change). A nil Verifier trusts nothing and is described as "".
func (v *Verifier) Trust() string {
	if v == nil {
		return ""
	}
	var parts []string
	for _, k := range v.keys {
		parts = append(parts, "key "+k.fingerprint)
	}
	if v.keyless != nil {
		parts = append(parts, "trusted root sha256:"+v.keyless.digest)
	}
	return strings.Join(parts, ", ")
}

// Load reads and checks the files cfg names and returns a Verifier, or nil and no error when cfg is not
// Enabled. Every problem is reported (errors.Join of errors matching ErrConfig), each naming the variable
// and the file.
func Load(cfg Config) (*Verifier, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	var errs []error
	problem := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	v := &Verifier{}
	seen := map[string]string{}
	for _, file := range cfg.PublicKeys {
		file = strings.TrimSpace(file)
		if file == "" {
			problem("%s: empty file name in the list", EnvPublicKeys)
			continue
		}
		data, err := readFile(file, maxKeyFile)
		if err != nil {
			problem("%s: %v", EnvPublicKeys, err)
			continue
		}
		pk, err := ParsePublicKey(data)
		if err != nil {
			problem("%s: %s: %v", EnvPublicKeys, file, err)
			continue
		}
		if other, ok := seen[pk.Fingerprint]; ok {
			problem("%s: %s: the same key as %s", EnvPublicKeys, file, other)
			continue
		}
		seen[pk.Fingerprint] = file
		k, err := newTrustedKey(file, pk)
		if err != nil {
			problem("%s: %s: %v", EnvPublicKeys, file, err)
			continue
		}
		v.keys = append(v.keys, k)
	}

	identitySet := cfg.CertificateIdentity != "" || cfg.CertificateIdentityRegexp != ""
	issuerSet := cfg.CertificateOIDCIssuer != "" || cfg.CertificateOIDCIssuerRegexp != ""
	if cfg.TrustedRoot == "" {
		if identitySet || issuerSet {
			problem("%s is required with a certificate identity or OIDC issuer", EnvTrustedRoot)
		}
	} else {
		if !identitySet {
			problem("%s or %s is required with %s", EnvCertificateIdentity, EnvCertificateIdentityRegexp, EnvTrustedRoot)
		}
		if !issuerSet {
			problem("%s or %s is required with %s", EnvCertificateOIDCIssuer, EnvCertificateOIDCIssuerRegexp, EnvTrustedRoot)
		}
	}
	if cfg.CertificateIdentity != "" && cfg.CertificateIdentityRegexp != "" {
		problem("set %s or %s, not both", EnvCertificateIdentity, EnvCertificateIdentityRegexp)
	}
	if cfg.CertificateOIDCIssuer != "" && cfg.CertificateOIDCIssuerRegexp != "" {
		problem("set %s or %s, not both", EnvCertificateOIDCIssuer, EnvCertificateOIDCIssuerRegexp)
	}
	identityRe, err := anchored(cfg.CertificateIdentityRegexp)
	if err != nil {
		problem("%s: %v", EnvCertificateIdentityRegexp, err)
	}
	issuerRe, err := anchored(cfg.CertificateOIDCIssuerRegexp)
	if err != nil {
		problem("%s: %v", EnvCertificateOIDCIssuerRegexp, err)
	}

	var tr *root.TrustedRoot
	var trDigest string
	if cfg.TrustedRoot != "" {
		tr, trDigest, err = loadTrustedRoot(cfg.TrustedRoot)
		if err != nil {
			problem("%s: %v", EnvTrustedRoot, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if tr != nil {
		id, err := verify.NewShortCertificateIdentity(cfg.CertificateOIDCIssuer, issuerRe, cfg.CertificateIdentity, identityRe)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate identity: %v", ErrConfig, err)
		}
		opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
		if len(tr.RekorLogs()) > 0 {
			opts = append(opts, verify.WithTransparencyLog(1))
		}
		if len(tr.CTLogs()) > 0 {
			opts = append(opts, verify.WithSignedCertificateTimestamps(1))
		}
		sv, err := verify.NewVerifier(tr, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s: %v", ErrConfig, EnvTrustedRoot, cfg.TrustedRoot, err)
		}
		v.keyless = &keyless{file: cfg.TrustedRoot, digest: trDigest, verifier: sv, identity: id}
	}
	return v, nil
}

// anchored returns expr anchored at both ends (or "" for ""), after checking that it compiles.
func anchored(expr string) (string, error) {
	if expr == "" {
		return "", nil
	}
	if _, err := regexp.Compile(expr); err != nil {
		return "", err
	}
	return "^(?:" + expr + ")$", nil
}

// readFile reads a regular file of at most limit bytes.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, over the %d-byte limit", path, st.Size(), limit)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// loadTrustedRoot reads and parses a trusted_root.json and checks that it can verify a keyless
// signature: it has a certificate authority and a log or timestamp authority to time signatures with.
func loadTrustedRoot(path string) (*root.TrustedRoot, string, error) {
	data, err := readFile(path, maxTrustedRootFile)
	if err != nil {
		return nil, "", err
	}
	tr, err := ParseTrustedRoot(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	return tr, hex.EncodeToString(sum[:]), nil
}

// ParseTrustedRoot parses a sigstore trusted_root.json (media type
// application/vnd.dev.sigstore.trustedroot+json;version=0.1) and checks that it can verify a keyless
// signature: it lists a certificate authority, and a transparency log or a timestamp authority to prove
// when a short-lived certificate was used.
func ParseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	if len(data) > maxTrustedRootFile {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", len(data), maxTrustedRootFile)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("not a trusted root: %w", err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 {
		return nil, errors.New("lists no certificate authority")
	}
	if len(tr.RekorLogs()) == 0 && len(tr.TimestampingAuthorities()) == 0 {
		return nil, errors.New("lists neither a transparency log nor a timestamp authority, so no signature can be timed")
	}
	return tr, nil
}

// newTrustedKey returns the sigstore-go verifiers for pk: they verify without timestamps (key-based
// verification is offline) and ignore the key hint of a bundle, since each key is tried in turn.
func newTrustedKey(file string, pk *PublicKey) (trustedKey, error) {
	var loads [][]signature.LoadOption
	if _, ok := pk.Key.(ed25519.PublicKey); ok {
		loads = [][]signature.LoadOption{{options.WithED25519ph()}, nil}
	} else {
		loads = [][]signature.LoadOption{nil}
	}
	k := trustedKey{file: file, fingerprint: pk.Fingerprint}
	for _, opts := range loads {
		sv, err := signature.LoadDefaultVerifier(pk.Key, opts...)
		if err != nil {
			return trustedKey{}, err
		}
		expiring := root.NewExpiringKey(sv, timeZero, timeZero)
		material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return expiring, nil })
		v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
		if err != nil {
			return trustedKey{}, err
		}
		k.verifiers = append(k.verifiers, v)
	}
	return k, nil
}
