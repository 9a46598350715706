package cosign_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

// keyConfig writes the signers' public keys to files and returns a Config trusting them.
func keyConfig(t testing.TB, signers ...*cosigntest.KeySigner) cosign.Config {
	t.Helper()
	dir := t.TempDir()
	var cfg cosign.Config
	for i, s := range signers {
		cfg.PublicKeys = append(cfg.PublicKeys, s.WritePublicKey(t, dir, fmt.Sprintf("key%d.pub", i)))
	}
	return cfg
}

// TestVerifyKeyTypes: simple signing and bundles made with every supported key type are accepted with
// that key and refused with another, in every layout.
func TestVerifyKeyTypes(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.Options{Referrers: true})
	types := []struct {
		name string
		kt   cosigntest.KeyType
	}{
		{"ECDSA P-256", cosigntest.ECDSAP256},
		{"ECDSA P-384", cosigntest.ECDSAP384},
		{"Ed25519ph (cosign since v2.4)", cosigntest.Ed25519ph},
		{"pure Ed25519 (older cosign)", cosigntest.Ed25519},
		{"RSA 2048", cosigntest.RSA2048},
	}
	layouts := []struct {
		name   string
		layout cosign.Layout
		sign   func(t testing.TB, a *actor, s *cosigntest.KeySigner)
	}{
		{"sig tag", cosign.LayoutTag, func(t testing.TB, a *actor, s *cosigntest.KeySigner) { a.sign(t, s.SimpleSigning(t, a.payload())) }},
		{"sig referrer", cosign.LayoutReferrer, func(t testing.TB, a *actor, s *cosigntest.KeySigner) {
			cosigntest.PushTag(t, a.reg, a.repo, "", cosigntest.SignatureReferrer(a.subject.MediaType, a.digest(), int(a.subject.Size), s.SimpleSigning(t, a.payload())))
		}},
		{"DSSE bundle", cosign.LayoutBundle, func(t testing.TB, a *actor, s *cosigntest.KeySigner) { a.attach(t, s.DSSEBundle(t, a.statement())) }},
		{"message bundle", cosign.LayoutBundle, func(t testing.TB, a *actor, s *cosigntest.KeySigner) {
			manifest, err := fetchManifest(a)
			if err != nil {
				t.Fatal(err)
			}
			a.attach(t, s.MessageBundle(t, manifest))
		}},
	}
	for i, kt := range types {
		signer := cosigntest.NewKeySigner(t, kt.kt)
		trusted := load(t, keyConfig(t, signer))
		other := load(t, keyConfig(t, cosigntest.NewKeySigner(t, kt.kt)))
		for j, l := range layouts {
			if l.name == "message bundle" && kt.kt != cosigntest.ECDSAP256 && kt.kt != cosigntest.RSA2048 {
				// A message signature is checked against its SHA-256 digest alone: only keys that sign a
				// SHA-256 digest (ECDSA P-256, RSA) can make one that verifies.
				continue
			}
			t.Run(kt.name+"/"+l.name, func(t *testing.T) {
				// Each case signs its own module, so that its digest has no other signature.
				a := pushActor(t, reg, fmt.Sprintf("key%d/layout%d", i, j), append(bytes.Clone(wasm), byte(i), byte(j)))
				l.sign(t, a, signer)
				res, err := a.verify(t, trusted)
				check(t, res, err, nil)
				require.DeepEqual(t, "layout", res.Layout, l.layout)
				require.DeepEqual(t, "digest", res.Digest, a.digest())
				res, err = a.verify(t, other)
				check(t, res, err, cosign.ErrBadSignature, "does not verify with the trusted key")
			})
		}
	}
}

// fetchManifest reads the actor's manifest.
func fetchManifest(a *actor) ([]byte, error) {
	resp, err := http.Get("http://" + a.reg.Host + "/v2/" + a.repo + "/manifests/" + a.digest())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TestVerifyRefusals: what makes a key signature unacceptable, and which kind of error says so.
func TestVerifyRefusals(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	signer := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
	v := load(t, keyConfig(t, signer))
	n := 0
	newActor := func(t *testing.T) *actor {
		n++
		return pushActor(t, reg, fmt.Sprintf("refusal%d", n), append(bytes.Clone(wasm), byte(n)))
	}
	tests := []struct {
		name     string
		sign     func(t *testing.T, a *actor)
		want     error
		contains []string
	}{
		{"no signature", func(*testing.T, *actor) {}, cosign.ErrNoSignature, nil},
		{"payload of another digest", func(t *testing.T, a *actor) {
			a.sign(t, signer.SimpleSigning(t, cosigntest.Payload(ocitest.Digest([]byte("other")), "x")))
		}, cosign.ErrDigestMismatch, []string{"the payload signs " + ocitest.Digest([]byte("other"))}},
		{"statement of another digest", func(t *testing.T, a *actor) {
			a.attach(t, signer.DSSEBundle(t, cosigntest.Statement(ocitest.Digest([]byte("other")), cosigntest.PredicateCosignSign)))
		}, cosign.ErrDigestMismatch, []string{"the statement signs"}},
		{"message signature of another manifest", func(t *testing.T, a *actor) {
			a.attach(t, signer.MessageBundle(t, []byte("another manifest")))
		}, cosign.ErrDigestMismatch, []string{"the message signature signs " + ocitest.Digest([]byte("another manifest"))}},
		{"attestation of another predicate type", func(t *testing.T, a *actor) {
			a.attach(t, signer.DSSEBundle(t, cosigntest.Statement(a.digest(), "https://slsa.dev/provenance/v1")))
		}, cosign.ErrMalformed, []string{"is not a cosign signature"}},
		{"payload of another type", func(t *testing.T, a *actor) {
			p := bytes.Replace(a.payload(), []byte("cosign container image signature"), []byte("atomic container signature"), 1)
			a.sign(t, signer.SimpleSigning(t, p))
		}, cosign.ErrMalformed, []string{"payload type"}},
		{"payload with a duplicate key", func(t *testing.T, a *actor) {
			p := bytes.Replace(a.payload(), []byte(`"type"`), []byte(`"image":{"docker-manifest-digest":"`+a.digest()+`"},"type"`), 1)
			a.sign(t, signer.SimpleSigning(t, p))
		}, cosign.ErrMalformed, []string{"duplicate key"}},
		{"payload altered after signing", func(t *testing.T, a *actor) {
			l := signer.SimpleSigning(t, a.payload())
			l.Payload = bytes.Replace(l.Payload, []byte("refusal"), []byte("Refusal"), 1)
			a.sign(t, l)
		}, cosign.ErrBadSignature, nil},
		{"no signature annotation", func(t *testing.T, a *actor) {
			a.sign(t, cosigntest.Layer{Payload: a.payload(), Annotations: map[string]string{}})
		}, cosign.ErrMalformed, []string{"no dev.cosignproject.cosign/signature annotation"}},
		{"signature annotation not base64", func(t *testing.T, a *actor) {
			a.sign(t, cosigntest.Layer{Payload: a.payload(), Annotations: map[string]string{cosigntest.AnnotationSignature: "!!"}})
		}, cosign.ErrMalformed, []string{"not base64"}},
		{"bundle not JSON", func(t *testing.T, a *actor) { a.attach(t, []byte("{")) }, cosign.ErrMalformed, []string{"not a sigstore bundle"}},
		{"too many layers", func(t *testing.T, a *actor) {
			var ls []cosigntest.Layer
			for range 17 {
				ls = append(ls, signer.SimpleSigning(t, a.payload()))
			}
			a.sign(t, ls...)
		}, cosign.ErrMalformed, []string{"17 layers, more than the 16 examined"}},
		{"the closest refusal is reported", func(t *testing.T, a *actor) {
			other := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
			a.sign(t, other.SimpleSigning(t, a.payload()), signer.SimpleSigning(t, cosigntest.Payload(ocitest.Digest(nil), "x")))
		}, cosign.ErrDigestMismatch, []string{"2 refused", "layer 0: does not verify", "layer 1: the payload signs"}},
		{"a good signature after bad ones", func(t *testing.T, a *actor) {
			other := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
			a.sign(t, other.SimpleSigning(t, a.payload()), cosigntest.Layer{Payload: a.payload()}, signer.SimpleSigning(t, a.payload()))
		}, nil, nil},
		{"a bad tag and a good bundle", func(t *testing.T, a *actor) {
			a.sign(t, cosigntest.Layer{Payload: a.payload()})
			a.attach(t, signer.DSSEBundle(t, a.statement()))
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newActor(t)
			tt.sign(t, a)
			res, err := a.verify(t, v)
			check(t, res, err, tt.want, tt.contains...)
		})
	}
}

// TestVerifyLimits: a hostile registry cannot make Verify read more than its limits: what it announces
// over a limit is not fetched, and what it sends beyond what it announced is not read. The registry
// streams endlessly where it lies; Verify returning at all shows that it stopped reading.
func TestVerifyLimits(t *testing.T) {
	signer := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
	v := load(t, keyConfig(t, signer))
	const fakeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	var endless endlessWriter
	reg := ocitest.NewRegistry(t, ocitest.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
			sigTag := strings.Contains(r.URL.Path, "/manifests/sha256-")
			switch {
			case repo == "announced-manifest" && sigTag:
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Docker-Content-Digest", fakeDigest)
				w.Header().Set("Content-Length", fmt.Sprint(8<<20))
				if r.Method == http.MethodGet {
					endless.serve(w)
				}
			case repo == "endless-manifest" && sigTag && r.Method == http.MethodHead:
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Docker-Content-Digest", fakeDigest)
				w.Header().Set("Content-Length", "300")
			case repo == "endless-manifest" && (sigTag || strings.HasSuffix(r.URL.Path, "/manifests/"+fakeDigest)):
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Docker-Content-Digest", fakeDigest)
				endless.serve(w)
			case repo == "endless-layer" && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/"):
				endless.serve(w)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}})

	t.Run("signature manifest announced over the limit", func(t *testing.T) {
		a := pushActor(t, reg, "announced-manifest", nil)
		res, err := a.verify(t, v)
		check(t, res, err, cosign.ErrMalformed, "size exceeds limit")
	})
	t.Run("signature manifest longer than announced", func(t *testing.T) {
		a := pushActor(t, reg, "endless-manifest", nil)
		res, err := a.verify(t, v)
		check(t, res, err, cosign.ErrTampered)
	})
	t.Run("layer longer than announced", func(t *testing.T) {
		a := pushActor(t, reg, "endless-layer", nil)
		a.sign(t, signer.SimpleSigning(t, a.payload()))
		res, err := a.verify(t, v)
		check(t, res, err, cosign.ErrTampered, "longer than its")
	})
	t.Run("layer announced over the limit", func(t *testing.T) {
		a := pushActor(t, reg, "big-announced", nil)
		l := signer.SimpleSigning(t, a.payload())
		art := cosigntest.SignatureManifest(l)
		art.Manifest = bytes.Replace(art.Manifest, fmt.Appendf(nil, `"size":%d`, len(l.Payload)), []byte(`"size":2000000`), 1)
		cosigntest.PushTag(t, reg, a.repo, cosigntest.SigTag(a.digest()), art)
		res, err := a.verify(t, v)
		check(t, res, err, cosign.ErrMalformed, "size 2000000 is not within 1..1048576 bytes")
	})
	t.Logf("the most one endless response sent before the client closed: %d bytes", endless.max())
}

// endlessWriter streams spaces until the client goes away, and records the most one response sent.
type endlessWriter struct {
	mu   sync.Mutex
	most int // guarded by mu
}

func (e *endlessWriter) serve(w http.ResponseWriter) {
	chunk := bytes.Repeat([]byte(" "), 32<<10)
	n := 0
	// Bounded, so that a client that does read everything fails the test instead of hanging it.
	for n < 1<<30 {
		m, err := w.Write(chunk)
		n += m
		if err != nil {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.most = max(e.most, n)
}

func (e *endlessWriter) max() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.most
}

// TestVerifyFetchFailure: a registry that fails while signatures are fetched is reported as such, not as
// an unsigned artifact.
func TestVerifyFetchFailure(t *testing.T) {
	signer := cosigntest.NewKeySigner(t, cosigntest.ECDSAP256)
	v := load(t, keyConfig(t, signer))
	reg := ocitest.NewRegistry(t, ocitest.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/sha256-") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"no"}]}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	a := pushActor(t, reg, "failing", nil)
	res, err := a.verify(t, v)
	check(t, res, err, cosign.ErrFetch, "tag sha256-", "403")
}
