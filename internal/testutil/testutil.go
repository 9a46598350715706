// Package testutil holds the small helpers that tests in several packages share: locating the
// repository's testdata and reading fixtures. It is imported only from _test.go files.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Path returns the absolute path of a file under the repository's testdata directory.
func Path(rel string) string {
	return filepath.Join(Root(), "testdata", filepath.FromSlash(rel))
}

// ReadFile reads a file under testdata, failing the test if it cannot.
func ReadFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(rel))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

// Actor reads testdata/actors/<name>.
func Actor(tb testing.TB, name string) []byte {
	tb.Helper()
	return ReadFile(tb, "actors/"+name)
}
