package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// ctlBase is the control subject prefix and lattice the tests configure.
const ctlBase = "wasmbus.ctl.default"

// ctlWait is the --timeout every test passes, short because pings and auctions always wait all of it.
const ctlWait = "300ms"

// fixedKey derives a public key of type typ from n, the same on every run (golden files hold them).
func fixedKey(t *testing.T, typ nkey.Type, n byte) string {
	t.Helper()
	kp, err := nkey.FromRawSeed(typ, bytes.Repeat([]byte{n}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	return kp.Public().String()
}

// ctlHost is a test double of a wasmCloud 0.x host's control interface on a real NATS connection: it
// answers ping.hosts and get.{id}.inv, bids in actor auctions when its labels satisfy the constraints, and
// acknowledges commands, or refuses them with refuse.
type ctlHost struct {
	info   control.HostInfo
	inv    control.HostInventory
	refuse string
	// failStart, when set, is the error of the actor_start_failed event a start publishes after the ack.
	failStart string
}

// outcome publishes the event a 0.x host publishes once a command it acknowledged took effect (or failed).
func (h *ctlHost) outcome(nc *nats.Conn, m *nats.Msg) {
	pub := lattice.NewEventPublisher(nc, "default", h.info.ID)
	switch {
	case strings.HasSuffix(m.Subject, ".la"):
		var c control.StartActorCommand
		_ = json.Unmarshal(m.Data, &c)
		if h.failStart != "" {
			_ = pub.Publish("actor_start_failed", map[string]any{"actor_ref": c.ActorRef, "error": h.failStart})
			return
		}
		_ = pub.Publish("actors_started", map[string]any{"image_ref": c.ActorRef, "host_id": h.info.ID, "count": c.Count})
	case strings.HasSuffix(m.Subject, ".sa"):
		var c control.StopActorCommand
		_ = json.Unmarshal(m.Data, &c)
		_ = pub.Publish("actors_stopped", map[string]any{"public_key": c.ActorRef, "host_id": h.info.ID})
	case strings.HasSuffix(m.Subject, ".scale"):
		var c control.ScaleActorCommand
		_ = json.Unmarshal(m.Data, &c)
		_ = pub.Publish("actor_scaled", map[string]any{"public_key": c.ActorID, "host_id": h.info.ID})
	}
}

// ctlLattice is the rest of the double (the subjects one host of a queue group answers) and the record of
// every request any part of it received.
type ctlLattice struct {
	links  []control.LinkDefinition
	claims []map[string]string
	raw    map[string]string // reply bodies replacing the answer to "links", "claims"

	mu  sync.Mutex
	got map[string][]string // subject → request bodies, in order; guarded by mu
}

func (l *ctlLattice) requests(subject string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got[subject]...)
}

// serve starts an in-process nats-server, connects the double to it (each host on its own connection) and
// points the WASMCLOUD_* variables the ctl commands read at it.
func (l *ctlLattice) serve(t *testing.T, hosts ...*ctlHost) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	l.got = map[string][]string{}
	conn := func() *nats.Conn {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	sub := func(nc *nats.Conn, subject, queue string, answer func(*nats.Msg) any) {
		_, err := nc.QueueSubscribe(subject, queue, func(m *nats.Msg) {
			l.mu.Lock()
			l.got[m.Subject] = append(l.got[m.Subject], string(m.Data))
			l.mu.Unlock()
			var body []byte
			switch v := answer(m).(type) {
			case nil:
				return
			case string:
				body = []byte(v)
			default:
				body, _ = json.Marshal(v)
			}
			_ = m.Respond(body)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ack := func(refuse string) control.CtlAck { return control.CtlAck{Accepted: refuse == "", Error: refuse} }
	orRaw := func(kind string, v any) any {
		if raw, ok := l.raw[kind]; ok {
			return raw
		}
		return v
	}

	nc := conn()
	sub(nc, ctlBase+".get.links", ctlBase, func(*nats.Msg) any {
		return orRaw("links", control.LinkDefinitionList{Links: l.links})
	})
	sub(nc, ctlBase+".get.claims", ctlBase, func(*nats.Msg) any {
		return orRaw("claims", control.ClaimsList{Claims: l.claims})
	})
	sub(nc, ctlBase+".linkdefs.*", ctlBase, func(m *nats.Msg) any {
		if strings.HasSuffix(m.Subject, ".put") {
			var ld control.LinkDefinition
			_ = json.Unmarshal(m.Data, &ld)
			_ = lattice.NewEventPublisher(nc, "default", "n/a").Publish("linkdef_set", ld)
		}
		return ack("")
	})
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		nc := conn()
		sub(nc, ctlBase+".ping.hosts", "", func(*nats.Msg) any { return h.info })
		sub(nc, ctlBase+".get."+h.info.ID+".inv", "", func(*nats.Msg) any { return h.inv })
		sub(nc, ctlBase+".registries.put", "", func(*nats.Msg) any { return ack(h.refuse) })
		sub(nc, ctlBase+".cmd."+h.info.ID+".*", "", func(m *nats.Msg) any {
			if h.refuse == "" {
				h.outcome(nc, m)
			}
			return ack(h.refuse)
		})
		sub(nc, ctlBase+".auction.actor", "", func(m *nats.Msg) any {
			var req control.ActorAuctionRequest
			if control.DecodeCtl(m.Data, &req) != nil {
				return nil
			}
			for k, v := range req.Constraints {
				if h.info.Labels[k] != v {
					return nil
				}
			}
			return control.ActorAuctionAck{ActorRef: req.ActorRef, Constraints: req.Constraints, HostID: h.info.ID}
		})
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	t.Setenv("WASMCLOUD_CTL_HOST", "127.0.0.1")
	t.Setenv("WASMCLOUD_CTL_PORT", strconv.Itoa(srv.Addr().(*net.TCPAddr).Port))
	t.Setenv("WASMCLOUD_LATTICE_PREFIX", "default")
	t.Setenv("WASMCLOUD_CTL_TOPIC_PREFIX", "wasmbus.ctl")
	t.Setenv("WASMCLOUD_STATE_DIR", t.TempDir())
}

// ctlFixture is a lattice of three hosts: east runs two actors and the HTTP server provider, west runs
// nothing (and has a name with a terminal escape in it), plain runs one actor and has no labels.
type ctlFixture struct {
	l                 *ctlLattice
	east, west, plain *ctlHost
	echo, kv, http    string // two actor keys and a provider key
}

func newCtlFixture(t *testing.T) *ctlFixture {
	t.Helper()
	f := &ctlFixture{
		echo: fixedKey(t, nkey.Module, 11),
		kv:   fixedKey(t, nkey.Module, 12),
		http: fixedKey(t, nkey.Service, 13),
	}
	c1, c2 := fixedKey(t, nkey.Cluster, 21), fixedKey(t, nkey.Cluster, 22)
	host := func(n byte, name string, uptime uint64, labels map[string]string) *ctlHost {
		id := fixedKey(t, nkey.Server, n)
		return &ctlHost{
			info: control.HostInfo{ID: id, Issuer: c1, Labels: labels, FriendlyName: name, UptimeSeconds: uptime,
				UptimeHuman: "ignored", Version: "0.1.0", ClusterIssuers: c1 + "," + c2, LatticePrefix: "default"},
			inv: control.HostInventory{HostID: id, Issuer: c1, Labels: labels, FriendlyName: name, Version: "0.1.0",
				UptimeSeconds: uptime, Actors: []control.ActorDescription{}, Providers: []control.ProviderDescription{}},
		}
	}
	instances := func(n int) []control.ActorInstance {
		out := make([]control.ActorInstance, n)
		for i := range out {
			out[i] = control.ActorInstance{InstanceID: "instance-" + strconv.Itoa(i), Annotations: map[string]string{}}
		}
		return out
	}
	f.east = host(1, "calm-river", 3723, map[string]string{"region": "east", "hostcore.os": "linux"})
	f.east.inv.Actors = []control.ActorDescription{
		{ID: f.kv, ImageRef: "ghcr.io/example/kvcounter:0.4.0", Name: "KV Counter", Instances: instances(1)},
		{ID: f.echo, ImageRef: "ghcr.io/example/echo:0.3.4", Name: "Echo", Instances: instances(2)},
	}
	f.east.inv.Providers = []control.ProviderDescription{{ID: f.http, ImageRef: "builtin:httpserver",
		ContractID: "wasmcloud:httpserver", LinkName: "default", Name: "HTTP Server (built-in)"}}
	f.west = host(2, "evil\x1b[2Jname", 59, map[string]string{"region": "west"})
	f.plain = host(3, "", 0, map[string]string{})
	f.plain.inv.Actors = []control.ActorDescription{{ID: f.echo, ImageRef: "file:///srv/echo.wasm", Name: "Echo", Instances: instances(1)}}

	f.l = &ctlLattice{
		links: []control.LinkDefinition{
			{ID: "2", ActorID: f.kv, ProviderID: f.http, LinkName: "default", ContractID: "wasmcloud:httpserver",
				Values: map[string]string{"PORT": "8081"}},
			{ID: "1", ActorID: f.echo, ProviderID: f.http, LinkName: "default", ContractID: "wasmcloud:httpserver",
				Values: map[string]string{"PORT": "8080", "ADDRESS": "0.0.0.0"}},
		},
		claims: []map[string]string{
			// OTP's layout, then 0.82's field names.
			{"sub": f.kv, "name": "KV Counter", "iss": "AKV", "caps": "wasmcloud:httpserver,wasmcloud:keyvalue",
				"call_alias": "kv/counter", "rev": "4", "version": "0.4.0", "tags": ""},
			{"subject": f.echo, "name": "Echo", "issuer": "AECHO", "capabilities": "wasmcloud:httpserver"},
		},
	}
	f.l.serve(t, f.east, f.west, f.plain)
	return f
}

func TestCtlGolden(t *testing.T) {
	f := newCtlFixture(t)
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"hosts", []string{"ctl", "hosts"}, "hosts.txt"},
		{"hosts json", []string{"ctl", "hosts", "--json"}, "hosts.json"},
		{"inventory of a host", []string{"ctl", "inventory", f.east.info.ID}, "inventory_host.txt"},
		{"inventory of a host json", []string{"ctl", "inventory", "--json", f.east.info.ID}, "inventory_host.json"},
		{"inventory of every host", []string{"ctl", "inventory"}, "inventory_all.txt"},
		{"inventory of every host json", []string{"ctl", "inventory", "--json"}, "inventory_all.json"},
		{"links", []string{"ctl", "link", "get"}, "links.txt"},
		{"links json", []string{"ctl", "link", "get", "--json"}, "links.json"},
		{"claims", []string{"ctl", "claims"}, "claims.txt"},
		{"claims json", []string{"ctl", "claims", "--json"}, "claims.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append(tc.args, "--timeout", ctlWait)...)
			r.wantSuccess(t)
			if strings.HasSuffix(tc.golden, ".json") && !json.Valid([]byte(r.stdout)) {
				t.Fatalf("--json output is not one JSON document:\n%s", r.stdout)
			}
			golden(t, "ctl/"+tc.golden, []byte(r.stdout))
		})
	}
}

func TestCtlEmptyLists(t *testing.T) {
	l := &ctlLattice{}
	l.serve(t)
	tests := []struct {
		name, want string
		args       []string
	}{
		{"links", "ACTOR  PROVIDER  CONTRACT  LINK NAME  VALUES\n", []string{"ctl", "link", "get"}},
		{"links json", "[]\n", []string{"ctl", "link", "get", "--json"}},
		{"claims json", "[]\n", []string{"ctl", "claims", "--json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append(tc.args, "--timeout", ctlWait)...)
			r.wantSuccess(t)
			r.wantStdout(t, tc.want)
		})
	}
}

func TestCtlNoHostAnswers(t *testing.T) {
	l := &ctlLattice{}
	l.serve(t) // a NATS server with nobody on the host subjects
	for _, args := range [][]string{
		{"ctl", "hosts"},
		{"ctl", "hosts", "--json"},
		{"ctl", "inventory"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, append(args, "--timeout", ctlWait)...)
			r.wantFailure(t, exitFailure, `no host answered within 300ms in lattice "default" (control prefix wasmbus.ctl, NATS nats://127.0.0.1:`)
			r.wantStdout(t, "")
		})
	}
	r := runCLI(t, "ctl", "inventory", fixedKey(t, nkey.Server, 9), "--timeout", ctlWait)
	r.wantFailure(t, exitFailure, "client: no host answered on "+ctlBase+".get."+fixedKey(t, nkey.Server, 9)+".inv")
}

func TestCtlMalformedReply(t *testing.T) {
	l := &ctlLattice{raw: map[string]string{"links": `{"links":{}}`, "claims": "claims!"}}
	l.serve(t)
	r := runCLI(t, "ctl", "link", "get", "--timeout", ctlWait)
	r.wantFailure(t, exitFailure, "client: malformed control reply on "+ctlBase+".get.links", "cannot unmarshal object")
	r = runCLI(t, "ctl", "claims", "--json", "--timeout", ctlWait)
	r.wantFailure(t, exitFailure, "client: malformed control reply on "+ctlBase+".get.claims", `got "claims!"`)
	r.wantStdout(t, "")
}

func TestCtlStartActor(t *testing.T) {
	f := newCtlFixture(t)
	la := func(h *ctlHost) string { return ctlBase + ".cmd." + h.info.ID + ".la" }
	const ref = "ghcr.io/example/echo:0.3.4"

	t.Run("auction with constraints", func(t *testing.T) {
		r := runCLI(t, "ctl", "start", "actor", ref, "--constraint", "region=west", "--timeout", ctlWait)
		r.wantSuccess(t)
		r.wantStdout(t, "Host "+f.west.info.ID+" started 1 instance of "+ref+"\n")
		auctions := f.l.requests(ctlBase + ".auction.actor")
		if len(auctions) == 0 || auctions[len(auctions)-1] != `{"actor_ref":"`+ref+`","constraints":{"region":"west"}}` {
			t.Fatalf("auction requests %q", auctions)
		}
		wantRequests(t, f.l, la(f.west), `{"actor_ref":"`+ref+`","count":1,"host_id":"`+f.west.info.ID+`"}`)
		wantRequests(t, f.l, la(f.east))
		wantRequests(t, f.l, la(f.plain))
	})
	t.Run("no bid", func(t *testing.T) {
		r := runCLI(t, "ctl", "start", "actor", ref, "--constraint", "region=north", "--constraint", "gpu=yes", "--timeout", ctlWait)
		r.wantFailure(t, exitFailure, "no host satisfies the constraints gpu=yes,region=north: no bid for "+ref+" within 300ms")
		wantRequests(t, f.l, la(f.east))
	})
	t.Run("named host", func(t *testing.T) {
		r := runCLI(t, "ctl", "start", "actor", ref, "--host", f.east.info.ID, "--count", "3", "--json", "--timeout", ctlWait)
		r.wantSuccess(t)
		r.wantStdout(t, `{
  "host_id": "`+f.east.info.ID+`",
  "actor_ref": "`+ref+`",
  "count": 3
}
`)
		wantRequests(t, f.l, la(f.east), `{"actor_ref":"`+ref+`","count":3,"host_id":"`+f.east.info.ID+`"}`)
	})
	t.Run("refused", func(t *testing.T) {
		f.plain.refuse = "Failed to fetch actor: no such file"
		defer func() { f.plain.refuse = "" }()
		r := runCLI(t, "ctl", "start", "actor", "file:///nope.wasm", "--host", f.plain.info.ID, "--timeout", ctlWait)
		r.wantFailure(t, exitFailure, "client: "+la(f.plain)+" refused: Failed to fetch actor: no such file")
		r.wantStdout(t, "")
	})
	t.Run("unknown host", func(t *testing.T) {
		unknown := fixedKey(t, nkey.Server, 9)
		r := runCLI(t, "ctl", "start", "actor", ref, "--host", unknown, "--timeout", ctlWait)
		r.wantFailure(t, exitFailure, "client: no host answered on "+ctlBase+".cmd."+unknown+".la")
	})
	t.Run("accepted, then failed", func(t *testing.T) {
		f.plain.failStart = "read actor: open /nope.wasm: no such file or directory"
		defer func() { f.plain.failStart = "" }()
		r := runCLI(t, "ctl", "start", "actor", "/nope.wasm", "--host", f.plain.info.ID, "--timeout", ctlWait)
		r.wantFailure(t, exitFailure, "start /nope.wasm on host "+f.plain.info.ID+": actor_start_failed: read actor: open /nope.wasm: no such file or directory")
		r.wantStdout(t, "")
	})
	t.Run("skip wait", func(t *testing.T) {
		f.plain.failStart = "never read"
		defer func() { f.plain.failStart = "" }()
		r := runCLI(t, "ctl", "start", "actor", ref, "--host", f.plain.info.ID, "--skip-wait", "--timeout", ctlWait)
		r.wantSuccess(t)
		r.wantStdout(t, "Host "+f.plain.info.ID+" accepted: start 1 instance of "+ref+"\n")
	})
	t.Run("no event in time", func(t *testing.T) {
		r := runCLI(t, "ctl", "start", "actor", ref, "--host", fixedKey(t, nkey.Server, 9), "--timeout", ctlWait, "--wait-timeout", "0s")
		r.wantFailure(t, exitUsage, "--wait-timeout must be positive")
	})
}

// wantRequests checks every request the double received on subject, in order.
func wantRequests(t *testing.T, l *ctlLattice, subject string, want ...string) {
	t.Helper()
	got := l.requests(subject)
	if len(got) != len(want) {
		t.Fatalf("%d requests on %s, want %d: %q", len(got), subject, len(want), got)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("request %d on %s:\n got %s\nwant %s", i, subject, got[i], want[i])
		}
	}
}

func TestCtlStopActor(t *testing.T) {
	f := newCtlFixture(t)
	sa := func(h *ctlHost) string { return ctlBase + ".cmd." + h.info.ID + ".sa" }

	t.Run("finds the hosts", func(t *testing.T) {
		r := runCLI(t, "ctl", "stop", "actor", f.echo, "--timeout", ctlWait)
		r.wantSuccess(t)
		// east and plain run echo; the lines follow the host ids' order.
		first, second := f.east, f.plain
		if second.info.ID < first.info.ID {
			first, second = second, first
		}
		want := "Host " + first.info.ID + " stopped every instance of " + f.echo + "\n" +
			"Host " + second.info.ID + " stopped every instance of " + f.echo + "\n"
		if r.stdout != want {
			t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
		}
		wantRequests(t, f.l, sa(f.east), `{"actor_ref":"`+f.echo+`","count":0,"host_id":"`+f.east.info.ID+`"}`)
		wantRequests(t, f.l, sa(f.plain), `{"actor_ref":"`+f.echo+`","count":0,"host_id":"`+f.plain.info.ID+`"}`)
		wantRequests(t, f.l, sa(f.west))
	})
	t.Run("named host", func(t *testing.T) {
		r := runCLI(t, "ctl", "stop", "actor", f.kv, "--host", f.east.info.ID, "--count", "1", "--json", "--timeout", ctlWait)
		r.wantSuccess(t)
		var got []stopResult
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("--json output %q: %v", r.stdout, err)
		}
		if len(got) != 1 || got[0] != (stopResult{HostID: f.east.info.ID, ActorID: f.kv, Count: 1}) {
			t.Fatalf("--json output %+v", got)
		}
		wantRequests(t, f.l, sa(f.east),
			`{"actor_ref":"`+f.echo+`","count":0,"host_id":"`+f.east.info.ID+`"}`,
			`{"actor_ref":"`+f.kv+`","count":1,"host_id":"`+f.east.info.ID+`"}`)
	})
	t.Run("not running anywhere", func(t *testing.T) {
		other := fixedKey(t, nkey.Module, 99)
		r := runCLI(t, "ctl", "stop", "actor", other, "--timeout", ctlWait)
		r.wantFailure(t, exitFailure, "actor "+other+" is not running on any of the 3 hosts that answered")
	})
}

func TestCtlScaleActor(t *testing.T) {
	f := newCtlFixture(t)
	scale := ctlBase + ".cmd." + f.east.info.ID + ".scale"

	r := runCLI(t, "ctl", "scale", "actor", f.kv, "4", "--host", f.east.info.ID, "--timeout", ctlWait)
	r.wantSuccess(t)
	r.wantStdout(t, "Host "+f.east.info.ID+" scaled "+f.kv+" to 4 instances\n")
	r = runCLI(t, "ctl", "scale", "actor", f.echo, "0", "--host", f.east.info.ID, "--ref", "ghcr.io/example/echo:0.3.5", "--timeout", ctlWait)
	r.wantSuccess(t)
	wantRequests(t, f.l, scale,
		`{"actor_id":"`+f.kv+`","actor_ref":"ghcr.io/example/kvcounter:0.4.0","count":4,"host_id":"`+f.east.info.ID+`"}`,
		`{"actor_id":"`+f.echo+`","actor_ref":"ghcr.io/example/echo:0.3.5","count":0,"host_id":"`+f.east.info.ID+`"}`)

	r = runCLI(t, "ctl", "scale", "actor", f.kv, "2", "--host", f.west.info.ID, "--timeout", ctlWait)
	r.wantFailure(t, exitFailure, "actor "+f.kv+" is not running on host "+f.west.info.ID+": pass --ref")
}

func TestCtlLinkPutDel(t *testing.T) {
	f := newCtlFixture(t)
	r := runCLI(t, "ctl", "link", "put", f.echo, f.http, "wasmcloud:httpserver", "PORT=8080", "--link-name", "web",
		"ADDRESS=0.0.0.0:8080", "--timeout", ctlWait)
	r.wantSuccess(t)
	r.wantStdout(t, "Linked "+f.echo+" to "+f.http+" for wasmcloud:httpserver (link name web)\n")
	r = runCLI(t, "ctl", "link", "put", f.kv, f.http, "wasmcloud:keyvalue", "--timeout", ctlWait)
	r.wantSuccess(t)
	wantRequests(t, f.l, ctlBase+".linkdefs.put",
		`{"id":"","actor_id":"`+f.echo+`","provider_id":"`+f.http+`","link_name":"web","contract_id":"wasmcloud:httpserver","values":{"ADDRESS":"0.0.0.0:8080","PORT":"8080"}}`,
		`{"id":"","actor_id":"`+f.kv+`","provider_id":"`+f.http+`","link_name":"default","contract_id":"wasmcloud:keyvalue","values":{}}`)

	r = runCLI(t, "ctl", "link", "del", f.echo, "wasmcloud:httpserver", "--json", "--timeout", ctlWait)
	r.wantSuccess(t)
	r.wantStdout(t, "{\n  \"actor_id\": \""+f.echo+"\",\n  \"contract_id\": \"wasmcloud:httpserver\",\n  \"link_name\": \"default\"\n}\n")
	wantRequests(t, f.l, ctlBase+".linkdefs.del",
		`{"actor_id":"`+f.echo+`","contract_id":"wasmcloud:httpserver","link_name":"default"}`)
}

func TestCtlUsageErrors(t *testing.T) {
	actor := fixedKey(t, nkey.Module, 11)
	provider := fixedKey(t, nkey.Service, 13)
	host := fixedKey(t, nkey.Server, 1)
	testUsageErrors(t, []usageCase{
		{"no subcommand", []string{"ctl"}, "ctl: missing subcommand: want hosts or inventory or start"},
		{"unknown subcommand", []string{"ctl", "frob"}, `ctl: unknown subcommand "frob"`},
		{"start without kind", []string{"ctl", "start"}, "ctl start: missing subcommand: want actor"},
		{"start provider without a reference", []string{"ctl", "start", "provider"}, "want exactly one provider reference"},
		{"start something else", []string{"ctl", "start", "host"}, `ctl start: unknown subcommand "host"`},
		{"stop provider not a key", []string{"ctl", "stop", "provider", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"}, "provider key"},
		{"hosts with argument", []string{"ctl", "hosts", "x"}, `ctl hosts: unexpected argument "x"`},
		{"zero timeout", []string{"ctl", "hosts", "--timeout", "0s"}, "--timeout must be positive"},
		{"bad timeout", []string{"ctl", "claims", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{"inventory of two hosts", []string{"ctl", "inventory", "a", "b"}, "want at most one host id"},
		{"start without ref", []string{"ctl", "start", "actor"}, "want exactly one actor reference, got 0"},
		{"start zero count", []string{"ctl", "start", "actor", "r", "--count", "0"}, "--count must be between 1 and 65535"},
		{"start huge count", []string{"ctl", "start", "actor", "r", "--count", "70000"}, "--count must be between 1 and 65535"},
		{"start bad constraint", []string{"ctl", "start", "actor", "r", "--constraint", "region"}, `--constraint: "region": want k=v`},
		{"start empty constraint key", []string{"ctl", "start", "actor", "r", "--constraint", "=x"}, `"=x": want k=v`},
		{"start twice constrained", []string{"ctl", "start", "actor", "r", "--constraint", "a=1", "--constraint", "a=2"}, `"a=2": a given twice`},
		{"start host and constraint", []string{"ctl", "start", "actor", "r", "--host", host, "--constraint", "a=1"}, "cannot be combined with --host"},
		{"stop without key", []string{"ctl", "stop", "actor"}, "want exactly one actor key"},
		{"stop provider key", []string{"ctl", "stop", "actor", provider}, "actor key"},
		{"stop huge count", []string{"ctl", "stop", "actor", actor, "--count", "65536"}, "--count must be at most 65535"},
		{"scale without host", []string{"ctl", "scale", "actor", actor, "2"}, "missing --host"},
		{"scale without count", []string{"ctl", "scale", "actor", actor, "--host", host}, "want an actor key and an instance count"},
		{"scale bad count", []string{"ctl", "scale", "actor", actor, "70000", "--host", host}, `instance count "70000": want a number from 0 to 65535`},
		{"link without subcommand", []string{"ctl", "link"}, "ctl link: missing subcommand: want put or del or get"},
		{"link put too few", []string{"ctl", "link", "put", actor, provider}, "want an actor key, a provider key and a contract, got 2"},
		{"link put bad value", []string{"ctl", "link", "put", actor, provider, "c", "PORT"}, `"PORT": want k=v`},
		{"link put swapped keys", []string{"ctl", "link", "put", provider, actor, "c"}, "actor key"},
		{"link put actor as provider", []string{"ctl", "link", "put", actor, actor, "c"}, "provider key"},
		{"link put empty link name", []string{"ctl", "link", "put", actor, provider, "c", "--link-name", ""}, "--link-name must not be empty"},
		{"link del too many", []string{"ctl", "link", "del", actor, "c", "d"}, "want an actor key and a contract, got 3"},
		{"link get argument", []string{"ctl", "link", "get", "x"}, `unexpected argument "x"`},
	})
}

func TestCtlHelp(t *testing.T) {
	testHelp(t, []helpCase{
		{"overview", []string{"--help"}, []string{"wasmcloud-host ctl <hosts|inventory|start|stop|scale|link|claims|registries|watch>"}},
		{"ctl --help", []string{"ctl", "--help"}, []string{"wasmcloud-host ctl hosts", "wasmcloud-host ctl start actor <ref>",
			"wasmcloud-host ctl link put|del|get", "wasmcloud-host ctl claims"}},
		{"help ctl", []string{"help", "ctl"}, []string{"wasmcloud-host ctl inventory [HOST_ID]"}},
		{"help ctl link", []string{"help", "ctl", "link"}, []string{"wasmcloud-host ctl link put <actor-key> <provider-key> <contract>"}},
		{"ctl start actor --help", []string{"ctl", "start", "actor", "--help"},
			[]string{"Usage: wasmcloud-host ctl start actor", "--constraint k=v", "--count", "--host", "--json", "--timeout",
				"--skip-wait", "--wait-timeout"}},
		{"ctl stop --help", []string{"ctl", "stop", "--help"}, []string{"wasmcloud-host ctl stop actor", "wasmcloud-host ctl stop host"}},
		{"ctl watch --help", []string{"ctl", "watch", "--help"}, []string{"Usage: wasmcloud-host ctl watch", "--type name", "--for"}},
		{"ctl get --help", []string{"ctl", "get", "--help"}, []string{"wasmcloud-host ctl get events"}},
		{"ctl registries put --help", []string{"ctl", "registries", "put", "--help"}, []string{"--password-file", "--token-file"}},
		{"ctl hosts -h", []string{"ctl", "hosts", "-h"}, []string{"Usage: wasmcloud-host ctl hosts", "--timeout duration"}},
	})
}

func TestCtlHostsMalformedAnswer(t *testing.T) {
	f := newCtlFixture(t)
	// A fourth "host" that answers the ping with something that is not a HostInfo.
	nc, err := nats.Connect("nats://127.0.0.1:" + os.Getenv("WASMCLOUD_CTL_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe(ctlBase+".ping.hosts", func(m *nats.Msg) { _ = m.Respond([]byte("pong")) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "ctl", "hosts", "--json", "--timeout", ctlWait)
	r.wantFailure(t, exitFailure, "client: malformed control reply on "+ctlBase+".ping.hosts", `got "pong"`)
	var hosts []control.HostInfo
	if err := json.Unmarshal([]byte(r.stdout), &hosts); err != nil {
		t.Fatalf("stdout is not the JSON list of the hosts that answered well: %v\n%s", err, r.stdout)
	}
	if len(hosts) != 3 || hosts[0].ID > hosts[1].ID || hosts[1].ID > hosts[2].ID {
		t.Fatalf("hosts %+v, want the fixture's three, sorted", hosts)
	}
	for _, h := range hosts {
		if h.ID != f.east.info.ID && h.ID != f.west.info.ID && h.ID != f.plain.info.ID {
			t.Fatalf("unexpected host %s", h.ID)
		}
	}
}
