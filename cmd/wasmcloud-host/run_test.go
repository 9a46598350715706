package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// result is what one run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line args in-process, as main would, with buffers for the streams.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// wantSuccess checks exit 0 and an empty stderr.
func (r result) wantSuccess(t *testing.T) {
	t.Helper()
	r.wantCode(t, exitOK)
	if r.stderr != "" {
		t.Fatalf("stderr not empty on success: %q", r.stderr)
	}
}

// wantStdout checks that the command printed exactly want.
func (r result) wantStdout(t *testing.T, want string) {
	t.Helper()
	if r.stdout != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
}

// wantFailure checks the exit status and that stderr holds exactly one line that starts with the program
// name and contains every want.
func (r result) wantFailure(t *testing.T, code int, want ...string) {
	t.Helper()
	r.wantCode(t, code)
	if !strings.HasPrefix(r.stderr, "wasmcloud-host: ") || !strings.HasSuffix(r.stderr, "\n") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("stderr is not one line starting with the program name: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// helpCase is a command line that prints help, and what the help must contain.
type helpCase struct {
	name string
	args []string
	want []string
}

// testHelp runs every case and checks that it succeeds and prints what it must.
func testHelp(t *testing.T, tests []helpCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			r.wantSuccess(t)
			wantContains(t, "help", r.stdout, tc.want...)
		})
	}
}

// usageCase is a command line that is wrong, and what the one line on stderr must contain.
type usageCase struct {
	name string
	args []string
	want string
}

// testUsageErrors runs every case and checks the usage exit status, the error line and an empty stdout.
func testUsageErrors(t *testing.T, tests []usageCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			r.wantFailure(t, exitUsage, tc.want, "--help')")
			r.wantStdout(t, "") // nothing on stdout on a usage error
		})
	}
}

// goldenSeed matches an account, module or cluster seed, which no golden file may hold.
var goldenSeed = regexp.MustCompile(`S[ACM][A-Z2-7]{56}`)

// golden compares got with testdata/<name>, or rewrites the file under -update. It refuses to write or
// accept anything that holds a seed.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if loc := goldenSeed.FindIndex(got); loc != nil {
		t.Fatalf("output for golden file %s holds a seed at byte %d", name, loc[0])
	}
	path := filepath.Join("testdata", filepath.FromSlash(name))
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, args...)
		r.wantSuccess(t)
		if r.stdout != "wasmcloud-host dev\n" {
			t.Fatalf("%v printed %q", args, r.stdout)
		}
	}
}

func TestHelp(t *testing.T) {
	testHelp(t, []helpCase{
		{"--help", []string{"--help"}, []string{"claims sign", "keys gen", "WASMCLOUD_CLUSTER_SEED", "WASMCLOUD_LATTICE_PREFIX"}},
		{"-h", []string{"-h"}, []string{"claims inspect", "WASMCLOUD_CLUSTER_SEED"}},
		{"help", []string{"help"}, []string{"wasmcloud-host [up]", "WASMCLOUD_CLUSTER_SEED"}},
		{"help help", []string{"help", "help"}, []string{"WASMCLOUD_CLUSTER_SEED"}},
		{"keys --help", []string{"keys", "--help"}, []string{"wasmcloud-host keys gen <type>"}},
		{"help keys", []string{"help", "keys"}, []string{"wasmcloud-host keys gen <type>"}},
		{"keys gen -h", []string{"keys", "gen", "-h"}, []string{"Usage: wasmcloud-host keys gen", "--json", "cluster"}},
		{"claims --help", []string{"claims", "--help"}, []string{"claims inspect", "claims sign"}},
		{"claims inspect --help", []string{"claims", "inspect", "x.wasm", "--help"}, []string{"Usage: wasmcloud-host claims inspect", "--json"}},
		{"claims sign --help", []string{"claims", "sign", "--help"},
			[]string{"Usage: wasmcloud-host claims sign", "-o file", "--issuer", "--subject", "--cap", "--tag", "--rev", "--ver", "--call-alias", "--expires-in", "--not-before"}},
		{"help claims sign", []string{"help", "claims", "sign"}, []string{"Usage: wasmcloud-host claims sign", "--not-before"}},
	})
}

func TestUsageErrors(t *testing.T) {
	sign := func(extra ...string) []string {
		return append([]string{"claims", "sign", "in.wasm", "-o", "out.wasm", "--issuer", "@seed", "--name", "n"}, extra...)
	}
	testUsageErrors(t, []usageCase{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown top-level flag", []string{"--bogus"}, `unknown flag "--bogus"`},
		{"help for unknown command", []string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{"version with argument", []string{"version", "x"}, `unexpected argument`},
		{"keys without subcommand", []string{"keys"}, "missing subcommand"},
		{"keys unknown subcommand", []string{"keys", "frob"}, `unknown subcommand "frob"`},
		{"keys gen without type", []string{"keys", "gen"}, "want exactly one key type: account, module, service, server, operator, cluster, user"},
		{"keys gen unknown type", []string{"keys", "gen", "bogus"}, `unknown key type "bogus": want account, module, service, server, operator, cluster, user`},
		{"keys gen two types", []string{"keys", "gen", "account", "module"}, "want exactly one key type"},
		{"keys gen unknown flag", []string{"keys", "gen", "--bogus", "account"}, "flag provided but not defined: -bogus"},
		{"claims without subcommand", []string{"claims"}, "missing subcommand: want inspect or sign"},
		{"claims unknown subcommand", []string{"claims", "verify"}, `unknown subcommand "verify"`},
		{"inspect without file", []string{"claims", "inspect", "--json"}, "want exactly one module file"},
		{"inspect two files", []string{"claims", "inspect", "a.wasm", "b.wasm"}, "want exactly one module file"},
		{"sign without input", []string{"claims", "sign", "-o", "out.wasm", "--issuer", "@seed", "--name", "n"}, "want exactly one input module"},
		{"sign two inputs", sign("other.wasm"), "want exactly one input module"},
		{"sign without -o", []string{"claims", "sign", "in.wasm", "--issuer", "@seed", "--name", "n"}, "missing -o"},
		{"sign without issuer", []string{"claims", "sign", "in.wasm", "-o", "out.wasm", "--name", "n"}, "missing --issuer"},
		{"sign without name", []string{"claims", "sign", "in.wasm", "-o", "out.wasm", "--issuer", "@seed"}, "missing --name"},
		{"sign bad rev", sign("--rev", "seven"), "want a 32-bit integer"},
		{"sign rev out of range", sign("--rev", "2147483648"), "want a 32-bit integer"},
		{"sign zero expiry", sign("--expires-in", "0s"), "must be positive"},
		{"sign negative expiry", sign("--expires-in", "-1h"), "must be positive"},
		{"sign bad not-before", sign("--not-before", "soon"), "want a duration"},
		{"sign flag without value", sign("--tag"), "flag needs an argument: -tag"},
	})
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		pos     []string
		out     string
		json    bool
		caps    []string
		wantErr bool
	}{
		{name: "flags after positional", args: []string{"in.wasm", "-o", "out", "--json"}, pos: []string{"in.wasm"}, out: "out", json: true},
		{name: "flags before positionals", args: []string{"-o", "out", "a", "b"}, pos: []string{"a", "b"}, out: "out"},
		{name: "flags between positionals", args: []string{"a", "--cap", "x", "b", "--cap=y", "c"}, pos: []string{"a", "b", "c"}, caps: []string{"x", "y"}},
		{name: "terminator", args: []string{"a", "--", "-o", "b"}, pos: []string{"a", "-o", "b"}},
		{name: "terminator after bool", args: []string{"--json", "--", "--json"}, pos: []string{"--json"}, json: true},
		{name: "double dash as a value", args: []string{"-o", "--", "a"}, pos: []string{"a"}, out: "--"},
		{name: "double dash as a value then terminator", args: []string{"-o", "--", "--", "-x"}, pos: []string{"-x"}, out: "--"},
		{name: "value with equals then terminator", args: []string{"-o=--", "--", "-o"}, pos: []string{"-o"}, out: "--"},
		{name: "single dash is positional", args: []string{"-", "--json"}, pos: []string{"-"}, json: true},
		{name: "no arguments", args: nil},
		{name: "unknown flag after positional", args: []string{"a", "--bogus"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(new(bytes.Buffer))
			out := fs.String("o", "", "")
			asJSON := fs.Bool("json", false, "")
			var caps listFlag
			fs.Var(&caps, "cap", "")
			pos, err := parseInterleaved(fs, tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; positionals %q", pos)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tc.pos) || *out != tc.out || *asJSON != tc.json || !slices.Equal(caps, tc.caps) {
				t.Fatalf("pos %q, -o %q, --json %v, --cap %q; want %q, %q, %v, %q", pos, *out, *asJSON, caps, tc.pos, tc.out, tc.json, tc.caps)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Duration
		err  string
	}{
		{name: "days", in: "30d", want: 30 * 24 * time.Hour},
		{name: "one day", in: "1d", want: 24 * time.Hour},
		{name: "minutes", in: "90m", want: 90 * time.Minute},
		{name: "compound", in: "1h30m", want: 90 * time.Minute},
		{name: "zero days", in: "0d", err: "must be positive"},
		{name: "negative", in: "-2h", err: "must be positive"},
		{name: "bare d", in: "d", err: "want a duration"},
		{name: "fractional days", in: "1.5d", err: "want a duration"},
		{name: "days and hours", in: "1d12h", err: "want a duration"},
		{name: "too many days", in: "999999999d", err: "too many days"},
		{name: "empty", in: "", err: "want a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDuration(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseDuration(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestErrorLine(t *testing.T) {
	seed := "SC" + strings.Repeat("A", 56) // shaped like a cluster seed
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("read module: no such file"), "wasmcloud-host: read module: no such file"},
		{"seed redacted", errors.New(`invalid value "` + seed + `" for flag -rev`), `wasmcloud-host: invalid value "S…(seed redacted)" for flag -rev`},
		{"joined errors on one line", errors.Join(errors.New("a"), errors.New("b")), "wasmcloud-host: a; b"},
		{"control characters escaped", errors.New("name \x1b[31mred\x1b[0m\tx\xff"), `wasmcloud-host: name \x1b[31mred\x1b[0m\tx\xff`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorLine(tc.err); got != tc.want {
				t.Fatalf("errorLine = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzErrorLine checks the promises errorLine makes for any error text: one line, the program name first,
// nothing shaped like a seed, and only printable characters.
func FuzzErrorLine(f *testing.F) {
	f.Add("plain error")
	f.Add("--issuer: " + "SA" + strings.Repeat("B", 56))
	f.Add("a\nb\r\nc\x00\x1b[2J")
	f.Add("S" + strings.Repeat("A", 60) + "\n" + "SC" + strings.Repeat("7", 56))
	f.Add("\xff\xfe name")
	f.Fuzz(func(t *testing.T, msg string) {
		line := errorLine(errors.New(msg))
		if !strings.HasPrefix(line, "wasmcloud-host: ") || strings.ContainsAny(line, "\n\r") {
			t.Fatalf("errorLine(%q) = %q is not one line", msg, line)
		}
		if anySeed.MatchString(line) {
			t.Fatalf("errorLine(%q) = %q holds a seed", msg, line)
		}
		for _, r := range line {
			if !unicode.IsPrint(r) {
				t.Fatalf("errorLine(%q) = %q holds %U", msg, line, r)
			}
		}
	})
}
