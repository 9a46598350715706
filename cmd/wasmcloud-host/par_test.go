package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/par"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// parDocKeys are the fields of par inspect --json, in the order the user contract lists them; "error" is
// present only for a refused archive.
var parDocKeys = []string{"issuer", "subject", "name", "capid", "vendor", "rev", "ver", "targets", "config_schema",
	"issued_at", "expires", "not_before", "wascap_revision", "valid"}

// decodeParDoc parses par inspect --json output, checking that it is one JSON document with exactly the
// contract's fields.
func decodeParDoc(t *testing.T, out string) parDoc {
	t.Helper()
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document: %q", out)
	}
	want := slices.Clone(parDocKeys)
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
	var d parDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// rawKey makes a key pair of type typ from a constant raw seed, so that test archives are the same on every
// run. The seeds never reach a file.
func rawKey(t *testing.T, typ nkey.Type, fill byte) *nkey.KeyPair {
	t.Helper()
	kp, err := nkey.FromRawSeed(typ, bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kp.Wipe)
	return kp
}

var parIssued = time.Date(2024, 2, 14, 12, 0, 0, 0, time.UTC)

// exampleParOptions are the inputs of the archives whose inspection the golden files record.
func exampleParOptions(t *testing.T) par.CreateOptions {
	return par.CreateOptions{
		Issuer:       rawKey(t, nkey.Account, 1),
		Subject:      rawKey(t, nkey.Service, 2).Public(),
		Name:         "Example",
		CapID:        "wasmcloud:example",
		Vendor:       "acme",
		Rev:          3,
		Ver:          "0.3.0",
		ConfigSchema: []byte(`{"type":"object","properties":{"bucket":{"type":"string"}}}`),
		Binaries: map[string][]byte{
			"x86_64-linux":  []byte("\x7fELF stand-in for linux/amd64\n"),
			"aarch64-linux": []byte("\x7fELF stand-in for linux/arm64\n"),
			"aarch64-macos": []byte("\xcf\xfa\xed\xfe stand-in for darwin/arm64\n"),
		},
		IssuedAt: parIssued,
		ID:       "CLItestJTI000000000000",
	}
}

func createPar(t *testing.T, o par.CreateOptions) []byte {
	t.Helper()
	b, err := par.Create(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewritePar copies a gzipped archive entry by entry through edit, which returns an entry's new contents,
// or false to drop it.
func rewritePar(t *testing.T, archive []byte, edit func(name string, data []byte) ([]byte, bool)) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		data, keep := edit(hdr.Name, data)
		if !keep {
			continue
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// inspectGolden runs par inspect in both forms on archive, as the file name, and compares the output with
// the golden files par/<name>.{json,txt}. It returns the decoded JSON.
func inspectGolden(t *testing.T, name string, archive []byte, code int) parDoc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, name+".par.gz")
	if err := os.WriteFile(path, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	stable := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
	r := runCLI(t, "par", "inspect", path, "--json")
	r.wantCode(t, code)
	if anySeed.MatchString(r.stdout + r.stderr) {
		t.Fatalf("inspect printed a seed: %s", r.stdout)
	}
	golden(t, "par/"+name+".json", []byte(stable(r.stdout)))
	d := decodeParDoc(t, r.stdout)
	r = runCLI(t, "par", "inspect", path)
	r.wantCode(t, code)
	golden(t, "par/"+name+".txt", []byte(stable(r.stdout)))
	return d
}

func TestParInspectGolden(t *testing.T) {
	valid := createPar(t, exampleParOptions(t))

	t.Run("valid", func(t *testing.T) {
		d := inspectGolden(t, "example", valid, exitOK)
		// The values are pinned here too, so that regenerating the golden files cannot accept wrong ones.
		checkStr(t, "issuer", d.Issuer, rawKey(t, nkey.Account, 1).Public().String())
		checkStr(t, "subject", d.Subject, rawKey(t, nkey.Service, 2).Public().String())
		checkStr(t, "name", d.Name, "Example")
		checkStr(t, "capid", d.CapID, "wasmcloud:example")
		checkStr(t, "vendor", d.Vendor, "acme")
		checkStr(t, "ver", d.Ver, "0.3.0")
		checkStr(t, "issued_at", d.IssuedAt, "2024-02-14T12:00:00Z")
		if d.Rev == nil || *d.Rev != 3 || d.WascapRevision == nil || *d.WascapRevision != 3 || !d.Valid || d.Error != "" {
			t.Fatalf("rev %v, wascap_revision %v, valid %v, error %q", d.Rev, d.WascapRevision, d.Valid, d.Error)
		}
		if compactJSON(t, d.ConfigSchema) != `{"type":"object","properties":{"bucket":{"type":"string"}}}` {
			t.Fatalf("config_schema %s", d.ConfigSchema)
		}
		var targets []string
		for _, td := range d.Targets {
			bin := exampleParOptions(t).Binaries[td.Target]
			if !td.Matches || td.Hash == nil || td.ArchiveHash == nil || *td.Hash != *td.ArchiveHash ||
				td.Size == nil || *td.Size != int64(len(bin)) {
				t.Fatalf("target %+v", td)
			}
			targets = append(targets, td.Target)
		}
		if !slices.Equal(targets, []string{"aarch64-linux", "aarch64-macos", "x86_64-linux"}) {
			t.Fatalf("targets %q", targets)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		tampered := rewritePar(t, valid, func(name string, data []byte) ([]byte, bool) {
			switch name {
			case "x86_64-linux.bin":
				return []byte("\x7fELF something else entirely\n"), true
			case "aarch64-macos.bin":
				return nil, false
			}
			return data, true
		})
		r := runCLI(t, "par", "inspect", "--json", writeTemp(t, "tampered.par.gz", tampered))
		r.wantFailure(t, exitFailure, "tampered.par.gz: par: archive refused: no binary for aarch64-macos")
		d := inspectGolden(t, "tampered", tampered, exitFailure)
		if d.Valid || d.Subject == nil || len(d.Targets) != 3 || d.Targets[1].ArchiveHash != nil || d.Targets[2].Matches {
			t.Fatalf("doc %+v", d)
		}
	})

	t.Run("expired", func(t *testing.T) {
		o := exampleParOptions(t)
		o.Expires = parIssued.Add(24 * time.Hour)
		d := inspectGolden(t, "expired", createPar(t, o), exitFailure)
		checkStr(t, "expires", d.Expires, "2024-02-15T12:00:00Z")
		if d.Valid || !strings.Contains(d.Error, "token expired") {
			t.Fatalf("valid %v, error %q", d.Valid, d.Error)
		}
	})

	t.Run("actor token", func(t *testing.T) {
		// A provider archive whose claims.jwt is a real actor's token.
		token := extractToken(t, "echo.wasm")
		withActorToken := rewritePar(t, valid, func(name string, data []byte) ([]byte, bool) {
			if name == "claims.jwt" {
				return []byte(token), true
			}
			return data, true
		})
		d := inspectGolden(t, "actor_token", withActorToken, exitFailure)
		if d.Valid || !strings.Contains(d.Error, "token is not a capability provider's") {
			t.Fatalf("valid %v, error %q", d.Valid, d.Error)
		}
	})

	t.Run("not an archive", func(t *testing.T) {
		d := inspectGolden(t, "not_an_archive", []byte("hello, world\n"), exitFailure)
		if d.Issuer != nil || d.Targets != nil || d.Valid || !strings.Contains(d.Error, "malformed archive") {
			t.Fatalf("doc %+v", d)
		}
	})
}

// extractToken returns the token section of a fixture actor.
func extractToken(t *testing.T, actorName string) string {
	t.Helper()
	mod, err := wasmbin.Parse(testutil.Actor(t, actorName))
	if err != nil {
		t.Fatal(err)
	}
	return string(mod.TokenSections()[0].Payload())
}

// compactJSON returns b without insignificant white space.
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return out.String()
}

// A hostile name in a token is shown escaped.
func TestParInspectEscapes(t *testing.T) {
	o := exampleParOptions(t)
	o.Name = "evil\x1b[2J name"
	o.Vendor = "\u202eemoc"
	r := runCLI(t, "par", "inspect", writeTemp(t, "evil.par.gz", createPar(t, o)))
	r.wantSuccess(t)
	wantContains(t, "table", r.stdout, `evil\x1b[2J name`, `\u202eemoc`)
	if strings.ContainsAny(r.stdout, "\x1b\u202e") {
		t.Fatalf("table holds control characters: %q", r.stdout)
	}
}

var createdLine = regexp.MustCompile(`^created (.+): provider (V[A-Z2-7]{55}), contract (\S+), targets (.+)\n`)

func TestParCreateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	_, issuer := newSeed(t, dir, "account.nk", nkey.Account)
	_, subject := newSeed(t, dir, "service.nk", nkey.Service)
	linux := writeTemp(t, "prov-linux", []byte("\x7fELF linux provider"))
	mac := writeTemp(t, "prov-mac", []byte("\xcf\xfa\xed\xfe mac provider"))
	schema := writeTemp(t, "schema.json", []byte("{\n  \"type\": \"object\"\n}\n"))
	out := filepath.Join(dir, "prov.par.gz")

	before := time.Now().Truncate(time.Second)
	r := runCLI(t, "par", "create", "--capid", "wasmcloud:example", "--vendor", "acme", "--name", "Example",
		"--binary", linux, "--arch", "x86_64-linux", "--binary", mac, "--arch", "aarch64-macos",
		"--issuer", issuer, "--subject", subject, "--rev", "7", "--ver", "1.2.3", "--schema", schema,
		"--expires-in", "30d", "-o", out)
	after := time.Now()
	r.wantSuccess(t)
	m := createdLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != out || m[3] != "wasmcloud:example" || m[4] != "aarch64-macos, x86_64-linux" ||
		strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout %q", r.stdout)
	}
	if anySeed.MatchString(r.stdout) {
		t.Fatal("create printed a seed")
	}
	seed, _ := os.ReadFile(strings.TrimPrefix(subject, "@"))
	kp, err := nkey.ParseSeedOf(bytes.TrimSpace(seed), nkey.Service)
	if err != nil {
		t.Fatal(err)
	}
	if m[2] != kp.Public().String() {
		t.Fatalf("provider %s, want the subject's key %s", m[2], kp.Public())
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("output: %v, %v", st, err)
	}
	wantDir(t, dir, "account.nk", "service.nk", "prov.par.gz")

	r = runCLI(t, "par", "inspect", "--json", out)
	r.wantSuccess(t)
	d := decodeParDoc(t, r.stdout)
	checkStr(t, "subject", d.Subject, m[2])
	checkStr(t, "capid", d.CapID, "wasmcloud:example")
	checkStr(t, "ver", d.Ver, "1.2.3")
	if d.Rev == nil || *d.Rev != 7 || compactJSON(t, d.ConfigSchema) != `{"type":"object"}` {
		t.Fatalf("rev %v, schema %s", d.Rev, d.ConfigSchema)
	}
	issued := parseTime(t, "issued_at", d.IssuedAt)
	if issued.Before(before) || issued.After(after) {
		t.Fatalf("issued_at %v outside [%v, %v]", issued, before, after)
	}
	if exp := parseTime(t, "expires", d.Expires); exp.Sub(issued) != 30*24*time.Hour {
		t.Fatalf("expires %v", exp)
	}

	// The host's reader gets the binaries back, byte for byte, and verifies them.
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := par.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	for target, path := range map[string]string{"x86_64-linux": linux, "aarch64-macos": mac} {
		want, _ := os.ReadFile(path)
		if got, ok := a.Binary(target); !ok || !bytes.Equal(got, want) {
			t.Fatalf("binary %s = %q", target, got)
		}
		if _, err := par.Verify(a, target, par.VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := par.Verify(a, "x86_64-linux", par.VerifyOptions{}); string(c.ConfigSchema) != `{"type":"object"}` {
		t.Fatalf("schema %s", c.ConfigSchema)
	}
}

// Without --subject a new service key is generated and only its public key is printed; a single --binary
// without --arch is for this platform.
func TestParCreateDefaults(t *testing.T) {
	dir := t.TempDir()
	_, issuer := newSeed(t, dir, "account.nk", nkey.Account)
	out := filepath.Join(dir, "p.par.gz")
	r := runCLI(t, "par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--binary",
		writeTemp(t, "prov", []byte("binary")), "--issuer", issuer, "-o", out)
	r.wantSuccess(t)
	m := createdLine.FindStringSubmatch(r.stdout)
	native, err := par.NativeTarget()
	if err != nil {
		t.Fatal(err)
	}
	if m == nil || m[4] != native {
		t.Fatalf("stdout %q, want target %s", r.stdout, native)
	}
	wantContains(t, "stdout", r.stdout, "The provider key "+m[2]+" is new: pass it as --subject")
	if anySeed.MatchString(r.stdout + r.stderr) {
		t.Fatalf("create printed a seed: %q", r.stdout)
	}
	d := decodeParDoc(t, runCLI(t, "par", "inspect", "--json", out).stdout)
	checkStr(t, "subject", d.Subject, m[2])
	if d.Expires != nil || d.NotBefore != nil || string(d.ConfigSchema) != "null" || !d.Valid {
		t.Fatalf("doc %+v", d)
	}
}

// Seeds given inline are accepted and never printed, whether the command succeeds or fails.
func TestParCreateInlineSeeds(t *testing.T) {
	dir := t.TempDir()
	accountSeed, _ := newSeed(t, dir, "a.nk", nkey.Account)
	serviceSeed, _ := newSeed(t, dir, "s.nk", nkey.Service)
	moduleSeed, _ := newSeed(t, dir, "m.nk", nkey.Module)
	bin := writeTemp(t, "prov", []byte("binary"))
	flip := map[byte]byte{'A': 'B'}[accountSeed[20]]
	if flip == 0 {
		flip = 'A'
	}
	broken := accountSeed[:20] + string(flip) + accountSeed[21:]
	base := func(issuer, subject string) []string {
		return []string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--binary", bin,
			"--arch", "x86_64-linux", "--issuer", issuer, "--subject", subject, "-o", filepath.Join(t.TempDir(), "p.par.gz")}
	}
	r := runCLI(t, base(accountSeed, serviceSeed)...)
	r.wantSuccess(t)
	for _, tc := range []struct {
		name            string
		issuer, subject string
		want            string
	}{
		{"module seed as issuer", moduleSeed, serviceSeed, "--issuer: nkey: want account"},
		{"service seed as issuer", serviceSeed, serviceSeed, "--issuer: nkey: want account"},
		{"module seed as subject", accountSeed, moduleSeed, "--subject: nkey: want service"},
		{"account seed as subject", accountSeed, accountSeed, "--subject: nkey: want service"},
		{"broken seed", broken, serviceSeed, "--issuer: nkey: invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, base(tc.issuer, tc.subject)...)
			r.wantFailure(t, exitFailure, tc.want)
			for _, seed := range []string{accountSeed, serviceSeed, moduleSeed, broken} {
				if strings.Contains(r.stdout+r.stderr, seed[1:]) {
					t.Fatal("a seed was echoed")
				}
			}
		})
	}
	if r := runCLI(t, base(accountSeed, serviceSeed)...); anySeed.MatchString(r.stdout + r.stderr) {
		t.Fatal("a seed was printed")
	}
}

func TestParCreateFailures(t *testing.T) {
	dir := t.TempDir()
	_, issuer := newSeed(t, dir, "account.nk", nkey.Account)
	bin := filepath.Join(dir, "prov")
	if err := os.WriteFile(bin, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	badSchema := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badSchema, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.par.gz")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.par.gz")
	args := func(extra ...string) []string {
		return append([]string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--issuer", issuer,
			"--binary", bin, "--arch", "x86_64-linux"}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"issuer is a public key", []string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--binary", bin,
			"--issuer", rawKey(t, nkey.Account, 1).Public().String(), "-o", out}, "want an account seed (SA…), got a public key"},
		{"subject is a module key", args("-o", out, "--subject", rawKey(t, nkey.Module, 3).Public().String()),
			"--subject: want a service seed (SV…), public key (V…) or @file"},
		{"missing binary", append([]string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--issuer", issuer,
			"--binary", filepath.Join(dir, "nope"), "--arch", "x86_64-linux"}, "-o", out), "read binary: open "},
		{"binary is a directory", append([]string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--issuer", issuer,
			"--binary", dir, "--arch", "x86_64-linux"}, "-o", out), "not a regular file"},
		{"output is the binary", args("-o", bin), "the output is one of the input binaries"},
		{"output links to the binary", args("-o", link), "the output is one of the input binaries"},
		{"schema not JSON", args("-o", out, "--schema", badSchema), "not valid JSON"},
		{"missing schema", args("-o", out, "--schema", filepath.Join(dir, "nope.json")), "--schema: open "},
		{"missing issuer file", []string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--binary", bin,
			"--issuer", "@" + filepath.Join(dir, "nope.nk"), "-o", out}, "--issuer: read key file"},
		{"expiry before not-before", args("-o", out, "--not-before", "2h", "--expires-in", "1h"), "expiry must be after not-before"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			r.wantFailure(t, exitFailure, tc.want)
			r.wantStdout(t, "")
			wantDir(t, dir, "account.nk", "prov", "bad.json", "link.par.gz")
		})
	}
}

func TestParUsage(t *testing.T) {
	create := func(extra ...string) []string {
		return append([]string{"par", "create", "--capid", "c:x", "--vendor", "v", "--name", "n", "--issuer", "@seed",
			"-o", "out.par.gz"}, extra...)
	}
	testUsageErrors(t, []usageCase{
		{"par without subcommand", []string{"par"}, "missing subcommand: want create or inspect"},
		{"par unknown subcommand", []string{"par", "insert"}, `unknown subcommand "insert"`},
		{"inspect without file", []string{"par", "inspect", "--json"}, "want exactly one archive file"},
		{"inspect two files", []string{"par", "inspect", "a.par.gz", "b.par.gz"}, "want exactly one archive file"},
		{"create without binary", create(), "missing --binary"},
		{"create with a positional argument", create("prov", "--binary", "prov"), `unexpected argument "prov"`},
		{"create without -o", []string{"par", "create", "--capid", "c", "--vendor", "v", "--name", "n", "--issuer", "@s", "--binary", "b"}, "missing -o"},
		{"create without issuer", []string{"par", "create", "--capid", "c", "--vendor", "v", "--name", "n", "-o", "o", "--binary", "b"}, "missing --issuer"},
		{"create without capid", []string{"par", "create", "--vendor", "v", "--name", "n", "--issuer", "@s", "-o", "o", "--binary", "b"}, "missing --capid"},
		{"create without vendor", []string{"par", "create", "--capid", "c", "--name", "n", "--issuer", "@s", "-o", "o", "--binary", "b"}, "missing --vendor"},
		{"create without name", []string{"par", "create", "--capid", "c", "--vendor", "v", "--issuer", "@s", "-o", "o", "--binary", "b"}, "missing --name"},
		{"fewer arches than binaries", create("--binary", "a", "--binary", "b", "--arch", "x86_64-linux"), "2 --binary and 1 --arch"},
		{"arch without binary", create("--binary", "a", "--arch", "x86_64-linux", "--arch", "aarch64-linux"), "1 --binary and 2 --arch"},
		{"arch twice", create("--binary", "a", "--binary", "b", "--arch", "x86_64-linux", "--arch", "x86_64-linux"), "--arch x86_64-linux is given twice"},
		{"arch with a path", create("--binary", "a", "--arch", "../x86_64-linux"), `--arch "../x86_64-linux": want <arch>-<os>`},
		{"arch named world", create("--binary", "a", "--arch", "world"), `--arch "world"`},
		{"rev not a number", create("--binary", "a", "--rev", "one"), "want a 32-bit integer"},
		{"bad duration", create("--binary", "a", "--expires-in", "soon"), "want a duration"},
	})
}

func TestParHelp(t *testing.T) {
	testHelp(t, []helpCase{
		{"overview", []string{"help"}, []string{"par create --capid", "par inspect <file.par.gz>"}},
		{"par --help", []string{"par", "--help"}, []string{"par create", "par inspect"}},
		{"help par create", []string{"help", "par", "create"},
			[]string{"Usage: wasmcloud-host par create", "--capid", "--vendor", "--name", "--binary", "--arch", "--issuer",
				"--subject", "--rev", "--ver", "--schema", "--expires-in", "--not-before", "-o file", "x86_64-linux"}},
		{"par inspect --help", []string{"par", "inspect", "--help"}, []string{"Usage: wasmcloud-host par inspect", "--json"}},
	})
}
