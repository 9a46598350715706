package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// docKeys are the fields of claims inspect --json, in the order the user contract lists them; "error"
// is present only for a refused module.
var docKeys = []string{"issuer", "subject", "name", "hash", "caps", "tags", "rev", "ver", "call_alias",
	"issued_at", "expires", "not_before", "wascap_revision", "valid"}

// decodeDoc parses claims inspect --json output, checking that it is one JSON document with exactly the
// contract's fields.
func decodeDoc(t *testing.T, out string) claimsDoc {
	t.Helper()
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document: %q", out)
	}
	want := slices.Clone(docKeys)
	if _, ok := raw["error"]; ok {
		want = append(want, "error")
	}
	var got []string
	for k := range raw {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("JSON fields %q, want %q", got, want)
	}
	var d claimsDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func fixtures(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(testutil.Path("actors"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wasm") {
			names = append(names, e.Name())
		}
	}
	if len(names) < 7 {
		t.Fatalf("found %d fixtures, want at least 7", len(names))
	}
	return names
}

// Every fixture verifies, and its claims print exactly as recorded in the golden files.
func TestInspectFixtures(t *testing.T) {
	for _, name := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			path := testutil.Path("actors/" + name)
			r := runCLI(t, "claims", "inspect", path, "--json")
			r.wantSuccess(t)
			if d := decodeDoc(t, r.stdout); !d.Valid || d.Error != "" {
				t.Fatalf("valid %v, error %q", d.Valid, d.Error)
			}
			golden(t, "inspect/"+strings.TrimSuffix(name, ".wasm")+".json", []byte(r.stdout))

			r = runCLI(t, "claims", "inspect", path)
			r.wantSuccess(t)
			golden(t, "inspect/"+strings.TrimSuffix(name, ".wasm")+".txt", []byte(r.stdout))
		})
	}
}

// The golden files' values are pinned independently for one fixture, so that regenerating them cannot
// silently accept wrong claims.
func TestInspectEchoPinned(t *testing.T) {
	r := runCLI(t, "claims", "inspect", "--json", testutil.Path("actors/echo.wasm"))
	r.wantSuccess(t)
	d := decodeDoc(t, r.stdout)
	checkStr(t, "issuer", d.Issuer, "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW")
	checkStr(t, "subject", d.Subject, "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5")
	checkStr(t, "name", d.Name, "Echo")
	checkStr(t, "hash", d.Hash, "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97")
	checkStr(t, "ver", d.Ver, "0.3.4")
	checkStr(t, "call_alias", d.CallAlias, "")
	checkStr(t, "issued_at", d.IssuedAt, "2022-02-14T13:02:23Z")
	if !slices.Equal(d.Caps, []string{"wasmcloud:httpserver"}) || d.Tags == nil || len(d.Tags) != 0 {
		t.Fatalf("caps %q, tags %q", d.Caps, d.Tags)
	}
	if d.Rev == nil || *d.Rev != 4 || d.WascapRevision == nil || *d.WascapRevision != 0 {
		t.Fatalf("rev %v, wascap_revision %v", d.Rev, d.WascapRevision)
	}
	if d.Expires != nil || d.NotBefore != nil || !d.Valid {
		t.Fatalf("expires %v, not_before %v, valid %v", d.Expires, d.NotBefore, d.Valid)
	}
}

func checkStr(t *testing.T, field string, got *string, want string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s is null, want %q", field, want)
	}
	if *got != want {
		t.Fatalf("%s = %q, want %q", field, *got, want)
	}
}

func TestGoldenFilesHoldNoSeed(t *testing.T) {
	n := 0
	err := filepath.WalkDir("testdata", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if loc := goldenSeed.FindIndex(b); loc != nil {
			t.Errorf("%s holds a seed at byte %d", path, loc[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 14 {
		t.Fatalf("checked %d golden files, want at least 14", n)
	}
}

// writeTemp writes b to a file in a fresh temporary directory and returns its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInspectTampered(t *testing.T) {
	wasm := bytes.Clone(testutil.Actor(t, "echo.wasm"))
	mod, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(mod.Sections, func(s wasmbin.Section) bool { return s.ID == wasmbin.CodeSectionID })
	if i < 0 {
		t.Fatal("echo.wasm has no code section")
	}
	code := mod.Sections[i]
	wasm[code.ContentOffset+code.Size()/2] ^= 0x01
	path := writeTemp(t, "tampered.wasm", wasm)

	r := runCLI(t, "claims", "inspect", "--json", path)
	r.wantFailure(t, exitFailure, "hash does not match", "tampered.wasm")
	d := decodeDoc(t, r.stdout)
	if d.Valid || !strings.Contains(d.Error, "hash does not match") {
		t.Fatalf("valid %v, error %q", d.Valid, d.Error)
	}
	// What the refused token claims is still shown.
	checkStr(t, "subject", d.Subject, "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5")
	checkStr(t, "name", d.Name, "Echo")

	r = runCLI(t, "claims", "inspect", path)
	r.wantFailure(t, exitFailure, "hash does not match")
	wantContains(t, "table", r.stdout, "Module           MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5\n",
		"tampered.wasm\" refused: module hash does not match its token: token says 4CEC673A")
}

func TestInspectUnsigned(t *testing.T) {
	stripped, err := wasmbin.Strip(testutil.Actor(t, "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "unsigned.wasm", stripped)

	r := runCLI(t, "claims", "inspect", path, "--json")
	r.wantFailure(t, exitFailure, "module is not signed", "unsigned.wasm")
	d := decodeDoc(t, r.stdout)
	if d.Valid || !strings.Contains(d.Error, "module is not signed") {
		t.Fatalf("valid %v, error %q", d.Valid, d.Error)
	}
	if d.Issuer != nil || d.Subject != nil || d.Name != nil || d.Hash != nil || d.Caps != nil || d.Tags != nil ||
		d.Rev != nil || d.Ver != nil || d.CallAlias != nil || d.IssuedAt != nil || d.WascapRevision != nil {
		t.Fatalf("an unsigned module shows claims: %s", r.stdout)
	}

	r = runCLI(t, "claims", "inspect", path)
	r.wantFailure(t, exitFailure, "module is not signed")
	if !strings.HasPrefix(r.stdout, "Valid  no — actor: module ") || !strings.HasSuffix(r.stdout, "refused: module is not signed\n") ||
		strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("table for an unsigned module: %q", r.stdout)
	}
}

func TestInspectFailures(t *testing.T) {
	notWasm := writeTemp(t, "notes.txt", []byte("hello, world\n"))
	tests := []struct {
		name     string
		path     string
		want     string
		wantJSON bool // a document is printed, since the file was read
	}{
		{"not a module", notWasm, "malformed wasm module", true},
		{"missing file", filepath.Join(t.TempDir(), "missing.wasm"), "read module: open ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "claims", "inspect", "--json", tc.path)
			r.wantFailure(t, exitFailure, tc.want)
			if !tc.wantJSON {
				if r.stdout != "" {
					t.Fatalf("stdout %q", r.stdout)
				}
				return
			}
			if d := decodeDoc(t, r.stdout); d.Valid || !strings.Contains(d.Error, tc.want) {
				t.Fatalf("valid %v, error %q", d.Valid, d.Error)
			}
		})
	}
}
