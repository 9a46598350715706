package oci_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestPull pulls echo.wasm, pushed as wash does, by tag, by digest and by tag@digest.
func TestPull(t *testing.T) {
	module := echo(t)
	reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
	ref, digest := reg.Push(t, "wasmcloud/echo:0.3.4", module)

	tests := []struct {
		name string
		ref  string
		tag  string
	}{
		{"tag", ref, "0.3.4"},
		{"digest", reg.Ref("wasmcloud/echo@" + digest), ""},
		{"tag and digest", ref + "@" + digest, "0.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustPull(t, c, tt.ref)
			sameBytes(t, "module", a.Module, module)
			a.Module = nil
			require.DeepEqual(t, "artifact", *a, oci.Artifact{Ref: tt.ref, Registry: reg.Host, Repository: "wasmcloud/echo", Tag: tt.tag, Digest: digest})
		})
	}
}

// TestPullDigestPins: a pin the artifact does not hash to is refused, whether the tag moved, the digest is
// unknown, or the registry serves other content for the digest.
func TestPullDigestPins(t *testing.T) {
	module := echo(t)
	kv := testutil.Actor(t, "kvcounter.wasm")

	t.Run("tag resolves to another digest", func(t *testing.T) {
		reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
		ref, _ := reg.Push(t, "echo:0.1.0", module)
		_, kvDigest := reg.Push(t, "echo:0.2.0", kv)
		pinned := ref + "@" + kvDigest
		_, err := c.Pull(t.Context(), pinned)
		refError(t, err, oci.ErrDigestMismatch, pinned)
	})
	t.Run("unknown digest", func(t *testing.T) {
		reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
		reg.Push(t, "echo:0.1.0", module)
		pinned := reg.Ref("echo@" + sha([]byte("nothing")))
		_, err := c.Pull(t.Context(), pinned)
		refError(t, err, oci.ErrNotFound, pinned)
	})

	// A registry that answers the pinned digest with another manifest: once claiming the pinned digest
	// (lying), once with the other manifest's own digest header.
	for _, lie := range []bool{true, false} {
		t.Run(fmt.Sprintf("registry serves another manifest, header lies %v", lie), func(t *testing.T) {
			// The digests are known only after the pushes, while the registry already runs.
			var mu sync.Mutex
			var echoDigest, kvDigest string
			digests := func() (string, string) { mu.Lock(); defer mu.Unlock(); return echoDigest, kvDigest }
			isEcho := func(path string) bool {
				e, _ := digests()
				return e != "" && strings.HasSuffix(path, "/manifests/"+e)
			}
			reg, c := plainRegistry(t, ocitest.Options{Wrap: rewrite(isEcho, func(next http.Handler, r *http.Request, rec *httptest.ResponseRecorder) {
				e, k := digests()
				serveFrom(strings.TrimSuffix(r.URL.Path, e)+k)(next, r, rec)
				if lie {
					rec.Header().Set("Docker-Content-Digest", e)
				}
			})}, oci.Config{})
			_, e := reg.Push(t, "echo:0.1.0", module)
			_, k := reg.Push(t, "echo:0.2.0", kv)
			mu.Lock()
			echoDigest, kvDigest = e, k
			mu.Unlock()
			pinned := reg.Ref("echo@" + echoDigest)
			_, err := c.Pull(t.Context(), pinned)
			re := refError(t, err, oci.ErrDigestMismatch, pinned)
			if !strings.Contains(re.Reason, kvDigest) {
				t.Fatalf("reason does not name the digest received %s: %v", kvDigest, err)
			}
		})
	}

	t.Run("registry header disagrees with the manifest pulled by tag", func(t *testing.T) {
		reg, c := plainRegistry(t, ocitest.Options{Wrap: rewrite(suffix("/manifests/0.1.0"), func(_ http.Handler, _ *http.Request, rec *httptest.ResponseRecorder) {
			rec.Header().Set("Docker-Content-Digest", sha([]byte("other")))
		})}, oci.Config{})
		ref, _ := reg.Push(t, "echo:0.1.0", module)
		_, err := c.Pull(t.Context(), ref)
		refError(t, err, oci.ErrDigestMismatch, ref)
	})
}

// TestPullLayerTampered: a layer that does not hash to its descriptor is refused.
func TestPullLayerTampered(t *testing.T) {
	module := echo(t)
	reg, c := plainRegistry(t, ocitest.Options{Wrap: rewrite(suffix("/blobs/"+sha(module)), func(_ http.Handler, _ *http.Request, rec *httptest.ResponseRecorder) {
		b := rec.Body.Bytes()
		b[len(b)/2] ^= 0xff
	})}, oci.Config{})
	ref, _ := reg.Push(t, "echo:0.1.0", module)
	_, err := c.Pull(t.Context(), ref)
	re := refError(t, err, oci.ErrDigestMismatch, ref)
	if !strings.Contains(re.Reason, sha(module)) {
		t.Fatalf("reason does not name the layer digest: %v", err)
	}
}

// TestPullLatest: "latest" and no tag are refused unless AllowLatest; a digest pins even "latest".
func TestPullLatest(t *testing.T) {
	module := echo(t)
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	_, digest := reg.Push(t, "echo:latest", module)
	tests := []struct {
		name    string
		ref     string
		allow   bool
		wantErr bool
		tag     string
	}{
		{"latest refused", reg.Ref("echo:latest"), false, true, ""},
		{"no tag refused", reg.Ref("echo"), false, true, ""},
		{"latest allowed", reg.Ref("echo:latest"), true, false, "latest"},
		{"no tag allowed means latest", reg.Ref("echo"), true, false, "latest"},
		{"latest pinned by digest", reg.Ref("echo:latest@" + digest), false, false, "latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oci.New(oci.Config{AllowLatest: tt.allow, Insecure: []string{reg.Host}})
			a, err := c.Pull(t.Context(), tt.ref)
			if tt.wantErr {
				refError(t, err, oci.ErrLatest, tt.ref)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameBytes(t, "module", a.Module, module)
			require.DeepEqual(t, "tag", a.Tag, tt.tag)
			require.DeepEqual(t, "digest", a.Digest, digest)
		})
	}
}

// TestPullTransport: HTTPS unless listed as insecure; TLS verified with the configured roots.
func TestPullTransport(t *testing.T) {
	module := echo(t)
	plain := ocitest.NewRegistry(t, ocitest.Options{})
	plainRef, _ := plain.Push(t, "echo:0.1.0", module)
	secure := ocitest.NewRegistry(t, ocitest.Options{TLS: true})
	tlsRef, _ := secure.Push(t, "echo:0.1.0", module)

	t.Run("plain HTTP not listed", func(t *testing.T) {
		_, err := oci.New(oci.Config{Insecure: []string{"127.0.0.1:1"}}).Pull(t.Context(), plainRef)
		re := refError(t, err, oci.ErrInsecure, plainRef)
		require.DeepEqual(t, "registry", re.Registry, plain.Host)
		if !errors.Is(err, http.ErrSchemeMismatch) {
			t.Fatalf("cause is not http.ErrSchemeMismatch: %v", err)
		}
	})
	t.Run("plain HTTP listed", func(t *testing.T) {
		a := mustPull(t, oci.New(oci.Config{Insecure: []string{plain.Host}}), plainRef)
		sameBytes(t, "module", a.Module, module)
	})
	t.Run("TLS with the test CA", func(t *testing.T) {
		a := mustPull(t, oci.New(oci.Config{RootCAs: secure.RootCAs}), tlsRef)
		sameBytes(t, "module", a.Module, module)
	})
	t.Run("TLS with system roots", func(t *testing.T) {
		_, err := oci.New(oci.Config{}).Pull(t.Context(), tlsRef)
		refError(t, err, oci.ErrFetch, tlsRef)
		var cve *tls.CertificateVerificationError
		if !errors.As(err, &cve) {
			t.Fatalf("cause is not a certificate verification error: %v", err)
		}
	})
	t.Run("TLS registry listed as insecure", func(t *testing.T) {
		_, err := oci.New(oci.Config{Insecure: []string{secure.Host}}).Pull(t.Context(), tlsRef)
		refError(t, err, oci.ErrFetch, tlsRef)
	})
}

// TestPullCredentials: basic and bearer registries accept the right credentials, from Config or from
// SetCredentials, and refuse wrong or missing ones with an error that names the registry and never the
// secret.
func TestPullCredentials(t *testing.T) {
	const user, password, token = "wasmcloud", "pa55-Secret-word", "tok-Secret-3f9a"
	module := echo(t)
	basic := ocitest.NewRegistry(t, ocitest.Options{Username: user, Password: password})
	basicRef, _ := basic.Push(t, "echo:0.1.0", module)
	bearer := ocitest.NewRegistry(t, ocitest.Options{Token: token})
	bearerRef, _ := bearer.Push(t, "echo:0.1.0", module)

	tests := []struct {
		name  string
		reg   *ocitest.Registry
		ref   string
		creds map[string]oci.Credentials // Config.Credentials
		set   *oci.Credentials           // then SetCredentials for the registry
		want  error
	}{
		{"basic from config", basic, basicRef, map[string]oci.Credentials{basic.Host: {Username: user, Password: password}}, nil, nil},
		{"basic from SetCredentials", basic, basicRef, nil, &oci.Credentials{Username: user, Password: password}, nil},
		{"basic wrong password", basic, basicRef, map[string]oci.Credentials{basic.Host: {Username: user, Password: password + "x"}}, nil, oci.ErrUnauthorized},
		{"basic wrong user", basic, basicRef, map[string]oci.Credentials{basic.Host: {Username: "other", Password: password}}, nil, oci.ErrUnauthorized},
		{"basic none", basic, basicRef, nil, nil, oci.ErrUnauthorized},
		{"basic for another registry", basic, basicRef, map[string]oci.Credentials{"ghcr.io": {Username: user, Password: password}}, nil, oci.ErrUnauthorized},
		{"basic replaced by wrong", basic, basicRef, map[string]oci.Credentials{basic.Host: {Username: user, Password: password}}, &oci.Credentials{Username: user, Password: "nope"}, oci.ErrUnauthorized},
		{"basic removed", basic, basicRef, map[string]oci.Credentials{basic.Host: {Username: user, Password: password}}, &oci.Credentials{}, oci.ErrUnauthorized},
		{"bearer from config", bearer, bearerRef, map[string]oci.Credentials{bearer.Host: {Token: token}}, nil, nil},
		{"bearer from SetCredentials", bearer, bearerRef, nil, &oci.Credentials{Token: token}, nil},
		{"bearer wrong token", bearer, bearerRef, map[string]oci.Credentials{bearer.Host: {Token: token + "x"}}, nil, oci.ErrUnauthorized},
		{"bearer none", bearer, bearerRef, nil, nil, oci.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oci.New(oci.Config{Insecure: []string{tt.reg.Host}, Credentials: tt.creds})
			if tt.set != nil {
				// Pull once first, so that a cached token from the old credentials would be used if
				// SetCredentials did not drop it.
				_, _ = c.Pull(t.Context(), tt.ref)
				c.SetCredentials(tt.reg.Host, *tt.set)
			}
			a, err := c.Pull(t.Context(), tt.ref)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				sameBytes(t, "module", a.Module, module)
				return
			}
			re := refError(t, err, tt.want, tt.ref)
			require.DeepEqual(t, "registry", re.Registry, tt.reg.Host)
			if !strings.Contains(re.Reason, tt.reg.Host) {
				t.Fatalf("reason does not name the registry %s: %v", tt.reg.Host, err)
			}
			for _, secret := range []string{"Secret", "cGE1NS1TZWNyZXQtd29yZ"} { // and base64 of user:password's start
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error contains a secret: %v", err)
				}
			}
		})
	}
}

// TestCredentialsString: credentials print without their secrets.
func TestCredentialsString(t *testing.T) {
	tests := []struct {
		name string
		c    oci.Credentials
		want string
	}{
		{"basic", oci.Credentials{Username: "u", Password: "Secret"}, "user u password [redacted]"},
		{"token", oci.Credentials{Token: "Secret"}, "token [redacted]"},
		{"none", oci.Credentials{}, "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.DeepEqual(t, "%v", fmt.Sprintf("%v", tt.c), tt.want)
			require.DeepEqual(t, "%+v", fmt.Sprintf("%+v", tt.c), tt.want)
			require.DeepEqual(t, "%#v", fmt.Sprintf("%#v", tt.c), tt.want)
		})
	}
}

// TestPullNotActor: only an image manifest with exactly one WebAssembly layer is an actor.
func TestPullNotActor(t *testing.T) {
	module := echo(t)
	config := ocitest.Blob{MediaType: oci.MediaTypeActorConfig, Data: []byte("{}")}
	wasm := ocitest.Blob{MediaType: oci.MediaTypeWasmLayer, Data: module}
	tests := []struct {
		name   string
		m      ocitest.Manifest
		want   error // nil: accepted
		reason string
	}{
		{"wash layout", ocitest.ActorManifest(module), nil, ""},
		{"generic wasm media type", ocitest.Manifest{Config: config, Layers: []ocitest.Blob{{MediaType: oci.MediaTypeWasm, Data: module}}}, nil, ""},
		{"docker schema 2 manifest", ocitest.Manifest{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Config: config, Layers: []ocitest.Blob{wasm}}, nil, ""},
		{"no layer", ocitest.Manifest{Config: config}, oci.ErrNotActor, "manifest has 0 layers, want exactly one WebAssembly layer"},
		{"two wasm layers", ocitest.Manifest{Config: config, Layers: []ocitest.Blob{wasm, {MediaType: oci.MediaTypeWasmLayer, Data: []byte("\x00asm\x01\x00\x00\x00")}}}, oci.ErrNotActor, "manifest has 2 layers, want exactly one WebAssembly layer"},
		{"tar layer", ocitest.Manifest{Config: config, Layers: []ocitest.Blob{{MediaType: "application/vnd.oci.image.layer.v1.tar", Data: module}}}, oci.ErrNotActor,
			`layer media type "application/vnd.oci.image.layer.v1.tar" is not WebAssembly (want application/vnd.module.wasm.content.layer.v1+wasm)`},
		{"provider archive", ocitest.Manifest{Config: ocitest.Blob{MediaType: "application/vnd.wasmcloud.provider.archive.config", Data: []byte("{}")},
			Layers: []ocitest.Blob{{MediaType: "application/vnd.wasmcloud.provider.archive.layer.v1+par", Data: []byte("par")}}}, oci.ErrNotActor,
			`layer media type "application/vnd.wasmcloud.provider.archive.layer.v1+par" is not WebAssembly (want application/vnd.module.wasm.content.layer.v1+wasm)`},
		{"image index", ocitest.Manifest{MediaType: "application/vnd.oci.image.index.v1+json", Config: config, Layers: []ocitest.Blob{wasm}}, oci.ErrNotActor,
			`manifest media type "application/vnd.oci.image.index.v1+json" is not an image manifest`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
			ref, digest := reg.PushManifest(t, "echo:0.1.0", tt.m)
			a, err := c.Pull(t.Context(), ref)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				sameBytes(t, "module", a.Module, module)
				require.DeepEqual(t, "digest", a.Digest, digest)
				return
			}
			re := refError(t, err, tt.want, ref)
			require.DeepEqual(t, "reason", re.Reason, tt.reason)
		})
	}
}

// TestPullTooLarge: a layer over MaxSize is refused without being downloaded.
func TestPullTooLarge(t *testing.T) {
	module := echo(t)
	blobGets := &counter{suffix: "/blobs/" + sha(module)}
	reg, _ := plainRegistry(t, ocitest.Options{Wrap: blobGets.wrap}, oci.Config{})
	ref, _ := reg.Push(t, "echo:0.1.0", module)

	size := int64(len(module))
	c := oci.New(oci.Config{Insecure: []string{reg.Host}, MaxSize: size - 1})
	_, err := c.Pull(t.Context(), ref)
	re := refError(t, err, oci.ErrTooLarge, ref)
	require.DeepEqual(t, "reason", re.Reason, fmt.Sprintf("module layer is %d bytes, over the %d-byte limit", size, size-1))
	require.DeepEqual(t, "layer downloads", blobGets.n.Load(), int64(0))

	a := mustPull(t, oci.New(oci.Config{Insecure: []string{reg.Host}, MaxSize: size}), ref)
	sameBytes(t, "module at the limit", a.Module, module)
	require.DeepEqual(t, "layer downloads", blobGets.n.Load(), int64(1))
}

// TestPullNotFound: unknown repository or tag.
func TestPullNotFound(t *testing.T) {
	reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
	reg.Push(t, "echo:0.1.0", echo(t))
	for _, ref := range []string{reg.Ref("echo:0.9.9"), reg.Ref("nothing:0.1.0")} {
		t.Run(ref, func(t *testing.T) {
			_, err := c.Pull(t.Context(), ref)
			refError(t, err, oci.ErrNotFound, ref)
		})
	}
}

// TestPullCanceled: a canceled context stops the pull with the context's error.
func TestPullCanceled(t *testing.T) {
	reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
	ref, _ := reg.Push(t, "echo:0.1.0", echo(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Pull(ctx, ref)
	refError(t, err, oci.ErrFetch, ref)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error is not context.Canceled: %v", err)
	}
}

// TestPullConcurrent: pulls and credential changes from several goroutines (run with -race).
func TestPullConcurrent(t *testing.T) {
	const user, password = "u", "p"
	module := echo(t)
	reg := ocitest.NewRegistry(t, ocitest.Options{Username: user, Password: password})
	ref, _ := reg.Push(t, "echo:0.1.0", module)
	c := oci.New(oci.Config{Insecure: []string{reg.Host}, Credentials: map[string]oci.Credentials{reg.Host: {Username: user, Password: password}}})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			a, err := c.Pull(t.Context(), ref)
			if err == nil && len(a.Module) != len(module) {
				err = fmt.Errorf("module is %d bytes, want %d", len(a.Module), len(module))
			}
			errs <- err
		})
		wg.Go(func() {
			c.SetCredentials(reg.Host, oci.Credentials{Username: user, Password: password})
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

// TestPullAnnouncedSizeNotAllocated: a registry whose manifest announces a layer of hundreds of MiB (within the
// limit) and then sends a few KiB, without a Content-Length, costs the host what it sent, not what it announced;
// the pull fails as a short read.
func TestPullAnnouncedSizeNotAllocated(t *testing.T) {
	module := echo(t)
	const announced = 400 << 20
	digest := sha(module)
	chunked := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush() // no Content-Length: chunked
				_, _ = w.Write(module)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg, c := plainRegistry(t, ocitest.Options{Wrap: chunked}, oci.Config{MaxSize: 512 << 20})
	config := []byte("{}")
	reg.PushBlobs(t, "echo", config, module)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[{"mediaType":%q,"digest":%q,"size":%d}]}`,
		oci.MediaTypeActorConfig, sha(config), len(config), oci.MediaTypeWasmLayer, digest, announced)
	reg.PushRawManifest(t, "echo", "0.1.0", "application/vnd.oci.image.manifest.v1+json", []byte(manifest))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Pull(t.Context(), reg.Ref("echo:0.1.0"))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a layer shorter than announced was accepted")
	}
	t.Logf("error: %v", err)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 64<<20 {
		t.Fatalf("the pull allocated %d MiB for a %d KiB layer announced as %d MiB", allocated>>20, len(module)>>10, announced>>20)
	}
}
