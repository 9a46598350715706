package par

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// fuzzLimits keep each fuzz input cheap while leaving room for several entries.
var fuzzLimits = Limits{MaxEntries: 16, MaxEntrySize: 256 << 10, MaxTotalSize: 1 << 20}

func FuzzRead(f *testing.F) {
	example, err := os.ReadFile("testdata/example.par.gz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(gunzip(f, example))
	token := signed(f, testKey(f, nkey.Account, 1), wascap.Claims{}, providerMeta(binaries()))
	claims := file{name: TokenEntry, data: []byte(token)}
	f.Add(tarOf(f, claims, file{name: "x86_64-linux.bin", data: []byte("bin")}, file{name: WorldEntry, data: []byte("w")}))
	f.Add(tarOf(f, claims, file{name: "../x86_64-linux.bin", data: []byte("bin")}))
	f.Add(tarOf(f, claims, file{name: "x86_64-linux.bin", typ: '2', linkname: "/bin/sh"}))
	f.Add(tarOf(f, claims, claims))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadWith(bytes.NewReader(b), ReadOptions{Limits: fuzzLimits})
		if err != nil {
			if a != nil {
				t.Fatal("an archive returned with an error")
			}
			if !matchesOne(err, readReasons) {
				t.Fatalf("error %v matches no read reason", err)
			}
			return
		}
		targets := a.Targets()
		if len(targets) == 0 {
			t.Fatal("an archive without binaries")
		}
		var total int64
		for _, target := range targets {
			if !ValidTarget(target) {
				t.Fatalf("invalid target %q accepted", target)
			}
			h, _ := a.Hash(target)
			bin, ok := a.Binary(target)
			if !ok || hexUpperSHA256(bin) != h {
				t.Fatalf("binary %s: hash %s, kept %v", target, h, ok)
			}
			total += int64(len(bin))
		}
		if total > fuzzLimits.MaxTotalSize {
			t.Fatalf("%d bytes of binaries kept", total)
		}
		r, ierr := Inspect(a, VerifyOptions{})
		if r == nil {
			t.Fatal("Inspect returned no report")
		}
		if ierr != nil && !matchesOne(ierr, allReasons) {
			t.Fatalf("Inspect: %v matches no reason", ierr)
		}
		if _, err := Verify(a, targets[0], VerifyOptions{}); err == nil && ierr != nil && !errors.Is(ierr, ErrNoBinary) &&
			!errors.Is(ierr, ErrHashMismatch) && !errors.Is(ierr, ErrUnsignedBinary) {
			t.Fatalf("Verify accepts what Inspect refuses for a reason not about other targets: %v", ierr)
		}
	})
}

// FuzzVerify decodes and verifies fuzzed provider tokens in an archive of fixed binaries.
func FuzzVerify(f *testing.F) {
	account := testKey(f, nkey.Account, 1)
	bins := binaries()
	meta := providerMeta(bins)
	f.Add(signed(f, account, wascap.Claims{}, meta))
	f.Add(signed(f, account, wascap.Claims{Expires: 1}, meta))
	f.Add(signed(f, account, wascap.Claims{Subject: testKey(f, nkey.Module, 4).Public().String()}, meta))
	f.Add(actorToken(f, "echo.wasm"))
	f.Add("a.b.c")
	f.Add("")
	a := read(f, parOf(f, signed(f, account, wascap.Claims{}, meta), bins))
	f.Fuzz(func(t *testing.T, token string) {
		a := &Archive{token: token, binaries: a.binaries}
		c, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now})
		r, ierr := Inspect(a, VerifyOptions{Now: now})
		if err != nil {
			if c != nil || !matchesOne(err, allReasons) {
				t.Fatalf("refusal %v with claims %v", err, c)
			}
			if ierr == nil {
				t.Fatalf("Inspect accepts what Verify refuses: %v", err)
			}
			return
		}
		if nkey.CheckID(c.Issuer, nkey.Account) != nil || nkey.CheckID(c.Subject, nkey.Service) != nil || c.CapID == "" {
			t.Fatalf("accepted claims %+v", c)
		}
		if c.TargetHashes["x86_64-linux"] != hexUpperSHA256(bins["x86_64-linux"]) {
			t.Fatalf("accepted hashes %v", c.TargetHashes)
		}
		if r.Claims == nil {
			t.Fatal("Inspect shows no claims for a valid token")
		}
	})
}

// matchesOne reports whether err matches exactly one of reasons.
func matchesOne(err error, reasons []error) bool {
	n := 0
	for _, r := range reasons {
		if errors.Is(err, r) {
			n++
		}
	}
	return n == 1
}
