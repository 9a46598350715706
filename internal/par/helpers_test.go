package par

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// issuedAt is the iat of every test archive; now lies an hour later.
var (
	issuedAt = time.Unix(1_700_000_000, 0).UTC()
	now      = issuedAt.Add(time.Hour)
)

// testKey returns a key pair of type typ made from a fixed raw seed, so that test archives are the same on
// every run.
func testKey(tb testing.TB, typ nkey.Type, fill byte) *nkey.KeyPair {
	tb.Helper()
	kp, err := nkey.FromRawSeed(typ, bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

// binaries are stand-ins for provider executables: nothing here runs them.
func binaries() map[string][]byte {
	return map[string][]byte{
		"x86_64-linux":  []byte("\x7fELF provider for linux/amd64\n"),
		"aarch64-linux": []byte("\x7fELF provider for linux/arm64\n"),
		"aarch64-macos": []byte("\xcf\xfa\xed\xfe provider for darwin/arm64\n"),
	}
}

// exampleOptions are the inputs of the example archive (testdata/example.par.gz).
func exampleOptions(tb testing.TB) CreateOptions {
	tb.Helper()
	return CreateOptions{
		Issuer:       testKey(tb, nkey.Account, 1),
		Subject:      testKey(tb, nkey.Service, 2).Public(),
		Name:         "Example",
		CapID:        "wasmcloud:example",
		Vendor:       "acme",
		Rev:          1,
		Ver:          "0.1.0",
		ConfigSchema: []byte(`{"type":"object","properties":{"bucket":{"type":"string"}}}`),
		Binaries:     binaries(),
		IssuedAt:     issuedAt,
		ID:           "PARtestJTI000000000000",
	}
}

func create(tb testing.TB, o CreateOptions) []byte {
	tb.Helper()
	b, err := Create(o)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func read(tb testing.TB, b []byte) *Archive {
	tb.Helper()
	a, err := Read(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// file is one entry of a hand-made tar.
type file struct {
	name     string
	data     []byte
	typ      byte   // 0: regular
	linkname string // for links
}

// tarOf writes the entries as a plain tar, in the order given.
func tarOf(tb testing.TB, files ...file) []byte {
	tb.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		typ := f.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Typeflag: typ, Name: f.name, Linkname: f.linkname, Mode: 0o644, ModTime: time.Unix(0, 0)}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil && typ == tar.TypeReg {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func gz(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// providerMeta is the metadata Write would sign for bins.
func providerMeta(bins map[string][]byte) wascap.Provider {
	name := "Example"
	hashes := make(map[string]string)
	for t, b := range bins {
		hashes[t] = hexUpperSHA256(b)
	}
	return wascap.Provider{Name: &name, CapID: "wasmcloud:example", Vendor: "acme", TargetHashes: hashes}
}

// signed signs a token for a hand-made archive: c.Subject defaults to the example's service key, c.IssuedAt
// to issuedAt.
func signed(tb testing.TB, issuer *nkey.KeyPair, c wascap.Claims, meta any) string {
	tb.Helper()
	if c.Subject == "" {
		c.Subject = testKey(tb, nkey.Service, 2).Public().String()
	}
	if c.IssuedAt == 0 {
		c.IssuedAt = issuedAt.Unix()
	}
	tok, err := wascap.Sign(c, meta, issuer)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// parOf builds a gzipped archive of a token and binaries, in the layout Write uses.
func parOf(tb testing.TB, token string, bins map[string][]byte) []byte {
	tb.Helper()
	files := []file{{name: TokenEntry, data: []byte(token)}}
	targets := make([]string, 0, len(bins))
	for t := range bins {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for _, t := range targets {
		files = append(files, file{name: t + BinarySuffix, data: bins[t]})
	}
	return gz(tb, tarOf(tb, files...))
}

func mustDecode(tb testing.TB, seg string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// golden compares got with testdata/name, or rewrites it under -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s differs from what the test produced (%d bytes, want %d); run with -update if the change is intended",
			path, len(got), len(want))
	}
}
