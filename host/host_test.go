package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/logging"
	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/sandbox"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

const echoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

// echoRequest and echoReply are transcript 1 of echo.wasm (the OTP host's own test request).
var (
	echoRequest = mustHex("85a4626f6479a568656c6c6fa668656164657280a66d6574686f64a3474554a470617468a12fab7175657279537472696e67a0")
	echoReply   = mustHex("83aa737461747573436f6465ccc8a668656164657280a4626f6479c44a7b22626f6479223a5b3130342c3130312c3130382c3130382c3131315d2c226d6574686f64223a22474554222c2270617468223a222f222c2271756572795f737472696e67223a22227d")
)

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			panic(err)
		}
		b[i] = byte(v)
	}
	return b
}

// runNATS starts an in-process nats-server with JetStream on a free port.
func runNATS(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

func clusterSeed(t testing.TB) string {
	t.Helper()
	kp, err := nkey.Generate(nkey.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := kp.Seed()
	return string(s)
}

// startHost starts a host on the server with the given cluster seed and extra environment.
func startHost(t testing.TB, s *server.Server, seed string, env ...string) *Host {
	t.Helper()
	return startHostWithLog(t, s, seed, nil, env...)
}

// startHostWithLog is startHost with a logger (nil: discard).
func startHostWithLog(t testing.TB, s *server.Server, seed string, log *slog.Logger, env ...string) *Host {
	t.Helper()
	addr := s.Addr().String()
	p := addr[strings.LastIndexByte(addr, ':')+1:]
	// The first occurrence of a variable wins, as in a process environment: overrides go first.
	environ := append(env, []string{
		"WASMCLOUD_RPC_HOST=127.0.0.1", "WASMCLOUD_RPC_PORT=" + p,
		"WASMCLOUD_CTL_HOST=127.0.0.1", "WASMCLOUD_CTL_PORT=" + p,
		"WASMCLOUD_NATS_EMBEDDED=false", "WASMCLOUD_STATE_DIR=" + t.TempDir(),
		"WASMCLOUD_CLUSTER_SEED=" + seed, "WASMCLOUD_ALLOW_FILE_LOAD=true",
	}...)
	if sandbox.ABI() == 0 {
		environ = append(environ, "WASMCLOUD_PROVIDER_SANDBOX=false") // providers still run on a kernel without Landlock
	}
	cfg, err := config.LoadFrom(environ)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return h
}

func startFixture(t *testing.T, h *Host, name string) *actor.Claims {
	t.Helper()
	c, err := h.StartActorBytes(context.Background(), name, testutil.Actor(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// spy counts the messages published on every actor subject of the lattice.
func spy(t *testing.T, s *server.Server) *atomic.Int32 {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var n atomic.Int32
	if _, err := nc.Subscribe("wasmbus.rpc.default.>", func(*nats.Msg) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestCallsLocalAndAcrossHosts(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	a := startHost(t, s, seed)
	b := startHost(t, s, seed)
	startFixture(t, a, "echo.wasm")
	seen := spy(t, s)
	ctx := context.Background()

	call := func(h *Host) []byte {
		t.Helper()
		out, err := h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP"},
			Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := call(a); !bytes.Equal(got, echoReply) {
		t.Fatalf("local call reply %x", got)
	}
	if seen.Load() != 0 {
		t.Fatal("a call to an actor on the same host went over NATS")
	}
	if got := call(b); !bytes.Equal(got, echoReply) {
		t.Fatalf("remote call reply %x", got)
	}
	// The spy's copy travels on its own connection: wait for it, then for nothing more.
	require.Eventually(t, 5*time.Second, func() bool { return seen.Load() >= 1 }, "the remote call on the actor subject")
	if err := b.rpcConn.Flush(); err != nil {
		t.Fatal(err)
	}
	require.Equal(t, "messages on the actor subject", seen.Load(), int32(1))
}

func TestHostCallRouting(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	a := startHost(t, s, seed)
	b := startHost(t, s, seed)
	ctx := context.Background()

	// Re-sign echo with a call alias, and run it on host a.
	acct, _ := nkey.Generate(nkey.Account)
	mod, _ := nkey.Generate(nkey.Module)
	signed, err := actor.Sign(testutil.Actor(t, "echo.wasm"), actor.SignOptions{Issuer: acct, Subject: mod.Public(),
		Name: "echo", Caps: []string{"wasmcloud:httpserver"}, CallAlias: "echoer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartActorBytes(ctx, "echoer.wasm", signed); err != nil {
		t.Fatal(err)
	}
	caller := &actor.Claims{Subject: echoKey, Caps: []string{"wasmcloud:keyvalue", "wasmcloud:builtin:logging"}}

	// The alias reaches host b through the lattice bucket.
	var key string
	require.EventuallyNoError(t, 10*time.Second, func() (err error) {
		key, err = b.resolveActor("echoer")
		return err
	}, "the alias to reach host b")
	if key != mod.Public().String() {
		t.Fatalf("alias resolved to %s", key)
	}
	out, err := b.hostCall(ctx, caller, "", "echoer", "HttpServer.HandleRequest", echoRequest)
	if err != nil || !bytes.Equal(out, echoReply) {
		t.Fatalf("call by alias: %x, %v", out, err)
	}
	if key, err := client.LookupAlias(ctx, b.rpcConn, b.cluster, "default", "", "echoer"); err != nil || key != mod.Public().String() {
		t.Fatalf("LookupAlias = %s, %v", key, err)
	}

	tests := []struct {
		name, binding, namespace string
		want                     error
	}{
		{"claimed capability without a link", "default", "wasmcloud:keyvalue", capability.ErrNoProvider},
		{"capability not claimed", "default", "wasmcloud:messaging", capability.ErrCapabilityNotClaimed},
		{"builtin not claimed", "", "wasmcloud:builtin:numbergen", capability.ErrCapabilityNotClaimed},
		{"builtin, claimed: unknown operation", "", "wasmcloud:builtin:logging", logging.ErrUnknownOperation},
		{"unknown alias", "", "nobody", ErrUnknownActor},
		{"actor key nobody runs", "", "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E", lattice.ErrNoResponders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.hostCall(ctx, caller, tc.binding, tc.namespace, "X.Y", nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := client.LookupAlias(ctx, b.rpcConn, b.cluster, "default", "", "nobody"); !errors.Is(err, client.ErrUnknownActor) {
		t.Fatalf("LookupAlias(nobody) = %v", err)
	}
}

// send signs inv with c and delivers it on subject, returning the verified response.
func send(t *testing.T, nc *nats.Conn, c *rpc.Cluster, subject string, inv *wire.Invocation) *wire.Response {
	t.Helper()
	if err := c.Sign(inv); err != nil {
		t.Fatal(err)
	}
	m, err := nc.Request(subject, inv.AppendMsgpack(nil), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.VerifyResponse(m.Data, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestInboundChecks(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	h := startHost(t, s, seed)
	startFixture(t, h, "echo.wasm")
	startFixture(t, h, "kvcounter.wasm")
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	server, _ := nkey.Generate(nkey.Server)
	c, err := rpc.New(rpc.Config{ClusterSeed: []byte(seed), HostID: server.Public().String()})
	if err != nil {
		t.Fatal(err)
	}
	const providerKey = "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	provider := func(contract string) wire.Entity {
		return wire.Entity{PublicKey: providerKey, ContractID: contract, LinkName: "default"}
	}
	// A provider reaches only the actors linked to it (a provider of the lattice: the host binds nothing).
	for _, key := range []string{echoKey, "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"} {
		link(t, h, key, providerKey, "wasmcloud:httpserver", map[string]string{"address": freeAddr(t)})
	}
	tests := []struct {
		name    string
		subject string
		inv     wire.Invocation
		wantErr string
	}{
		{"claimed capability", "wasmbus.rpc.default." + echoKey,
			wire.Invocation{Origin: provider("wasmcloud:httpserver"), Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest}, ""},
		{"capability the actor does not claim", "wasmbus.rpc.default." + echoKey,
			wire.Invocation{Origin: provider("wasmcloud:keyvalue"), Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest}, ErrMissingCapability.Error()},
		{"sent to another actor's subject", "wasmbus.rpc.default.MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
			wire.Invocation{Origin: provider("wasmcloud:httpserver"), Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest}, ErrWrongTarget.Error()},
		{"a provider the actor has no link to", "wasmbus.rpc.default." + echoKey,
			wire.Invocation{Origin: wire.Entity{PublicKey: "VAHNM37G4ZWHNUDFKXRHBPRD5J2KJ7UBIXQBC4H7CQR3YSNCCFE3UXKJ", ContractID: "wasmcloud:httpserver", LinkName: "default"},
				Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest}, ErrNotLinked.Error()},
		{"guest error", "wasmbus.rpc.default." + echoKey,
			wire.Invocation{Origin: provider(""), Target: wire.Entity{PublicKey: echoKey}, Operation: "Nope.Unknown", Msg: []byte{0x80}}, "method not handled Nope.Unknown"},
		{"capability call from the actor gets no provider", "wasmbus.rpc.default.MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
			wire.Invocation{Origin: provider("wasmcloud:httpserver"), Target: wire.Entity{PublicKey: "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"}, Operation: "HttpServer.HandleRequest", Msg: echoRequest}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(t, nc, c, tc.subject, &tc.inv)
			if tc.wantErr == "" {
				if resp.Error != "" {
					t.Fatalf("error %q", resp.Error)
				}
				return
			}
			if !strings.Contains(resp.Error, tc.wantErr) {
				t.Fatalf("error %q, want it to contain %q", resp.Error, tc.wantErr)
			}
		})
	}
	// kvcounter's failed KeyValue call becomes its HTTP 500 reply, which names the refusal.
	resp := send(t, nc, c, "wasmbus.rpc.default.MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E", &wire.Invocation{
		Origin: provider("wasmcloud:httpserver"), Target: wire.Entity{PublicKey: "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"},
		Operation: "HttpServer.HandleRequest", Msg: echoRequest})
	if !bytes.Contains(resp.Msg, []byte("no provider linked for wasmcloud:keyvalue")) {
		t.Fatalf("kvcounter reply %q", resp.Msg)
	}
}

func TestStartActorRefusals(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	ctx := context.Background()
	echo := testutil.Actor(t, "echo.wasm")
	tampered := bytes.Clone(echo)
	tampered[len(tampered)/3] ^= 0xff

	if _, err := h.StartActorBytes(ctx, "tampered.wasm", tampered); !errors.Is(err, actor.ErrHashMismatch) {
		t.Fatalf("tampered module: %v", err)
	}
	// Refused before any network traffic (the .invalid names could not resolve anyway).
	for _, ref := range []string{"registry.invalid/echo:latest", "registry.invalid/echo", "registry.invalid/Echo:1!"} {
		if _, err := h.StartActor(ctx, ref); !errors.Is(err, ErrUnsupportedRef) {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	if _, err := h.StartActor(ctx, testutil.Path("actors/echo.wasm")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.StartActor(ctx, "file://"+testutil.Path("actors/echo.wasm")); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second start: %v", err)
	}
	if err := h.StopActor(ctx, echoKey); err != nil {
		t.Fatal(err)
	}
	if err := h.StopActor(ctx, echoKey); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("second stop: %v", err)
	}
	if len(h.Actors()) != 0 {
		t.Fatalf("actors left: %v", h.Actors())
	}

	locked := startHost(t, s, clusterSeed(t), "WASMCLOUD_ALLOW_FILE_LOAD=false")
	if _, err := locked.StartActor(ctx, testutil.Path("actors/echo.wasm")); !errors.Is(err, ErrFileLoadNotAllowed) ||
		!strings.Contains(err.Error(), "WASMCLOUD_ALLOW_FILE_LOAD") {
		t.Fatalf("file load while not allowed: %v", err)
	}
}

func TestShutdown(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	h := startHost(t, s, seed)
	startFixture(t, h, "echo.wasm")
	ctx := context.Background()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if !h.hostKey.Wiped() || !h.rpcConn.IsClosed() || !h.ctlConn.IsClosed() {
		t.Fatal("keys not wiped or connections open after Shutdown")
	}
	if err := h.cluster.Sign(&wire.Invocation{}); !errors.Is(err, rpc.ErrWiped) {
		t.Fatalf("cluster key usable after Shutdown: %v", err)
	}
	if _, err := h.StartActorBytes(ctx, "echo.wasm", testutil.Actor(t, "echo.wasm")); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("start after Shutdown: %v", err)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	acct, _ := nkey.Generate(nkey.Account)
	seed, _ := acct.Seed()
	for _, env := range [][]string{{"WASMCLOUD_HOST_SEED=" + string(seed)}, {"WASMCLOUD_CLUSTER_SEED=" + string(seed)}} {
		cfg, err := config.LoadFrom(append(env, "WASMCLOUD_NATS_EMBEDDED=false"))
		if err == nil {
			_, err = New(cfg, Options{})
		}
		if err == nil || strings.Contains(err.Error(), string(seed[2:20])) {
			t.Fatalf("%v: error %v", env, err)
		}
	}
}

// TestLinkOfAnotherContract: a provider's invocation passes only on a link for its own contract and link name.
// The lattice bucket keys a link by the digest of actor, contract and link name written one after the other, so
// a link for contract "wasmcloud:httpserve" under the link name "rdefault" sits under the key of
// ("wasmcloud:httpserver", "default"); it must not let the provider it names deliver as an HTTP server.
func TestLinkOfAnotherContract(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	h := startHost(t, s, seed)
	startFixture(t, h, "echo.wasm")
	nc, err := nats.Connect(s.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	server, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	c, err := rpc.New(rpc.Config{ClusterSeed: []byte(seed), HostID: server.Public().String()})
	require.NoError(t, err)
	const providerKey = "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	ctx := context.Background()
	_, err = h.data.PutLink(ctx, control.LinkDefinition{ActorID: echoKey, ProviderID: providerKey, ContractID: "wasmcloud:httpserve", LinkName: "rdefault"})
	require.NoError(t, err)
	require.Eventually(t, 5*time.Second, func() bool {
		_, ok := h.data.Link(echoKey, "wasmcloud:httpserve", "rdefault")
		return ok
	}, "the link to be applied")
	resp := send(t, nc, c, "wasmbus.rpc.default."+echoKey, &wire.Invocation{
		Origin: wire.Entity{PublicKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default"},
		Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: echoRequest})
	require.True(t, strings.Contains(resp.Error, ErrNotLinked.Error()), "error %q", resp.Error)
}

// TestOfflineAliasOwner: while the lattice bucket is out of reach (here a server without JetStream), nobody
// records who owns a call alias lattice-wide, and the host resolves aliases among its own actors. The alias
// still stays with the account whose actor claimed it here first: another account's actor that claims it
// later never receives its calls, whatever its key (it used to get them when its key sorted first), not even
// once the owner's actors are gone.
func TestOfflineAliasOwner(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	require.NoError(t, err)
	s.Start()
	require.True(t, s.ReadyForConnections(10*time.Second), "nats-server ready")
	t.Cleanup(s.Shutdown)
	h := startHost(t, s, clusterSeed(t))
	require.False(t, h.data.Online(), "the host reached a bucket")
	ctx := context.Background()
	start := func(subject *nkey.KeyPair, name string) string {
		acct, err := nkey.Generate(nkey.Account)
		require.NoError(t, err)
		signed, err := actor.Sign(testutil.Actor(t, "echo.wasm"), actor.SignOptions{Issuer: acct, Subject: subject.Public(),
			Name: name, Caps: []string{"wasmcloud:httpserver"}, CallAlias: "payments"})
		require.NoError(t, err)
		_, err = h.StartActorBytes(ctx, name+".wasm", signed)
		require.NoError(t, err)
		return subject.Public().String()
	}
	owner, err := nkey.Generate(nkey.Module)
	require.NoError(t, err)
	ownerKey := start(owner, "owner")
	// The thief's key sorts before the owner's.
	var thief *nkey.KeyPair
	for thief == nil || thief.Public().String() >= ownerKey {
		thief, err = nkey.Generate(nkey.Module)
		require.NoError(t, err)
	}
	start(thief, "thief")

	key, err := h.resolveActor("payments")
	require.NoError(t, err)
	require.Equal(t, "the alias resolves to", key, ownerKey)
	require.NoError(t, h.StopActor(ctx, ownerKey))
	_, err = h.resolveActor("payments")
	require.ErrorIs(t, err, ErrUnknownActor)
}
