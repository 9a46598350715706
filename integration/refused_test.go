package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// TestRefusedModules starts a host whose WASMCLOUD_START_ACTORS names modules that must not run, and echo:
// the host serves echo and logs, for each refused module, one line that names it and the reason. A
// reference the host will never load (a file while file loads are not allowed) is a configuration error: that
// host exits 1 before it is ready, with one error line.
func TestRefusedModules(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	echo := testutil.Actor(t, "echo.wasm")
	dir := t.TempDir()
	write := func(name string, wasm []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notYet := filepath.Join(dir, "not-yet.wasm")
	if r := cli(t, nil, "claims", "sign", testutil.Path("actors/echo.wasm"), "-o", notYet, "--name", "echo",
		"--issuer", "@"+writeSecret(t, "account.nk", []byte(newKey(t, nkeys.PrefixByteAccount).seed)), "--not-before", "1h"); r.code != 0 {
		t.Fatalf("claims sign --not-before: exit status %d, stderr %q", r.code, r.stderr)
	}

	tests := []struct {
		name   string
		module string
		want   []string // in the log line, besides the module path
	}{
		{name: "unsigned", module: write("unsigned.wasm", strip(t, echo)), want: []string{"not signed"}},
		{name: "code byte flipped", module: write("flipped.wasm", flipCode(t, echo)), want: []string{"hash does not match"}},
		{name: "caps widened without re-signing", module: write("widened.wasm", widenCaps(t, echo, "wasmcloud:keyvalue")), want: []string{"token signature does not verify"}},
		{name: "not valid yet", module: notYet, want: []string{"not valid yet"}},
	}
	refs := []string{testutil.Path("actors/echo.wasm")}
	for _, tt := range tests {
		refs = append(refs, tt.module)
	}
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", strings.Join(refs, ",")))
	require.Equal(t, "echo", callOK(t, e, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := h.logLine(t, `msg="actor failed to start"`, "ref="+tt.module)
			contains(t, "log line", line, tt.want...)
		})
	}
	t.Run("file load not allowed", func(t *testing.T) {
		module := testutil.Path("actors/echo.wasm")
		stderr := startFails(t, "host", latticeEnv(t, srv, c).with("WASMCLOUD_START_ACTORS", module, "WASMCLOUD_ALLOW_FILE_LOAD", "false"))
		contains(t, "error line", errorLine(t, stderr), module, "WASMCLOUD_ALLOW_FILE_LOAD")
	})
}

// errorLine returns the one line of a failed start's stderr that is not a log line: the error that
// run prints, "wasmcloud-host: …". Log lines of the shutdown that follows a failed start may come
// before or after it.
func errorLine(t testing.TB, stderr string) string {
	t.Helper()
	var found []string
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "wasmcloud-host: ") {
			found = append(found, strings.TrimSuffix(line, "\n"))
		}
	}
	if len(found) != 1 {
		t.Fatalf("stderr has %d error lines, want 1:\n%s", len(found), stderr)
	}
	return found[0]
}

// strip removes the token section, as if the module had never been signed.
func strip(t testing.TB, wasm []byte) []byte {
	t.Helper()
	out, err := wasmbin.Strip(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// flipCode returns a copy of wasm with one byte in the middle of its code section inverted.
func flipCode(t testing.TB, wasm []byte) []byte {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Sections {
		if s.ID == wasmbin.CodeSectionID {
			out := bytes.Clone(wasm)
			out[s.ContentOffset+s.Size()/2] ^= 0xff
			return out
		}
	}
	t.Fatal("module has no code section")
	return nil
}

// widenCaps adds a capability to the token's claims and puts the token back with its old signature, as
// someone would who wants more rights than the issuer granted.
func widenCaps(t testing.TB, wasm []byte, capability string) []byte {
	t.Helper()
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	toks := m.TokenSections()
	if len(toks) != 1 {
		t.Fatalf("module has %d token sections, want 1", len(toks))
	}
	parts := strings.Split(string(toks[0].Payload()), ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	wascap, ok := claims["wascap"].(map[string]any)
	if !ok {
		t.Fatalf("token claims have no wascap object: %s", raw)
	}
	caps, _ := wascap["caps"].([]any)
	wascap["caps"] = append(caps, capability)
	if raw, err = json.Marshal(claims); err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	out, err := wasmbin.Embed(wasm, []byte(strings.Join(parts, ".")))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
