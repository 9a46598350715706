package ocitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
)

// Blob is one piece of content of an artifact with its media type.
type Blob struct {
	MediaType string
	Data      []byte
}

// Manifest describes an artifact to push: an image manifest of MediaType (the OCI image manifest when
// empty) over Config and Layers.
type Manifest struct {
	MediaType   string
	Config      Blob
	Layers      []Blob
	Annotations map[string]string
}

// ActorManifest is the artifact `wash push` makes of a module: an OCI image manifest whose config, of media
// type application/vnd.wasmcloud.actor.archive.config, holds "{}", and whose one layer, of media type
// application/vnd.module.wasm.content.layer.v1+wasm, is the module.
func ActorManifest(module []byte) Manifest {
	return Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    Blob{MediaType: oci.MediaTypeActorConfig, Data: []byte("{}")},
		Layers:    []Blob{{MediaType: oci.MediaTypeWasmLayer, Data: module}},
	}
}

// ProviderManifest is the artifact `wash push` makes of a provider archive: config media type
// application/vnd.wasmcloud.provider.archive.config, one layer of media type
// application/vnd.wasmcloud.provider.archive.layer.v1+par holding the .par.gz file.
func ProviderManifest(archive []byte) Manifest {
	return Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    Blob{MediaType: oci.MediaTypeProviderConfig, Data: []byte("{}")},
		Layers:    []Blob{{MediaType: oci.MediaTypeProviderLayer, Data: archive}},
	}
}

// PushOption configures how Push reaches the registry.
type PushOption func(*pushConfig)

type pushConfig struct {
	plainHTTP bool
	rootCAs   *x509.CertPool
	cred      auth.Credential
}

// PlainHTTP pushes over plain HTTP instead of HTTPS.
func PlainHTTP() PushOption { return func(c *pushConfig) { c.plainHTTP = true } }

// RootCAs verifies the registry's certificate with pool.
func RootCAs(pool *x509.CertPool) PushOption { return func(c *pushConfig) { c.rootCAs = pool } }

// BasicAuth authenticates with a user name and password.
func BasicAuth(user, password string) PushOption {
	return func(c *pushConfig) { c.cred = auth.Credential{Username: user, Password: password} }
}

// BearerToken authenticates with a bearer token.
func BearerToken(token string) PushOption {
	return func(c *pushConfig) { c.cred = auth.Credential{AccessToken: token} }
}

// Push packs module as wash does (see ActorManifest) and pushes it to ref, registry/repository[:tag] (a
// reference without a tag is pushed by digest only). It returns the manifest digest.
func Push(ctx context.Context, ref string, module []byte, opts ...PushOption) (string, error) {
	return PushManifest(ctx, ref, ActorManifest(module), opts...)
}

// PushManifest pushes the config and layer blobs of m and then m itself, with oras-go, and returns the
// manifest digest. It is Push for artifacts that are not what wash makes.
func PushManifest(ctx context.Context, ref string, m Manifest, opts ...PushOption) (string, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if r.Digest != "" {
		return "", fmt.Errorf("ocitest: push %s: the digest is computed, not given", ref)
	}
	var cfg pushConfig
	for _, o := range opts {
		o(&cfg)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: cfg.rootCAs, MinVersion: tls.VersionTLS12}
	repo := &remote.Repository{
		Client: &auth.Client{
			Client:     &http.Client{Transport: transport},
			Credential: auth.StaticCredential(r.Registry, cfg.cred),
		},
		Reference: registry.Reference{Registry: r.Registry, Repository: r.Repository},
		PlainHTTP: cfg.plainHTTP,
	}
	defer transport.CloseIdleConnections()

	push := func(b Blob) (ocispec.Descriptor, error) {
		d := content.NewDescriptorFromBytes(b.MediaType, b.Data)
		if err := repo.Blobs().Push(ctx, d, bytes.NewReader(b.Data)); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("ocitest: push blob %s to %s: %w", d.Digest, ref, err)
		}
		return d, nil
	}
	mf := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   m.MediaType,
		Layers:      []ocispec.Descriptor{},
		Annotations: m.Annotations,
	}
	if mf.MediaType == "" {
		mf.MediaType = ocispec.MediaTypeImageManifest
	}
	if mf.Config, err = push(m.Config); err != nil {
		return "", err
	}
	for _, l := range m.Layers {
		d, err := push(l)
		if err != nil {
			return "", err
		}
		mf.Layers = append(mf.Layers, d)
	}
	body, err := json.Marshal(mf)
	if err != nil {
		return "", fmt.Errorf("ocitest: encode manifest: %w", err)
	}
	d := content.NewDescriptorFromBytes(mf.MediaType, body)
	if r.Tag != "" {
		err = repo.Manifests().PushReference(ctx, d, bytes.NewReader(body), r.Tag)
	} else {
		err = repo.Manifests().Push(ctx, d, bytes.NewReader(body))
	}
	if err != nil {
		return "", fmt.Errorf("ocitest: push manifest to %s: %w", ref, err)
	}
	return d.Digest.String(), nil
}

// PushOptions returns the options that reach this registry: plain HTTP or its certificate, and its
// credentials.
func (r *Registry) PushOptions() []PushOption {
	var opts []PushOption
	if r.RootCAs != nil {
		opts = append(opts, RootCAs(r.RootCAs))
	} else {
		opts = append(opts, PlainHTTP())
	}
	switch {
	case r.opts.Username != "":
		opts = append(opts, BasicAuth(r.opts.Username, r.opts.Password))
	case r.opts.Token != "":
		opts = append(opts, BearerToken(r.opts.Token))
	}
	return opts
}

// Push pushes module as wash does to repoAndTag ("echo:0.1.0") in this registry, failing tb on error. It
// returns the full reference and the manifest digest.
func (r *Registry) Push(tb testing.TB, repoAndTag string, module []byte) (ref, digest string) {
	tb.Helper()
	return r.PushManifest(tb, repoAndTag, ActorManifest(module))
}

// PushManifest pushes m to repoAndTag in this registry, failing tb on error. It returns the full
// reference and the manifest digest.
func (r *Registry) PushManifest(tb testing.TB, repoAndTag string, m Manifest) (ref, digest string) {
	tb.Helper()
	ref = r.Ref(repoAndTag)
	digest, err := PushManifest(tb.Context(), ref, m, r.PushOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	return ref, digest
}

// repository returns an oras client for repository in this registry, with its options.
func (r *Registry) repository(repository string) *remote.Repository {
	var cfg pushConfig
	for _, o := range r.PushOptions() {
		o(&cfg)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: cfg.rootCAs, MinVersion: tls.VersionTLS12}
	return &remote.Repository{
		Client: &auth.Client{
			Client:     &http.Client{Transport: transport},
			Credential: auth.StaticCredential(r.Host, cfg.cred),
		},
		Reference: registry.Reference{Registry: r.Host, Repository: repository},
		PlainHTTP: cfg.plainHTTP,
	}
}

// PushBlobs pushes each of blobs to repository as it is, failing tb on error.
func (r *Registry) PushBlobs(tb testing.TB, repository string, blobs ...[]byte) {
	tb.Helper()
	repo := r.repository(repository)
	for _, b := range blobs {
		d := content.NewDescriptorFromBytes("application/octet-stream", b)
		if err := repo.Blobs().Push(tb.Context(), d, bytes.NewReader(b)); err != nil {
			tb.Fatalf("ocitest: push blob %s to %s: %v", d.Digest, repository, err)
		}
	}
}

// PushRawManifest pushes body, a manifest of mediaType, to repository as it is (its blobs must be there
// already): under tag, or by digest when tag is "". A manifest with a subject is also listed in the
// sha256-<hex> referrers tag, as oras-go does for registries that do not say they index referrers. It
// returns the manifest digest.
func (r *Registry) PushRawManifest(tb testing.TB, repository, tag, mediaType string, body []byte) string {
	tb.Helper()
	repo := r.repository(repository)
	d := content.NewDescriptorFromBytes(mediaType, body)
	var err error
	if tag != "" {
		err = repo.Manifests().PushReference(tb.Context(), d, bytes.NewReader(body), tag)
	} else {
		err = repo.Manifests().Push(tb.Context(), d, bytes.NewReader(body))
	}
	if err != nil {
		tb.Fatalf("ocitest: push manifest %s to %s: %v", d.Digest, repository, err)
	}
	return d.Digest.String()
}
