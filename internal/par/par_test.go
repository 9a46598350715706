package par

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

func TestRoundTrip(t *testing.T) {
	o := exampleOptions(t)
	b := create(t, o)
	for _, tc := range []struct {
		name       string
		archive    []byte
		compressed bool
	}{
		{"gzipped", b, true},
		{"plain tar", gunzip(t, b), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := read(t, tc.archive)
			if a.Compressed() != tc.compressed {
				t.Fatalf("Compressed() = %v", a.Compressed())
			}
			if got := a.Targets(); !slices.Equal(got, []string{"aarch64-linux", "aarch64-macos", "x86_64-linux"}) {
				t.Fatalf("targets %q", got)
			}
			for target, want := range o.Binaries {
				got, ok := a.Binary(target)
				if !ok || !bytes.Equal(got, want) {
					t.Fatalf("binary %s = %q, %v", target, got, ok)
				}
				if h, _ := a.Hash(target); h != hexUpperSHA256(want) {
					t.Fatalf("hash %s = %s", target, h)
				}
				if n, _ := a.Size(target); n != int64(len(want)) {
					t.Fatalf("size %s = %d", target, n)
				}
			}
			if _, ok := a.World(); ok {
				t.Fatal("a world without one written")
			}
			c, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			want := &Claims{
				Issuer:         o.Issuer.Public().String(),
				Subject:        o.Subject.String(),
				Name:           "Example",
				CapID:          "wasmcloud:example",
				Vendor:         "acme",
				Rev:            1,
				Ver:            "0.1.0",
				TargetHashes:   map[string]string{},
				ConfigSchema:   o.ConfigSchema,
				IssuedAt:       issuedAt,
				WascapRevision: 3,
				ID:             o.ID,
				Token:          a.Token(),
			}
			for target, bin := range o.Binaries {
				want.TargetHashes[target] = hexUpperSHA256(bin)
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("claims %+v\nwant %+v", c, want)
			}
			r, err := Inspect(a, VerifyOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Claims, want) || len(r.Targets) != 3 {
				t.Fatalf("report %+v", r)
			}
			for _, s := range r.Targets {
				if !s.OK() || s.Size == 0 {
					t.Fatalf("target %+v", s)
				}
			}
		})
	}
}

// The example archive is byte-for-byte what Create makes of the same inputs, on every run.
func TestGolden(t *testing.T) {
	b := create(t, exampleOptions(t))
	if again := create(t, exampleOptions(t)); !bytes.Equal(b, again) {
		t.Fatal("two archives of the same inputs differ")
	}
	golden(t, "example.par.gz", b)

	// The layout wasmCloud writes: claims.jwt first, then the binaries, as GNU entries with zero times.
	tr := tar.NewReader(bytes.NewReader(gunzip(t, b)))
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Format != tar.FormatGNU || !hdr.ModTime.Equal(time.Unix(0, 0)) || hdr.Uid != 0 || hdr.Uname != "" {
			t.Fatalf("header %+v", hdr)
		}
		names = append(names, hdr.Name)
	}
	if want := []string{"claims.jwt", "aarch64-linux.bin", "aarch64-macos.bin", "x86_64-linux.bin"}; !slices.Equal(names, want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	// And the token's claims JSON in wascap's field order.
	body, err := base64.RawURLEncoding.DecodeString(strings.Split(read(t, b).Token(), ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(body, []byte(`{"jti":"PARtestJTI000000000000","iat":1700000000,"iss":"A`)) ||
		!bytes.Contains(body, []byte(`,"wascap":{"name":"Example","capid":"wasmcloud:example","vendor":"acme","rev":1,"ver":"0.1.0","target_hashes":{"aarch64-linux":"`)) ||
		!bytes.HasSuffix(body, []byte(`"config_schema":{"type":"object","properties":{"bucket":{"type":"string"}}}},"wascap_revision":3}`)) {
		t.Fatalf("claims %s", body)
	}
}

func TestKeep(t *testing.T) {
	b := create(t, exampleOptions(t))
	tests := []struct {
		name string
		keep func(string) bool
		want []string
	}{
		{"all", nil, []string{"aarch64-linux", "aarch64-macos", "x86_64-linux"}},
		{"one target", KeepTarget("aarch64-macos"), []string{"aarch64-macos"}},
		{"none", KeepNone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadWith(bytes.NewReader(b), ReadOptions{Keep: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, target := range a.Targets() {
				if _, ok := a.Binary(target); ok {
					kept = append(kept, target)
				}
			}
			if !slices.Equal(kept, tc.want) {
				t.Fatalf("kept %q, want %q", kept, tc.want)
			}
			// Every hash is still checked.
			if _, err := Inspect(a, VerifyOptions{Now: now}); err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWorld(t *testing.T) {
	o := exampleOptions(t)
	o.World = []byte("\x00asm\x01\x00\x00\x00")
	a := read(t, create(t, o))
	if w, ok := a.World(); !ok || !bytes.Equal(w, o.World) {
		t.Fatalf("world %q, %v", w, ok)
	}
	c, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c.TargetHashes[WorldEntry] != hexUpperSHA256(o.World) {
		t.Fatalf("target_hashes %v", c.TargetHashes)
	}
	r, err := Inspect(a, VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if last := r.Targets[len(r.Targets)-1]; last.Target != WorldEntry || !last.OK() {
		t.Fatalf("targets %+v", r.Targets)
	}
}

func TestTargetFor(t *testing.T) {
	tests := []struct {
		goos, goarch, want string
	}{
		{"linux", "amd64", "x86_64-linux"},
		{"linux", "arm64", "aarch64-linux"},
		{"darwin", "amd64", "x86_64-macos"},
		{"darwin", "arm64", "aarch64-macos"},
		{"windows", "amd64", "x86_64-windows"},
		{"windows", "arm64", "aarch64-windows"},
		{"linux", "arm", "arm-linux"},
		{"linux", "386", "x86-linux"},
		{"linux", "riscv64", "riscv64-linux"},
		{"linux", "ppc64le", "powerpc64-linux"},
		{"freebsd", "amd64", "x86_64-freebsd"},
		{"android", "arm64", "aarch64-android"},
		{"js", "wasm", ""},
		{"wasip1", "wasm", ""},
		{"plan9", "amd64", ""},
	}
	for _, tc := range tests {
		t.Run(tc.goos+"/"+tc.goarch, func(t *testing.T) {
			got, ok := TargetFor(tc.goos, tc.goarch)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("TargetFor = %q, %v; want %q", got, ok, tc.want)
			}
			if ok && !ValidTarget(got) {
				t.Fatalf("%q is not a valid target name", got)
			}
		})
	}
	if _, err := NativeTarget(); err != nil {
		t.Fatalf("the platform running the tests has no target name: %v", err)
	}
}

func TestCreateRefusals(t *testing.T) {
	cluster := testKey(t, nkey.Cluster, 3)
	module := testKey(t, nkey.Module, 4).Public()
	wiped := testKey(t, nkey.Account, 5)
	wiped.Wipe()
	tests := []struct {
		name string
		edit func(*CreateOptions)
		want string
	}{
		{"no issuer", func(o *CreateOptions) { o.Issuer = nil }, "issuer must be an account"},
		{"cluster issuer", func(o *CreateOptions) { o.Issuer = cluster }, "issuer must be an account"},
		{"wiped issuer", func(o *CreateOptions) { o.Issuer = wiped }, "issuer must be an account"},
		{"module subject", func(o *CreateOptions) { o.Subject = module }, "subject must be a service key"},
		{"no subject", func(o *CreateOptions) { o.Subject = nkey.PublicKey{} }, "subject must be a service key"},
		{"no name", func(o *CreateOptions) { o.Name = "" }, "a name is required"},
		{"no capid", func(o *CreateOptions) { o.CapID = "" }, "capid"},
		{"no vendor", func(o *CreateOptions) { o.Vendor = "" }, "vendor"},
		{"no binaries", func(o *CreateOptions) { o.Binaries = nil }, "at least one binary"},
		{"empty binary", func(o *CreateOptions) { o.Binaries["x86_64-linux"] = nil }, "binary for x86_64-linux is empty"},
		{"target with a slash", func(o *CreateOptions) { o.Binaries["../x86_64-linux"] = []byte("x") }, "invalid target name"},
		{"target named claims", func(o *CreateOptions) { o.Binaries["claims"] = []byte("x") }, "invalid target name"},
		{"target named world", func(o *CreateOptions) { o.Binaries["world"] = []byte("x") }, "invalid target name"},
		{"target with a dot", func(o *CreateOptions) { o.Binaries["x86_64.linux"] = []byte("x") }, "invalid target name"},
		{"empty target", func(o *CreateOptions) { o.Binaries[""] = []byte("x") }, "invalid target name"},
		{"bad schema", func(o *CreateOptions) { o.ConfigSchema = []byte("{") }, "not valid JSON"},
		{"empty world", func(o *CreateOptions) { o.World = []byte{} }, "WIT world is empty"},
		{"expiry before not-before", func(o *CreateOptions) {
			o.NotBefore, o.Expires = issuedAt.Add(time.Hour), issuedAt
		}, "expiry must be after not-before"},
		{"too many binaries", func(o *CreateOptions) {
			for i := range DefaultLimits.MaxEntries {
				o.Binaries[strings.Repeat("a", i+1)] = []byte("x")
			}
		}, "binaries, limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := exampleOptions(t)
			o.Binaries = maps.Clone(o.Binaries)
			tc.edit(&o)
			var out bytes.Buffer
			err := Write(&out, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "par: create: ") {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %d bytes for refused options", out.Len())
			}
		})
	}
}

// A null config schema is left out, as wascap leaves out a missing one.
func TestNullSchema(t *testing.T) {
	o := exampleOptions(t)
	o.ConfigSchema = json.RawMessage(" null ")
	c, err := Verify(read(t, create(t, o)), "x86_64-linux", VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigSchema != nil || strings.Contains(c.Token, "config_schema") {
		t.Fatalf("schema %q", c.ConfigSchema)
	}
}
