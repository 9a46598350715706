package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// home is the HOME every test environment gets, so the state dir default is predictable.
const home = "/home/test"

// environ returns a test environment: HOME plus the given KEY=value entries.
func environ(kv ...string) []string { return append([]string{"HOME=" + home}, kv...) }

func mustLoad(t *testing.T, env []string) Config {
	t.Helper()
	c, err := LoadFrom(env)
	if err != nil {
		t.Fatalf("LoadFrom(%q): %v", env, err)
	}
	return c
}

// problems returns the VarErrors inside a joined error, in order.
func problems(t *testing.T, err error) []*VarError {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want configuration problems")
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a joined error: %v", err, err)
	}
	var out []*VarError
	for _, e := range j.Unwrap() {
		var ve *VarError
		if !errors.As(e, &ve) {
			t.Fatalf("problem %T is not a *VarError: %v", e, e)
		}
		out = append(out, ve)
	}
	return out
}

// lines splits an error's message into its problems.
func lines(err error) []string { return strings.Split(err.Error(), "\n") }

// seed makes a new seed of the given type.
func seed(t testing.TB, create func() (nkeys.KeyPair, error)) (seed, pub string) {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	p, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return string(s), p
}

// userJWT issues a user JWT for the user public key, signed by a fresh account key.
func userJWT(t testing.TB, userPub string, expires time.Time) string {
	t.Helper()
	akp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	apub, _ := akp.PublicKey()
	uc := jwt.NewUserClaims(userPub)
	uc.IssuerAccount = apub
	if !expires.IsZero() {
		uc.Expires = expires.Unix()
	}
	tok, err := uc.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writeFile writes content to a new file in a temporary directory and returns its path.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// certFiles writes a self-signed certificate and its key as PEM files.
func certFiles(t *testing.T) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath = writeFile(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPath = writeFile(t, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certPath, keyPath
}

// wantCore are this machine's core labels.
func wantCore() map[string]string { return coreLabels(runtime.GOOS, runtime.GOARCH) }
