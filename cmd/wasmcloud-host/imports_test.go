package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyUpImportsHost guards the layout: `up` (host.go) is the only part of the command that imports the
// daemon; call, ctl and the rest reach a lattice through package client.
func TestOnlyUpImportsHost(t *testing.T) {
	const daemon = "github.com/wasmcloud-host/wasmcloud-host/host"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if path != daemon {
				continue
			}
			if name != "host.go" {
				t.Errorf("%s imports %s; only host.go (the up command) may", name, daemon)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no file imports %s: the test no longer looks where the command is", daemon)
	}
}
