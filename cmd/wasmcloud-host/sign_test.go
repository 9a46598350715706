package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// The public keys of the fixture seeds keys/echo_unpriv_{account,module}.nk.
const (
	fixtureAccount = "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM"
	fixtureModule  = "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5"
	echoHash       = "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97"
)

// anySeed matches an encoded seed of any type.
var anySeed = regexp.MustCompile(`S[A-Z2-7]{57}`)

// fixtureKey copies a seed from testdata/keys into dir and returns "@path" for a flag.
func fixtureKey(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, testutil.ReadFile(t, "keys/"+name), 0o600); err != nil {
		t.Fatal(err)
	}
	return "@" + path
}

// newSeed generates a seed of the given type, writes it to dir/name and returns the seed and "@path".
func newSeed(t *testing.T, dir, name string, typ nkey.Type) (string, string) {
	t.Helper()
	kp, err := nkey.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return string(seed), "@" + path
}

func inspectDoc(t *testing.T, path string, code int) claimsDoc {
	t.Helper()
	r := runCLI(t, "claims", "inspect", "--json", path)
	r.wantCode(t, code)
	return decodeDoc(t, r.stdout)
}

func parseTime(t *testing.T, field string, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is null", field)
	}
	v, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	if v.Location() != time.UTC || !strings.HasSuffix(*s, "Z") {
		t.Fatalf("%s %q is not in UTC", field, *s)
	}
	return v
}

// wantDir checks that dir holds exactly the named entries (no temporary file left behind).
func wantDir(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("directory holds %q, want %q", got, names)
	}
}

func TestSignRoundTrip(t *testing.T) {
	dir := t.TempDir()
	issuer := fixtureKey(t, dir, "echo_unpriv_account.nk")
	subject := fixtureKey(t, dir, "echo_unpriv_module.nk")
	in := testutil.Path("actors/echo.wasm")
	out := filepath.Join(dir, "signed.wasm")

	before := time.Now().Truncate(time.Second)
	r := runCLI(t, "claims", "sign", in, "-o", out, "--issuer", issuer, "--subject", subject, "--name", "My Echo",
		"--cap", "wasmcloud:httpserver", "--cap", "wasmcloud:keyvalue", "--tag", "demo", "--tag", "echo",
		"--rev", "7", "--ver", "1.2.3", "--call-alias", "demo/echo", "--expires-in", "30d")
	after := time.Now()
	r.wantSuccess(t)
	if want := fmt.Sprintf("signed %s -> %s: module %s, hash %s\n", in, out, fixtureModule, echoHash); r.stdout != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("output mode %v, want 0644", st.Mode().Perm())
	}
	wantDir(t, dir, "echo_unpriv_account.nk", "echo_unpriv_module.nk", "signed.wasm")

	d := inspectDoc(t, out, exitOK)
	checkStr(t, "issuer", d.Issuer, fixtureAccount)
	checkStr(t, "subject", d.Subject, fixtureModule)
	checkStr(t, "name", d.Name, "My Echo")
	checkStr(t, "hash", d.Hash, echoHash)
	checkStr(t, "ver", d.Ver, "1.2.3")
	checkStr(t, "call_alias", d.CallAlias, "demo/echo")
	if !slices.Equal(d.Caps, []string{"wasmcloud:httpserver", "wasmcloud:keyvalue"}) || !slices.Equal(d.Tags, []string{"demo", "echo"}) {
		t.Fatalf("caps %q, tags %q", d.Caps, d.Tags)
	}
	if d.Rev == nil || *d.Rev != 7 || d.WascapRevision == nil || *d.WascapRevision != 3 {
		t.Fatalf("rev %v, wascap_revision %v", d.Rev, d.WascapRevision)
	}
	issued := parseTime(t, "issued_at", d.IssuedAt)
	if issued.Before(before) || issued.After(after) {
		t.Fatalf("issued_at %v outside [%v, %v]", issued, before, after)
	}
	if exp := parseTime(t, "expires", d.Expires); exp.Sub(issued) != 30*24*time.Hour {
		t.Fatalf("expires %v is not 30 days after issued_at %v", exp, issued)
	}
	if d.NotBefore != nil || !d.Valid || d.Error != "" {
		t.Fatalf("not_before %v, valid %v, error %q", d.NotBefore, d.Valid, d.Error)
	}

	// The hash the token signs is the module's own, and the host's verifier accepts the result.
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := wasmbin.Parse(signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := wasmbin.HexUpper(mod.HashMinimal()); got != echoHash {
		t.Fatalf("signed module hashes to %s", got)
	}
	if _, err := actor.Verify("signed.wasm", signed, actor.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A token with --not-before is refused until then, and inspect still shows every claim.
func TestSignNotBefore(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "later.wasm")
	r := runCLI(t, "claims", "sign", "--not-before", "1h", "--expires-in", "2h", testutil.Path("actors/echo.wasm"),
		"-o", out, "--issuer", fixtureKey(t, dir, "echo_unpriv_account.nk"), "--name", "later")
	r.wantSuccess(t)

	r = runCLI(t, "claims", "inspect", out, "--json")
	r.wantFailure(t, exitFailure, "token not valid yet")
	d := decodeDoc(t, r.stdout)
	if d.Valid || !strings.Contains(d.Error, "token not valid yet") {
		t.Fatalf("valid %v, error %q", d.Valid, d.Error)
	}
	issued := parseTime(t, "issued_at", d.IssuedAt)
	if nbf := parseTime(t, "not_before", d.NotBefore); nbf.Sub(issued) != time.Hour {
		t.Fatalf("not_before %v is not 1h after issued_at %v", nbf, issued)
	}
	if exp := parseTime(t, "expires", d.Expires); exp.Sub(issued) != 2*time.Hour {
		t.Fatalf("expires %v is not 2h after issued_at %v", exp, issued)
	}
	checkStr(t, "name", d.Name, "later")
}

// --subject takes a module seed from a file, a module seed inline or only the public key.
func TestSignSubjectForms(t *testing.T) {
	dir := t.TempDir()
	issuer := fixtureKey(t, dir, "echo_unpriv_account.nk")
	subjectFile := fixtureKey(t, dir, "echo_unpriv_module.nk")
	subjectSeed := strings.TrimSpace(string(testutil.ReadFile(t, "keys/echo_unpriv_module.nk")))
	tests := []struct {
		name, subject string
	}{
		{"seed file", subjectFile},
		{"inline seed", subjectSeed},
		{"public key", fixtureModule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.wasm")
			r := runCLI(t, "claims", "sign", testutil.Path("actors/kvcounter.wasm"), "-o", out, "--issuer", issuer,
				"--subject", tc.subject, "--name", "kv")
			r.wantSuccess(t)
			wantContains(t, "stdout", r.stdout, "module "+fixtureModule+", hash ")
			d := inspectDoc(t, out, exitOK)
			checkStr(t, "subject", d.Subject, fixtureModule)
			checkStr(t, "issuer", d.Issuer, fixtureAccount)
		})
	}
}

// Without --subject a new module key is generated; only its public key is printed.
func TestSignGeneratesSubject(t *testing.T) {
	dir := t.TempDir()
	issuer := fixtureKey(t, dir, "echo_unpriv_account.nk")
	in := testutil.Path("actors/echo.wasm")
	out := filepath.Join(dir, "gen.wasm")
	r := runCLI(t, "claims", "sign", "--name", "gen", "-o", out, "--issuer", issuer, in)
	r.wantSuccess(t)
	line := regexp.MustCompile(`^signed (.+) -> (.+): module (M[A-Z2-7]{55}), hash ([0-9A-F]{64})\n$`)
	m := line.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != in || m[2] != out || m[4] != echoHash {
		t.Fatalf("stdout %q", r.stdout)
	}
	if anySeed.MatchString(r.stdout + r.stderr) {
		t.Fatalf("sign printed a seed: %q %q", r.stdout, r.stderr)
	}
	if _, err := nkey.ParsePublicOf(m[3], nkey.Module); err != nil {
		t.Fatalf("printed module key: %v", err)
	}
	if m[3] == fixtureModule {
		t.Fatal("the generated key is the fixture's")
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := actor.Verify("gen.wasm", signed, actor.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != m[3] || c.Issuer != fixtureAccount {
		t.Fatalf("subject %s, issuer %s; printed %s", c.Subject, c.Issuer, m[3])
	}
}

// Re-signing a signed module, in place or not, leaves exactly one token section, whatever the section
// the original token was in.
func TestSignReplacesToken(t *testing.T) {
	dir := t.TempDir()
	issuer := fixtureKey(t, dir, "echo_unpriv_account.nk")
	for _, name := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			first := filepath.Join(tmp, "first.wasm")
			r := runCLI(t, "claims", "sign", testutil.Path("actors/"+name), "-o", first, "--issuer", issuer,
				"--subject", fixtureModule, "--name", "first")
			r.wantSuccess(t)
			second := filepath.Join(tmp, "second.wasm")
			r = runCLI(t, "claims", "sign", first, "-o", second, "--issuer", issuer, "--name", "second")
			r.wantSuccess(t)
			r = runCLI(t, "claims", "sign", second, "-o", second, "--issuer", issuer, "--name", "third", "--subject", fixtureModule)
			r.wantSuccess(t)
			wantDir(t, tmp, "first.wasm", "second.wasm")

			b, err := os.ReadFile(second)
			if err != nil {
				t.Fatal(err)
			}
			mod, err := wasmbin.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			toks := mod.TokenSections()
			if len(toks) != 1 || toks[0].Name != wasmbin.TokenSectionName {
				t.Fatalf("%d token sections after re-signing", len(toks))
			}
			d := inspectDoc(t, second, exitOK)
			checkStr(t, "name", d.Name, "third")
			checkStr(t, "subject", d.Subject, fixtureModule)
		})
	}
}

// A link to the input is not overwritten unless the input itself is named as the output.
func TestSignRefusesInputUnderAnotherName(t *testing.T) {
	dir := t.TempDir()
	issuer := fixtureKey(t, dir, "echo_unpriv_account.nk")
	orig := testutil.Actor(t, "echo.wasm")
	in := filepath.Join(dir, "in.wasm")
	if err := os.WriteFile(in, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(dir, "alias.wasm")
	if err := os.Symlink("in.wasm", alias); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "claims", "sign", in, "-o", alias, "--issuer", issuer, "--name", "x")
	r.wantFailure(t, exitFailure, "the output is the input file under another name")
	if fi, err := os.Lstat(alias); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", fi, err)
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, orig) {
		t.Fatal("the input was modified")
	}
	wantDir(t, dir, "alias.wasm", "echo_unpriv_account.nk", "in.wasm")
}

func TestSignFailures(t *testing.T) {
	dir := t.TempDir()
	account := fixtureKey(t, dir, "echo_unpriv_account.nk")
	moduleFile := fixtureKey(t, dir, "echo_unpriv_module.nk")
	accountSeed := strings.TrimSpace(string(testutil.ReadFile(t, "keys/echo_unpriv_account.nk")))
	clusterSeed, clusterFile := newSeed(t, dir, "cluster.nk", nkey.Cluster)
	// A seed with one character changed: still seed-shaped, but the checksum fails.
	broken := []byte(accountSeed)
	if broken[30] == 'A' {
		broken[30] = 'B'
	} else {
		broken[30] = 'A'
	}
	brokenSeed := string(broken)
	notWasm := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notWasm, []byte("not a module"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := testutil.Path("actors/echo.wasm")

	tests := []struct {
		name    string
		in      string
		issuer  string
		subject string
		secret  string // a value that must not appear in the error
		want    string
		exact   bool // want is the whole stderr line
	}{
		{name: "cluster seed file as issuer", issuer: clusterFile, secret: clusterSeed,
			want: "wasmcloud-host: --issuer: nkey: want account (A…) key, got cluster (C…)\n", exact: true},
		{name: "inline cluster seed as issuer", issuer: clusterSeed, secret: clusterSeed,
			want: "wasmcloud-host: --issuer: nkey: want account (A…) key, got cluster (C…)\n", exact: true},
		{name: "module seed as issuer", issuer: moduleFile,
			want: "wasmcloud-host: --issuer: nkey: want account (A…) key, got module (M…)\n", exact: true},
		{name: "malformed seed as issuer", issuer: brokenSeed, secret: brokenSeed, want: "--issuer: nkey: invalid seed"},
		{name: "short S value as issuer", issuer: "SAMYSECRETPASSPHRASE", secret: "SAMYSECRETPASSPHRASE", want: "--issuer: nkey: invalid seed: length 20, want 58"},
		{name: "public key as issuer", issuer: fixtureAccount, want: "--issuer: want an account seed (SA…), got a public key"},
		{name: "missing issuer file", issuer: "@" + filepath.Join(dir, "nope.nk"), want: "--issuer: read key file: open "},
		{name: "empty @", issuer: "@", want: "--issuer: @ must be followed by a file name"},
		{name: "account seed file as subject", issuer: account, subject: account,
			want: "wasmcloud-host: --subject: nkey: want module (M…) key, got account (A…)\n", exact: true},
		{name: "inline cluster seed as subject", issuer: account, subject: clusterSeed, secret: clusterSeed,
			want: "wasmcloud-host: --subject: nkey: want module (M…) key, got cluster (C…)\n", exact: true},
		{name: "malformed seed as subject", issuer: account, subject: brokenSeed, secret: brokenSeed, want: "--subject: nkey: invalid seed"},
		{name: "account key as subject", issuer: account, subject: fixtureAccount, want: "--subject: want a module seed (SM…), public key (M…) or @file: nkey: want module (M…) key, got account (A…)"},
		{name: "garbage subject", issuer: account, subject: "echo.nk", want: "--subject: want a module seed (SM…), public key (M…) or @file: nkey: invalid encoding"},
		{name: "input not a module", in: notWasm, issuer: account, want: "malformed wasm module"},
		{name: "missing input", in: filepath.Join(dir, "missing.wasm"), issuer: account, want: "read module: open "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := in
			if tc.in != "" {
				src = tc.in
			}
			out := filepath.Join(t.TempDir(), "out.wasm")
			args := []string{"claims", "sign", src, "-o", out, "--issuer", tc.issuer, "--name", "x"}
			if tc.subject != "" {
				args = append(args, "--subject", tc.subject)
			}
			r := runCLI(t, args...)
			r.wantFailure(t, exitFailure, tc.want)
			if tc.exact && r.stderr != tc.want {
				t.Fatalf("stderr %q, want %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Fatalf("stdout %q", r.stdout)
			}
			if anySeed.MatchString(r.stderr) {
				t.Fatalf("stderr holds a seed: %q", r.stderr)
			}
			if tc.secret != "" && (strings.Contains(r.stderr, tc.secret) || strings.Contains(r.stderr, tc.secret[4:16])) {
				t.Fatalf("stderr echoes the value: %q", r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output written despite the error: %v", err)
			}
		})
	}
}

func TestSignOutputDirMissing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "no", "such", "dir", "out.wasm")
	r := runCLI(t, "claims", "sign", testutil.Path("actors/echo.wasm"), "-o", out,
		"--issuer", fixtureKey(t, dir, "echo_unpriv_account.nk"), "--name", "x")
	r.wantFailure(t, exitFailure, "write "+out)
	wantDir(t, dir, "echo_unpriv_account.nk")
}
