package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestUsageGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Usage(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestUsageGolden -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("Usage output differs from %s (run with -update if intended):\n%s", golden, b.String())
	}
}

// TestUsageListsEveryVariable: each variable of the spec has a line with a meaning.
func TestUsageListsEveryVariable(t *testing.T) {
	var b bytes.Buffer
	if err := Usage(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var s spec
	walk(&s, func(name string, tag reflect.StructTag, _ field) {
		if tag.Get("help") == "" {
			t.Errorf("%s has no help text", name)
		}
		if !strings.Contains(out, "\n  "+name+" ") {
			t.Errorf("%s missing from Usage", name)
		}
	})
	if !strings.Contains(out, "\n  HOST_* ") {
		t.Error("HOST_* missing from Usage")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestUsageWriteError(t *testing.T) {
	if err := Usage(failWriter{}); err == nil || err.Error() != "disk full" {
		t.Fatalf("Usage(failing writer) = %v, want disk full", err)
	}
}
