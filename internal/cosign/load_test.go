package cosign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// writeFile writes data to name in dir and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadZero: nothing configured, nothing verified.
func TestLoadZero(t *testing.T) {
	v, err := cosign.Load(cosign.Config{})
	if v != nil || err != nil {
		t.Fatalf("Load(zero) = %v, %v; want nil, nil", v, err)
	}
	if (cosign.Config{}).Enabled() {
		t.Fatal("the zero Config is enabled")
	}
}

// TestLoadKeys: the key files cosign and openssl write load; anything else is refused with the variable,
// the file and the reason.
func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	cli := filepath.Join(testutil.Root(), "internal", "cosign", "testdata", "cli")
	ecKey, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa1024, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	ecdsaPub := testutil.ReadFile(t, "../internal/cosign/testdata/cli/ecdsa.pub")
	tests := []struct {
		name    string
		data    []byte // written to a file; nil: the file is missing
		path    string // used as is when data is nil
		wantErr string
	}{
		{"cosign ECDSA", nil, filepath.Join(cli, "ecdsa.pub"), ""},
		{"cosign-imported Ed25519", nil, filepath.Join(cli, "ed25519.pub"), ""},
		{"RSA 2048", cosigntest.NewKeySigner(t, cosigntest.RSA2048).PublicKeyPEM(t), "", ""},
		{"text around the block", append(append([]byte("my release key\n"), ecdsaPub...), "\n\n"...), "", ""},
		{"missing file", nil, filepath.Join(dir, "nope.pub"), "no such file or directory"},
		{"a directory", nil, dir, "not a regular file"},
		{"not PEM", []byte("ssh-ed25519 AAAA"), "", "no PEM block"},
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte("Secret-bytes")}), "", "holds a private key (ENCRYPTED SIGSTORE PRIVATE KEY), not a public key"},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "", `PEM block is "CERTIFICATE", want "PUBLIC KEY"`},
		{"two keys", append(ecdsaPub, ecdsaPub...), "", "more than one PEM block"},
		{"garbage in the block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")}), "", "not a PKIX public key"},
		{"P-224", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p224}), "", "ECDSA curve P-224 is not supported"},
		{"RSA 1024", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsa1024}), "", "RSA key of 1024 bits is too small"},
		{"too large", make([]byte, 65<<10), "", "over the 65536-byte limit"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.data != nil {
				path = writeFile(t, dir, strings.Repeat("k", i+1)+".pub", tt.data)
			}
			v, err := cosign.Load(cosign.Config{PublicKeys: []string{path}})
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded")
			}
			t.Logf("error: %v", err)
			for _, want := range []string{tt.wantErr, cosign.EnvPublicKeys, path} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error does not say %q: %v", want, err)
				}
			}
			if !errors.Is(err, cosign.ErrConfig) {
				t.Fatalf("error is not ErrConfig: %v", err)
			}
			if strings.Contains(err.Error(), "Secret") {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
}

// TestLoadKeyless: the keyless settings go together, and every problem is reported at once.
func TestLoadKeyless(t *testing.T) {
	dir := t.TempDir()
	ss := cosigntest.NewSigstore(t)
	root := ss.WriteTrustedRoot(t, dir, cosigntest.RootOptions{})
	noCA := writeFile(t, dir, "no-ca.json", []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	notJSON := writeFile(t, dir, "bad.json", []byte("{"))
	noTime := writeFile(t, dir, "no-time.json", ss.TrustedRoot(t, cosigntest.RootOptions{NoRekor: true, NoTSA: true}))
	tests := []struct {
		name string
		cfg  cosign.Config
		want []string // every string must appear; none: loads
	}{
		{"exact identity and issuer", cosign.Config{TrustedRoot: root, CertificateIdentity: identity, CertificateOIDCIssuer: issuer}, nil},
		{"regexps", cosign.Config{TrustedRoot: root, CertificateIdentityRegexp: ".*@example.com", CertificateOIDCIssuerRegexp: "https://.*"}, nil},
		{"identity without root", cosign.Config{CertificateIdentity: identity}, []string{cosign.EnvTrustedRoot + " is required"}},
		{"root alone", cosign.Config{TrustedRoot: root}, []string{
			cosign.EnvCertificateIdentity + " or " + cosign.EnvCertificateIdentityRegexp + " is required",
			cosign.EnvCertificateOIDCIssuer + " or " + cosign.EnvCertificateOIDCIssuerRegexp + " is required",
		}},
		{"exact and regexp", cosign.Config{TrustedRoot: root, CertificateIdentity: identity, CertificateIdentityRegexp: ".*", CertificateOIDCIssuer: issuer, CertificateOIDCIssuerRegexp: ".*"}, []string{
			"set " + cosign.EnvCertificateIdentity + " or " + cosign.EnvCertificateIdentityRegexp + ", not both",
			"set " + cosign.EnvCertificateOIDCIssuer + " or " + cosign.EnvCertificateOIDCIssuerRegexp + ", not both",
		}},
		{"bad regexps", cosign.Config{TrustedRoot: root, CertificateIdentityRegexp: "(", CertificateOIDCIssuerRegexp: "[z-a]"}, []string{
			cosign.EnvCertificateIdentityRegexp + ": error parsing regexp",
			cosign.EnvCertificateOIDCIssuerRegexp + ": error parsing regexp",
		}},
		{"root not JSON", cosign.Config{TrustedRoot: notJSON, CertificateIdentity: identity, CertificateOIDCIssuer: issuer}, []string{cosign.EnvTrustedRoot + ": " + notJSON + ": not a trusted root"}},
		{"root without CA", cosign.Config{TrustedRoot: noCA, CertificateIdentity: identity, CertificateOIDCIssuer: issuer}, []string{noCA + ": lists no certificate authority"}},
		{"root that cannot time a signature", cosign.Config{TrustedRoot: noTime, CertificateIdentity: identity, CertificateOIDCIssuer: issuer}, []string{"neither a transparency log nor a timestamp authority"}},
		{"missing root", cosign.Config{TrustedRoot: filepath.Join(dir, "none.json"), CertificateIdentity: identity, CertificateOIDCIssuer: issuer}, []string{"none.json", "no such file"}},
		{"everything wrong at once", cosign.Config{PublicKeys: []string{filepath.Join(dir, "a.pub"), " ", filepath.Join(dir, "b.pub")}, TrustedRoot: notJSON, CertificateIdentityRegexp: "("}, []string{
			"a.pub", "empty file name", "b.pub", "not a trusted root", "error parsing regexp", cosign.EnvCertificateOIDCIssuer,
		}},
		{"the same key twice", cosign.Config{PublicKeys: []string{
			filepath.Join(testutil.Root(), "internal/cosign/testdata/cli/ecdsa.pub"),
			writeFile(t, dir, "copy.pub", testutil.ReadFile(t, "../internal/cosign/testdata/cli/ecdsa.pub")),
		}}, []string{"copy.pub: the same key as"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := cosign.Load(tt.cfg)
			if tt.want == nil {
				if err != nil || v == nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, cosign.ErrConfig) {
				t.Fatalf("error is not ErrConfig: %v", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error does not say %q: %v", want, err)
				}
			}
		})
	}
}

// TestTrust: Trust names what a verifier trusts, so a reload can say that a key file rewritten in place now
// holds another key; the same file read twice is the same trust.
func TestTrust(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trusted.pub", testutil.ReadFile(t, "../internal/cosign/testdata/cli/ecdsa.pub"))
	load := func() string {
		v, err := cosign.Load(cosign.Config{PublicKeys: []string{path}})
		if err != nil {
			t.Fatal(err)
		}
		return v.Trust()
	}
	first := load()
	if !strings.HasPrefix(first, "key ") || first != load() {
		t.Fatalf("Trust of one key file read twice: %q, %q", first, load())
	}
	writeFile(t, dir, "trusted.pub", testutil.ReadFile(t, "../internal/cosign/testdata/cli/other.pub"))
	if second := load(); second == first || !strings.HasPrefix(second, "key ") {
		t.Fatalf("Trust after the key file changed: %q (was %q)", second, first)
	}
	var none *cosign.Verifier
	if none.Trust() != "" {
		t.Fatalf("nil Verifier trusts %q", none.Trust())
	}
}
