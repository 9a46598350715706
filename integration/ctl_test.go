package integration

import (
	"crypto/sha256"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// The --json documents of the ctl commands that report what was done (those that report lattice state print
// the wire types).
type (
	ctlStarted struct {
		HostID   string `json:"host_id"`
		ActorRef string `json:"actor_ref"`
		Count    int    `json:"count"`
	}
	ctlScaled struct {
		HostID   string `json:"host_id"`
		ActorID  string `json:"actor_id"`
		ActorRef string `json:"actor_ref"`
		Count    int    `json:"count"`
	}
	ctlStopped struct {
		HostID  string `json:"host_id"`
		ActorID string `json:"actor_id"`
		Count   int    `json:"count"`
	}
)

// ctlOK runs `wasmcloud-host ctl args…`, which must exit 0 with nothing on stderr, and returns its stdout.
func ctlOK(t testing.TB, e env, args ...string) string {
	t.Helper()
	r := cli(t, e, append([]string{"ctl"}, args...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("ctl %s: exit status %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// ctlJSON runs `wasmcloud-host ctl args… --json`, which must succeed, and decodes the one JSON document it
// prints.
func ctlJSON[T any](t testing.TB, e env, args ...string) T {
	t.Helper()
	out := ctlOK(t, e, append(args, "--json")...)
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("ctl %s --json printed %q: %v", strings.Join(args, " "), out, err)
	}
	if dec.More() {
		t.Fatalf("ctl %s --json printed more than one JSON document: %q", strings.Join(args, " "), out)
	}
	return v
}

// ctlFails runs `wasmcloud-host ctl args…`, which must exit 1 with nothing on stdout and one error line on
// stderr, and returns that line.
func ctlFails(t testing.TB, e env, args ...string) string {
	t.Helper()
	r := cli(t, e, append([]string{"ctl"}, args...)...)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("ctl %s: exit status %d, stdout %q, stderr %q; want status 1 and no output", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	line := oneLine(t, "stderr", r.stderr)
	if !strings.HasPrefix(line, "wasmcloud-host: ") {
		t.Fatalf("ctl %s: stderr %q is not an error line", strings.Join(args, " "), line)
	}
	return line
}

// inventory returns the --json inventory of one host.
func inventory(t testing.TB, e env, hostID string) control.HostInventory {
	t.Helper()
	inv := ctlJSON[control.HostInventory](t, e, "inventory", hostID)
	require.Equal(t, "inventory host_id", inv.HostID, hostID)
	return inv
}

// actorIDs returns the ids of the actors of an inventory.
func actorIDs(inv control.HostInventory) []string {
	ids := []string{}
	for _, a := range inv.Actors {
		ids = append(ids, a.ID)
	}
	return ids
}

// checkRuns checks that inv lists exactly one actor, key, started from ref with n instances.
func checkRuns(t testing.TB, inv control.HostInventory, key, ref string, n int) {
	t.Helper()
	if len(inv.Actors) != 1 || inv.Actors[0].ID != key {
		t.Fatalf("host %s runs %v, want exactly [%s]", inv.HostID, actorIDs(inv), key)
	}
	a := inv.Actors[0]
	require.Equal(t, "image_ref", a.ImageRef, ref)
	require.Equal(t, "max_instances", a.MaxInstances, n)
	require.Equal(t, "instances", len(a.Instances), n)
	for _, in := range a.Instances {
		require.Equal(t, "instance image_ref", in.ImageRef, ref)
	}
}

// linkKey is the lattice bucket key of a link, as 0.x hosts write it: LINKDEF_ and the upper-case hex
// SHA-256 of actor, contract and link name.
func linkKey(actorID, contractID, linkName string) string {
	sum := sha256.Sum256([]byte(actorID + contractID + linkName))
	return "LINKDEF_" + wire.HashHex(sum)
}

// ctlClient is the test's own control-interface client on srv.
func ctlClient(t testing.TB, srv *server.Server) (*client.CtlClient, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return client.NewCtlClient(nc, "wasmbus.ctl", "default", 10*time.Second), nc
}

// TestLatticeOfThreeHosts drives a lattice of three labelled hosts (and later a fourth) with the ctl
// commands a user runs: placement by auction, inventories, a call across hosts, scaling, stopping wherever
// an actor runs, links that outlive the hosts they were put through, and a host stopped through the control
// interface. An event watcher checks that every step was announced, and announced well.
func TestLatticeOfThreeHosts(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	echoPath := testutil.Path("actors/echo.wasm")
	e1 := latticeEnv(t, srv, c)
	h1 := startHost(t, "host 1 (eu)", e1.with("HOST_REGION", "eu"))
	h2 := startHost(t, "host 2 (us)", latticeEnv(t, srv, c).with("HOST_REGION", "us"))
	e3 := latticeEnv(t, srv, c)
	h3 := startHost(t, "host 3 (ap)", e3.with("HOST_REGION", "ap"))
	id1, id2, id3 := h1.ready.HostID, h2.ready.HostID, h3.ready.HostID
	hostIDs := []string{id1, id2, id3}

	t.Run("ctl hosts lists the three hosts", func(t *testing.T) {
		hosts := ctlJSON[[]control.HostInfo](t, e1, "hosts")
		var got []string
		for _, h := range hosts {
			got = append(got, h.ID+" region="+h.Labels["region"])
		}
		want := []string{id1 + " region=eu", id2 + " region=us", id3 + " region=ap"}
		slices.Sort(want)
		require.Equal(t, "hosts", strings.Join(got, ", "), strings.Join(want, ", "))
		for _, h := range hosts {
			require.Equal(t, "cluster issuers of "+h.ID, h.ClusterIssuers, c.pub)
			require.Equal(t, "lattice of "+h.ID, h.Lattice, "default")
		}
	})

	t.Run("auction places echo on the us host", func(t *testing.T) {
		got := ctlJSON[ctlStarted](t, e1, "start", "actor", echoPath, "--constraint", "region=us")
		require.Equal(t, "start", got, ctlStarted{HostID: id2, ActorRef: echoPath, Count: 1})
		ev := w.wait(t, "actors_started", about(id2, echoKey))
		require.Equal(t, "actors_started image_ref", ev.str("image_ref"), echoPath)
		require.Equal(t, "actors_started count", ev.num("count"), 1)
		checkRuns(t, inventory(t, e1, id2), echoKey, echoPath, 1)
		for _, id := range []string{id1, id3} {
			require.Equal(t, "actors of "+id, strings.Join(actorIDs(inventory(t, e1, id)), ","), "")
		}
	})

	t.Run("call from another host's environment", func(t *testing.T) {
		require.Equal(t, "reply", callOK(t, e1, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)
	})

	t.Run("scale to 3, then to 0", func(t *testing.T) {
		got := ctlJSON[ctlScaled](t, e1, "scale", "actor", echoKey, "3", "--host", id2)
		require.Equal(t, "scale", got, ctlScaled{HostID: id2, ActorID: echoKey, ActorRef: echoPath, Count: 3})
		checkRuns(t, inventory(t, e1, id2), echoKey, echoPath, 3)
		require.Equal(t, "reply after scaling", callOK(t, e3, echoKey, "HttpServer.HandleRequest", echoRequest), echoReply)

		got = ctlJSON[ctlScaled](t, e1, "scale", "actor", echoKey, "0", "--host", id2)
		require.Equal(t, "scale", got, ctlScaled{HostID: id2, ActorID: echoKey, ActorRef: echoPath, Count: 0})
		stopped := w.wait(t, "actors_stopped", about(id2, echoKey))
		require.Equal(t, "actors_stopped image_ref", stopped.str("image_ref"), echoPath)
		scaled := w.index("actor_scaled", func(e latticeEvent) bool { return about(id2, echoKey)(e) && e.num("max_instances") == 3 })
		if stoppedAt := w.index("actors_stopped", about(id2, echoKey)); scaled < 0 || scaled > stoppedAt {
			t.Fatalf("actor_scaled (max_instances 3) at %d, actors_stopped at %d: want both, in this order", scaled, stoppedAt)
		}
		require.Equal(t, "actors of us host", strings.Join(actorIDs(inventory(t, e1, id2)), ","), "")
	})

	t.Run("stop actor stops it wherever it runs", func(t *testing.T) {
		for _, id := range []string{id1, id3} {
			got := ctlJSON[ctlStarted](t, e1, "start", "actor", echoPath, "--host", id)
			require.Equal(t, "start", got, ctlStarted{HostID: id, ActorRef: echoPath, Count: 1})
			w.wait(t, "actors_started", about(id, echoKey))
		}
		got := ctlJSON[[]ctlStopped](t, e1, "stop", "actor", echoKey)
		want := []ctlStopped{{HostID: id1, ActorID: echoKey}, {HostID: id3, ActorID: echoKey}}
		slices.SortFunc(want, func(a, b ctlStopped) int { return strings.Compare(a.HostID, b.HostID) })
		if !slices.Equal(got, want) {
			t.Fatalf("stop actor = %+v, want %+v", got, want)
		}
		for _, id := range []string{id1, id3} {
			w.wait(t, "actors_stopped", about(id, echoKey))
			require.Equal(t, "actors of "+id, strings.Join(actorIDs(inventory(t, e1, id)), ","), "")
		}
		line := ctlFails(t, e1, "stop", "actor", echoKey)
		contains(t, "second stop", line, "actor "+echoKey+" is not running on any of the 3 hosts that answered")
	})

	t.Run("tampered module fails to start", func(t *testing.T) {
		tampered := filepath.Join(t.TempDir(), "tampered.wasm")
		if err := os.WriteFile(tampered, flipCode(t, testutil.Actor(t, "echo.wasm")), 0o644); err != nil {
			t.Fatal(err)
		}
		// The host accepts the command before it reads the module; the failure is an event, which ctl waits
		// for and reports.
		line := ctlFails(t, e1, "start", "actor", tampered, "--host", id1)
		// Events about a file reference say only that it was refused; the host's log says why.
		contains(t, "ctl start actor", line, "start "+tampered+" on host "+id1, "host: actor file refused")
		ev := w.wait(t, "actors_start_failed", from(id1))
		require.Equal(t, "actors_start_failed image_ref", ev.str("image_ref"), tampered)
		require.Equal(t, "actors_start_failed host_id", ev.str("host_id"), id1)
		// Public events say only that a file was refused; the host's log has the reason.
		require.Equal(t, "actors_start_failed error", ev.str("error"), "host: actor file refused (the host's log says why)")
		h1.logLine(t, `msg="actor file refused"`, "hash does not match")
		require.Equal(t, "actors of host 1", strings.Join(actorIDs(inventory(t, e1, id1)), ","), "")
	})

	provider := publicKey(t, nkey.Service)
	const contract = "wasmcloud:httpserver"
	wantLink := control.LinkDefinition{
		ID:      strings.TrimPrefix(linkKey(echoKey, contract, "default"), "LINKDEF_"),
		ActorID: echoKey, ProviderID: provider, LinkName: "default", ContractID: contract,
		Values: map[string]string{"address": "127.0.0.1:1"},
	}
	checkLinks := func(t *testing.T, e env, want ...control.LinkDefinition) {
		t.Helper()
		got, err := json.Marshal(ctlJSON[[]control.LinkDefinition](t, e, "link", "get"))
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = []control.LinkDefinition{}
		}
		wantJSON, _ := json.Marshal(want)
		require.Equal(t, "links", string(got), string(wantJSON))
	}

	t.Run("link outlives the hosts it was put through", func(t *testing.T) {
		sent := ctlJSON[control.LinkDefinition](t, e1, "link", "put", echoKey, provider, contract, "address=127.0.0.1:1")
		require.Equal(t, "link put actor", sent.ActorID, echoKey)
		ev := w.wait(t, "linkdef_set", nil)
		require.Equal(t, "linkdef_set actor_id", ev.str("actor_id"), echoKey)
		require.Equal(t, "linkdef_set provider_id", ev.str("provider_id"), provider)
		require.Equal(t, "linkdef_set id", ev.str("id"), wantLink.ID)

		for _, h := range []*hostProc{h1, h2} {
			require.Equal(t, h.name+" exit status", h.stop(t), 0)
		}
		checkLinks(t, e3, wantLink) // only host 3 is left to answer

		h4 := startHost(t, "host 4 (sa)", latticeEnv(t, srv, c).with("HOST_REGION", "sa"))
		hostIDs = append(hostIDs, h4.ready.HostID)
		require.Equal(t, "host 3 exit status", h3.stop(t), 0)
		hosts := ctlJSON[[]control.HostInfo](t, e1, "hosts")
		if len(hosts) != 1 || hosts[0].ID != h4.ready.HostID {
			t.Fatalf("ctl hosts after stopping hosts 1 to 3 = %+v, want host 4 alone", hosts)
		}
		checkLinks(t, e1, wantLink) // host 4 learned it from the lattice bucket

		del := ctlJSON[control.RemoveLinkDefinition](t, e1, "link", "del", echoKey, contract)
		require.Equal(t, "link del", del, control.RemoveLinkDefinition{ActorID: echoKey, ContractID: contract, LinkName: "default"})
		ev = w.wait(t, "linkdef_deleted", from(h4.ready.HostID))
		require.Equal(t, "linkdef_deleted actor_id", ev.str("actor_id"), echoKey)
		checkLinks(t, e1)
		line := ctlFails(t, e1, "link", "del", echoKey, contract)
		contains(t, "second link del", line, "refused: host: no such link")

		t.Run("stop through the control interface", func(t *testing.T) {
			client, _ := ctlClient(t, srv)
			if err := client.StopHost(t.Context(), h4.ready.HostID, 0); err != nil {
				t.Fatalf("StopHost: %v", err)
			}
			require.Equal(t, "host 4 exit status", h4.wait(t, stopTimeout), 0)
			log := h4.stderr.String()
			down, stopped := strings.Index(log, `msg="stop requested`), strings.Index(log, "msg=stopped")
			if down < 0 || stopped < down {
				t.Fatalf("host 4 stderr has `stop requested` at %d and `stopped` at %d, want both, in this order", down, stopped)
			}
		})
	})

	t.Run("events", func(t *testing.T) {
		for _, id := range hostIDs {
			w.wait(t, "host_started", from(id))
			w.wait(t, "host_stopped", from(id))
		}
		for _, id := range hostIDs[:3] {
			hb := w.wait(t, "host_heartbeat", from(id)) // ctl hosts pinged them
			require.Equal(t, "host_heartbeat host_id", hb.str("host_id"), id)
		}
		for _, name := range []string{"health_check_passed", "health_check_status"} {
			ev := w.wait(t, name, about(id2, echoKey))
			require.Equal(t, name+" healthy", ev.data["healthy"], any(true))
		}
		seen := w.names()
		for _, name := range []string{"host_started", "host_stopped", "host_heartbeat", "actors_started",
			"actors_start_failed", "actors_stopped", "actor_scaled", "linkdef_set", "linkdef_deleted",
			"health_check_passed", "health_check_status"} {
			if seen[name] == 0 {
				t.Errorf("no %s event; seen: %v", name, seen)
			}
		}
		w.check(t, hostIDs...)
	})
}

// ackOf sends body to subject as a raw control request and decodes the acknowledgement.
func ackOf(t testing.TB, nc *nats.Conn, subject string, body []byte) control.CtlAck {
	t.Helper()
	m, err := nc.Request(subject, body, 10*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	var ack struct {
		Accepted *bool   `json:"accepted"`
		Error    *string `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &ack); err != nil || ack.Accepted == nil || ack.Error == nil {
		t.Fatalf("reply on %s is %q, want {\"accepted\":…,\"error\":…} (%v)", subject, m.Data, err)
	}
	return control.CtlAck{Accepted: *ack.Accepted, Error: *ack.Error}
}

// TestCtlRefusals sends the control interface what it must refuse, through the CLI and as raw NATS
// requests, and forges lattice data in the bucket every host trusts only after checking it.
func TestCtlRefusals(t *testing.T) {
	srv := runNATS(t, nil)
	c := newCluster(t)
	w := watchEvents(t, srv)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("HOST_REGION", "eu", "WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))
	id := h.ready.HostID
	_, nc := ctlClient(t, srv)
	provider := publicKey(t, nkey.Service)
	const prefix = "wasmbus.ctl.default."

	t.Run("malformed requests", func(t *testing.T) {
		link := func(actor, provider, contract string) []byte {
			b, _ := json.Marshal(control.LinkDefinition{ActorID: actor, ProviderID: provider, ContractID: contract, LinkName: "default"})
			return b
		}
		oversize := append(append([]byte(`{"actor_ref":"`), strings.Repeat("x", control.MaxCtlMessage)...), `"}`...)
		tests := []struct {
			name    string
			subject string
			body    []byte
			want    string
		}{
			{"link put: broken JSON", "linkdefs.put", []byte(`{"actor_id":`), "control: malformed control request"},
			{"link put: not an object", "linkdefs.put", []byte(`["` + echoKey + `"]`), "control: malformed control request: want a JSON object"},
			{"link put: trailing data", "linkdefs.put", append(link(echoKey, provider, "wasmcloud:httpserver"), " {}"...), "control: malformed control request: data after the JSON object"},
			{"link put: no provider", "linkdefs.put", link(echoKey, "", "wasmcloud:httpserver"), "control: invalid control request: provider_id is required"},
			{"link put: actor is not a module key", "linkdefs.put", link(provider, provider, "wasmcloud:httpserver"), "actor_id"},
			{"link put: provider is not a service key", "linkdefs.put", link(echoKey, echoKey, "wasmcloud:httpserver"), "provider_id"},
			{"link put: contract without namespace", "linkdefs.put", link(echoKey, provider, "httpserver"), `contract_id "httpserver" is not a contract`},
			{"link put: oversize", "linkdefs.put", oversize, "control: control request too large"},
			{"link del: no such link", "linkdefs.del", []byte(`{"actor_id":"` + echoKey + `","contract_id":"wasmcloud:httpserver","link_name":"default"}`), "host: no such link"},
			{"start actor: oversize", "cmd." + id + ".la", oversize, "control: control request too large"},
			{"start actor: no reference", "cmd." + id + ".la", []byte(`{"count":1}`), "control: invalid control request: actor_ref is required"},
			{"stop actor: not running", "cmd." + id + ".sa", []byte(`{"actor_ref":"` + publicKey(t, nkey.Module) + `"}`), "host: actor not running"},
			{"scale actor: no count", "cmd." + id + ".scale", []byte(`{"actor_id":"` + echoKey + `"}`), "control: invalid control request: count is required"},
			{"stop host: oversize", "cmd." + id + ".stop", oversize, "control: control request too large"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ack := ackOf(t, nc, prefix+tt.subject, tt.body)
				if ack.Accepted {
					t.Fatalf("%s accepted", tt.subject)
				}
				contains(t, "refusal", ack.Error, tt.want)
			})
		}
		// Nothing was linked, echo still runs once, and the host is still up.
		require.Equal(t, "links", strings.TrimSpace(ctlOK(t, e, "link", "get", "--json")), "[]")
		checkRuns(t, inventory(t, e, id), echoKey, testutil.Path("actors/echo.wasm"), 1)
		if h.exited() {
			t.Fatal("the host exited")
		}
	})

	t.Run("unknown host id", func(t *testing.T) {
		nobody := newKey(t, nkeys.PrefixByteServer).pub
		for _, args := range [][]string{
			{"inventory", nobody},
			{"start", "actor", testutil.Path("actors/echo.wasm"), "--host", nobody},
			{"stop", "actor", echoKey, "--host", nobody},
			{"scale", "actor", echoKey, "2", "--host", nobody},
		} {
			t.Run(args[0], func(t *testing.T) {
				contains(t, "stderr", ctlFails(t, e, args...), "no host answered", nobody)
			})
		}
	})

	t.Run("stop an actor nobody runs", func(t *testing.T) {
		nobody := publicKey(t, nkey.Module)
		contains(t, "stderr", ctlFails(t, e, "stop", "actor", nobody),
			"actor "+nobody+" is not running on any of the 1 hosts that answered")
		contains(t, "stderr", ctlFails(t, e, "stop", "actor", nobody, "--host", id),
			"refused: host: actor not running: "+nobody)
	})

	t.Run("forged lattice data", func(t *testing.T) {
		testForgedLatticeData(t, srv, w, e, id, provider)
	})
	w.check(t, id)
}

// testForgedLatticeData writes LINKDEF_ and CLAIMS_ entries straight into the lattice bucket, as anyone who
// may write to JetStream could, and checks that the host shows none of them and resolves call aliases only
// through signed claims.
func testForgedLatticeData(t *testing.T, srv *server.Server, w *eventWatcher, e env, id, provider string) {
	helloPath, helloKey := guest(t, "examples/hello", "hello")
	callerPath, callerKey := guest(t, "examples/caller", "")
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	kv := latticeBucket(t, nc)
	put := func(key string, v any) {
		t.Helper()
		b, ok := v.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := kv.Put(t.Context(), key, b); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	// barrier puts a link through the CLI and waits until `ctl link get` shows it: the host applies the bucket
	// in order, so every entry written before has been applied (or refused) by then.
	var barriers []control.LinkDefinition
	// The barrier links are for an actor the lattice does not know (its claims could not list the contract).
	barrierActor := publicKey(t, nkey.Module)
	barrier := func() {
		t.Helper()
		l := ctlJSON[control.LinkDefinition](t, e, "link", "put", barrierActor, provider, "wasmcloud:barrier"+string(rune('a'+len(barriers))))
		l.ID = strings.TrimPrefix(linkKey(l.ActorID, l.ContractID, l.LinkName), "LINKDEF_")
		barriers = append(barriers, l)
		require.Eventually(t, pollTimeout, func() bool {
			return strings.Contains(ctlOK(t, e, "link", "get", "--json"), l.ContractID)
		}, "link "+l.ContractID+" in ctl link get")

	}
	checkLinks := func(t *testing.T) {
		t.Helper()
		got, _ := json.Marshal(ctlJSON[[]control.LinkDefinition](t, e, "link", "get"))
		want, _ := json.Marshal(barriers)
		require.Equal(t, "links", string(got), string(want))
	}
	claimsOf := func(t *testing.T, key string) map[string]string {
		t.Helper()
		for _, m := range ctlJSON[[]map[string]string](t, e, "claims") {
			if m["sub"] == key {
				return m
			}
		}
		t.Fatalf("ctl claims has no entry for %s", key)
		return nil
	}

	// echo's entry as its host wrote it, with the module's signed token.
	entry, err := kv.Get(t.Context(), "CLAIMS_"+echoKey)
	if err != nil {
		t.Fatalf("echo's claims entry: %v", err)
	}
	var echoClaims map[string]any
	if err := json.Unmarshal(entry.Value(), &echoClaims); err != nil {
		t.Fatal(err)
	}
	if tok, _ := echoClaims["jwt"].(string); tok == "" {
		t.Fatalf("echo's claims entry %s carries no token", entry.Value())
	}
	echoBefore := claimsOf(t, echoKey)

	t.Run("link stored under another link's key", func(t *testing.T) {
		forged := control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "default",
			Values: map[string]string{"URL": "redis://attacker"}}
		put(linkKey(echoKey, "wasmcloud:messaging", "default"), forged)
		put(linkKey(echoKey, "wasmcloud:blobstore", "default"), []byte("{not json"))
		barrier()
		checkLinks(t)
	})

	// Written before hello starts, so that each forged claim of the alias "hello" is older than hello's own.
	t.Run("claims forged before the alias owner starts", func(t *testing.T) {
		widened := maps.Clone(echoClaims)
		widened["call_alias"] = "hello"
		widened["capabilities"] = append(slices.Clone(anySlice(echoClaims["capabilities"])), "wasmcloud:keyvalue", "wasmcloud:httpclient")
		put("CLAIMS_"+echoKey, widened) // echo's own token, which says otherwise
		unsigned := maps.Clone(echoClaims)
		delete(unsigned, "jwt")
		stranger := publicKey(t, nkey.Module)
		unsigned["subject"], unsigned["call_alias"] = stranger, "hello"
		put("CLAIMS_"+stranger, unsigned) // no token at all
		barrier()

		after := claimsOf(t, echoKey)
		require.Equal(t, "echo caps in ctl claims", after["caps"], echoBefore["caps"])
		require.Equal(t, "echo call alias in ctl claims", after["call_alias"], "")

		got := ctlJSON[ctlStarted](t, e, "start", "actor", helloPath, "--host", id)
		require.Equal(t, "start hello", got, ctlStarted{HostID: id, ActorRef: helloPath, Count: 1})
		w.wait(t, "actors_started", about(id, helloKey))
		ctlJSON[ctlStarted](t, e, "start", "actor", callerPath, "--host", id)
		w.wait(t, "actors_started", about(id, callerKey))
		require.Equal(t, "call hello", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
	})

	t.Run("unsigned claims over a running actor's", func(t *testing.T) {
		before := claimsOf(t, helloKey)
		entry, err := kv.Get(t.Context(), "CLAIMS_"+helloKey)
		if err != nil {
			t.Fatal(err)
		}
		var forged map[string]any
		if err := json.Unmarshal(entry.Value(), &forged); err != nil {
			t.Fatal(err)
		}
		delete(forged, "jwt")
		forged["capabilities"] = []string{"wasmcloud:keyvalue"}
		put("CLAIMS_"+helloKey, forged)
		barrier()
		// Both checks run: the first is a report, the second decides whether the alias still works.
		if after := claimsOf(t, helloKey); after["caps"] != before["caps"] {
			t.Errorf("ctl claims shows caps %q for hello after an unsigned entry replaced its signed one; its module claims %q", after["caps"], before["caps"])
		}
		// The host resolves the alias from what it verified, so an actor calling "hello" still reaches it ...
		relayed := callOK(t, e, callerKey, "Caller.Relay", `{"target":"hello","name":"Ada"}`)
		require.Equal(t, "caller relays to hello", relayed, `{"relayed":"Hello, Ada!","via":"caller"}`)
		// ... and so must the CLI.
		require.Equal(t, "call hello", callOK(t, e, "hello", "Hello.SayHello", `{"name":"Ada"}`), `{"message":"Hello, Ada!"}`)
	})
}

// publicKey returns the public key of a fresh key pair of type typ, for ids of things that need not exist
// (nkeys cannot make module and service keys). The seed is never used, nor kept.
func publicKey(t testing.TB, typ nkey.Type) string {
	t.Helper()
	kp, err := nkey.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	return kp.Public().String()
}

// latticeBucket opens the lattice bucket the hosts created.
func latticeBucket(t testing.TB, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), "LATTICEDATA_default")
	if err != nil {
		t.Fatalf("lattice bucket: %v", err)
	}
	return kv
}

// anySlice returns v as a slice, or nil if it is none.
func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}
