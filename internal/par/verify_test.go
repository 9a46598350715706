package par

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// actorToken returns the token a real wasmCloud actor carries.
func actorToken(tb testing.TB, name string) string {
	tb.Helper()
	mod, err := wasmbin.Parse(testutil.Actor(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(mod.TokenSections()[0].Payload())
}

func TestVerifyRefusals(t *testing.T) {
	account := testKey(t, nkey.Account, 1)
	other := testKey(t, nkey.Account, 6)
	cluster := testKey(t, nkey.Cluster, 3)
	bins := binaries()
	meta := providerMeta(bins)
	good := signed(t, account, wascap.Claims{}, meta)

	tampered := binaries()
	tampered["x86_64-linux"] = append([]byte(nil), tampered["x86_64-linux"]...)
	tampered["x86_64-linux"][5] ^= 1

	withoutLinux := binaries()
	delete(withoutLinux, "x86_64-linux")

	extra := binaries()
	extra["riscv64-linux"] = []byte("unsigned")

	// A forged token: the example account's key in iss, signed by another account.
	forged := func() string {
		parts := strings.Split(good, ".")
		other := strings.Split(signed(t, other, wascap.Claims{}, meta), ".")
		return parts[0] + "." + parts[1] + "." + other[2]
	}()
	// Edited claims: a hash swapped after signing.
	edited := func() string {
		parts := strings.Split(good, ".")
		body := mustDecode(t, parts[1])
		body = bytes.Replace(body, []byte(meta.TargetHashes["x86_64-linux"]), []byte(hexUpperSHA256(tampered["x86_64-linux"])), 1)
		return parts[0] + "." + b64(body) + "." + parts[2]
	}()
	noCapID := meta
	noCapID.CapID = ""
	linuxOnly := map[string][]byte{"x86_64-linux": bins["x86_64-linux"]}

	tests := []struct {
		name    string
		archive []byte
		target  string
		opts    VerifyOptions
		want    []error
		msg     string
	}{
		{"tampered binary", parOf(t, good, tampered), "x86_64-linux", VerifyOptions{}, []error{ErrHashMismatch},
			"the binary for x86_64-linux does not match its signed hash: token says "},
		{"missing target", parOf(t, good, withoutLinux), "x86_64-linux", VerifyOptions{}, []error{ErrNoBinary},
			"no binary for x86_64-linux: the archive holds aarch64-linux, aarch64-macos"},
		{"unknown target", parOf(t, good, bins), "sparc64-solaris", VerifyOptions{}, []error{ErrNoBinary}, "no binary for sparc64-solaris"},
		{"no target", parOf(t, good, bins), "", VerifyOptions{}, []error{ErrNoBinary}, "no binary for the target: no target was named"},
		{"unsigned binary", parOf(t, good, extra), "riscv64-linux", VerifyOptions{}, []error{ErrUnsignedBinary},
			"the binary for riscv64-linux has no signed hash"},
		{"garbage token", parOf(t, "not a token", bins), "x86_64-linux", VerifyOptions{}, []error{ErrMalformedToken, wascap.ErrSegments},
			"malformed token"},
		{"truncated token", parOf(t, good[:len(good)-20], bins), "x86_64-linux", VerifyOptions{}, []error{ErrMalformedToken}, ""},
		{"forged signature", parOf(t, forged, bins), "x86_64-linux", VerifyOptions{}, []error{ErrBadSignature}, ""},
		{"edited claims", parOf(t, edited, tampered), "x86_64-linux", VerifyOptions{}, []error{ErrBadSignature}, ""},
		{"untrusted issuer", parOf(t, good, bins), "x86_64-linux",
			VerifyOptions{TrustedIssuers: []string{other.Public().String()}}, []error{ErrUntrustedIssuer}, account.Public().String()},
		{"cluster issuer", parOf(t, signed(t, cluster, wascap.Claims{}, meta), bins), "x86_64-linux", VerifyOptions{},
			[]error{ErrIssuer, nkey.ErrWrongType}, ""},
		{"expired", parOf(t, signed(t, account, wascap.Claims{Expires: now.Add(-time.Minute).Unix()}, meta), bins), "x86_64-linux",
			VerifyOptions{}, []error{ErrExpired, wascap.ErrExpired}, ""},
		{"not yet valid", parOf(t, signed(t, account, wascap.Claims{NotBefore: now.Add(time.Minute).Unix()}, meta), bins), "x86_64-linux",
			VerifyOptions{}, []error{ErrNotYetValid}, ""},
		{"module subject", parOf(t, signed(t, account, wascap.Claims{Subject: testKey(t, nkey.Module, 4).Public().String()}, meta), bins),
			"x86_64-linux", VerifyOptions{}, []error{ErrSubject, nkey.ErrWrongType}, "want service"},
		{"actor token", parOf(t, actorToken(t, "echo.wasm"), bins), "x86_64-linux", VerifyOptions{}, []error{ErrNotProvider},
			"it carries actor metadata"},
		{"actor metadata for a service key", parOf(t, signed(t, account, wascap.Claims{},
			wascap.Actor{Name: "echo", Hash: meta.TargetHashes["x86_64-linux"], Tags: []string{}}), bins),
			"x86_64-linux", VerifyOptions{}, []error{ErrNotProvider}, ""},
		{"no metadata", parOf(t, signed(t, account, wascap.Claims{}, nil), bins), "x86_64-linux", VerifyOptions{},
			[]error{ErrMetadata, wascap.ErrNoMetadata}, ""},
		{"no capid", parOf(t, signed(t, account, wascap.Claims{}, noCapID), bins), "x86_64-linux", VerifyOptions{},
			[]error{ErrMetadata, wascap.ErrMetadata}, "empty capid"},
		{"bad world hash", func() []byte {
			m := providerMeta(linuxOnly)
			m.TargetHashes[WorldEntry] = m.TargetHashes["x86_64-linux"]
			return gz(t, tarOf(t, file{name: TokenEntry, data: []byte(signed(t, account, wascap.Claims{}, m))},
				file{name: WorldEntry, data: []byte("\x00asm")}, file{name: "x86_64-linux.bin", data: bins["x86_64-linux"]}))
		}(), "x86_64-linux", VerifyOptions{}, []error{ErrHashMismatch}, "the binary for world.wasm does not match"},
		{"unsigned world", gz(t, tarOf(t, file{name: TokenEntry, data: []byte(signed(t, account, wascap.Claims{}, providerMeta(linuxOnly)))},
			file{name: WorldEntry, data: []byte("\x00asm")}, file{name: "x86_64-linux.bin", data: bins["x86_64-linux"]})),
			"x86_64-linux", VerifyOptions{}, []error{ErrUnsignedBinary}, "world.wasm has no signed hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := read(t, tc.archive)
			opts := tc.opts
			opts.Now = now
			c, err := Verify(a, tc.target, opts)
			if c != nil {
				t.Fatalf("claims returned with a refusal: %+v", c)
			}
			for _, want := range tc.want {
				require.ErrorIs(t, err, want)
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("%T is not a *VerifyError", err)
			}
			for _, reason := range allReasons {
				if reason != tc.want[0] && errors.Is(err, reason) {
					t.Fatalf("error %v also matches %v", err, reason)
				}
			}
			if !strings.HasPrefix(err.Error(), "par: archive refused: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error text %q, want %q", err, tc.msg)
			}
			// Inspect refuses it for the same reason, except where only the asked-for target was wrong, and
			// still shows what the token claims when it decodes.
			r, ierr := Inspect(a, opts)
			if tc.target == "sparc64-solaris" || tc.target == "" {
				if ierr != nil {
					t.Fatalf("Inspect: %v", ierr)
				}
				return
			}
			if ierr == nil || !errors.Is(ierr, tc.want[0]) {
				t.Fatalf("Inspect: %v, want %v", ierr, tc.want[0])
			}
			if r == nil || len(r.Targets) == 0 {
				t.Fatalf("Inspect report %+v", r)
			}
			if _, perr := wascap.Parse(a.Token()); perr == nil && (r.Claims == nil || r.Claims.Issuer == "") {
				t.Fatalf("Inspect shows no claims for a decodable token: %+v", r.Claims)
			}
		})
	}
}

// allReasons are the refusal reasons of Verify; each refusal matches exactly one.
var allReasons = []error{ErrMalformedToken, ErrIssuer, ErrBadSignature, ErrUntrustedIssuer, ErrNotProvider, ErrSubject,
	ErrMetadata, ErrExpired, ErrNotYetValid, ErrNoBinary, ErrUnsignedBinary, ErrHashMismatch}

func TestVerifyTime(t *testing.T) {
	account := testKey(t, nkey.Account, 1)
	bins := binaries()
	exp := now.Add(-5 * time.Second).Unix()
	a := read(t, parOf(t, signed(t, account, wascap.Claims{Expires: exp}, providerMeta(bins)), bins))
	if _, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now, Skew: 5 * time.Second}); err != nil {
		t.Fatalf("within skew: %v", err)
	}
	_, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now, Skew: 4 * time.Second})
	require.ErrorIs(t, err, ErrExpired)
	_, err = Verify(a, "x86_64-linux", VerifyOptions{}) // the wall clock is long past 2023
	require.ErrorIs(t, err, ErrExpired)
}

// Inspect reports every target: matching, tampered, missing and unsigned.
func TestInspectTargets(t *testing.T) {
	account := testKey(t, nkey.Account, 1)
	bins := binaries()
	meta := providerMeta(bins)
	meta.TargetHashes["x86_64-windows"] = meta.TargetHashes["x86_64-linux"] // signed, but not in the archive
	got := binaries()
	delete(got, "aarch64-linux")
	got["x86_64-linux"] = []byte("tampered")
	got["riscv64-linux"] = []byte("unsigned")
	a := read(t, parOf(t, signed(t, account, wascap.Claims{}, meta), got))
	r, err := Inspect(a, VerifyOptions{Now: now})
	require.ErrorIs(t, err, ErrNoBinary) // aarch64-linux comes first
	type row struct {
		target       string
		signed, have bool
		ok           bool
	}
	var rows []row
	for _, s := range r.Targets {
		rows = append(rows, row{s.Target, s.SignedHash != "", s.Hash != "", s.OK()})
	}
	want := []row{
		{"aarch64-linux", true, false, false},
		{"aarch64-macos", true, true, true},
		{"riscv64-linux", false, true, false},
		{"x86_64-linux", true, true, false},
		{"x86_64-windows", true, false, false},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Fatalf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	if r.Claims == nil || r.Claims.CapID != "wasmcloud:example" {
		t.Fatalf("claims %+v", r.Claims)
	}
}

// A config schema of any JSON value comes back as signed.
func TestConfigSchema(t *testing.T) {
	o := exampleOptions(t)
	o.ConfigSchema = json.RawMessage(`[1, "two", {"three": 3}]`)
	c, err := Verify(read(t, create(t, o)), "aarch64-macos", VerifyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.ConfigSchema) != `[1,"two",{"three":3}]` {
		t.Fatalf("schema %s", c.ConfigSchema)
	}
}
