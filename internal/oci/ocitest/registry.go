// Package ocitest runs an in-process OCI registry on the loopback interface and pushes actor artifacts to
// it, so that the tests of oci, host and integration pull from a real registry speaking the distribution
// protocol rather than from a mock.
//
// The registry is go-containerregistry's pkg/registry, an in-memory http.Handler, served with
// net/http/httptest. That module is for tests only: the daemon must not link this package (oci's tests
// check it with go list).
package ocitest

import (
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// Options choose how NewRegistry serves. The zero value is an anonymous plain-HTTP registry.
type Options struct {
	// TLS serves HTTPS with the test server's self-signed certificate (valid for 127.0.0.1); verify it
	// with Registry.RootCAs.
	TLS bool
	// Username and Password, when Username is set, are required as HTTP basic auth on every request.
	Username string
	Password string
	// Token, when set, is required as a bearer token on every request; the challenge's realm refuses to
	// issue tokens, so only a client that already has the token gets in.
	Token string
	// Wrap, if set, wraps the registry handler (inside authentication), to observe requests or tamper
	// with responses.
	Wrap func(http.Handler) http.Handler
	// Referrers serves the OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>). Without it the
	// registry answers that path with 404, as registries older than OCI 1.1 do, and clients fall back to
	// the sha256-<hex> referrers tag.
	Referrers bool
}

// Registry is a running test registry. It is closed when the test ends.
type Registry struct {
	// Host is the registry's host:port, 127.0.0.1:<port>, as written in references.
	Host string
	// RootCAs holds the server certificate when Options.TLS is set; it is nil for plain HTTP.
	RootCAs *x509.CertPool

	opts Options
}

// NewRegistry starts an empty registry on 127.0.0.1 and stops it when tb ends.
func NewRegistry(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	var h http.Handler = Handler(opts.Referrers)
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http"
	if opts.TLS {
		scheme = "https"
	}
	realm := func() string { return scheme + "://" + srv.Listener.Addr().String() + "/token" }
	switch {
	case opts.Username != "":
		h = requireBasic(h, opts.Username, opts.Password)
	case opts.Token != "":
		h = requireBearer(h, opts.Token, realm)
	}
	srv.Config.Handler = h
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS handshakes a test makes fail on purpose
	r := &Registry{opts: opts}
	if opts.TLS {
		srv.StartTLS()
		r.RootCAs = x509.NewCertPool()
		r.RootCAs.AddCert(srv.Certificate())
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	r.Host = srv.Listener.Addr().String()
	return r
}

// Handler returns a new, empty in-memory registry handler, with or without the referrers API.
func Handler(referrers bool) http.Handler {
	return ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(referrers))
}

// Ref returns the reference of repoAndTag ("echo:0.1.0", "org/echo@sha256:…") in this registry.
func (r *Registry) Ref(repoAndTag string) string { return r.Host + "/" + repoAndTag }

// unauthorized writes a distribution-spec 401 with the given challenge.
func unauthorized(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
}

// requireBasic lets through only requests with the given basic-auth user and password.
func requireBasic(next http.Handler, user, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			unauthorized(w, `Basic realm="ocitest"`)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// requireBearer lets through only requests with the given bearer token; the realm named in the challenge
// never issues one.
func requireBearer(next http.Handler, token string, realm func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if req.URL.Path == "/token" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			unauthorized(w, fmt.Sprintf(`Bearer realm=%q,service="ocitest"`, realm()))
			return
		}
		next.ServeHTTP(w, req)
	})
}
