package ocitest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// get fetches url with client and returns the status, the Content-Type and the body.
func get(t *testing.T, client *http.Client, url string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestPushWashLayout: the manifest Push stores is, byte for byte, the one wash writes for a module.
func TestPushWashLayout(t *testing.T) {
	module := testutil.Actor(t, "echo.wasm")
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	ref, digest := reg.Push(t, "wasmcloud/echo:0.3.4", module)
	if want := reg.Host + "/wasmcloud/echo:0.3.4"; ref != want {
		t.Fatalf("ref = %q, want %q", ref, want)
	}

	status, ctype, body := get(t, http.DefaultClient, "http://"+reg.Host+"/v2/wasmcloud/echo/manifests/0.3.4")
	want := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.wasmcloud.actor.archive.config","digest":"%s","size":2},`+
		`"layers":[{"mediaType":"application/vnd.module.wasm.content.layer.v1+wasm","digest":"%s","size":%d}]}`,
		sha([]byte("{}")), sha(module), len(module))
	if status != http.StatusOK || ctype != "application/vnd.oci.image.manifest.v1+json" || string(body) != want {
		t.Fatalf("manifest: %d %s\n%s\nwant\n%s", status, ctype, body, want)
	}
	if digest != sha(body) {
		t.Fatalf("Push returned %s, the manifest hashes to %s", digest, sha(body))
	}
	status, _, layer := get(t, http.DefaultClient, "http://"+reg.Host+"/v2/wasmcloud/echo/blobs/"+sha(module))
	if status != http.StatusOK || string(layer) != string(module) {
		t.Fatalf("layer: status %d, %d bytes, want the %d bytes of the module", status, len(layer), len(module))
	}
}

// TestRegistryOptions: authentication and TLS are enforced, for pushes as for everything else.
func TestRegistryOptions(t *testing.T) {
	module := []byte("\x00asm\x01\x00\x00\x00")
	tests := []struct {
		name    string
		opts    ocitest.Options
		push    []ocitest.PushOption // wrong options: the push must fail
		wantErr string
	}{
		{"basic auth, none given", ocitest.Options{Username: "u", Password: "p"}, []ocitest.PushOption{ocitest.PlainHTTP()}, "basic credential not found"},
		{"basic auth, wrong password", ocitest.Options{Username: "u", Password: "p"}, []ocitest.PushOption{ocitest.PlainHTTP(), ocitest.BasicAuth("u", "x")}, "401"},
		{"bearer, wrong token", ocitest.Options{Token: "t"}, []ocitest.PushOption{ocitest.PlainHTTP(), ocitest.BearerToken("x")}, "401"},
		{"TLS, no CA", ocitest.Options{TLS: true}, nil, "certificate signed by unknown authority"},
		{"plain, pushed over HTTPS", ocitest.Options{}, nil, "server gave HTTP response to HTTPS client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := ocitest.NewRegistry(t, tt.opts)
			_, err := ocitest.Push(t.Context(), reg.Ref("echo:1"), module, tt.push...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("push with wrong options: %v, want an error containing %q", err, tt.wantErr)
			}
			// The registry's own options work.
			_, digest := reg.Push(t, "echo:1", module)
			got, err := ocitest.Push(t.Context(), reg.Ref("echo:2"), module, reg.PushOptions()...)
			if err != nil || got != digest {
				t.Fatalf("Push with PushOptions = %s, %v; want %s", got, err, digest)
			}
		})
	}
}

// TestPushRefusesDigest: Push computes the digest, it cannot be given.
func TestPushRefusesDigest(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	_, err := ocitest.Push(t.Context(), reg.Ref("echo@"+sha(nil)), []byte("x"), reg.PushOptions()...)
	if err == nil || !strings.Contains(err.Error(), "the digest is computed, not given") {
		t.Fatalf("Push by digest: %v", err)
	}
}

// TestRecordReplay: what is pushed through a Recorder is saved, external blobs by reference, and a
// replay into another registry serves the same manifests under the same references.
func TestRecordReplay(t *testing.T) {
	module := testutil.Actor(t, "echo.wasm")
	rec := ocitest.NewRecorder(ocitest.Handler(false))
	srv := httptest.NewServer(rec)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	digest, err := ocitest.Push(t.Context(), host+"/a/echo:0.1.0", module, ocitest.PlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("\x00asm\x01\x00\x00\x00")
	smallDigest, err := ocitest.Push(t.Context(), host+"/b/small:1", small, ocitest.PlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rec.Save(dir, testutil.Root(), map[string]string{sha(module): "testdata/actors/echo.wasm"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(sha(module), "sha256:"))); !os.IsNotExist(err) {
		t.Fatalf("the external blob was copied: %v", err)
	}

	reg := ocitest.NewRegistry(t, ocitest.Options{})
	got := reg.Replay(t, dir, testutil.Root())
	if len(got.Pushes) != 2 {
		t.Fatalf("recorded %d pushes, want 2: %+v", len(got.Pushes), got.Pushes)
	}
	for _, p := range []struct{ path, digest string }{
		{"/v2/a/echo/manifests/0.1.0", digest},
		{"/v2/b/small/manifests/1", smallDigest},
	} {
		status, _, body := get(t, http.DefaultClient, "http://"+reg.Host+p.path)
		if status != http.StatusOK || sha(body) != p.digest {
			t.Fatalf("%s: status %d, digest %s, want %s", p.path, status, sha(body), p.digest)
		}
	}
	status, _, layer := get(t, http.DefaultClient, "http://"+reg.Host+"/v2/a/echo/blobs/"+sha(module))
	if status != http.StatusOK || sha(layer) != sha(module) {
		t.Fatalf("external layer: status %d", status)
	}
}
