package actor

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// newTestRuntime returns a Runtime closed when the test ends.
func newTestRuntime(tb testing.TB, cfg RuntimeConfig) *Runtime {
	tb.Helper()
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("NewRuntime: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// newTestActor compiles wasm and creates an Actor, both closed when the test ends.
func newTestActor(tb testing.TB, r *Runtime, name string, wasm []byte, cfg ActorConfig) *Actor {
	tb.Helper()
	m, err := r.Compile(context.Background(), name, wasm)
	if err != nil {
		tb.Fatalf("Compile %s: %v", name, err)
	}
	a, err := r.NewActor(context.Background(), m, cfg)
	if err != nil {
		tb.Fatalf("NewActor %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func assertBytes(tb testing.TB, what string, got, want []byte) {
	tb.Helper()
	if !bytes.Equal(got, want) {
		tb.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// assertErrorIs checks that err matches every target and that its text contains every fragment.
func assertErrorIs(tb testing.TB, err error, targets []error, fragments ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			tb.Errorf("error %q does not match %v", err, target)
		}
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			tb.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// assertGuestError checks that err is a *GuestError with exactly this operation and message.
func assertGuestError(tb testing.TB, err error, op, msg string) {
	tb.Helper()
	var ge *GuestError
	if !errors.As(err, &ge) {
		tb.Fatalf("got %v, want a *GuestError", err)
	}
	if ge.Operation != op || ge.Message != msg {
		tb.Errorf("got GuestError{%q, %q}, want {%q, %q}", ge.Operation, ge.Message, op, msg)
	}
	if !errors.Is(err, ErrGuest) {
		tb.Errorf("GuestError does not match ErrGuest")
	}
}

// transcript is one recorded invocation from testdata/transcripts.json.
type transcript struct {
	Actor     string `json:"actor"`
	Name      string `json:"name"`
	Operation string `json:"operation"`
	Request   string `json:"request"`
	HostCalls []struct {
		Binding   string `json:"binding"`
		Namespace string `json:"namespace"`
		Operation string `json:"operation"`
		Payload   string `json:"payload"`
		Reply     string `json:"reply"`
	} `json:"host_calls"`
	GuestCallResult *int    `json:"guest_call_result"`
	Response        *string `json:"response"`
	GuestError      string  `json:"guest_error"`
	Trap            string  `json:"trap"`
}

func loadTranscripts(tb testing.TB) []transcript {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "transcripts.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Transcripts []transcript `json:"transcripts"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	if len(doc.Transcripts) == 0 {
		tb.Fatal("no transcripts")
	}
	return doc.Transcripts
}

// TestTranscripts replays every recorded invocation against its fixture, in order, on one Actor per
// fixture: the request bytes go in, each host call must match the recording (and gets the recorded
// reply), and the response, guest error or trap must match exactly. A trap must leave the Actor
// answering the calls that follow it.
func TestTranscripts(t *testing.T) {
	all := loadTranscripts(t)
	var actors []string
	byActor := map[string][]transcript{}
	for _, tr := range all {
		if _, ok := byActor[tr.Actor]; !ok {
			actors = append(actors, tr.Actor)
		}
		byActor[tr.Actor] = append(byActor[tr.Actor], tr)
	}
	if len(actors) != 5 || len(all) != 22 {
		t.Fatalf("got %d transcripts for %d actors, want 22 for 5", len(all), len(actors))
	}
	r := newTestRuntime(t, RuntimeConfig{})
	for _, name := range actors {
		t.Run(name, func(t *testing.T) {
			var current *transcript
			var hostCalls int
			hostCall := func(_ context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
				if hostCalls >= len(current.HostCalls) {
					t.Errorf("unexpected host call %s %s %s %x", binding, namespace, operation, payload)
					return nil, errors.New("unexpected")
				}
				want := current.HostCalls[hostCalls]
				hostCalls++
				if binding != want.Binding || namespace != want.Namespace || operation != want.Operation {
					t.Errorf("host call (%q, %q, %q), want (%q, %q, %q)", binding, namespace, operation,
						want.Binding, want.Namespace, want.Operation)
				}
				assertBytes(t, "host call payload", payload, mustHex(t, want.Payload))
				return mustHex(t, want.Reply), nil
			}
			a := newTestActor(t, r, name, testutil.Actor(t, name), ActorConfig{HostCall: hostCall})
			for i, tr := range byActor[name] {
				t.Run(fmt.Sprintf("%d %s", i+1, tr.Name), func(t *testing.T) {
					current, hostCalls = &tr, 0
					resp, err := a.Call(context.Background(), tr.Operation, mustHex(t, tr.Request))
					if hostCalls != len(tr.HostCalls) {
						t.Errorf("made %d host calls, want %d", hostCalls, len(tr.HostCalls))
					}
					switch {
					case tr.Trap != "":
						assertErrorIs(t, err, []error{ErrTrap}, tr.Trap, tr.Operation)
						if idle, busy := a.Instances(); idle != 0 || busy != 0 {
							t.Errorf("trapped instance kept: %d idle, %d busy", idle, busy)
						}
					case tr.GuestError != "":
						assertGuestError(t, err, tr.Operation, tr.GuestError)
					default:
						require.NoError(t, err)
						assertBytes(t, "response", resp, mustHex(t, *tr.Response))
					}
				})
			}
		})
	}
}

// TestHostCallErrorReachesGuest checks that a failing host call returns 0 to the guest with the error
// readable: kvcounter turns it into an HTTP 500 whose body carries the host's error text.
func TestHostCallErrorReachesGuest(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "kvcounter.wasm", testutil.Actor(t, "kvcounter.wasm"), ActorConfig{
		HostCall: func(context.Context, string, string, string, []byte) ([]byte, error) {
			return nil, errors.New("kv store down")
		},
	})
	req := mustHex(t, "85a4626f6479a568656c6c6fa668656164657280a66d6574686f64a3474554a470617468a12fab7175657279537472696e67a0")
	resp, err := a.Call(context.Background(), "HttpServer.HandleRequest", req)
	require.NoError(t, err)

	want := msgp.AppendMapHeader(nil, 3)
	want = msgp.AppendString(want, "body")
	want = msgp.AppendBytes(want, []byte(`{"error":"Host send error kv store down"}`))
	want = msgp.AppendString(want, "header")
	want = msgp.AppendMapHeader(want, 0)
	want = msgp.AppendString(want, "statusCode")
	want = msgp.AppendUint16(want, 500)
	assertBytes(t, "response", resp, want)
}

// TestWapcActor runs the waPC-era fixture, which imports the ABI from "wapc" and registers its
// handlers in wapc_init: it must log through three host calls and answer HandleRequest, answer
// HealthRequest, and report a clean guest error for an unknown operation.
func TestWapcActor(t *testing.T) {
	type logCall struct{ target, level, text string }
	var logged []logCall
	r := newTestRuntime(t, RuntimeConfig{})
	a := newTestActor(t, r, "wascap_logger.wasm", testutil.Actor(t, "wascap_logger.wasm"), ActorConfig{
		HostCall: func(_ context.Context, binding, namespace, operation string, payload []byte) ([]byte, error) {
			if binding != "default" || namespace != "wasmcloud:logging" || operation != "WriteLog" {
				t.Errorf("host call (%q, %q, %q)", binding, namespace, operation)
			}
			var c logCall
			n, rest, err := msgp.ReadMapHeaderBytes(payload)
			for i := uint32(0); err == nil && i < n; i++ {
				var k, v string
				if k, rest, err = msgp.ReadStringBytes(rest); err == nil {
					v, rest, err = msgp.ReadStringBytes(rest)
				}
				switch k {
				case "target":
					c.target = v
				case "level":
					c.level = v
				case "text":
					c.text = v
				}
			}
			if err != nil {
				t.Errorf("decode WriteLog payload %x: %v", payload, err)
			}
			logged = append(logged, c)
			return []byte{}, nil
		},
	})

	req := mustHex(t, "85a4626f6479a568656c6c6fa668656164657280a66d6574686f64a3474554a470617468a12fab7175657279537472696e67a0")
	resp, err := a.Call(context.Background(), "HandleRequest", req)
	require.NoError(t, err)
	want := msgp.AppendMapHeader(nil, 4)
	want = msgp.AppendString(want, "statusCode")
	want = msgp.AppendUint8(want, 200)
	want = msgp.AppendString(want, "status")
	want = msgp.AppendString(want, "OK")
	want = msgp.AppendString(want, "header")
	want = msgp.AppendMapHeader(want, 0)
	want = msgp.AppendString(want, "body")
	want = msgp.AppendBytes(want, []byte{})
	assertBytes(t, "HandleRequest response", resp, want)
	wantLogs := []logCall{
		{"LOGGING_ACTORINFO", "info", "Coercing Rust String to str"},
		{"GETLOG", "info", "Received a GET request"},
		{"LOGGING_ACTORINFO", "debug", "Finished matching HTTP method, returning OK"},
	}
	if fmt.Sprint(logged) != fmt.Sprint(wantLogs) {
		t.Errorf("logged %v, want %v", logged, wantLogs)
	}

	resp, err = a.Call(context.Background(), "HealthRequest", mustHex(t, "81ab706c616365686f6c646572c3"))
	require.NoError(t, err)
	assertBytes(t, "HealthRequest response", resp, mustHex(t, "82a76865616c746879c3a76d657373616765a0"))

	_, err = a.Call(context.Background(), "Nope.Unknown", []byte{0x80})
	assertGuestError(t, err, "Nope.Unknown", `No handler registered for function "Nope.Unknown"`)
}

// TestCompileRefuses checks that modules the host cannot run are refused at Compile with a clear error.
func TestCompileRefuses(t *testing.T) {
	echo := testutil.Actor(t, "echo.wasm")
	guestCall := wasmFunc{export: "__guest_call", typ: typeIII, body: i32c(1)}
	two := uint32(2)
	tests := []struct {
		name    string
		cfg     RuntimeConfig
		wasm    []byte
		want    []error
		wantMsg string
	}{
		{name: "empty", wasm: nil, want: []error{ErrInvalidModule}},
		{name: "not wasm", wasm: []byte("hello, world"), want: []error{ErrInvalidModule}},
		{name: "truncated actor", wasm: echo[:len(echo)/2], want: []error{ErrInvalidModule}},
		{name: "corrupt section size", wasm: []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x0f"), want: []error{ErrInvalidModule}},
		{
			name: "no __guest_call",
			wasm: wasmModule{funcs: []wasmFunc{{export: "other", typ: typeIII, body: i32c(1)}}, memMin: 1, memExport: "memory"}.assemble(),
			want: []error{ErrNoGuestCall}, wantMsg: "test.wasm",
		},
		{
			name: "__guest_call with the wrong signature",
			wasm: wasmModule{funcs: []wasmFunc{{export: "__guest_call", typ: typeToI, body: i32c(1)}}, memMin: 1, memExport: "memory"}.assemble(),
			want: []error{ErrNoGuestCall},
		},
		{
			name: "memory not exported",
			wasm: wasmModule{funcs: []wasmFunc{guestCall}, memMin: 1}.assemble(),
			want: []error{ErrNoMemory},
		},
		{
			name: "memory exported under another name",
			wasm: wasmModule{funcs: []wasmFunc{guestCall}, memMin: 1, memExport: "mem"}.assemble(),
			want: []error{ErrNoMemory},
		},
		{
			name: "no memory at all",
			wasm: wasmModule{funcs: []wasmFunc{guestCall}, noMemory: true}.assemble(),
			want: []error{ErrNoMemory},
		},
		{
			name: "memory minimum above the default limit",
			wasm: wasmModule{funcs: []wasmFunc{guestCall}, memMin: 1025, memExport: "memory"}.assemble(),
			want: []error{ErrMemoryLimit}, wantMsg: "at least 1025 pages of memory, the limit is 1024",
		},
		{
			name: "memory minimum above a configured limit",
			cfg:  RuntimeConfig{MemoryLimitPages: 1},
			wasm: wasmModule{funcs: []wasmFunc{guestCall}, memMin: 2, memMax: &two, memExport: "memory"}.assemble(),
			want: []error{ErrMemoryLimit}, wantMsg: "at least 2 pages",
		},
		{
			name: "fixture above a small limit",
			cfg:  RuntimeConfig{MemoryLimitPages: 8},
			wasm: echo,
			want: []error{ErrMemoryLimit}, wantMsg: "at least 17 pages",
		},
		{
			name: "unknown import",
			wasm: wasmModule{imports: []wasmImport{{"env", "abort", typeNone}}, funcs: []wasmFunc{guestCall}, memMin: 1, memExport: "memory"}.assemble(),
			want: []error{ErrInvalidModule}, wantMsg: "imports function env.abort, which the host does not provide",
		},
		{
			name: "ABI import with the wrong signature",
			wasm: wasmModule{imports: []wasmImport{{"wasmbus", "__guest_request", typeI}}, funcs: []wasmFunc{guestCall}, memMin: 1, memExport: "memory"}.assemble(),
			want: []error{ErrInvalidModule}, wantMsg: "wasmbus.__guest_request with signature [i32] -> [], the host's is [i32 i32] -> []",
		},
		{
			name: "_start with parameters",
			wasm: wasmModule{funcs: []wasmFunc{guestCall, {export: "_start", typ: typeI}}, memMin: 1, memExport: "memory"}.assemble(),
			want: []error{ErrInvalidModule}, wantMsg: "export _start must take and return nothing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRuntime(t, tt.cfg)
			m, err := r.Compile(context.Background(), "test.wasm", tt.wasm)
			if m != nil {
				t.Errorf("got a module")
			}
			assertErrorIs(t, err, tt.want, tt.wantMsg)
		})
	}
}

func TestNewRuntimeRefusesBadLimit(t *testing.T) {
	_, err := NewRuntime(context.Background(), RuntimeConfig{MemoryLimitPages: 65537})
	if err == nil || !strings.Contains(err.Error(), "65537 pages is above the wasm maximum of 65536") {
		t.Fatalf("got %v", err)
	}
}

func TestNewActorRefusesBadConfig(t *testing.T) {
	r := newTestRuntime(t, RuntimeConfig{})
	m, err := r.Compile(context.Background(), "guest", testGuest(moduleWasmbus, nil))
	require.NoError(t, err)
	other := newTestRuntime(t, RuntimeConfig{})
	tests := []struct {
		name string
		rt   *Runtime
		cfg  ActorConfig
		want string
	}{
		{name: "negative instances", rt: r, cfg: ActorConfig{MaxInstances: -1}, want: "MaxInstances is -1"},
		{name: "negative timeout", rt: r, cfg: ActorConfig{CallTimeout: -time.Second}, want: "CallTimeout is -1s"},
		{name: "module of another runtime", rt: other, want: "not compiled by this runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.rt.NewActor(context.Background(), m, tt.cfg)
			if a != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error containing %q", a, err, tt.want)
			}
		})
	}
}

// cacheSnapshot lists every file under dir with its size and modification time.
func cacheSnapshot(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = fmt.Sprint(info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestCompilationCache checks that compiling fills CacheDir and that a second runtime on the same
// directory compiles from it (writing nothing) and runs the actor.
func TestCompilationCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	echo := testutil.Actor(t, "echo.wasm")
	health := func(r *Runtime) {
		t.Helper()
		a := newTestActor(t, r, "echo.wasm", echo, ActorConfig{})
		resp, err := a.Call(context.Background(), "Actor.HealthRequest", []byte{0x80})
		require.NoError(t, err)
		assertBytes(t, "health", resp, mustHex(t, "81a76865616c746879c3"))
	}

	r1, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: dir})
	require.NoError(t, err)
	health(r1)
	require.NoError(t, r1.Close(context.Background()))
	first := cacheSnapshot(t, dir)
	if len(first) == 0 {
		t.Fatalf("cache dir %s is empty after compiling", dir)
	}

	r2 := newTestRuntime(t, RuntimeConfig{CacheDir: dir})
	health(r2)
	if second := cacheSnapshot(t, dir); fmt.Sprint(second) != fmt.Sprint(first) {
		t.Errorf("second runtime rewrote the cache:\nbefore %v\nafter  %v", first, second)
	}
}

func TestCacheDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: file})
	if err == nil || !strings.Contains(err.Error(), "compilation cache") {
		t.Fatalf("got %v", err)
	}
}

// TestClosedRuntime checks that everything created from a closed Runtime fails with ErrClosed.
func TestClosedRuntime(t *testing.T) {
	r, err := NewRuntime(context.Background(), RuntimeConfig{})
	require.NoError(t, err)
	guest := testGuest(moduleWasmbus, nil)
	m, err := r.Compile(context.Background(), "guest", guest)
	require.NoError(t, err)
	a, err := r.NewActor(context.Background(), m, ActorConfig{MaxInstances: 2})
	require.NoError(t, err)
	require.NoError(t, r.Close(context.Background()))
	require.NoError(t, r.Close(context.Background())) // idempotent

	_, err = a.Call(context.Background(), opEcho, []byte("x"))
	assertErrorIs(t, err, []error{ErrClosed}, opEcho)
	_, err = r.Compile(context.Background(), "guest", guest)
	assertErrorIs(t, err, []error{ErrClosed})
	_, err = r.NewActor(context.Background(), m, ActorConfig{})
	assertErrorIs(t, err, []error{ErrClosed})
}

// FuzzCompile feeds arbitrary bytes to Compile: it must never panic, must fail with one of the
// package's errors, and anything it accepts must satisfy the ABI checks.
func FuzzCompile(f *testing.F) {
	two := uint32(2)
	f.Add(testGuest(moduleWasmbus, nil))
	f.Add(testGuest(moduleWapc, []byte{opUnreachable}))
	f.Add(wasmModule{funcs: []wasmFunc{{export: "__guest_call", typ: typeIII, body: i32c(1)}}, memMin: 1, memMax: &two, memExport: "memory"}.assemble())
	f.Add(wasmModule{funcs: []wasmFunc{{export: "__guest_call", typ: typeIII, body: i32c(1)}}, memMin: 65, memExport: "memory"}.assemble())
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x11"))
	f.Add([]byte{})
	r := newTestRuntime(f, RuntimeConfig{MemoryLimitPages: 64})
	f.Fuzz(func(t *testing.T, wasm []byte) {
		m, err := r.Compile(context.Background(), "fuzz", wasm)
		if err != nil {
			for _, known := range []error{ErrInvalidModule, ErrNoGuestCall, ErrNoMemory, ErrMemoryLimit} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		defer m.Close(context.Background())
		mem, ok := m.compiled.ExportedMemories()["memory"]
		if !ok || mem.Min() > 64 {
			t.Fatalf("accepted a module without memory or above the limit (%v)", ok)
		}
		if _, ok := m.compiled.ExportedFunctions()["__guest_call"]; !ok {
			t.Fatal("accepted a module without __guest_call")
		}
	})
}
