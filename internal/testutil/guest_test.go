package testutil

import (
	"strings"
	"sync"
	"testing"
)

// TestBuildGuest checks that a guest is built once and shared, however it is named and however many
// tests ask for it at once.
func TestBuildGuest(t *testing.T) {
	names := []string{"examples/hello", "./examples/hello", "examples/hello/", "examples//hello"}
	builds := make([]*guestBuild, len(names))
	built := make([]bool, len(names))
	var wg sync.WaitGroup
	for i, pkg := range names {
		wg.Go(func() { builds[i], built[i] = sharedBuild(pkg) })
	}
	wg.Wait()
	wasm := BuildGuest(t, "examples/hello") // skips if the toolchain cannot build guests
	if !strings.HasPrefix(string(wasm), "\x00asm\x01\x00\x00\x00") {
		t.Fatalf("not a wasm 1.0 module: % x", wasm[:min(8, len(wasm))])
	}
	nbuilt := 0
	for i, b := range builds {
		if b != builds[0] {
			t.Errorf("%q has a build record of its own", names[i])
		}
		if built[i] {
			nbuilt++
		}
	}
	if nbuilt != 1 {
		t.Errorf("%d requests ran the build, want 1", nbuilt)
	}
	if &builds[0].wasm[0] != &wasm[0] {
		t.Errorf("BuildGuest returned a separate copy")
	}
	// A reactor exports _initialize and the guest ABI's entry point; look for their names.
	for _, name := range []string{"_initialize", "__guest_call", "__guest_request", "wasmbus"} {
		if !strings.Contains(string(wasm), name) {
			t.Errorf("module does not mention %s", name)
		}
	}
}

func TestBuildGuestErrors(t *testing.T) {
	tests := []struct {
		name, pkg, msg string
	}{
		{name: "no such package", pkg: "examples/nonexistent", msg: "examples/nonexistent"},
		{name: "outside the repository", pkg: "../elsewhere", msg: `package "../elsewhere" must be a path inside the repository`},
		{name: "absolute", pkg: "/tmp/x", msg: `package "/tmp/x" must be a path inside the repository`},
		{name: "root", pkg: ".", msg: `package "." must be a path inside the repository`},
		{name: "not a main package", pkg: "internal/testutil", msg: "internal/testutil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm, _, skip, err := buildGuest(tt.pkg)
			if skip != "" {
				t.Skip(skip)
			}
			if err == nil {
				t.Fatalf("built %d bytes, want an error", len(wasm))
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}
