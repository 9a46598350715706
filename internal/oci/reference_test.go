package oci_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseReference(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want oci.Reference
		str  string // canonical form; in when empty
	}{
		{"tag", "wasmcloud.azurecr.io/echo:0.3.4", oci.Reference{Registry: "wasmcloud.azurecr.io", Repository: "echo", Tag: "0.3.4"}, ""},
		{"nested repository", "ghcr.io/org/team/echo:v1", oci.Reference{Registry: "ghcr.io", Repository: "org/team/echo", Tag: "v1"}, ""},
		{"port", "127.0.0.1:5000/echo:1", oci.Reference{Registry: "127.0.0.1:5000", Repository: "echo", Tag: "1"}, ""},
		{"localhost", "localhost/echo:1", oci.Reference{Registry: "localhost", Repository: "echo", Tag: "1"}, ""},
		{"localhost port", "localhost:5000/echo:1", oci.Reference{Registry: "localhost:5000", Repository: "echo", Tag: "1"}, ""},
		{"ipv6", "[::1]:5000/echo:1", oci.Reference{Registry: "[::1]:5000", Repository: "echo", Tag: "1"}, ""},
		{"ipv6 without port", "[2001:DB8::1]/echo:1", oci.Reference{Registry: "[2001:db8::1]", Repository: "echo", Tag: "1"}, "[2001:db8::1]/echo:1"},
		{"host lower-cased", "GHCR.io/echo:1", oci.Reference{Registry: "ghcr.io", Repository: "echo", Tag: "1"}, "ghcr.io/echo:1"},
		{"digest", "ghcr.io/echo@sha256:" + hexA, oci.Reference{Registry: "ghcr.io", Repository: "echo", Digest: "sha256:" + hexA}, ""},
		{"tag and digest", "ghcr.io/echo:1.0@sha256:" + hexA, oci.Reference{Registry: "ghcr.io", Repository: "echo", Tag: "1.0", Digest: "sha256:" + hexA}, ""},
		{"no tag", "ghcr.io/echo", oci.Reference{Registry: "ghcr.io", Repository: "echo"}, ""},
		{"latest", "ghcr.io/echo:latest", oci.Reference{Registry: "ghcr.io", Repository: "echo", Tag: "latest"}, ""},
		{"separators", "ghcr.io/a.b_c__d---e/f-1:A_b.c-D", oci.Reference{Registry: "ghcr.io", Repository: "a.b_c__d---e/f-1", Tag: "A_b.c-D"}, ""},
		{"longest tag", "ghcr.io/echo:" + strings.Repeat("t", 128), oci.Reference{Registry: "ghcr.io", Repository: "echo", Tag: strings.Repeat("t", 128)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oci.ParseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			require.DeepEqual(t, "reference", got, tt.want)
			str := tt.str
			if str == "" {
				str = tt.in
			}
			require.DeepEqual(t, "String", got.String(), str)
		})
	}
}

func TestPinned(t *testing.T) {
	tests := []struct {
		name string
		r    oci.Reference
		want bool
	}{
		{"version tag", oci.Reference{Tag: "0.1.0"}, true},
		{"digest", oci.Reference{Digest: "sha256:" + hexA}, true},
		{"latest with digest", oci.Reference{Tag: "latest", Digest: "sha256:" + hexA}, true},
		{"latest", oci.Reference{Tag: "latest"}, false},
		{"nothing", oci.Reference{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.DeepEqual(t, "Pinned", tt.r.Pinned(), tt.want)
		})
	}
}

// TestMalformedReferences: each is refused by ParseReference and by Pull (before any I/O), with the
// reason given.
func TestMalformedReferences(t *testing.T) {
	const repoWant = "repository must be lower-case path components of letters and digits separated by '.', '_', '__' or '-'"
	const tagWant = "tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
	const digestWant = "digest must be sha256: and 64 lower-case hex digits"
	tests := []struct {
		name   string
		in     string
		reason string
	}{
		{"empty", "", "empty"},
		{"scheme", "https://ghcr.io/echo:1", "a URL scheme is not part of a reference (want registry/repository:tag)"},
		{"oci scheme", "oci://ghcr.io/echo:1", "a URL scheme is not part of a reference (want registry/repository:tag)"},
		{"no registry", "echo:1", "no registry (want registry/repository:tag)"},
		{"docker hub short form", "wasmcloud/echo:0.3.4", `no registry host: "wasmcloud" has no dot or port (want e.g. ghcr.io/org/actor:1.0; Docker Hub is docker.io)`},
		{"empty registry", "/echo:1", "empty registry (want registry/repository:tag)"},
		{"empty port", "ghcr.io:/echo:1", "registry is not host[:port]: empty port"},
		{"port zero", "ghcr.io:0/echo:1", "registry is not host[:port]: bad port"},
		{"port too big", "ghcr.io:65536/echo:1", "registry is not host[:port]: bad port"},
		{"port leading zero", "ghcr.io:05000/echo:1", "registry is not host[:port]: bad port"},
		{"port word", "ghcr.io:http/echo:1", "registry is not host[:port]: bad port"},
		{"bare ipv6", "::1/echo:1", "registry is not host[:port] (an IPv6 address goes in brackets)"},
		{"ipv6 two ports", "fe80::1:5000/echo:1", "registry is not host[:port] (an IPv6 address goes in brackets)"},
		{"ipv6 bad", "[::g]/echo:1", "registry is not host[:port]: bad IPv6 address"},
		{"ipv4 in brackets", "[127.0.0.1]/echo:1", "registry is not host[:port]: bad IPv6 address"},
		{"ipv6 zone", "[fe80::1%25eth0]/echo:1", "registry is not host[:port]: bad IPv6 address"},
		{"ipv6 junk after", "[::1]x/echo:1", "registry is not host[:port]"},
		{"host underscore", "my_reg.io/echo:1", "registry is not host[:port]"},
		{"host label hyphen", "-reg.io/echo:1", "registry is not host[:port]"},
		{"host empty label", "reg..io/echo:1", "registry is not host[:port]"},
		{"userinfo", "user:pw@ghcr.io/echo:1", "registry is not host[:port]: bad port"},
		{"empty repository", "ghcr.io/:1", "empty repository"},
		{"upper-case repository", "ghcr.io/Echo:1", repoWant},
		{"trailing slash", "ghcr.io/echo/:1", repoWant},
		{"double slash", "ghcr.io/org//echo:1", repoWant},
		{"leading separator", "ghcr.io/.echo:1", repoWant},
		{"trailing separator", "ghcr.io/echo-:1", repoWant},
		{"triple underscore", "ghcr.io/a___b:1", repoWant},
		{"mixed separator", "ghcr.io/a._b:1", repoWant},
		{"space", "ghcr.io/ec ho:1", repoWant},
		{"long repository", "ghcr.io/" + strings.Repeat("a", 256) + ":1", "repository longer than 255 characters"},
		{"empty tag", "ghcr.io/echo:", tagWant},
		{"tag leading dot", "ghcr.io/echo:.1", tagWant},
		{"tag leading hyphen", "ghcr.io/echo:-1", tagWant},
		{"tag too long", "ghcr.io/echo:" + strings.Repeat("t", 129), tagWant},
		{"tag with colon", "ghcr.io/echo:1:2", tagWant},
		{"tag with plus", "ghcr.io/echo:1+build", tagWant},
		{"empty digest", "ghcr.io/echo@", digestWant},
		{"digest short", "ghcr.io/echo@sha256:" + hexA[1:], digestWant},
		{"digest upper-case", "ghcr.io/echo@sha256:" + strings.ToUpper(hexA), digestWant},
		{"digest sha512", "ghcr.io/echo@sha512:" + hexA + hexA, `digest algorithm "sha512" not supported (want sha256)`},
		{"digest no algorithm", "ghcr.io/echo@" + hexA, digestWant},
		{"two digests", "ghcr.io/echo@sha256:" + hexA + "@sha256:" + hexA, digestWant},
	}
	c := oci.New(oci.Config{AllowLatest: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oci.ParseReference(tt.in)
			re := refError(t, err, oci.ErrInvalidReference, tt.in)
			require.DeepEqual(t, "reason", re.Reason, tt.reason)
			_, err = c.Pull(t.Context(), tt.in)
			re = refError(t, err, oci.ErrInvalidReference, tt.in)
			require.DeepEqual(t, "Pull reason", re.Reason, tt.reason)
		})
	}
}

// TestRefErrorMessage: the message layout, and errors.Is on the kind and the cause.
func TestRefErrorMessage(t *testing.T) {
	cause := errors.New("boom")
	err := error(&oci.RefError{Ref: "ghcr.io/echo:1", Registry: "ghcr.io", Kind: oci.ErrFetch, Reason: "fetch layer", Err: cause})
	require.DeepEqual(t, "message", err.Error(), `oci: fetch failed: "ghcr.io/echo:1": fetch layer: boom`)
	require.DeepEqual(t, "is kind", errors.Is(err, oci.ErrFetch), true)
	require.DeepEqual(t, "is cause", errors.Is(err, cause), true)
	require.DeepEqual(t, "is other", errors.Is(err, oci.ErrNotFound), false)
	_, err = oci.ParseReference("echo:1")
	require.DeepEqual(t, "parse message", err.Error(), `oci: invalid reference: "echo:1": no registry (want registry/repository:tag)`)
}

// TestDaemonDoesNotLinkTestRegistry: go-containerregistry and ocitest are for tests only. The one
// exception is go-containerregistry's pkg/name (reference parsing, standard library only), which
// sigstore/sigstore's signature package imports for cosign's simple-signing payload type.
func TestDaemonDoesNotLinkTestRegistry(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the daemon's dependencies: %v", err)
	}
	const daemon = "github.com/wasmcloud-host/wasmcloud-host/cmd/wasmcloud-host"
	out, err := exec.Command(goBin, "list", "-deps", daemon).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps %s: %v\n%s", daemon, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", daemon, err)
	}
	deps := strings.Fields(string(out))
	found := false
	for _, dep := range deps {
		switch {
		case dep == daemon:
			found = true
		case dep == "github.com/google/go-containerregistry/pkg/name":
		case strings.HasPrefix(dep, "github.com/google/go-containerregistry"):
			t.Errorf("the daemon links %s", dep)
		case strings.HasSuffix(dep, "/internal/oci/ocitest"):
			t.Errorf("the daemon links the test helper %s", dep)
		}
	}
	if !found {
		t.Fatalf("go list -deps does not list %s itself:\n%s", daemon, out)
	}
}
