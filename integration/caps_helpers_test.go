package integration

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Module keys of the OTP fixtures the capability tests run.
const (
	kvcounterKey       = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"
	kvcounterUnprivKey = "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU"
	echoUnprivKey      = "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5"
	policyKey          = "MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3"
)

// The contracts of the built-in providers.
const (
	contractHTTPServer = "wasmcloud:httpserver"
	contractKeyValue   = "wasmcloud:keyvalue"
	contractMessaging  = "wasmcloud:messaging"
	contractHTTPClient = "wasmcloud:httpclient"
)

// builtins holds the keys of a host's built-in providers, by contract, as its inventory lists them.
type builtins map[string]string

// builtinProviders reads the built-in providers from a host's inventory: one per contract, each with an
// image reference "builtin:<name>" and the link name "default".
func builtinProviders(t testing.TB, e env, hostID string) builtins {
	t.Helper()
	inv := inventory(t, e, hostID)
	names := map[string]string{contractHTTPServer: "httpserver", contractKeyValue: "keyvalue", contractMessaging: "messaging",
		contractHTTPClient: "httpclient"}
	out := builtins{}
	for _, p := range inv.Providers {
		name, ok := names[p.ContractID]
		if !ok || p.ImageRef != "builtin:"+name {
			t.Fatalf("inventory of %s lists provider %+v, want only the built-in ones", hostID, p)
		}
		require.Equal(t, "link name of built-in "+name, p.LinkName, "default")
		if _, dup := out[p.ContractID]; dup {
			t.Fatalf("inventory of %s lists two providers for %s", hostID, p.ContractID)
		}
		out[p.ContractID] = p.ID
	}
	require.Equal(t, "built-in providers listed", len(out), len(names))
	return out
}

// linkPut links an actor to a provider with `ctl link put` and checks the link definition it reports.
func linkPut(t testing.TB, e env, actorKey, provider, contract string, values ...string) {
	t.Helper()
	args := append([]string{"link", "put", actorKey, provider, contract}, values...)
	ld := ctlJSON[control.LinkDefinition](t, e, args...)
	require.Equal(t, "linked actor", ld.ActorID, actorKey)
	require.Equal(t, "linked provider", ld.ProviderID, provider)
	require.Equal(t, "linked contract", ld.ContractID, contract)
}

// startActorOn starts a fixture or module file on one host with `ctl start actor --host` and waits for the
// host's log to say it started.
func startActorOn(t testing.TB, e env, h *hostProc, path, key string) {
	t.Helper()
	got := ctlJSON[ctlStarted](t, e, "start", "actor", path, "--host", h.ready.HostID)
	require.Equal(t, "start", got, ctlStarted{HostID: h.ready.HostID, ActorRef: path, Count: 1})
	h.logLine(t, `msg="actor started"`, "actor="+key)
}

// freeAddr returns a loopback address whose port nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// httpClient opens a new connection for every request, so that no request rides on a kept-alive
// connection to a listener that has since closed or moved to another host.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: cliTimeout}

// answer is one HTTP response: its status and body.
type answer struct {
	status int
	body   string
}

// httpGet sends one GET to http://addr+target.
func httpGet(addr, target string) (answer, error) {
	resp, err := httpClient.Get("http://" + addr + target)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, body: string(b)}, nil
}

// served polls GET until an actor answers at addr: a refused connection means the listener is not up yet,
// and 503 that it is up but no actor runs behind it (yet). Neither reaches an actor, so polling counts
// nothing twice. Any other answer is returned.
func served(t testing.TB, addr, target string) answer {
	t.Helper()
	var a answer
	var err error
	require.Eventually(t, pollTimeout, func() bool {
		a, err = httpGet(addr, target)
		return err == nil && a.status != http.StatusServiceUnavailable
	}, "an actor serving http://"+addr+target)

	return a
}

// connRefused polls until a connection to addr is refused: nothing listens there any more.
func connRefused(t testing.TB, addr string) {
	t.Helper()
	require.Eventually(t, pollTimeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	}, "connections to "+addr+" refused")

}

// signWithCaps signs wasm with `claims sign`, a fresh account and the capabilities caps, and returns the
// signed module's path and its module key.
func signWithCaps(t testing.TB, wasm []byte, name string, caps ...string) (path, moduleKey string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, name+".unsigned.wasm")
	if err := os.WriteFile(in, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	account := newKey(t, nkeys.PrefixByteAccount)
	path = filepath.Join(dir, name+".wasm")
	args := []string{"claims", "sign", in, "-o", path, "--name", name,
		"--issuer", "@" + writeSecret(t, "account.nk", []byte(account.seed))}
	for _, c := range caps {
		args = append(args, "--cap", c)
	}
	r := cli(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("claims sign %s: exit status %d, stderr %q", name, r.code, r.stderr)
	}
	m := moduleKeyPattern.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("claims sign %s printed %q, want the module key", name, r.stdout)
	}
	return path, m[1]
}
