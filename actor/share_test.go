package actor

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// resigned returns n copies of wasm, each signed by one account for a module key of its own: n distinct
// actors with the same code, as a lattice that deploys one build under several identities has.
func resigned(tb testing.TB, wasm []byte, n int) [][]byte {
	tb.Helper()
	issuer, err := nkey.Generate(nkey.Account)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		subject, err := nkey.Generate(nkey.Module)
		if err != nil {
			tb.Fatal(err)
		}
		if out[i], err = Sign(wasm, SignOptions{Issuer: issuer, Subject: subject.Public(), Name: fmt.Sprintf("echo-%d", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// codeEntries returns how many compiled copies the runtime holds.
func codeEntries(r *Runtime) int {
	r.codeMu.Lock()
	defer r.codeMu.Unlock()
	return len(r.code)
}

// health calls Actor.HealthRequest on a new actor of m and checks the answer.
func health(t *testing.T, r *Runtime, m *Module) {
	t.Helper()
	a, err := r.NewActor(context.Background(), m, ActorConfig{})
	require.NoError(t, err)
	defer a.Close(context.Background())
	resp, err := a.Call(context.Background(), "Actor.HealthRequest", []byte{0x80})
	require.NoError(t, err)
	assertBytes(t, "health", resp, mustHex(t, "81a76865616c746879c3"))
}

// TestSharedCode checks that modules with the same code and different tokens share one compiled copy,
// that it outlives every Module but the last, and that it is compiled again after that.
func TestSharedCode(t *testing.T) {
	ctx := context.Background()
	r := newTestRuntime(t, RuntimeConfig{})
	mods := resigned(t, testutil.Actor(t, "echo.wasm"), 2)
	if bytes.Equal(mods[0], mods[1]) {
		t.Fatal("the two signed copies are the same bytes")
	}
	a, err := r.Compile(ctx, "a", mods[0])
	require.NoError(t, err)
	b, err := r.Compile(ctx, "b", mods[1])
	require.NoError(t, err)
	require.True(t, a.code == b.code, "two signed copies of one build have two compiled copies")
	require.Equal(t, "entries", codeEntries(r), 1)
	require.Equal(t, "name", b.Name(), "b")

	require.NoError(t, a.Close(ctx))
	require.NoError(t, a.Close(ctx)) // idempotent: must not release b's reference
	require.Equal(t, "entries after closing one", codeEntries(r), 1)
	health(t, r, b)

	require.NoError(t, b.Close(ctx))
	require.Equal(t, "entries after closing both", codeEntries(r), 0)
	c, err := r.Compile(ctx, "c", mods[0])
	require.NoError(t, err)
	defer c.Close(ctx)
	require.True(t, c.code != a.code, "a closed compiled copy was handed out again")
	health(t, r, c)
}

// TestSharedCodeConcurrent compiles one build signed for several actors from several goroutines at once:
// every Module gets the same compiled copy, and it is released with the last.
func TestSharedCodeConcurrent(t *testing.T) {
	ctx := context.Background()
	r := newTestRuntime(t, RuntimeConfig{})
	mods := resigned(t, testutil.Actor(t, "echo.wasm"), 8)
	compiled := make([]*Module, len(mods))
	errs := make([]error, len(mods))
	var wg sync.WaitGroup
	for i, wasm := range mods {
		wg.Go(func() { compiled[i], errs[i] = r.Compile(ctx, fmt.Sprintf("echo-%d", i), wasm) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		require.True(t, compiled[i].code == compiled[0].code, "module %d has a compiled copy of its own", i)
	}
	health(t, r, compiled[len(compiled)-1])
	for _, m := range compiled {
		wg.Go(func() { require.NoError(t, m.Close(ctx)) })
	}
	wg.Wait()
	require.Equal(t, "entries", codeEntries(r), 0)
}

// TestSharedCodeRefused checks that a module that fails to compile, or compiles and fails the ABI checks,
// leaves no compiled copy behind, and that each caller's error names its own module.
func TestSharedCodeRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		wasm []byte
		want error
	}{
		// One function declared, no code section.
		{"does not compile", []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"), ErrInvalidModule},
		{"no __guest_call", []byte("\x00asm\x01\x00\x00\x00"), ErrNoGuestCall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRuntime(t, RuntimeConfig{})
			for _, name := range []string{"first", "second"} {
				_, err := r.Compile(ctx, name, tc.wasm)
				assertErrorIs(t, err, []error{tc.want}, name)
			}
			require.Equal(t, "entries", codeEntries(r), 0)
		})
	}
}

// TestCompilationCacheKeyedByCode checks that the cache directory keeps compiled code by the module's code
// alone: a runtime that starts a copy signed for another actor reads what the first copy left and
// writes nothing.
func TestCompilationCacheKeyedByCode(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache")
	mods := resigned(t, testutil.Actor(t, "echo.wasm"), 2)

	r1, err := NewRuntime(ctx, RuntimeConfig{CacheDir: dir})
	require.NoError(t, err)
	m, err := r1.Compile(ctx, "a", mods[0])
	require.NoError(t, err)
	health(t, r1, m)
	require.NoError(t, r1.Close(ctx))
	first := cacheSnapshot(t, dir)
	require.Equal(t, "cache files", len(first), 1)

	r2 := newTestRuntime(t, RuntimeConfig{CacheDir: dir})
	m, err = r2.Compile(ctx, "b", mods[1])
	require.NoError(t, err)
	health(t, r2, m)
	if second := cacheSnapshot(t, dir); fmt.Sprint(second) != fmt.Sprint(first) {
		t.Errorf("a copy signed for another actor was compiled again:\nbefore %v\nafter  %v", first, second)
	}
}
