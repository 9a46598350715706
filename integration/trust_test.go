package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// reload sends SIGHUP to the host and waits for a log line of the reload that follows with every part.
func (p *hostProc) reload(t testing.TB, parts ...string) string {
	t.Helper()
	off := len(p.stderr.String())
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %s: %v", p.name, err)
	}
	var found string
	require.Eventually(t, pollTimeout, func() bool {
		found = findLine(p.stderr.String()[off:], parts...)
		return found != ""
	}, p.name+" reload log line with "+strings.Join(parts, " "))
	return found
}

// writeFile replaces the content of a file an operator edits in place (an issuers list, a seed file, a
// revocations file), keeping its mode.
func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// load calls, from outside any host, until stopped: Caller.Relay on one host (which calls hello on another
// through its call alias) and Hello.SayHello straight. It signs with its own cluster state, which the test
// rotates along with the hosts, like one more member of the cluster.
type load struct {
	cluster  *rpc.Cluster
	ok       atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	done     sync.WaitGroup
}

func startLoad(t *testing.T, nc *nats.Conn, seed string, callerKey, helloKey, alias string) *load {
	t.Helper()
	caller, err := nkey.Generate(nkey.Server)
	require.NoError(t, err)
	c, err := rpc.New(rpc.Config{ClusterSeed: []byte(seed), HostID: caller.Public().String(), Lattice: "default",
		ReplayCapacity: 1 << 16, RequireSignedResponses: true})
	require.NoError(t, err)
	l := &load{cluster: c, stop: make(chan struct{})}
	calls := []struct {
		target, op string
		payload    []byte
		want       string
	}{
		{callerKey, "Caller.Relay", packMap(t, "target", alias, "name", "relayed"), "Hello, relayed!"},
		{helloKey, "Hello.SayHello", packMap(t, "name", "direct"), "Hello, direct!"},
	}
	for w := range 2 {
		l.done.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				call := calls[(w+i)%len(calls)]
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				reply, err := client.Invoke(ctx, nc, c, "default", call.target, call.op, call.payload, 10*time.Second)
				cancel()
				if err == nil && !strings.Contains(string(reply), call.want) {
					err = fmt.Errorf("reply %q", reply)
				}
				if err != nil {
					l.mu.Lock()
					l.failures = append(l.failures, fmt.Sprintf("%s: %v", call.op, err))
					l.mu.Unlock()
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

// progress waits until n more calls than now have answered.
func (l *load) progress(t testing.TB, n int64) {
	t.Helper()
	want := l.ok.Load() + n
	require.Eventually(t, pollTimeout, func() bool { return l.ok.Load() >= want }, "%d more calls to answer", n)
}

func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.done.Wait()
}

// TestClusterKeyRotation rotates the cluster key of three hosts under continuous load, with reloads only:
// every host trusts the new key, then each in turn signs with it, then every host drops the old one. Not one
// call fails, a call alias keeps its owner (its record is signed again with the new key), and afterwards the
// retired key opens nothing.
func TestClusterKeyRotation(t *testing.T) {
	srv := runNATS(t, nil)
	oldKey, newKey := newCluster(t), newKey(t, nkeys.PrefixByteCluster)
	const alias = "rotation-hello"
	helloPath, helloKey := guest(t, "examples/hello", alias)
	callerPath, callerKey := guest(t, "examples/caller", "")

	type member struct {
		h                   *hostProc
		seedFile, issuers string
	}
	var members []member
	for i, actors := range []string{callerPath, helloPath, helloPath} {
		dir := t.TempDir()
		m := member{seedFile: filepath.Join(dir, "cluster.nk"), issuers: filepath.Join(dir, "cluster-issuers")}
		writeFile(t, m.seedFile, oldKey.seed+"\n", 0o600)
		writeFile(t, m.issuers, "# the cluster keys this host trusts besides its own\n", 0o644)
		e := latticeEnv(t, srv, oldKey).with("WASMCLOUD_CLUSTER_SEED_FILE", m.seedFile,
			"WASMCLOUD_CLUSTER_ISSUERS_FILE", m.issuers, "WASMCLOUD_START_ACTORS", actors)
		m.h = startHost(t, fmt.Sprint("host ", i), e)
		members = append(members, m)
	}
	for _, m := range members[1:] {
		m.h.logLine(t, `msg="actor started"`, "actor="+helloKey)
	}
	members[0].h.logLine(t, `msg="actor started"`, "actor="+callerKey)

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	l := startLoad(t, nc, oldKey.seed, callerKey, helloKey, alias)
	l.progress(t, 20)

	// 1. Every host, and the load, trusts the new key as well.
	for _, m := range members {
		writeFile(t, m.issuers, oldKey.pub+"\n"+newKey.pub+"\n", 0o644)
		m.h.reload(t, `msg=reloaded`, "cluster issuers: ", newKey.pub)
	}
	require.NoError(t, l.cluster.SetIssuers([]string{oldKey.pub, newKey.pub}))
	l.progress(t, 20)

	// 2. Each host in turn signs with the new key; the load switches half-way.
	for i, m := range members {
		writeFile(t, m.seedFile, newKey.seed+"\n", 0o600)
		m.h.reload(t, `msg=reloaded`, "cluster key: "+oldKey.pub+" -> "+newKey.pub)
		if i == 1 {
			require.NoError(t, l.cluster.SetKey([]byte(newKey.seed)))
		}
		l.progress(t, 10)
	}

	// The first host to sign with the new key signed the alias record again with it.
	members[0].h.logLine(t, `msg="call alias records signed again after a trust change"`, "records=1")

	// 3. Every host, and the load, drops the old key.
	for _, m := range members {
		writeFile(t, m.issuers, newKey.pub+"\n", 0o644)
		m.h.reload(t, `msg=reloaded`, "cluster issuers: ")
	}
	require.NoError(t, l.cluster.SetIssuers(nil))
	l.progress(t, 20)
	l.halt()
	require.Equal(t, "failed calls during the rotation", strings.Join(l.failures, "\n"), "")
	t.Logf("%d calls answered during the rotation", l.ok.Load())

	newOnly := latticeEnv(t, srv, cluster{key: newKey, file: writeSecret(t, "new.nk", []byte(newKey.seed+"\n"))})
	t.Run("the retired key opens nothing", func(t *testing.T) {
		got := callFails(t, latticeEnv(t, srv, oldKey), helloKey, "Hello.SayHello", `{"name":"old"}`)
		contains(t, "stderr", got, "rpc: issuer is not among the trusted cluster issuers: "+oldKey.pub)
	})
	t.Run("the alias keeps its owner under the new key alone", func(t *testing.T) {
		// A client that trusts only the new key finds the owner's record.
		require.Equal(t, "call through the alias", callOK(t, newOnly, alias, "Hello.SayHello", `{"name":"Bo"}`), `{"message":"Hello, Bo!"}`)
		// A host that never knew the old key, with an actor of another account that claims the alias (one
		// that cannot answer Hello.SayHello, so a call it took over would fail).
		thief, _ := guest(t, "examples/caller", alias)
		d := startHost(t, "host 3", newOnly.with("WASMCLOUD_START_ACTORS", thief))
		d.logLine(t, `msg="actor started"`)
		for range 5 {
			require.Equal(t, "call through the alias", callOK(t, newOnly, alias, "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
		}
		d.logLine(t, `msg="call alias clash`, "call_alias="+alias)
	})
}
