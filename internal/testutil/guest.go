package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// guestBuild is the outcome of building one package for wasip1, shared by every test in the process.
type guestBuild struct {
	once sync.Once
	wasm []byte
	took time.Duration
	skip string // why the toolchain cannot build guests; set instead of err
	err  error
}

var guests struct {
	mu     sync.Mutex
	builds map[string]*guestBuild // guarded by mu; by package path
}

// BuildGuest builds the Go package pkg (a path relative to the repository root, such as
// "examples/hello") as a wasmbus actor: GOOS=wasip1 GOARCH=wasm with -buildmode=c-shared, using the go
// command of the toolchain running the test. Each package is built at most once per test process,
// however many tests ask for it concurrently; the module bytes are shared, so callers must not modify
// them. The test is skipped when the toolchain cannot target wasip1, and fails if the build fails.
func BuildGuest(tb testing.TB, pkg string) []byte {
	tb.Helper()
	b, built := sharedBuild(pkg)
	switch {
	case b.skip != "":
		tb.Skipf("cannot build guest %s: %s", pkg, b.skip)
	case b.err != nil:
		tb.Fatalf("build guest %s: %v", pkg, b.err)
	case built:
		tb.Logf("built guest %s in %s: %d bytes", pkg, b.took.Round(time.Millisecond), len(b.wasm))
	}
	return b.wasm
}

// sharedBuild returns the build of pkg, building it if no caller has yet; built reports whether this
// call did. Callers asking while the build runs wait for it.
func sharedBuild(pkg string) (b *guestBuild, built bool) {
	pkg = path.Clean(filepath.ToSlash(pkg))
	b = guestFor(pkg)
	b.once.Do(func() {
		b.wasm, b.took, b.skip, b.err = buildGuest(pkg)
		built = true
	})
	return b, built
}

// guestFor returns the shared build record of pkg, creating it on the first request.
func guestFor(pkg string) *guestBuild {
	guests.mu.Lock()
	defer guests.mu.Unlock()
	if guests.builds == nil {
		guests.builds = make(map[string]*guestBuild)
	}
	b, ok := guests.builds[pkg]
	if !ok {
		b = &guestBuild{}
		guests.builds[pkg] = b
	}
	return b
}

// goTool returns the go command of the running toolchain, falling back to the one on PATH.
func goTool() (string, error) {
	name := "go"
	if runtime.GOOS == "windows" {
		name = "go.exe"
	}
	// runtime.GOROOT is deprecated for finding a toolchain in general, but here it is exactly the
	// toolchain that built the test binary, so the guest is built by the same Go version.
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("go")
}

// buildGuest runs the build in a temporary directory, removed afterwards, and returns the module.
// skip is non-empty when there is no go command or it does not list wasip1/wasm among its targets.
func buildGuest(pkg string) (wasm []byte, took time.Duration, skip string, err error) {
	if pkg == "." || path.IsAbs(pkg) || filepath.IsAbs(pkg) || pkg == ".." || strings.HasPrefix(pkg, "../") {
		return nil, 0, "", fmt.Errorf("package %q must be a path inside the repository", pkg)
	}
	gobin, err := goTool()
	if err != nil {
		return nil, 0, fmt.Sprintf("no go command: %v", err), nil
	}
	targets, err := exec.Command(gobin, "tool", "dist", "list").Output()
	if err != nil {
		return nil, 0, fmt.Sprintf("%s tool dist list: %v", gobin, err), nil
	}
	if !bytes.Contains(append([]byte("\n"), targets...), []byte("\nwasip1/wasm\n")) {
		return nil, 0, "the toolchain has no wasip1/wasm target", nil
	}

	dir, err := os.MkdirTemp("", "wasmcloud-host-guest-")
	if err != nil {
		return nil, 0, "", err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, path.Base(pkg)+".wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./"+pkg)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, "", fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	took = time.Since(start)
	wasm, err = os.ReadFile(out)
	if err != nil {
		return nil, 0, "", err
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, 0, "", errors.New("the output is not a wasm module")
	}
	return wasm, took, "", nil
}
