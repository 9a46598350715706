package cosign_test

import (
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

// wasm is a module small enough to push often; Verify never looks at it.
var wasm = []byte("\x00asm\x01\x00\x00\x00")

// actor is an artifact pushed as wash does, and how to reach it.
type actor struct {
	reg     *ocitest.Registry
	repo    string
	subject ocispec.Descriptor
}

// pushActor pushes an actor (module, or wasm) to repo:0.1.0 in reg.
func pushActor(t testing.TB, reg *ocitest.Registry, repo string, module []byte) *actor {
	t.Helper()
	if module == nil {
		module = wasm
	}
	_, digest := reg.Push(t, repo+":0.1.0", module)
	a := &actor{reg: reg, repo: repo}
	d, err := a.repository().Resolve(t.Context(), digest)
	if err != nil {
		t.Fatal(err)
	}
	a.subject = ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
	return a
}

// repository is an oras client for the actor's repository, as oci.Pull makes one.
func (a *actor) repository() *remote.Repository {
	return &remote.Repository{
		Client:    &auth.Client{},
		Reference: registry.Reference{Registry: a.reg.Host, Repository: a.repo},
		PlainHTTP: true,
	}
}

// digest is the actor's manifest digest.
func (a *actor) digest() string { return string(a.subject.Digest) }

// sign pushes layers as the actor's sha256-<hex>.sig tag.
func (a *actor) sign(t testing.TB, layers ...cosigntest.Layer) {
	t.Helper()
	cosigntest.PushTag(t, a.reg, a.repo, cosigntest.SigTag(a.digest()), cosigntest.SignatureManifest(layers...))
}

// attach pushes bundle as a referrer of the actor.
func (a *actor) attach(t testing.TB, bundle []byte) {
	t.Helper()
	cosigntest.PushTag(t, a.reg, a.repo, "", cosigntest.BundleReferrer(a.subject.MediaType, a.digest(), int(a.subject.Size), bundle))
}

// payload is the simple-signing payload of the actor's digest.
func (a *actor) payload() []byte {
	return cosigntest.Payload(a.digest(), a.reg.Host+"/"+a.repo)
}

// statement is the in-toto statement cosign signs for the actor.
func (a *actor) statement() []byte {
	return cosigntest.Statement(a.digest(), cosigntest.PredicateCosignSign)
}

// verify runs v.Verify on the actor.
func (a *actor) verify(t testing.TB, v *cosign.Verifier) (*cosign.Result, error) {
	t.Helper()
	return v.Verify(t.Context(), a.repository(), a.subject)
}

// load loads cfg, failing the test on error.
func load(t testing.TB, cfg cosign.Config) *cosign.Verifier {
	t.Helper()
	v, err := cosign.Load(cfg)
	if err != nil {
		t.Fatalf("cosign.Load: %v", err)
	}
	if v == nil {
		t.Fatal("cosign.Load returned no verifier")
	}
	return v
}

// check checks the outcome of Verify: accepted (want nil) or refused with a *cosign.Error of kind want
// whose text contains every string in contains.
func check(t testing.TB, res *cosign.Result, err error, want error, contains ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if res == nil {
			t.Fatal("no result")
		}
		t.Logf("accepted: %s, %s", res.Layout, res.Signer())
		return
	}
	if err == nil {
		t.Fatalf("accepted (%s), want %v", res.Signer(), want)
	}
	var ce *cosign.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *cosign.Error: %v", err, err)
	}
	t.Logf("error: %v", err)
	if ce.Kind != want || !errors.Is(err, want) {
		t.Fatalf("kind %v, want %v: %v", ce.Kind, want, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error does not say %q: %v", s, err)
		}
	}
}
