package oci_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// sameBytes compares large byte slices without printing them.
func sameBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the expected %d bytes", what, len(got), len(want))
	}
}

// refError checks that err is a *RefError of the given kind for ref, and returns it.
func refError(t testing.TB, err error, kind error, ref string) *oci.RefError {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	var re *oci.RefError
	if !errors.As(err, &re) {
		t.Fatalf("error %T is not a *oci.RefError: %v", err, err)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error is not %v: %v", kind, err)
	}
	t.Logf("error: %v", err)
	require.DeepEqual(t, "RefError.Ref", re.Ref, ref)
	if !strings.Contains(err.Error(), ref) {
		t.Fatalf("error does not name the reference %q: %v", ref, err)
	}
	return re
}

// mustPull pulls ref and fails the test on error.
func mustPull(t testing.TB, c *oci.Client, ref string) *oci.Artifact {
	t.Helper()
	a, err := c.Pull(t.Context(), ref)
	if err != nil {
		t.Fatalf("Pull(%s): %v", ref, err)
	}
	return a
}

// echo is the echo actor fixture (1.8 MB, signed).
func echo(t testing.TB) []byte { return testutil.Actor(t, "echo.wasm") }

// plainRegistry starts an anonymous plain-HTTP registry and a client that lists it as insecure.
func plainRegistry(t testing.TB, opts ocitest.Options, cfg oci.Config) (*ocitest.Registry, *oci.Client) {
	t.Helper()
	reg := ocitest.NewRegistry(t, opts)
	cfg.Insecure = append(cfg.Insecure, reg.Host)
	return reg, oci.New(cfg)
}

// counter counts the GET requests whose path ends with suffix.
type counter struct {
	suffix string
	n      atomic.Int64
}

func (c *counter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, c.suffix) {
			c.n.Add(1)
		}
		next.ServeHTTP(w, r)
	})
}

// suffix matches paths that end with s.
func suffix(s string) func(path string) bool {
	return func(path string) bool { return strings.HasSuffix(path, s) }
}

// rewrite serves GET requests whose path matches through edit, which may change the recorded response
// (status, headers, body) of the real registry before it is sent, or ask the registry (next) for
// something else. Content-Length follows the edited body.
func rewrite(match func(path string) bool, edit func(next http.Handler, r *http.Request, rec *httptest.ResponseRecorder)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !match(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			edit(next, r, rec)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
}

// serveFrom answers the request with what the registry serves for path instead, headers included.
func serveFrom(path string) func(next http.Handler, r *http.Request, rec *httptest.ResponseRecorder) {
	return func(next http.Handler, r *http.Request, rec *httptest.ResponseRecorder) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		other := httptest.NewRecorder()
		next.ServeHTTP(other, r2)
		*rec = *other
	}
}
