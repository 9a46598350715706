package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// testOnly lists packages (and, ending in "/", package trees) that only tests may link: in-process
// registries and signers, and the test helpers built on them.
var testOnly = []string{
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest",
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign/cosigntest",
	"github.com/google/go-containerregistry/pkg/registry",
	"github.com/google/go-containerregistry/pkg/v1/",
	"github.com/sigstore/sigstore-go/pkg/testing/",
	"github.com/sigstore/sigstore-go/pkg/sign",
	"github.com/open-policy-agent/opa/", // policy's tests: an OPA server on loopback
	"github.com/prometheus/prometheus/", // deploy/prometheus's test: the alert rules parsed by Prometheus's parser
	"github.com/prometheus/client_golang/prometheus/testutil",
	"github.com/vmihailenco/msgpack/", // the test capability provider's independent MessagePack codec
	"github.com/vmihailenco/tagparser/",
}

// TestDeps guards the daemon's dependency budget: the binary must not link the testing package or any
// test-only package (test helpers under internal/testutil, packages of _test files, testOnly).
func TestDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's dependencies: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-deps", ".")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	// The listing is only meaningful if it is the real one.
	for _, want := range []string{
		"github.com/wasmcloud-host/wasmcloud-host/cmd/wasmcloud-host",
		"github.com/wasmcloud-host/wasmcloud-host/actor",
		"github.com/wasmcloud-host/wasmcloud-host/config",
	} {
		if !slices.Contains(deps, want) {
			t.Fatalf("go list -deps does not list %s:\n%s", want, out)
		}
	}
	for _, dep := range deps {
		switch {
		case dep == "testing", strings.HasPrefix(dep, "testing/"):
			t.Errorf("the binary links %s", dep)
		case strings.HasSuffix(dep, "_test"), strings.HasSuffix(dep, ".test"):
			t.Errorf("the binary links the test package %s", dep)
		case strings.Contains(dep, "testutil"), strings.Contains(dep, "/internal/testing"):
			t.Errorf("the binary links the test helper package %s", dep)
		}
		for _, p := range testOnly {
			if dep == p || strings.HasSuffix(p, "/") && strings.HasPrefix(dep, p) || strings.HasPrefix(dep, p+"/") {
				t.Errorf("the binary links the test-only package %s", dep)
			}
		}
	}
}
