package oci_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

// cliDir holds what the cosign CLI pushed (see its README.md).
var cliDir = filepath.Join(testutil.Root(), "internal", "cosign", "testdata", "cli")

// cliKey is the path of a public key the cosign CLI wrote.
func cliKey(name string) string { return filepath.Join(cliDir, name+".pub") }

// Digests of the actor manifests the CLI fixtures sign.
const (
	echoDigest = "sha256:a2321fce9270d39bda621b31b7db547813e15fd2a9575ea5f7c9b61a43a6096f"
	kvDigest   = "sha256:845ac0de4fe05f5b1f0d8457e5e35e3544ce0548ede6b6691dd2aaae462be381"
)

// cliRegistry starts a registry (with or without the referrers API) holding what the cosign CLI pushed.
func cliRegistry(t testing.TB, referrers bool, wrap func(http.Handler) http.Handler) *ocitest.Registry {
	t.Helper()
	reg := ocitest.NewRegistry(t, ocitest.Options{Referrers: referrers, Wrap: wrap})
	reg.Replay(t, cliDir, testutil.Root())
	return reg
}

// loadVerifier loads cfg, failing the test on error.
func loadVerifier(t testing.TB, cfg cosign.Config) *cosign.Verifier {
	t.Helper()
	v, err := cosign.Load(cfg)
	if err != nil {
		t.Fatalf("cosign.Load: %v", err)
	}
	return v
}

// signatureError checks that err is a RefError of kind ErrSignature whose cause is a *cosign.Error of the
// given kind, and returns the cause.
func signatureError(t testing.TB, err error, kind error, ref string) *cosign.Error {
	t.Helper()
	refError(t, err, oci.ErrSignature, ref)
	var ce *cosign.Error
	if !errors.As(err, &ce) {
		t.Fatalf("cause is not a *cosign.Error: %v", err)
	}
	if ce.Kind != kind || !errors.Is(err, kind) {
		t.Fatalf("cosign error kind is %v, want %v: %v", ce.Kind, kind, err)
	}
	return ce
}

// TestPullCosignCLI pulls the artifacts the cosign CLI signed, in every layout it writes, from registries
// with and without the referrers API, and refuses those it should.
func TestPullCosignCLI(t *testing.T) {
	module := echo(t)
	tests := []struct {
		name   string
		repo   string
		keys   []string
		want   error // nil: accepted
		layout cosign.Layout
		signer string // the key that verifies
	}{
		{"ECDSA key, sig tag", "signed/ecdsa", []string{"ecdsa"}, nil, cosign.LayoutTag, "ecdsa"},
		{"Ed25519 key, sig tag", "signed/ed25519", []string{"ed25519"}, nil, cosign.LayoutTag, "ed25519"},
		{"ECDSA key, bundle referrer", "signed/bundle-ecdsa", []string{"ecdsa"}, nil, cosign.LayoutBundle, "ecdsa"},
		{"Ed25519 key, bundle referrer", "signed/bundle-ed25519", []string{"ed25519"}, nil, cosign.LayoutBundle, "ed25519"},
		{"ECDSA key, sig referrer", "signed/oci11-ecdsa", []string{"ecdsa"}, nil, cosign.LayoutReferrer, "ecdsa"},
		{"one of several keys", "signed/ed25519", []string{"other", "ecdsa", "ed25519"}, nil, cosign.LayoutTag, "ed25519"},
		{"signed by another key", "signed/other", []string{"ecdsa"}, cosign.ErrBadSignature, "", ""},
		{"signed by another key, Ed25519 trusted", "signed/ecdsa", []string{"ed25519"}, cosign.ErrBadSignature, "", ""},
		{"bundle by another key", "signed/bundle-ecdsa", []string{"other"}, cosign.ErrBadSignature, "", ""},
		{"Ed25519 bundle by another key", "signed/bundle-ed25519", []string{"ecdsa", "other"}, cosign.ErrBadSignature, "", ""},
		{"no signature", "unsigned/echo", []string{"ecdsa"}, cosign.ErrNoSignature, "", ""},
	}
	for _, referrers := range []bool{false, true} {
		reg := cliRegistry(t, referrers, nil)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/referrers API %v", tt.name, referrers), func(t *testing.T) {
				var cfg cosign.Config
				for _, k := range tt.keys {
					cfg.PublicKeys = append(cfg.PublicKeys, cliKey(k))
				}
				c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, cfg)})
				ref := reg.Ref(tt.repo + ":0.1.0")
				a, err := c.Pull(t.Context(), ref)
				if tt.want != nil {
					signatureError(t, err, tt.want, ref)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				sameBytes(t, "module", a.Module, module)
				require.DeepEqual(t, "digest", a.Digest, echoDigest)
				if a.Signature == nil {
					t.Fatal("no signature in the artifact")
				}
				require.DeepEqual(t, "layout", a.Signature.Layout, tt.layout)
				require.DeepEqual(t, "signed digest", a.Signature.Digest, echoDigest)
				require.DeepEqual(t, "key", a.Signature.KeyFile, cliKey(tt.signer))
				t.Logf("accepted: %s, %s", a.Signature.Layout, a.Signature.Signer())
			})
		}
	}
}

// TestPullCosignCLIDigestMismatch: a genuine signature of another manifest, copied onto this one, is
// refused, in both layouts.
func TestPullCosignCLIDigestMismatch(t *testing.T) {
	reg := cliRegistry(t, false, nil)
	c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, cosign.Config{PublicKeys: []string{cliKey("ecdsa")}})})
	rec, err := ocitest.ReadRecording(cliDir)
	if err != nil {
		t.Fatal(err)
	}
	blob := func(digest string) []byte {
		return testutil.ReadFile(t, "../internal/cosign/testdata/cli/blobs/sha256/"+strings.TrimPrefix(digest, "sha256:"))
	}
	find := func(repo, ref string) string {
		for _, p := range rec.Pushes {
			if p.Repository == repo && p.Reference == ref {
				return p.Digest
			}
		}
		t.Fatalf("no push of %s:%s in the recording", repo, ref)
		return ""
	}

	t.Run("kvcounter's sig tag copied onto echo", func(t *testing.T) {
		sig := blob(find("signed/kvcounter", cosigntest.SigTag(kvDigest)))
		reg.PushRawManifest(t, "signed/kvcounter", cosigntest.SigTag(echoDigest), "application/vnd.oci.image.manifest.v1+json", sig)
		// The kvcounter repository holds echo's manifest too, under another tag.
		reg.PushRawManifest(t, "signed/kvcounter", "echo", "application/vnd.oci.image.manifest.v1+json", blob(echoDigest))
		ref := reg.Ref("signed/kvcounter:echo")
		_, err := c.Pull(t.Context(), ref)
		ce := signatureError(t, err, cosign.ErrDigestMismatch, ref)
		if !strings.Contains(ce.Error(), "the payload signs "+kvDigest) {
			t.Fatalf("error does not name the digest signed: %v", err)
		}
	})
	t.Run("echo's bundle referrer copied onto kvcounter", func(t *testing.T) {
		// The referrers index cosign wrote for echo lists the bundle referrer.
		var index struct {
			Manifests []struct{ Digest string } `json:"manifests"`
		}
		if err := json.Unmarshal(blob(find("signed/bundle-ecdsa", "sha256-"+strings.TrimPrefix(echoDigest, "sha256:"))), &index); err != nil || len(index.Manifests) != 1 {
			t.Fatalf("referrers index: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(blob(index.Manifests[0].Digest), &m); err != nil {
			t.Fatal(err)
		}
		m["subject"] = map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": kvDigest, "size": len(blob(kvDigest))}
		moved, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		layer := m["layers"].([]any)[0].(map[string]any)["digest"].(string)
		reg.PushBlobs(t, "signed/kvcounter", []byte("{}"), blob(layer))
		reg.PushRawManifest(t, "signed/kvcounter", "", "application/vnd.oci.image.manifest.v1+json", moved)
		// Without its sig tag, kvcounter has only the moved bundle.
		reg.PushRawManifest(t, "signed/kvcounter", "0.2.0", "application/vnd.oci.image.manifest.v1+json", blob(kvDigest))
		deleteTag(t, reg, "signed/kvcounter", cosigntest.SigTag(kvDigest))
		ref := reg.Ref("signed/kvcounter:0.2.0")
		_, err = c.Pull(t.Context(), ref)
		ce := signatureError(t, err, cosign.ErrDigestMismatch, ref)
		if !strings.Contains(ce.Error(), "the statement signs [sha256:"+strings.TrimPrefix(echoDigest, "sha256:")) {
			t.Fatalf("error does not name the digest signed: %v", err)
		}
	})
}

// TestPullCosignCLITampered: a payload changed in the registry is refused, whether the registry serves
// it under the old digest or the signature manifest was rewritten to match it.
func TestPullCosignCLITampered(t *testing.T) {
	keys := cosign.Config{PublicKeys: []string{cliKey("ecdsa")}}
	payload := testutil.ReadFile(t, "../internal/cosign/testdata/cli/blobs/sha256/925a3e4e2a7317f1beead8e8da54d707b6de812ee6538fd60cee445f4e6eaa01")
	payloadDigest := ocitest.Digest(payload)

	t.Run("payload altered in transit", func(t *testing.T) {
		reg := cliRegistry(t, false, rewrite(suffix("/blobs/"+payloadDigest), func(_ http.Handler, _ *http.Request, rec *httptest.ResponseRecorder) {
			b := bytes.Replace(rec.Body.Bytes(), []byte("signed/ecdsa"), []byte("signed/evil!"), 1)
			rec.Body = bytes.NewBuffer(b)
		}))
		c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, keys)})
		ref := reg.Ref("signed/ecdsa:0.1.0")
		_, err := c.Pull(t.Context(), ref)
		signatureError(t, err, cosign.ErrTampered, ref)
	})
	t.Run("payload and signature manifest rewritten", func(t *testing.T) {
		reg := cliRegistry(t, false, nil)
		sigManifest := testutil.ReadFile(t, "../internal/cosign/testdata/cli/blobs/sha256/2c0d81390f249a549cccf19ec0427e0188f085dc164a5d2c56255bba859fb843")
		forged := bytes.Replace(payload, []byte("signed/ecdsa"), []byte("signed/evil!"), 1)
		m := bytes.Replace(sigManifest, []byte(payloadDigest), []byte(ocitest.Digest(forged)), 1)
		reg.PushBlobs(t, "signed/ecdsa", forged)
		reg.PushRawManifest(t, "signed/ecdsa", cosigntest.SigTag(echoDigest), "application/vnd.oci.image.manifest.v1+json", m)
		c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, keys)})
		ref := reg.Ref("signed/ecdsa:0.1.0")
		_, err := c.Pull(t.Context(), ref)
		signatureError(t, err, cosign.ErrBadSignature, ref)
	})
	t.Run("bundle altered in transit", func(t *testing.T) {
		bundle := "sha256:e99db855208be2f975bded82677b38b183588bb610976b1babaeb83cd5043515"
		reg := cliRegistry(t, true, rewrite(suffix("/blobs/"+bundle), func(_ http.Handler, _ *http.Request, rec *httptest.ResponseRecorder) {
			rec.Body.Bytes()[len(rec.Body.Bytes())/2] ^= 1
		}))
		c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, keys)})
		ref := reg.Ref("signed/bundle-ecdsa:0.1.0")
		_, err := c.Pull(t.Context(), ref)
		signatureError(t, err, cosign.ErrTampered, ref)
	})
}

// deleteTag removes a tag from the registry.
func deleteTag(t testing.TB, reg *ocitest.Registry, repo, tag string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, "http://"+reg.Host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete %s:%s: status %d", repo, tag, resp.StatusCode)
	}
}

// TestPullCosignKeyless: a keyless signature from an in-process sigstore, checked against its
// trusted_root.json, through Pull.
func TestPullCosignKeyless(t *testing.T) {
	const identity, issuer = "release@example.com", "https://accounts.example.com"
	ss := cosigntest.NewSigstore(t)
	reg, _ := plainRegistry(t, ocitest.Options{}, oci.Config{})
	module := echo(t)
	ref, digest := reg.Push(t, "keyless/echo:0.1.0", module)
	layer := ss.SimpleSigning(t, identity, issuer, cosigntest.Payload(digest, reg.Host+"/keyless/echo"), cosigntest.SignOptions{})
	cosigntest.PushTag(t, reg, "keyless/echo", cosigntest.SigTag(digest), cosigntest.SignatureManifest(layer))
	root := ss.WriteTrustedRoot(t, t.TempDir(), cosigntest.RootOptions{})

	tests := []struct {
		name     string
		identity string
		issuer   string
		want     error
	}{
		{"trusted identity", identity, issuer, nil},
		{"another identity", "someone@example.com", issuer, cosign.ErrIdentity},
		{"another issuer", identity, "https://token.actions.githubusercontent.com", cosign.ErrIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := loadVerifier(t, cosign.Config{TrustedRoot: root, CertificateIdentity: tt.identity, CertificateOIDCIssuer: tt.issuer})
			c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: v})
			a, err := c.Pull(t.Context(), ref)
			if tt.want != nil {
				signatureError(t, err, tt.want, ref)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameBytes(t, "module", a.Module, module)
			require.DeepEqual(t, "identity", a.Signature.Identity, identity)
			require.DeepEqual(t, "issuer", a.Signature.Issuer, issuer)
		})
	}
}

// TestPullUnsignedNotDownloaded: an artifact without a trusted signature is refused before its module
// is downloaded.
func TestPullUnsignedNotDownloaded(t *testing.T) {
	module := echo(t)
	blobGets := &counter{suffix: "/blobs/" + sha(module)}
	reg, _ := plainRegistry(t, ocitest.Options{Wrap: blobGets.wrap}, oci.Config{})
	ref, _ := reg.Push(t, "echo:0.1.0", module)
	c := oci.New(oci.Config{Insecure: []string{reg.Host}, Verifier: loadVerifier(t, cosign.Config{PublicKeys: []string{cliKey("ecdsa")}})})
	_, err := c.Pull(t.Context(), ref)
	signatureError(t, err, cosign.ErrNoSignature, ref)
	require.DeepEqual(t, "module downloads", blobGets.n.Load(), int64(0))
}

// TestPullSetVerifier: the verifier is swapped at runtime (as a configuration reload does), also while
// pulls run (run with -race).
func TestPullSetVerifier(t *testing.T) {
	reg := cliRegistry(t, false, nil)
	signed, unsigned := reg.Ref("signed/ecdsa:0.1.0"), reg.Ref("unsigned/echo:0.1.0")
	v := loadVerifier(t, cosign.Config{PublicKeys: []string{cliKey("ecdsa")}})
	c := oci.New(oci.Config{Insecure: []string{reg.Host}})
	if c.Verifier() != nil {
		t.Fatal("a verifier without one configured")
	}
	mustPull(t, c, unsigned)

	c.SetVerifier(v)
	if c.Verifier() != v {
		t.Fatal("Verifier does not return the verifier set")
	}
	mustPull(t, c, signed)
	_, err := c.Pull(t.Context(), unsigned)
	signatureError(t, err, cosign.ErrNoSignature, unsigned)

	c.SetVerifier(nil)
	if a := mustPull(t, c, unsigned); a.Signature != nil {
		t.Fatalf("a signature without a verifier: %+v", a.Signature)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 4 {
		wg.Go(func() {
			_, err := c.Pull(t.Context(), signed)
			errs <- err
		})
		wg.Go(func() {
			if i%2 == 0 {
				c.SetVerifier(v)
			} else {
				c.SetVerifier(nil)
			}
			errs <- nil
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
