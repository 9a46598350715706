package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testProviderPkg is the test capability provider (see internal/testutil/testprovider).
const testProviderPkg = "internal/testutil/testprovider"

var providerBuild struct {
	once sync.Once
	bin  []byte
	took time.Duration
	err  error
}

// BuildProvider builds the test capability provider for this platform, at most once per test process, and
// returns the executable's bytes (shared: callers must not modify them).
func BuildProvider(tb testing.TB) []byte {
	tb.Helper()
	built := false
	providerBuild.once.Do(func() {
		providerBuild.bin, providerBuild.took, providerBuild.err = buildProvider()
		built = true
	})
	if providerBuild.err != nil {
		tb.Fatalf("build the test provider: %v", providerBuild.err)
	}
	if built {
		tb.Logf("built the test provider in %s: %d bytes", providerBuild.took.Round(time.Millisecond), len(providerBuild.bin))
	}
	return providerBuild.bin
}

func buildProvider() ([]byte, time.Duration, error) {
	gobin, err := goTool()
	if err != nil {
		return nil, 0, err
	}
	dir, err := os.MkdirTemp("", "wasmcloud-host-provider-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testprovider")
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", out, "./"+testProviderPkg)
	cmd.Dir = Root()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	b, err := os.ReadFile(out)
	return b, time.Since(start), err
}
