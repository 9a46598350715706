package oci

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
)

// Manifest media types accepted for an actor: the OCI image manifest wash writes, and the Docker schema 2
// manifest some registries convert it to.
const (
	mediaTypeOCIManifest    = ocispec.MediaTypeImageManifest
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)

// manifestMediaTypes is the Accept list for manifests: no index, no schema 1.
var manifestMediaTypes = []string{mediaTypeOCIManifest, mediaTypeDockerManifest}

// headerContentDigest is the header in which registries state the digest of what they serve.
const headerContentDigest = "Docker-Content-Digest"

// Artifact is a pulled actor artifact. Module is the signed module, not yet verified.
type Artifact struct {
	// Ref is the reference as passed to Pull.
	Ref string
	// Registry is host[:port], lower-cased.
	Registry string
	// Repository is the repository path.
	Repository string
	// Tag is the tag pulled ("latest" when the reference had no tag and latest is allowed), or "" when the
	// reference had only a digest.
	Tag string
	// Digest is the manifest digest, sha256:…, computed from the manifest received.
	Digest string
	// Module is the content of the WebAssembly layer, verified against the layer digest.
	Module []byte
	// Signature is the cosign signature that was accepted, or nil when no verifier is set.
	Signature *cosign.Result
}

// Pull fetches the actor artifact ref names and returns its module. Every failure is a *RefError whose Kind
// is one of the package's sentinels; see the package documentation for what is checked.
func (c *Client) Pull(ctx context.Context, ref string) (*Artifact, error) {
	return c.pull(ctx, ref, actorLayers, c.maxSize)
}

// PullProvider fetches the capability provider archive ref names: an artifact whose single layer has the
// media type MediaTypeProviderLayer (as wash push writes it), at most ProviderMaxSize bytes. It checks what
// Pull checks (pinning, digests, size before download, the cosign signature when a verifier is set) and
// returns the archive's bytes in Module; the archive's own token is not verified here (package par does).
func (c *Client) PullProvider(ctx context.Context, ref string) (*Artifact, error) {
	return c.pull(ctx, ref, providerLayers, c.maxProviderSize)
}

// layerKind is what a pull accepts as the artifact's one layer.
type layerKind struct {
	what       string   // "WebAssembly", "provider archive"
	unit       string   // what the layer holds, in size errors: "module", "provider archive"
	mediaTypes []string // the first is the one named in errors
}

var (
	actorLayers    = layerKind{what: "WebAssembly", unit: "module", mediaTypes: []string{MediaTypeWasmLayer, MediaTypeWasm}}
	providerLayers = layerKind{what: "provider archive", unit: "provider archive", mediaTypes: []string{MediaTypeProviderLayer}}
)

func (c *Client) pull(ctx context.Context, ref string, kind layerKind, maxSize int64) (*Artifact, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	p := &pull{ref: ref, r: r, kind: kind}
	if !r.Pinned() && !c.allowLatest {
		return nil, p.fail(ErrLatest, "pin a version tag or an @sha256: digest", nil)
	}
	tag := r.Tag
	if tag == "" && r.Digest == "" {
		tag = Latest
	}
	p.rec = &recorder{inner: c.authClient()}
	p.repo = &remote.Repository{
		Client:             p.rec,
		Reference:          registry.Reference{Registry: r.Registry, Repository: r.Repository},
		PlainHTTP:          c.insecure[r.Registry],
		ManifestMediaTypes: manifestMediaTypes,
	}

	// A digest alone is fetched by digest. With a tag, the tag is fetched and must resolve to the digest,
	// so that a moved tag is noticed rather than silently ignored.
	want := tag
	if want == "" {
		want = r.Digest
	}
	subject, manifest, err := p.manifest(ctx, want)
	if err != nil {
		return nil, err
	}
	digest := string(subject.Digest)
	layer, err := p.layer(manifest, maxSize)
	if err != nil {
		return nil, err
	}
	// The signature is checked before the module is downloaded: an unsigned module is never fetched.
	var sig *cosign.Result
	if v := c.verifier.Load(); v != nil {
		if sig, err = v.Verify(ctx, p.repo, subject); err != nil {
			return nil, p.fail(ErrSignature, "", err)
		}
	}
	module, err := p.fetchLayer(ctx, layer)
	if err != nil {
		return nil, err
	}
	return &Artifact{
		Ref:        ref,
		Registry:   r.Registry,
		Repository: r.Repository,
		Tag:        tag,
		Digest:     digest,
		Module:     module,
		Signature:  sig,
	}, nil
}

// pull is the state of one Pull.
type pull struct {
	ref  string
	r    Reference
	kind layerKind
	rec  *recorder
	repo *remote.Repository
}

// fail returns the *RefError of this pull for a refusal of the given kind.
func (p *pull) fail(kind error, reason string, cause error) error {
	return &RefError{Ref: p.ref, Registry: p.r.Registry, Kind: kind, Reason: reason, Err: cause}
}

// manifest fetches the manifest by tag or digest, checks that it hashes to the pin (if any) and to the
// registry's Docker-Content-Digest, and decodes it. It returns the manifest's descriptor (media type,
// digest computed from the bytes received, size).
func (p *pull) manifest(ctx context.Context, want string) (ocispec.Descriptor, *ocispec.Manifest, error) {
	p.rec.digest = ""
	desc, rc, err := p.repo.FetchReference(ctx, want)
	if err != nil {
		if want == p.r.Digest && p.rec.digest != "" && p.rec.digest != want {
			return ocispec.Descriptor{}, nil, p.fail(ErrDigestMismatch, fmt.Sprintf("registry served manifest %s for the pinned digest", p.rec.digest), err)
		}
		return ocispec.Descriptor{}, nil, p.mapErr("fetch manifest", err)
	}
	defer rc.Close()
	if desc.Size > maxManifestSize {
		return ocispec.Descriptor{}, nil, p.fail(ErrTooLarge, fmt.Sprintf("manifest is %d bytes, over the %d-byte limit", desc.Size, maxManifestSize), nil)
	}
	body, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return ocispec.Descriptor{}, nil, p.mapErr("read manifest", err)
	}
	if int64(len(body)) != desc.Size {
		return ocispec.Descriptor{}, nil, p.fail(ErrFetch, fmt.Sprintf("manifest is %d bytes, the registry announced %d", len(body), desc.Size), nil)
	}
	got := sha256Digest(body)
	if p.r.Digest != "" && got != p.r.Digest {
		return ocispec.Descriptor{}, nil, p.fail(ErrDigestMismatch, fmt.Sprintf("manifest received for %s hashes to %s, not the pinned digest", want, got), nil)
	}
	if desc.Digest.String() != got {
		return ocispec.Descriptor{}, nil, p.fail(ErrDigestMismatch, fmt.Sprintf("manifest received hashes to %s, the registry says %s", got, desc.Digest), nil)
	}

	if desc.MediaType != mediaTypeOCIManifest && desc.MediaType != mediaTypeDockerManifest {
		return ocispec.Descriptor{}, nil, p.fail(ErrNotActor, fmt.Sprintf("manifest media type %q is not an image manifest", desc.MediaType), nil)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return ocispec.Descriptor{}, nil, p.fail(ErrNotActor, "manifest is not valid JSON", err)
	}
	if m.SchemaVersion != 2 {
		return ocispec.Descriptor{}, nil, p.fail(ErrNotActor, fmt.Sprintf("manifest schemaVersion is %d, want 2", m.SchemaVersion), nil)
	}
	if m.MediaType != "" && m.MediaType != desc.MediaType {
		return ocispec.Descriptor{}, nil, p.fail(ErrNotActor, fmt.Sprintf("manifest says media type %q, the registry %q", m.MediaType, desc.MediaType), nil)
	}
	return ocispec.Descriptor{MediaType: desc.MediaType, Digest: godigest.Digest(got), Size: int64(len(body))}, &m, nil
}

// layer picks the module layer: exactly one layer, of a WebAssembly media type, with a sha256 digest and a
// size within the limit.
func (p *pull) layer(m *ocispec.Manifest, maxSize int64) (ocispec.Descriptor, error) {
	if len(m.Layers) != 1 {
		return ocispec.Descriptor{}, p.fail(ErrNotActor, fmt.Sprintf("manifest has %d layers, want exactly one %s layer", len(m.Layers), p.kind.what), nil)
	}
	l := m.Layers[0]
	if !slices.Contains(p.kind.mediaTypes, l.MediaType) {
		return ocispec.Descriptor{}, p.fail(ErrNotActor, fmt.Sprintf("layer media type %q is not %s (want %s)", l.MediaType, p.kind.what, p.kind.mediaTypes[0]), nil)
	}
	if reason := checkDigest(string(l.Digest)); reason != "" {
		return ocispec.Descriptor{}, p.fail(ErrNotActor, "layer "+reason, nil)
	}
	if l.Size <= 0 {
		return ocispec.Descriptor{}, p.fail(ErrNotActor, fmt.Sprintf("layer size %d", l.Size), nil)
	}
	if l.Size > maxSize {
		return ocispec.Descriptor{}, p.fail(ErrTooLarge, fmt.Sprintf("%s layer is %d bytes, over the %d-byte limit", p.kind.unit, l.Size, maxSize), nil)
	}
	// Only what was checked goes to the fetch: no URLs, annotations or platform from the registry.
	return ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size}, nil
}

// fetchLayer downloads the layer, at most its announced size, and checks its length and digest.
func (p *pull) fetchLayer(ctx context.Context, layer ocispec.Descriptor) ([]byte, error) {
	p.rec.digest = ""
	rc, err := p.repo.Fetch(ctx, layer)
	if err != nil {
		if p.rec.digest != "" && p.rec.digest != string(layer.Digest) {
			return nil, p.fail(ErrDigestMismatch, fmt.Sprintf("registry served layer %s for %s", p.rec.digest, layer.Digest), err)
		}
		return nil, p.mapErr("fetch layer", err)
	}
	defer rc.Close()
	// The buffer grows with the bytes received, never with the size the manifest announces: a registry that
	// announces 512 MiB and sends a trickle costs what it sent.
	module, err := io.ReadAll(io.LimitReader(rc, layer.Size+1))
	if err != nil {
		return nil, p.mapErr(fmt.Sprintf("read layer %s", layer.Digest), err)
	}
	switch {
	case int64(len(module)) > layer.Size:
		return nil, p.fail(ErrDigestMismatch, fmt.Sprintf("layer %s is longer than its %d bytes", layer.Digest, layer.Size), nil)
	case int64(len(module)) < layer.Size:
		return nil, p.mapErr(fmt.Sprintf("read layer %s", layer.Digest), io.ErrUnexpectedEOF)
	}
	if got := sha256Digest(module); got != string(layer.Digest) {
		return nil, p.fail(ErrDigestMismatch, fmt.Sprintf("layer hashes to %s, the manifest says %s", got, layer.Digest), nil)
	}
	return module, nil
}

// mapErr classifies an error from oras-go or net/http into one of the package's sentinels.
func (p *pull) mapErr(what string, err error) error {
	var resp *errcode.ErrorResponse
	var rh tls.RecordHeaderError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return p.fail(ErrFetch, what, err)
	case errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/":
		if p.repo.PlainHTTP {
			return p.fail(ErrFetch, what, err)
		}
		return p.fail(ErrInsecure, p.r.Registry+" answered HTTPS with plain HTTP; list it as insecure to allow plain HTTP", err)
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return p.fail(ErrUnauthorized, p.r.Registry+" requires credentials and none are set", err)
	case errors.As(err, &resp):
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return p.fail(ErrUnauthorized, p.r.Registry+" did not accept the credentials (or anonymous access)", err)
		case http.StatusNotFound:
			return p.fail(ErrNotFound, what, err)
		}
		return p.fail(ErrFetch, what, err)
	case errors.Is(err, errdef.ErrNotFound):
		return p.fail(ErrNotFound, what, err)
	}
	return p.fail(ErrFetch, what, err)
}

// recorder passes requests to the auth client and remembers the Docker-Content-Digest of the last
// response, so that a digest mismatch oras-go reports in its own words is still classified as one. A pull
// uses its recorder from one goroutine.
type recorder struct {
	inner  remote.Client
	digest string
}

// Do implements remote.Client.
func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.inner.Do(req)
	if err == nil {
		r.digest = resp.Header.Get(headerContentDigest)
	}
	return resp, err
}

// sha256Digest returns "sha256:" and the hex SHA-256 of b.
func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return digestPrefix + hex.EncodeToString(sum[:])
}
