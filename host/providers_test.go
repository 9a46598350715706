package host

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/par"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/guesttest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const contractEcho = "example:echo"

// providerArchive packs the test provider for this platform, signed by a fresh account, into a file.
func providerArchive(t testing.TB) (path, providerKey string) {
	t.Helper()
	issuer, err := nkey.Generate(nkey.Account)
	require.NoError(t, err)
	subject, err := nkey.Generate(nkey.Service)
	require.NoError(t, err)
	target, err := par.NativeTarget()
	require.NoError(t, err)
	b, err := par.Create(par.CreateOptions{Issuer: issuer, Subject: subject.Public(), Name: "echo", CapID: contractEcho, Vendor: "tests",
		Binaries: map[string][]byte{target: testutil.BuildProvider(t)}})
	require.NoError(t, err)
	path = filepath.Join(t.TempDir(), "echo.par.gz")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path, subject.Public().String()
}

// providerLattice is two hosts, A running the test provider and B running the capabilities example and
// hello, both linked to the provider.
type providerLattice struct {
	a, b              *Host
	providerKey       string
	capsKey, helloKey string
	natsURL           string
}

func startProviderLattice(t testing.TB) providerLattice {
	t.Helper()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the test provider runs on unix")
	}
	s := runNATS(t)
	seed := clusterSeed(t)
	l := providerLattice{a: startHost(t, s, seed), b: startHost(t, s, seed, "WASMCLOUD_RPC_TIMEOUT_MS=10000"), natsURL: s.ClientURL()}
	caps, capsKey := guesttest.SignGuest(t, testutil.BuildGuest(t, "examples/capabilities"), "caps", "", contractEcho)
	hello, helloKey := guesttest.SignGuest(t, testutil.BuildGuest(t, "examples/hello"), "hello", "", contractEcho)
	l.capsKey, l.helloKey = capsKey, helloKey
	ctx := context.Background()
	for name, wasm := range map[string][]byte{"caps.wasm": caps, "hello.wasm": hello} {
		if _, err := l.b.StartActorBytes(ctx, name, wasm); err != nil {
			t.Fatal(err)
		}
	}
	path, key := providerArchive(t)
	l.providerKey = key
	if _, err := l.a.StartProvider(ctx, path, "", nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, actorKey := range []string{capsKey, helloKey} {
		if _, err := l.b.data.PutLink(ctx, control.LinkDefinition{ActorID: actorKey, ProviderID: key, ContractID: contractEcho, LinkName: "default"}); err != nil {
			t.Fatal(err)
		}
	}
	// Linked and delegated everywhere once the callback through the provider succeeds.
	require.EventuallyNoError(t, 20*time.Second, func() error {
		_, err := invokeActor(t, l.b, capsKey, "Caps.CallBack", l.callBack())
		return err
	}, "the provider to call back")
	return l
}

func (l providerLattice) callBack() []byte {
	return strMap("contract", contractEcho, "actor", l.helloKey, "operation", "Hello.SayHello", "name", "bench")
}

// TestProviderDelegation: the provider's invocations carry its own key, never the cluster's, and host B
// accepts them only while the delegation stands.
func TestProviderDelegation(t *testing.T) {
	l := startProviderLattice(t)
	var key string
	l.a.providers.mu.Lock()
	for _, p := range l.a.providers.m {
		key = p.signingKey()
	}
	l.a.providers.mu.Unlock()
	require.True(t, key != "" && key != l.a.cluster.PublicKey(), "the provider has a key of its own")
	_, ok := l.b.data.Delegation(key)
	require.True(t, ok, "host B knows the delegation")
	require.NoError(t, l.a.StopProvider(context.Background(), l.providerKey, ""))
	require.Eventually(t, 10*time.Second, func() bool { _, ok := l.b.data.Delegation(key); return !ok }, "the delegation to be withdrawn")
	require.Equal(t, "pid after stop", l.a.providerPid(l.providerKey, "default"), 0)
}

// BenchmarkProviderRoundTrip: an actor on host B calls the provider that host A runs, which invokes an actor
// on B with its delegated key and returns the reply: actor → provider → actor across two hosts, next to the
// raw NATS request/reply it is made of (two of them, one in each direction).
func BenchmarkProviderRoundTrip(b *testing.B) {
	l := startProviderLattice(b)
	b.Run("baseline/nats-request-reply", func(b *testing.B) {
		nc, err := nats.Connect(l.natsURL)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		reply := msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "message"), "Hello, bench")
		sub, err := nc.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(reply) })
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		req := make([]byte, 1100)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nc.Request("bench.echo", req, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("actor-provider-actor/across-hosts", func(b *testing.B) {
		payload := l.callBack()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := invokeActor(b, l.b, l.capsKey, "Caps.CallBack", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("actor-provider/across-hosts", func(b *testing.B) {
		payload := strMap("contract", contractEcho, "operation", "Echo.Echo", "body", "x")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := invokeActor(b, l.b, l.capsKey, "Caps.Call", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRevokedProvider: a provider whose service key or account is revoked never starts (nothing is written
// for it), and one that runs is stopped, with its delegation withdrawn, as soon as its account is revoked; a
// revocation for what was signed before a time that the archive postdates lets it start.
func TestRevokedProvider(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the test provider runs on unix")
	}
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	issuer, err := nkey.Generate(nkey.Account)
	require.NoError(t, err)
	subject, err := nkey.Generate(nkey.Service)
	require.NoError(t, err)
	target, err := par.NativeTarget()
	require.NoError(t, err)
	b, err := par.Create(par.CreateOptions{Issuer: issuer, Subject: subject.Public(), Name: "echo", CapID: contractEcho, Vendor: "tests",
		Binaries: map[string][]byte{target: testutil.BuildProvider(t)}})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "echo.par.gz")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	providerKey, account := subject.Public().String(), issuer.Public().String()
	ctx := context.Background()
	providerFiles := func() int {
		files, _ := filepath.Glob(filepath.Join(h.cfg.StateDir, "providers", "*", "*"))
		return len(files)
	}

	for _, key := range []string{providerKey, account} {
		h.setRevocations(ctx, revoke.New(map[string]time.Time{key: revoke.Forever}), nil)
		_, err := h.StartProvider(ctx, path, "", nil, "")
		require.ErrorIs(t, err, ErrRevoked)
		require.Equal(t, "files of a revoked provider", providerFiles(), 0)
	}

	h.setRevocations(ctx, revoke.New(map[string]time.Time{account: time.Now().Add(-time.Hour)}), nil)
	_, err = h.StartProvider(ctx, path, "", nil, "")
	require.NoError(t, err)
	var signing string
	h.providers.mu.Lock()
	for _, p := range h.providers.m {
		signing = p.signingKey()
	}
	h.providers.mu.Unlock()
	_, ok := h.data.Delegation(signing)
	require.True(t, ok, "the running provider's delegation")

	h.setRevocations(ctx, revoke.New(map[string]time.Time{account: revoke.Forever}), nil)
	require.Eventually(t, 20*time.Second, func() bool { return !h.runsProvider(providerKey, "default") && providerFiles() == 0 },
		"the revoked provider to stop")
	_, ok = h.data.Delegation(signing)
	require.False(t, ok, "the revoked provider's delegation is still in force")
}

// TestProviderBuiltinKey: a provider archive whose subject is a built-in provider's key (public, derived from a
// public seed, so any trusted account can sign an archive for it) never starts and gets no delegation: with one,
// its invocations would pass as the built-in's, which every link to the built-in names (an HTTP request or a
// subscribed message forged for any actor linked to the built-in HTTP server or messaging, on any host).
func TestProviderBuiltinKey(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("the test provider runs on unix")
	}
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	issuer, err := nkey.Generate(nkey.Account)
	require.NoError(t, err)
	target, err := par.NativeTarget()
	require.NoError(t, err)
	bin := testutil.BuildProvider(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, key, contract string }{
		{name: "httpserver", key: capability.BuiltinHTTPServer, contract: contract.ContractHTTPServer},
		{name: "messaging", key: capability.BuiltinMessaging, contract: contract.ContractMessaging},
		{name: "keyvalue", key: capability.BuiltinKeyValue, contract: contract.ContractKeyValue},
		{name: "httpclient", key: capability.BuiltinHTTPClient, contract: contract.ContractHTTPClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject, err := nkey.ParsePublic(tc.key)
			require.NoError(t, err)
			b, err := par.Create(par.CreateOptions{Issuer: issuer, Subject: subject, Name: "impostor", CapID: tc.contract, Vendor: "tests",
				Binaries: map[string][]byte{target: bin}})
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "impostor.par.gz")
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err = h.StartProvider(ctx, path, "", nil, "")
			require.ErrorIs(t, err, ErrBuiltinProviderKey)
			require.False(t, h.runsProvider(tc.key, "default"), "the impostor runs")
		})
	}
}
