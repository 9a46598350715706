package ocitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// A recording is what a client (the cosign CLI, say) pushed to a test registry, kept on disk so that a test
// can push exactly the same bytes to a fresh registry later. Its directory holds:
//
//	pushes.json          the manifest pushes, in order (Push entries)
//	blobs/sha256/<hex>   every manifest and every blob they reference, except external ones
//
// Blobs listed in External (a digest and a path relative to the repository root, such as a module under
// testdata/actors) are not copied, so that large fixtures are not committed twice.
const recordingIndex = "pushes.json"

// Recording is the content of pushes.json.
type Recording struct {
	// Pushes are the manifest pushes in the order the client made them.
	Pushes []RecordedPush `json:"pushes"`
	// External maps blob digests to files, relative to the repository root, that hold them.
	External map[string]string `json:"external,omitempty"`
}

// RecordedPush is one manifest push: the manifest digest was PUT to /v2/<Repository>/manifests/<Reference>
// with the given Content-Type.
type RecordedPush struct {
	Repository string `json:"repository"`
	Reference  string `json:"reference"`
	MediaType  string `json:"mediaType"`
	Digest     string `json:"digest"`
}

// Recorder wraps a registry handler and remembers every manifest that is pushed successfully, so that
// Save can write a recording.
type Recorder struct {
	next http.Handler

	mu        sync.Mutex
	pushes    []RecordedPush    // guarded by mu
	manifests map[string][]byte // guarded by mu; by digest
}

// NewRecorder returns a Recorder in front of next (a registry handler).
func NewRecorder(next http.Handler) *Recorder {
	return &Recorder{next: next, manifests: make(map[string][]byte)}
}

// ServeHTTP implements http.Handler.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo, ref, ok := manifestPath(r.URL.Path)
	if r.Method != http.MethodPut || !ok {
		rec.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	rec.next.ServeHTTP(sw, r)
	if sw.status != http.StatusCreated {
		return
	}
	digest := sha256Hex(body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.manifests[digest] = body
	rec.pushes = append(rec.pushes, RecordedPush{Repository: repo, Reference: ref, MediaType: r.Header.Get("Content-Type"), Digest: digest})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// manifestPath splits /v2/<repository>/manifests/<reference>.
func manifestPath(p string) (repo, ref string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/manifests/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+len("/manifests/"):], true
}

// sha256Hex returns "sha256:" and the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Save writes the recording to dir: every pushed manifest, every blob they reference (read back from the
// registry), except the blobs listed in external (digest → path relative to root, the repository root),
// and pushes.json.
func (rec *Recorder) Save(dir, root string, external map[string]string) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	write := func(digest string, b []byte) error {
		return os.WriteFile(blobPath(dir, digest), b, 0o644)
	}
	for _, p := range rec.pushes {
		body := rec.manifests[p.Digest]
		if err := write(p.Digest, body); err != nil {
			return err
		}
		for _, d := range blobsOf(body) {
			if path, ok := external[d]; ok {
				b, err := os.ReadFile(filepath.Join(root, path))
				if err != nil {
					return err
				}
				if sha256Hex(b) != d {
					return fmt.Errorf("ocitest: external blob %s does not hash to %s", path, d)
				}
				continue
			}
			if _, ok := rec.manifests[d]; ok {
				continue // a manifest an index lists; written on its own push
			}
			b, err := rec.getBlob(p.Repository, d)
			if err != nil {
				return err
			}
			if err := write(d, b); err != nil {
				return err
			}
		}
	}
	idx, err := json.MarshalIndent(Recording{Pushes: rec.pushes, External: external}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, recordingIndex), append(idx, '\n'), 0o644)
}

// getBlob reads a blob from the wrapped registry.
func (rec *Recorder) getBlob(repo, digest string) ([]byte, error) {
	req := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/blobs/"+digest, nil)
	w := httptest.NewRecorder()
	rec.next.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("ocitest: blob %s of %s: status %d", digest, repo, w.Code)
	}
	b := w.Body.Bytes()
	if sha256Hex(b) != digest {
		return nil, fmt.Errorf("ocitest: blob %s of %s hashes to %s", digest, repo, sha256Hex(b))
	}
	return b, nil
}

// blobsOf lists the digests an image manifest (config, layers) or an index (manifests) references. The
// subject is not listed: it is pushed on its own.
func blobsOf(manifest []byte) []string {
	var m struct {
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if json.Unmarshal(manifest, &m) != nil {
		return nil
	}
	var ds []string
	if m.Config != nil {
		ds = append(ds, string(m.Config.Digest))
	}
	for _, l := range m.Layers {
		ds = append(ds, string(l.Digest))
	}
	for _, l := range m.Manifests {
		ds = append(ds, string(l.Digest))
	}
	return ds
}

// blobPath is where a recording keeps the content of digest.
func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// ReadRecording reads the pushes.json of a recording in dir.
func ReadRecording(dir string) (*Recording, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordingIndex))
	if err != nil {
		return nil, err
	}
	var rec Recording
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("ocitest: %s: %w", filepath.Join(dir, recordingIndex), err)
	}
	return &rec, nil
}

// Replay pushes the recording in dir to this registry, byte for byte and in the order it was recorded,
// into the same repositories; root is the repository root that external blob paths are relative to. It
// fails tb on error and returns the recording.
func (r *Registry) Replay(tb testing.TB, dir, root string) *Recording {
	tb.Helper()
	rec, err := ReadRecording(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.replay(tb, rec, dir, root); err != nil {
		tb.Fatalf("ocitest: replay %s: %v", dir, err)
	}
	return rec
}

func (r *Registry) replay(tb testing.TB, rec *Recording, dir, root string) error {
	read := func(digest string) ([]byte, error) {
		path := blobPath(dir, digest)
		if ext, ok := rec.External[digest]; ok {
			path = filepath.Join(root, ext)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if sha256Hex(b) != digest {
			return nil, fmt.Errorf("%s does not hash to %s", path, digest)
		}
		return b, nil
	}
	cfg := pushConfig{}
	for _, o := range r.PushOptions() {
		o(&cfg)
	}
	manifests := make(map[string]bool, len(rec.Pushes))
	for _, p := range rec.Pushes {
		manifests[p.Digest] = true
	}
	ctx := tb.Context()
	for _, p := range rec.Pushes {
		repo := &remote.Repository{
			Client:    &auth.Client{Credential: auth.StaticCredential(r.Host, cfg.cred)},
			Reference: registry.Reference{Registry: r.Host, Repository: p.Repository},
			PlainHTTP: cfg.plainHTTP,
		}
		if cfg.rootCAs != nil {
			return errors.New("replay to a TLS registry is not supported")
		}
		body, err := read(p.Digest)
		if err != nil {
			return err
		}
		for _, d := range blobsOf(body) {
			if manifests[d] {
				continue
			}
			b, err := read(d)
			if err != nil {
				return err
			}
			desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: content.NewDescriptorFromBytes("", b).Digest, Size: int64(len(b))}
			exists, err := repo.Blobs().Exists(ctx, desc)
			if err != nil {
				return err
			}
			if !exists {
				if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(b)); err != nil {
					return fmt.Errorf("push blob %s: %w", d, err)
				}
			}
		}
		desc := content.NewDescriptorFromBytes(p.MediaType, body)
		if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(body), p.Reference); err != nil {
			return fmt.Errorf("push manifest %s as %s:%s: %w", p.Digest, p.Repository, p.Reference, err)
		}
	}
	return nil
}

// Digest returns "sha256:" and the hex SHA-256 of b, the digest of b as content.
func Digest(b []byte) string { return sha256Hex(b) }
