package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

func TestKeysGen(t *testing.T) {
	tests := []struct {
		name string
		typ  nkey.Type
	}{
		{"account", nkey.Account},
		{"module", nkey.Module},
		{"service", nkey.Service},
		{"server", nkey.Server},
		{"operator", nkey.Operator},
		{"cluster", nkey.Cluster},
		{"user", nkey.User},
		{"actor", nkey.Module},
		{"provider", nkey.Service},
		{"host", nkey.Server},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/text", func(t *testing.T) {
			r := runCLI(t, "keys", "gen", tc.name)
			r.wantSuccess(t)
			lines := strings.Split(r.stdout, "\n")
			if len(lines) != 4 || lines[3] != "" || lines[2]+"\n" != seedReminder {
				t.Fatalf("want Public Key, Seed and the reminder, got %q", r.stdout)
			}
			pub, ok1 := strings.CutPrefix(lines[0], "Public Key: ")
			seed, ok2 := strings.CutPrefix(lines[1], "Seed: ")
			if !ok1 || !ok2 {
				t.Fatalf("unexpected layout: %q", r.stdout)
			}
			checkKeyPair(t, tc.typ, pub, seed)
		})
		t.Run(tc.name+"/json", func(t *testing.T) {
			r := runCLI(t, "keys", "gen", "--json", tc.name)
			r.wantSuccess(t)
			var doc struct {
				PublicKey string `json:"public_key"`
				Seed      string `json:"seed"`
			}
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("decode %q: %v", r.stdout, err)
			}
			if dec.More() || !strings.HasSuffix(r.stdout, "}\n") {
				t.Fatalf("stdout is not exactly one JSON document: %q", r.stdout)
			}
			checkKeyPair(t, tc.typ, doc.PublicKey, doc.Seed)
		})
	}
}

// checkKeyPair parses a printed key pair back and checks its type and that the seed derives the key.
func checkKeyPair(t *testing.T, typ nkey.Type, pub, seed string) {
	t.Helper()
	kp, err := nkey.ParseSeedOf([]byte(seed), typ)
	if err != nil {
		t.Fatalf("printed seed: %v", err)
	}
	defer kp.Wipe()
	p, err := nkey.ParsePublicOf(pub, typ)
	if err != nil {
		t.Fatalf("printed public key %q: %v", pub, err)
	}
	if kp.Public() != p {
		t.Fatalf("seed derives %s, printed public key is %s", kp.Public(), pub)
	}
	if pub[0] != typ.Letter() || seed[:2] != "S"+string(typ.Letter()) {
		t.Fatalf("prefixes %q/%q for a %s key", pub[:1], seed[:2], typ)
	}
}

func TestKeysGenIsRandom(t *testing.T) {
	a := runCLI(t, "keys", "gen", "cluster", "--json")
	b := runCLI(t, "keys", "gen", "cluster", "--json")
	a.wantSuccess(t)
	b.wantSuccess(t)
	if a.stdout == b.stdout {
		t.Fatalf("two runs printed the same key pair: %s", a.stdout)
	}
}

func TestKeysGenSeedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.nk")
	r := runCLI(t, "keys", "gen", "cluster", "--seed-file", path)
	r.wantSuccess(t)
	pub, ok := strings.CutPrefix(strings.Split(r.stdout, "\n")[0], "Public Key: ")
	seed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || strings.Contains(r.stdout, strings.TrimSpace(string(seed))) {
		t.Fatalf("stdout %q", r.stdout)
	}
	checkKeyPair(t, nkey.Cluster, pub, strings.TrimSpace(string(seed)))
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// An existing file is never overwritten.
	again := runCLI(t, "keys", "gen", "cluster", "--seed-file", path)
	if again.code != exitFailure || !strings.Contains(again.stderr, "exists") {
		t.Fatalf("second run: %+v", again)
	}
	if b, _ := os.ReadFile(path); string(b) != string(seed) {
		t.Fatal("seed file overwritten")
	}
}
