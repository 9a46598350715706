package cosign_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

const (
	identity = "https://github.com/wasmcloud-host/actors/.github/workflows/release.yml@refs/tags/v0.1.0"
	issuer   = "https://token.actions.githubusercontent.com"
)

// keylessConfig trusts the sigstore's root (written with o) for the identity and issuer.
func keylessConfig(t testing.TB, ss *cosigntest.Sigstore, o cosigntest.RootOptions) cosign.Config {
	t.Helper()
	return cosign.Config{
		TrustedRoot:           ss.WriteTrustedRoot(t, t.TempDir(), o),
		CertificateIdentity:   identity,
		CertificateOIDCIssuer: issuer,
	}
}

// TestVerifyKeyless: signatures with short-lived certificates from an in-process sigstore, in both
// layouts, checked offline against its trusted_root.json and the configured identity and issuer.
func TestVerifyKeyless(t *testing.T) {
	ss := cosigntest.NewSigstore(t)
	other := cosigntest.NewSigstore(t) // a sigstore the host does not trust
	reg := ocitest.NewRegistry(t, ocitest.Options{Referrers: true})
	withRekor := keylessConfig(t, ss, cosigntest.RootOptions{})
	tsaOnly := keylessConfig(t, ss, cosigntest.RootOptions{NoRekor: true})
	withCT := keylessConfig(t, ss, cosigntest.RootOptions{CTLog: true})
	with := func(cfg cosign.Config, edit func(*cosign.Config)) cosign.Config { edit(&cfg); return cfg }

	tests := []struct {
		name     string
		cfg      cosign.Config
		sign     func(t *testing.T, a *actor)
		want     error
		contains []string
	}{
		{"simple signing, Rekor entry and timestamp", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{}))
		}, nil, nil},
		{"simple signing, Rekor entry only", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{NoTimestamp: true}))
		}, nil, nil},
		{"simple signing, timestamp only, root without Rekor", tsaOnly, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{NoRekorBundle: true}))
		}, nil, nil},
		{"simple signing without the Rekor entry the root calls for", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{NoRekorBundle: true}))
		}, cosign.ErrBadSignature, []string{"transparency log"}},
		{"simple signing, nothing to time the certificate", tsaOnly, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{NoRekorBundle: true, NoTimestamp: true}))
		}, cosign.ErrBadSignature, []string{"timestamp"}},
		{"DSSE bundle", withRekor, func(t *testing.T, a *actor) {
			a.attach(t, ss.DSSEBundle(t, identity, issuer, a.statement()))
		}, nil, nil},
		{"message bundle, timestamp only", tsaOnly, func(t *testing.T, a *actor) {
			m, err := fetchManifest(a)
			if err != nil {
				t.Fatal(err)
			}
			a.attach(t, ss.MessageBundle(t, identity, issuer, m))
		}, nil, nil},
		{"identity regexp", with(withRekor, func(c *cosign.Config) {
			c.CertificateIdentity, c.CertificateIdentityRegexp = "", `https://github\.com/wasmcloud-host/actors/\.github/workflows/.*`
		}), func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{}))
		}, nil, nil},
		{"issuer regexp", with(withRekor, func(c *cosign.Config) {
			c.CertificateOIDCIssuer, c.CertificateOIDCIssuerRegexp = "", `https://token\.actions\.githubusercontent\.com`
		}), func(t *testing.T, a *actor) {
			a.attach(t, ss.DSSEBundle(t, identity, issuer, a.statement()))
		}, nil, nil},
		{"wrong identity", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, "mallory@example.com", issuer, a.payload(), cosigntest.SignOptions{}))
		}, cosign.ErrIdentity, []string{"mallory@example.com"}},
		{"wrong OIDC issuer", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, "https://accounts.example.com", a.payload(), cosigntest.SignOptions{}))
		}, cosign.ErrIdentity, []string{"https://accounts.example.com"}},
		{"wrong identity, bundle", withRekor, func(t *testing.T, a *actor) {
			a.attach(t, ss.DSSEBundle(t, "mallory@example.com", issuer, a.statement()))
		}, cosign.ErrIdentity, []string{"mallory@example.com"}},
		{"identity regexp is anchored", with(withRekor, func(c *cosign.Config) {
			c.CertificateIdentity, c.CertificateIdentityRegexp = "", `https://github\.com/wasmcloud-host/actors/`
		}), func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, "https://evil.example/?https://github.com/wasmcloud-host/actors/x", issuer, a.payload(), cosigntest.SignOptions{}))
		}, cosign.ErrIdentity, nil},
		{"certificate from an untrusted sigstore", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, other.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{}))
		}, cosign.ErrBadSignature, nil},
		{"bundle from an untrusted sigstore", withRekor, func(t *testing.T, a *actor) {
			a.attach(t, other.DSSEBundle(t, identity, issuer, a.statement()))
		}, cosign.ErrBadSignature, nil},
		{"no SCT where the root lists a CT log", withCT, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{}))
		}, cosign.ErrBadSignature, []string{"certificate timestamp"}},
		{"payload altered after signing", withRekor, func(t *testing.T, a *actor) {
			l := ss.SimpleSigning(t, identity, issuer, a.payload(), cosigntest.SignOptions{})
			l.Payload = bytes.Replace(l.Payload, []byte("keyless"), []byte("Keyless"), 1)
			a.sign(t, l)
		}, cosign.ErrBadSignature, nil},
		{"signature of another manifest", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, ss.SimpleSigning(t, identity, issuer, cosigntest.Payload(ocitest.Digest(nil), "x"), cosigntest.SignOptions{}))
		}, cosign.ErrDigestMismatch, nil},
		{"statement of another manifest", withRekor, func(t *testing.T, a *actor) {
			a.attach(t, ss.DSSEBundle(t, identity, issuer, cosigntest.Statement(ocitest.Digest(nil), cosigntest.PredicateCosignSign)))
		}, cosign.ErrDigestMismatch, nil},
		{"key signature, only keyless trusted", withRekor, func(t *testing.T, a *actor) {
			a.sign(t, cosigntest.NewKeySigner(t, cosigntest.ECDSAP256).SimpleSigning(t, a.payload()))
		}, cosign.ErrBadSignature, []string{"no public keys are trusted"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := pushActor(t, reg, fmt.Sprintf("keyless%d", i), append(bytes.Clone(wasm), byte(i)))
			tt.sign(t, a)
			res, err := a.verify(t, load(t, tt.cfg))
			check(t, res, err, tt.want, tt.contains...)
			if tt.want == nil && (res.Identity != identity || res.Issuer != issuer || res.KeyFile != "") {
				t.Fatalf("signer %s, want identity %s issued by %s", res.Signer(), identity, issuer)
			}
		})
	}
}

// TestVerifyKeysAndKeyless: with both configured, a signature is accepted under either; a keyless one
// when only keys are trusted is not.
func TestVerifyKeysAndKeyless(t *testing.T) {
	ss := cosigntest.NewSigstore(t)
	key := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	both := keylessConfig(t, ss, cosigntest.RootOptions{})
	both.PublicKeys = keyConfig(t, key).PublicKeys
	v := load(t, both)

	byKey := pushActor(t, reg, "by-key", nil)
	byKey.sign(t, key.SimpleSigning(t, byKey.payload()))
	res, err := byKey.verify(t, v)
	check(t, res, err, nil)
	require.DeepEqual(t, "key", res.KeyFile, both.PublicKeys[0])

	keyless := pushActor(t, reg, "keyless", []byte("\x00asm\x01\x00\x00\x00\x01"))
	keyless.sign(t, ss.SimpleSigning(t, identity, issuer, keyless.payload(), cosigntest.SignOptions{}))
	res, err = keyless.verify(t, v)
	check(t, res, err, nil)
	require.DeepEqual(t, "identity", res.Identity, identity)

	res, err = keyless.verify(t, load(t, keyConfig(t, key)))
	check(t, res, err, cosign.ErrBadSignature, "no trusted root is configured")
}
