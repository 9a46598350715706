package integration

import (
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Subjects each user may publish and subscribe to: the RPC user only RPC and replies, the control user the
// control and event subjects and JetStream (the lattice's key-value bucket), as 0.x deployments set them.
var (
	rpcSubjects = []string{"wasmbus.rpc.>", "_INBOX.>"}
	ctlSubjects = []string{"wasmbus.ctl.>", "wasmbus.evt.>", "$JS.>", "$KV.>", "_INBOX.>"}
)

// TestDecentralizedAuth runs a host against a nats-server in operator mode, with a different user (and
// creds file) for each of its two connections.
func TestDecentralizedAuth(t *testing.T) {
	op := newOperator(t)
	srv := op.server(t)
	c := newCluster(t)
	rpcUser, rpcCreds := op.user(t, op.account, rpcSubjects...)
	ctlUser, ctlCreds := op.user(t, op.account, ctlSubjects...)
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	e := latticeEnv(t, srv, c).with("WASMCLOUD_RPC_CREDSFILE", rpcCreds, "WASMCLOUD_CTL_CREDSFILE", ctlCreds)

	startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")+","+helloPath))

	t.Run("connz shows two users", func(t *testing.T) {
		connz, err := srv.Connz(&server.ConnzOptions{Username: true})
		if err != nil {
			t.Fatal(err)
		}
		users := map[string][]string{}
		for _, conn := range connz.Conns {
			users[conn.Name] = append(users[conn.Name], conn.AuthorizedUser)
		}
		require.Equal(t, "connections", len(connz.Conns), 2)
		require.Equal(t, "rpc users", len(users["wasmcloud-host/rpc"]), 1)
		require.Equal(t, "ctl users", len(users["wasmcloud-host/ctl"]), 1)
		require.Equal(t, "rpc user", users["wasmcloud-host/rpc"][0], rpcUser)
		require.Equal(t, "ctl user", users["wasmcloud-host/ctl"][0], ctlUser)
	})
	t.Run("call echo with the rpc creds", func(t *testing.T) {
		rpcOnly := e.with("WASMCLOUD_CTL_CREDSFILE", "")
		require.Equal(t, "reply", callOK(t, rpcOnly, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
		require.Equal(t, "reply", callOK(t, rpcOnly, helloKey, "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
	})
	t.Run("call by alias with the host's creds", func(t *testing.T) {
		// The host's own environment: what a user on the host's machine has at hand. The alias lives in
		// the lattice's JetStream bucket, which only the ctl user may read.
		require.Equal(t, "reply", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
	})

	foreign, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	_, foreignCreds := op.user(t, foreign, ">")
	tests := []struct {
		name  string
		env   env
		wants []string
	}{
		{
			name:  "no creds",
			env:   latticeEnv(t, srv, c),
			wants: []string{"connect rpc to " + srv.ClientURL(), "Authorization Violation"},
		},
		{
			name:  "rpc creds only",
			env:   e.with("WASMCLOUD_CTL_CREDSFILE", ""),
			wants: []string{"connect ctl to " + srv.ClientURL(), "Authorization Violation"},
		},
		{
			name:  "ctl creds of an account the operator does not know",
			env:   e.with("WASMCLOUD_CTL_CREDSFILE", foreignCreds),
			wants: []string{"connect ctl to " + srv.ClientURL(), "Authorization Violation"},
		},
		{
			name:  "rpc creds with another user's seed",
			env:   e.with("WASMCLOUD_RPC_CREDSFILE", op.credsWithWrongSeed(t, rpcSubjects...)),
			wants: []string{"connect rpc to " + srv.ClientURL(), "Authorization Violation"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := errorLine(t, startFails(t, "host", tt.env.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm"))))
			contains(t, "error line", line, tt.wants...)
		})
	}
}

// operator is a decentralized-auth world: an operator, its system account, and one application account
// with JetStream, all resolved from memory.
type operator struct {
	claims   *jwt.OperatorClaims
	resolver *server.MemAccResolver
	sysPub   string
	account  nkeys.KeyPair
	accPub   string
}

func newOperator(t testing.TB) operator {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opub, _ := okp.PublicKey()
	res := &server.MemAccResolver{}
	account := func(name string, js bool) (nkeys.KeyPair, string) {
		akp, err := nkeys.CreateAccount()
		if err != nil {
			t.Fatal(err)
		}
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		tok, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Store(apub, tok); err != nil {
			t.Fatal(err)
		}
		return akp, apub
	}
	_, sysPub := account("SYS", false)
	akp, apub := account("APP", true)
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test operator"
	oc.SystemAccount = sysPub
	otok, err := oc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := jwt.DecodeOperatorClaims(otok)
	if err != nil {
		t.Fatal(err)
	}
	return operator{claims: claims, resolver: res, sysPub: sysPub, account: akp, accPub: apub}
}

func (o operator) server(t testing.TB) *server.Server {
	t.Helper()
	return runNATS(t, &server.Options{
		TrustedOperators: []*jwt.OperatorClaims{o.claims},
		AccountResolver:  o.resolver,
		SystemAccount:    o.sysPub,
		JetStream:        true,
	})
}

// user issues a user signed by signer (an account key) allowed to publish and subscribe on allow, and
// writes its creds file. It returns the user's public key and the file's path.
func (o operator) user(t testing.TB, signer nkeys.KeyPair, allow ...string) (pub, credsFile string) {
	t.Helper()
	token, u := o.userJWT(t, signer, allow...)
	creds, err := jwt.FormatUserConfig(token, []byte(u.seed))
	if err != nil {
		t.Fatal(err)
	}
	return u.pub, writeSecret(t, "user.creds", creds)
}

func (o operator) userJWT(t testing.TB, signer nkeys.KeyPair, allow ...string) (string, key) {
	t.Helper()
	u := newKey(t, nkeys.PrefixByteUser)
	uc := jwt.NewUserClaims(u.pub)
	if spub, _ := signer.PublicKey(); spub == o.accPub {
		uc.IssuerAccount = o.accPub
	}
	uc.Pub.Allow.Add(allow...)
	uc.Sub.Allow.Add(allow...)
	token, err := uc.Encode(signer)
	if err != nil {
		t.Fatal(err)
	}
	return token, u
}

// credsWithWrongSeed writes a creds file whose JWT is valid but whose seed belongs to another user, so
// the seed cannot sign the server's nonce for the JWT's user.
func (o operator) credsWithWrongSeed(t testing.TB, allow ...string) string {
	t.Helper()
	token, _ := o.userJWT(t, o.account, allow...)
	other := newKey(t, nkeys.PrefixByteUser)
	// jwt.FormatUserConfig refuses a mismatched pair, so the file is written by hand in the same format.
	creds := "-----BEGIN NATS USER JWT-----\n" + token + "\n------END NATS USER JWT------\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + other.seed + "\n------END USER NKEY SEED------\n"
	return writeSecret(t, "wrong.creds", []byte(creds))
}
