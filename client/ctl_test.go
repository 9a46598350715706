package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// ctlTimeout keeps the scatter-gather windows of these tests short.
const ctlTimeout = 300 * time.Millisecond

const (
	testPrefix  = "wasmbus.ctl"
	testLattice = "default"
	testBase    = testPrefix + "." + testLattice
)

// testKey derives a fixed public key of the given type from n, so that test data is the same on every run.
func testKey(t testing.TB, typ nkey.Type, n byte) string {
	t.Helper()
	kp, err := nkey.FromRawSeed(typ, bytes.Repeat([]byte{n}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	return kp.Public().String()
}

// fakeHost is a test double of a wasmCloud 0.x host's control interface, on a real NATS connection: it
// answers ping.hosts with info, get.{id}.inv with inv, bids in actor auctions when its labels satisfy the
// constraints, and acknowledges commands (or refuses them with refuse).
type fakeHost struct {
	info   control.HostInfo
	inv    control.HostInventory
	refuse string
	// raw replaces the reply to a kind of request ("ping", "inv", "auction", "la", "sa", "scale", "upd",
	// "stop", "registries") with these bytes.
	raw map[string]string
	// silent lists the kinds of request the host receives but never answers.
	silent map[string]bool
}

// fakeLattice is the lattice-wide part of the double: the queue-group subjects (get.links, get.claims,
// linkdefs.*) that one host of a lattice answers, and the record of every request any part received.
type fakeLattice struct {
	links  []control.LinkDefinition
	claims []map[string]string
	refuse string
	raw    map[string]string // by kind: "links", "claims", "linkdefs.put", "linkdefs.del"

	mu  sync.Mutex
	got []received // guarded by mu
}

// received is one request as the double saw it.
type received struct {
	subject string
	data    string
	token   string // the control token header, if any
}

func (l *fakeLattice) record(m *nats.Msg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	token := ""
	if m.Header != nil {
		token = m.Header.Get(control.TokenHeader)
	}
	l.got = append(l.got, received{m.Subject, string(m.Data), token})
}

// requests returns the requests received on subject, in order.
func (l *fakeLattice) requests(subject string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.got {
		if r.subject == subject {
			out = append(out, r.data)
		}
	}
	return out
}

// serve connects the lattice double and every host to url, each on its own connection, as separate
// processes would be. Everything is unsubscribed and closed when the test ends.
func (l *fakeLattice) serve(t testing.TB, url string, hosts ...*fakeHost) {
	t.Helper()
	conn := func() *nats.Conn {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	sub := func(nc *nats.Conn, subject, queue string, h func(*nats.Msg)) {
		if _, err := nc.QueueSubscribe(subject, queue, func(m *nats.Msg) { l.record(m); h(m) }); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(m *nats.Msg, raw map[string]string, silent map[string]bool, kind string, v any) {
		if silent[kind] {
			return
		}
		b, ok := []byte(raw[kind]), raw[kind] != ""
		if !ok {
			var err error
			if b, err = json.Marshal(v); err != nil {
				panic(err)
			}
		}
		_ = m.Respond(b)
	}
	ack := func(refuse string) control.CtlAck { return control.CtlAck{Accepted: refuse == "", Error: refuse} }

	nc := conn()
	sub(nc, testBase+".get.links", testBase, func(m *nats.Msg) {
		reply(m, l.raw, nil, "links", control.LinkDefinitionList{Links: l.links})
	})
	sub(nc, testBase+".get.claims", testBase, func(m *nats.Msg) {
		reply(m, l.raw, nil, "claims", control.ClaimsList{Claims: l.claims})
	})
	sub(nc, testBase+".linkdefs.*", testBase, func(m *nats.Msg) {
		reply(m, l.raw, nil, strings.TrimPrefix(m.Subject, testBase+"."), ack(l.refuse))
	})
	for _, h := range hosts {
		nc := conn()
		id := h.info.ID
		sub(nc, testBase+".ping.hosts", "", func(m *nats.Msg) { reply(m, h.raw, h.silent, "ping", h.info) })
		sub(nc, testBase+".get."+id+".inv", "", func(m *nats.Msg) { reply(m, h.raw, h.silent, "inv", h.inv) })
		sub(nc, testBase+".cmd."+id+".*", "", func(m *nats.Msg) {
			reply(m, h.raw, h.silent, m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], ack(h.refuse))
		})
		sub(nc, testBase+".registries.put", "", func(m *nats.Msg) { reply(m, h.raw, h.silent, "registries", ack(h.refuse)) })
		sub(nc, testBase+".auction.actor", "", func(m *nats.Msg) {
			var req control.ActorAuctionRequest
			if err := control.DecodeCtl(m.Data, &req); err != nil {
				return
			}
			for k, v := range req.Constraints {
				if h.info.Labels[k] != v {
					return // 0.x OTP hosts stay silent when their labels do not satisfy the constraints
				}
			}
			reply(m, h.raw, h.silent, "auction", control.ActorAuctionAck{ActorRef: req.ActorRef, Constraints: req.Constraints, HostID: id})
		})
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// newFakeHost returns a host double with id derived from n and labels.
func newFakeHost(t testing.TB, n byte, labels map[string]string) *fakeHost {
	t.Helper()
	id := testKey(t, nkey.Server, n)
	cluster := testKey(t, nkey.Cluster, 100+n)
	actor := testKey(t, nkey.Module, 200+n)
	return &fakeHost{
		info: control.HostInfo{
			ID: id, Issuer: cluster, Labels: labels, FriendlyName: "host-" + string('a'+rune(n)),
			UptimeSeconds: 60 * uint64(n), Version: "0.1.0", ClusterIssuers: cluster, LatticePrefix: testLattice,
		},
		inv: control.HostInventory{
			HostID: id, Issuer: cluster, Labels: labels,
			Actors: []control.ActorDescription{{ID: actor, ImageRef: "file:///actors/echo.wasm", Name: "Echo",
				Instances: []control.ActorInstance{{InstanceID: "i-1", Annotations: map[string]string{}}}}},
			Providers: []control.ProviderDescription{},
		},
	}
}

// ctlSetup starts a NATS server, serves the lattice double with hosts on it, and returns a client.
func ctlSetup(t testing.TB, l *fakeLattice, hosts ...*fakeHost) *CtlClient {
	t.Helper()
	srv := runServer(t, nil)
	l.serve(t, srv.ClientURL(), hosts...)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return NewCtlClient(nc, testPrefix, testLattice, ctlTimeout)
}

func TestCtlHostsGathersEveryAnswer(t *testing.T) {
	l := &fakeLattice{}
	a, b, c := newFakeHost(t, 1, map[string]string{"zone": "a"}), newFakeHost(t, 2, nil), newFakeHost(t, 3, nil)
	client := ctlSetup(t, l, c, a, b)

	hosts, err := client.Hosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []control.HostInfo{a.info, b.info, c.info}
	slices.SortFunc(want, func(x, y control.HostInfo) int { return strings.Compare(x.ID, y.ID) })
	require.DeepEqual(t, "hosts", hosts, want)
	require.Equal(t, "ping requests (one per host)", len(l.requests(testBase+".ping.hosts")), 3)
}

func TestCtlHostsDropsDuplicateAnswers(t *testing.T) {
	a := newFakeHost(t, 1, nil)
	twin := *a // a second process answering as the same host
	client := ctlSetup(t, &fakeLattice{}, a, &twin)
	hosts, err := client.Hosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "hosts", hosts, []control.HostInfo{a.info})
}

func TestCtlHostsNobodyAnswers(t *testing.T) {
	tests := []struct {
		name  string
		hosts func(t *testing.T) []*fakeHost
	}{
		{"no subscriber", func(*testing.T) []*fakeHost { return nil }},
		{"silent host", func(t *testing.T) []*fakeHost {
			h := newFakeHost(t, 1, nil)
			h.silent = map[string]bool{"ping": true}
			return []*fakeHost{h}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := ctlSetup(t, &fakeLattice{}, tc.hosts(t)...)
			hosts, err := client.Hosts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if hosts == nil || len(hosts) != 0 {
				t.Fatalf("hosts = %#v, want an empty list", hosts)
			}
		})
	}
}

func TestCtlHostsMalformedAnswer(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"not JSON", "pong", `want a JSON object, got "pong"`},
		{"array", `[{"id":"x"}]`, "want a JSON object"},
		{"no id", `{"labels":{}}`, "no host id"},
		{"wrong type", `{"id":7}`, "cannot unmarshal number"},
		{"trailing data", `{"id":"N"} {}`, "invalid character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good, bad := newFakeHost(t, 1, nil), newFakeHost(t, 2, nil)
			bad.raw = map[string]string{"ping": tc.raw}
			client := ctlSetup(t, &fakeLattice{}, good, bad)
			hosts, err := client.Hosts(t.Context())
			require.ErrorIs(t, err, ErrCtlBadReply)
			require.ErrorContains(t, err, testBase+".ping.hosts", tc.want)
			require.DeepEqual(t, "hosts", hosts, []control.HostInfo{good.info})
		})
	}
}

func TestCtlHostsContextEnds(t *testing.T) {
	client := ctlSetup(t, &fakeLattice{}, newFakeHost(t, 1, nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := client.Hosts(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, testBase+".ping.hosts")
}

func TestCtlCommandRequests(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	id := h.info.ID
	actor := testKey(t, nkey.Module, 50)
	provider := testKey(t, nkey.Service, 51)
	l := &fakeLattice{}
	client := ctlSetup(t, l, h)

	tests := []struct {
		name    string
		call    func(context.Context) error
		subject string
		want    string
	}{
		{"start", func(ctx context.Context) error {
			return client.StartActor(ctx, id, "ghcr.io/x/echo:0.3.4", 3, map[string]string{"team": "a"})
		}, "cmd." + id + ".la", `{"actor_ref":"ghcr.io/x/echo:0.3.4","count":3,"annotations":{"team":"a"},"host_id":"` + id + `"}`},
		{"start count zero means one", func(ctx context.Context) error {
			return client.StartActor(ctx, id, "file:///a.wasm", 0, nil)
		}, "cmd." + id + ".la", `{"actor_ref":"file:///a.wasm","count":1,"host_id":"` + id + `"}`},
		{"stop", func(ctx context.Context) error { return client.StopActor(ctx, id, actor, 0) },
			"cmd." + id + ".sa", `{"actor_ref":"` + actor + `","count":0,"host_id":"` + id + `"}`},
		{"scale", func(ctx context.Context) error { return client.ScaleActor(ctx, id, actor, "ghcr.io/x/echo:0.3.4", 5) },
			"cmd." + id + ".scale", `{"actor_id":"` + actor + `","actor_ref":"ghcr.io/x/echo:0.3.4","count":5,"host_id":"` + id + `"}`},
		{"scale to zero", func(ctx context.Context) error { return client.ScaleActor(ctx, id, actor, "", 0) },
			"cmd." + id + ".scale", `{"actor_id":"` + actor + `","actor_ref":"","count":0,"host_id":"` + id + `"}`},
		{"update", func(ctx context.Context) error { return client.UpdateActor(ctx, id, actor, "ghcr.io/x/echo:0.3.5") },
			"cmd." + id + ".upd", `{"actor_id":"` + actor + `","new_actor_ref":"ghcr.io/x/echo:0.3.5","host_id":"` + id + `"}`},
		{"stop host", func(ctx context.Context) error { return client.StopHost(ctx, id, 1500*time.Millisecond) },
			"cmd." + id + ".stop", `{"timeout":1500,"host_id":"` + id + `"}`},
		{"stop host default timeout", func(ctx context.Context) error { return client.StopHost(ctx, id, 0) },
			"cmd." + id + ".stop", `{"host_id":"` + id + `"}`},
		{"put link", func(ctx context.Context) error {
			return client.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: provider,
				ContractID: "wasmcloud:httpserver", Values: map[string]string{"PORT": "8080", "ADDR": "0.0.0.0"}})
		}, "linkdefs.put", `{"id":"","actor_id":"` + actor + `","provider_id":"` + provider +
			`","link_name":"default","contract_id":"wasmcloud:httpserver","values":{"ADDR":"0.0.0.0","PORT":"8080"}}`},
		{"put link without values", func(ctx context.Context) error {
			return client.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "x"})
		}, "linkdefs.put", `{"id":"","actor_id":"` + actor + `","provider_id":"` + provider +
			`","link_name":"x","contract_id":"wasmcloud:keyvalue","values":{}}`},
		{"delete link", func(ctx context.Context) error { return client.DelLink(ctx, actor, "wasmcloud:keyvalue", "") },
			"linkdefs.del", `{"actor_id":"` + actor + `","contract_id":"wasmcloud:keyvalue","link_name":"default"}`},
		{"registries", func(ctx context.Context) error {
			return client.PutRegistries(ctx, control.RegistryCredentialMap{"ghcr.io": {RegistryType: "oci", Token: "t"}})
		}, "registries.put", `{"ghcr.io":{"registryType":"oci","token":"t"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject := testBase + "." + tc.subject
			before := len(l.requests(subject))
			if err := tc.call(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := l.requests(subject)
			require.Equal(t, "requests on "+subject, len(got), before+1)
			require.Equal(t, "request JSON", got[before], tc.want)
		})
	}
}

func TestCtlCommandRefused(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	h.refuse = "Actor with that reference is not running on this host"
	id := h.info.ID
	actor := testKey(t, nkey.Module, 50)
	client := ctlSetup(t, &fakeLattice{refuse: "link definition refused by policy"}, h)

	tests := []struct {
		name, subject, message string
		call                   func(context.Context) error
	}{
		{"start", "cmd." + id + ".la", h.refuse, func(ctx context.Context) error { return client.StartActor(ctx, id, "r", 1, nil) }},
		{"stop", "cmd." + id + ".sa", h.refuse, func(ctx context.Context) error { return client.StopActor(ctx, id, actor, 1) }},
		{"scale", "cmd." + id + ".scale", h.refuse, func(ctx context.Context) error { return client.ScaleActor(ctx, id, actor, "r", 2) }},
		{"update", "cmd." + id + ".upd", h.refuse, func(ctx context.Context) error { return client.UpdateActor(ctx, id, actor, "r") }},
		{"stop host", "cmd." + id + ".stop", h.refuse, func(ctx context.Context) error { return client.StopHost(ctx, id, 0) }},
		{"put link", "linkdefs.put", "link definition refused by policy", func(ctx context.Context) error {
			return client.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: testKey(t, nkey.Service, 51), ContractID: "wasmcloud:keyvalue"})
		}},
		{"delete link", "linkdefs.del", "link definition refused by policy", func(ctx context.Context) error {
			return client.DelLink(ctx, actor, "c", "x")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			var refused *CtlRefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("error %v, want a *CtlRefusedError", err)
			}
			require.Equal(t, "subject", refused.Subject, testBase+"."+tc.subject)
			require.Equal(t, "message", refused.Message, tc.message)
			require.Equal(t, "error text", err.Error(), "client: "+testBase+"."+tc.subject+" refused: "+tc.message)
		})
	}
}

// received returns every request received on subject, with its token, in order.
func (l *fakeLattice) received(subject string) []received {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []received
	for _, r := range l.got {
		if r.subject == subject {
			out = append(out, r)
		}
	}
	return out
}

// TestCtlSignsCommands: with a signer, every command carries a token that binds its subject and exact body;
// questions carry none.
func TestCtlSignsCommands(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	id := h.info.ID
	actor := testKey(t, nkey.Module, 50)
	l := &fakeLattice{}
	client := ctlSetup(t, l, h)
	kp, err := nkey.FromRawSeed(nkey.Operator, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	signer, err := control.NewSigner(seed, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Wipe()
	client.SignWith(signer)
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: []string{signer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	commands := []struct {
		subject string
		call    func() error
	}{
		{"cmd." + id + ".la", func() error { return client.StartActor(ctx, id, "ghcr.io/x/echo:0.3.4", 1, nil) }},
		{"cmd." + id + ".sa", func() error { return client.StopActor(ctx, id, actor, 0) }},
		{"cmd." + id + ".scale", func() error { return client.ScaleActor(ctx, id, actor, "", 2) }},
		{"cmd." + id + ".upd", func() error { return client.UpdateActor(ctx, id, actor, "ghcr.io/x/echo:0.3.5") }},
		{"cmd." + id + ".stop", func() error { return client.StopHost(ctx, id, 0) }},
		{"linkdefs.put", func() error {
			return client.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: testKey(t, nkey.Service, 51), ContractID: "wasmcloud:keyvalue"})
		}},
		{"linkdefs.del", func() error { return client.DelLink(ctx, actor, "wasmcloud:keyvalue", "") }},
		{"registries.put", func() error { return client.PutRegistries(ctx, control.RegistryCredentialMap{"ghcr.io": {Token: "t"}}) }},
	}
	for _, c := range commands {
		t.Run(c.subject, func(t *testing.T) {
			require.NoError(t, c.call())
			got := l.received(testBase + "." + c.subject)
			r := got[len(got)-1]
			req, err := v.Verify(r.subject, []byte(r.data), r.token)
			require.NoError(t, err, "token of %s", c.subject)
			require.Equal(t, "issuer", req.Issuer, signer.PublicKey())
		})
	}
	t.Run("questions are not signed", func(t *testing.T) {
		_, err := client.Hosts(ctx)
		require.NoError(t, err)
		_, err = client.Links(ctx)
		require.NoError(t, err)
		_, err = client.Inventory(ctx, id)
		require.NoError(t, err)
		for _, s := range []string{".ping.hosts", ".get.links", ".get." + id + ".inv"} {
			for _, r := range l.received(testBase + s) {
				require.Equal(t, "token on "+s, r.token, "")
			}
		}
	})
}

// TestCtlUnsignedRefusal: a host refusing an unsigned command gets an error that says the client had no key.
func TestCtlUnsignedRefusal(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	h.refuse = control.ErrNotSigned.Error()
	client := ctlSetup(t, &fakeLattice{}, h)
	err := client.StopHost(t.Context(), h.info.ID, 0)
	var refused *CtlRefusedError
	require.True(t, errors.As(err, &refused), "error %v", err)
	require.True(t, refused.Unsigned, "Unsigned")
	require.Equal(t, "error", err.Error(), "client: "+testBase+".cmd."+h.info.ID+".stop refused: control: request not signed (this client has no control issuer key to sign with)")
}

func TestCtlRefusedWithoutReason(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	h.raw = map[string]string{"la": `{"accepted":false}`}
	client := ctlSetup(t, &fakeLattice{}, h)
	err := client.StartActor(t.Context(), h.info.ID, "r", 1, nil)
	require.Equal(t, "error", err.Error(), "client: "+testBase+".cmd."+h.info.ID+".la refused without a reason")
}

func TestCtlNoHostAnswered(t *testing.T) {
	h := newFakeHost(t, 1, nil)
	h.silent = map[string]bool{"la": true, "inv": true}
	client := ctlSetup(t, &fakeLattice{}, h)
	unknown := testKey(t, nkey.Server, 99)

	tests := []struct {
		name, subject, want string
		call                func(context.Context) error
	}{
		{"unknown host", "cmd." + unknown + ".la", "nobody subscribes", func(ctx context.Context) error {
			return client.StartActor(ctx, unknown, "r", 1, nil)
		}},
		{"unknown host inventory", "get." + unknown + ".inv", "nobody subscribes", func(ctx context.Context) error {
			_, err := client.Inventory(ctx, unknown)
			return err
		}},
		{"silent host", "cmd." + h.info.ID + ".la", "within 300ms", func(ctx context.Context) error {
			return client.StartActor(ctx, h.info.ID, "r", 1, nil)
		}},
		{"silent inventory", "get." + h.info.ID + ".inv", "within 300ms", func(ctx context.Context) error {
			_, err := client.Inventory(ctx, h.info.ID)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			require.ErrorIs(t, err, ErrNoHostAnswered)
			require.ErrorContains(t, err, testBase+"."+tc.subject, tc.want)
		})
	}
}

func TestCtlNoLatticeAnswered(t *testing.T) {
	// Nobody serves the queue-group subjects: no lattice double, only a host.
	srv := runServer(t, nil)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	client := NewCtlClient(nc, testPrefix, testLattice, ctlTimeout)
	_, err = client.Links(t.Context())
	require.ErrorIs(t, err, ErrNoHostAnswered)
	require.ErrorContains(t, err, testBase+".get.links")
	_, err = client.Claims(t.Context())
	require.ErrorIs(t, err, ErrNoHostAnswered)
	require.ErrorContains(t, err, testBase+".get.claims")
	err = client.PutRegistries(t.Context(), nil)
	require.ErrorIs(t, err, ErrNoHostAnswered)
	require.ErrorContains(t, err, testBase+".registries.put")
}

func TestCtlMalformedReply(t *testing.T) {
	tests := []struct {
		name, raw, want string
		badInventory    bool // the reply is no valid inventory either
	}{
		{"not JSON", "OK", `want a JSON object, got "OK"`, true},
		{"empty", "  ", "empty reply", true},
		{"null", "null", "want a JSON object", true},
		{"array", `[true]`, "want a JSON object", true},
		{"no accepted field", `{"error":""}`, `no "accepted" field`, false},
		{"accepted not a bool", `{"accepted":"yes"}`, "cannot unmarshal string", false},
		{"trailing data", `{"accepted":true}x`, "invalid character 'x'", true},
		{"truncated", `{"accepted":tr`, "in literal true", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost(t, 1, nil)
			raw := tc.raw
			if strings.TrimSpace(raw) == "" {
				raw = " " // the double treats "" as "no override"; the client trims spaces
			}
			h.raw = map[string]string{"la": raw, "inv": raw}
			client := ctlSetup(t, &fakeLattice{}, h)
			err := client.StartActor(t.Context(), h.info.ID, "r", 1, nil)
			require.ErrorIs(t, err, ErrCtlBadReply)
			require.ErrorContains(t, err, testBase+".cmd."+h.info.ID+".la", tc.want)
			if tc.badInventory {
				_, err = client.Inventory(t.Context(), h.info.ID)
				require.ErrorIs(t, err, ErrCtlBadReply)
				require.ErrorContains(t, err, testBase+".get."+h.info.ID+".inv")
			}
		})
	}
}

func TestCtlQueries(t *testing.T) {
	h := newFakeHost(t, 1, map[string]string{"zone": "a"})
	actor := testKey(t, nkey.Module, 50)
	provider := testKey(t, nkey.Service, 51)
	l := &fakeLattice{
		links: []control.LinkDefinition{{ID: "l1", ActorID: actor, ProviderID: provider, LinkName: "default",
			ContractID: "wasmcloud:httpserver", Values: map[string]string{"PORT": "8080"}}},
		claims: []map[string]string{{"sub": actor, "name": "Echo", "iss": "A", "caps": "wasmcloud:httpserver"}},
	}
	client := ctlSetup(t, l, h)

	inv, err := client.Inventory(t.Context(), h.info.ID)
	if err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "inventory", inv, h.inv)
	require.Equal(t, "inventory request", l.requests(testBase + ".get." + h.info.ID + ".inv")[0], "")

	links, err := client.Links(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "links", links, l.links)

	claims, err := client.Claims(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "claims", claims, l.claims)
}

func TestCtlAuctionActor(t *testing.T) {
	east := newFakeHost(t, 1, map[string]string{"region": "east", "gpu": "yes"})
	west := newFakeHost(t, 2, map[string]string{"region": "west"})
	plain := newFakeHost(t, 3, nil)
	l := &fakeLattice{}
	client := ctlSetup(t, l, east, west, plain)

	tests := []struct {
		name        string
		constraints map[string]string
		request     string
		bidders     []string
	}{
		{"two labels", map[string]string{"region": "east", "gpu": "yes"},
			`{"actor_ref":"r","constraints":{"gpu":"yes","region":"east"}}`, []string{east.info.ID}},
		{"one label", map[string]string{"region": "west"}, `{"actor_ref":"r","constraints":{"region":"west"}}`, []string{west.info.ID}},
		{"no host matches", map[string]string{"region": "north"}, `{"actor_ref":"r","constraints":{"region":"north"}}`, nil},
		{"no constraints", nil, `{"actor_ref":"r","constraints":{}}`, []string{east.info.ID, west.info.ID, plain.info.ID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(l.requests(testBase + ".auction.actor"))
			bids, err := client.AuctionActor(t.Context(), "r", tc.constraints)
			if err != nil {
				t.Fatal(err)
			}
			// Every host receives the one request (those that do not bid may still be reading it).
			var got []string
			require.Eventually(t, 10*time.Second, func() bool {
				got = l.requests(testBase + ".auction.actor")
				return len(got) >= before+3
			}, "three auction requests")

			require.Equal(t, "auction requests", len(got), before+3)
			for _, r := range got[before:] {
				require.Equal(t, "auction request", r, tc.request)
			}
			bidders := map[string]bool{}
			for _, b := range bids {
				bidders[b.HostID] = true
				require.Equal(t, "bid actor_ref", b.ActorRef, "r")
				if len(tc.constraints) > 0 {
					require.DeepEqual(t, "bid constraints", b.Constraints, tc.constraints)
				}
			}
			want := map[string]bool{}
			for _, id := range tc.bidders {
				want[id] = true
			}
			if len(bids) != len(tc.bidders) || !maps.Equal(bidders, want) {
				t.Fatalf("bids from %v, want %v", bidders, want)
			}
		})
	}
}

func TestCtlInvalidRequests(t *testing.T) {
	srv := runServer(t, nil)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	good := NewCtlClient(nc, testPrefix, testLattice, ctlTimeout)
	actor := testKey(t, nkey.Module, 50)

	tests := []struct {
		name string
		call func(context.Context) error
		want string
	}{
		{"nil connection", func(ctx context.Context) error {
			_, err := NewCtlClient(nil, testPrefix, testLattice, 0).Hosts(ctx)
			return err
		}, "no NATS connection"},
		{"wildcard prefix", func(ctx context.Context) error {
			_, err := NewCtlClient(nc, "wasmbus.*", testLattice, 0).Links(ctx)
			return err
		}, `control prefix "wasmbus.*"`},
		{"empty prefix token", func(ctx context.Context) error {
			return NewCtlClient(nc, "wasmbus..ctl", testLattice, 0).StopHost(ctx, "N", 0)
		}, `control prefix "wasmbus..ctl"`},
		{"dotted lattice", func(ctx context.Context) error {
			_, err := NewCtlClient(nc, testPrefix, "a.b", 0).AuctionActor(ctx, "r", nil)
			return err
		}, `lattice "a.b"`},
		{"empty lattice", func(ctx context.Context) error {
			_, err := NewCtlClient(nc, testPrefix, "", 0).Claims(ctx)
			return err
		}, `lattice ""`},
		{"host with a dot", func(ctx context.Context) error { return good.StartActor(ctx, "N.x", "r", 1, nil) }, `host id "N.x"`},
		{"host wildcard", func(ctx context.Context) error { return good.StopActor(ctx, ">", actor, 1) }, `host id ">"`},
		{"host with space", func(ctx context.Context) error {
			_, err := good.Inventory(ctx, "N x")
			return err
		}, `host id "N x"`},
		{"empty host", func(ctx context.Context) error { return good.UpdateActor(ctx, "", actor, "r") }, `host id ""`},
		{"start without ref", func(ctx context.Context) error { return good.StartActor(ctx, "N", "", 1, nil) }, "no actor reference"},
		{"stop without key", func(ctx context.Context) error { return good.StopActor(ctx, "N", "", 1) }, "no actor key"},
		{"scale without key", func(ctx context.Context) error { return good.ScaleActor(ctx, "N", "", "r", 1) }, "no actor key"},
		{"update without ref", func(ctx context.Context) error { return good.UpdateActor(ctx, "N", actor, "") }, "no new reference"},
		{"auction without ref", func(ctx context.Context) error {
			_, err := good.AuctionActor(ctx, "", nil)
			return err
		}, "no actor reference"},
		{"link without provider", func(ctx context.Context) error {
			return good.PutLink(ctx, control.LinkDefinition{ActorID: actor, ContractID: "c"})
		}, "provider_id is required"},
		{"link to a key that is not a provider's", func(ctx context.Context) error {
			return good.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: actor, ContractID: "wasmcloud:keyvalue"})
		}, "provider_id: nkey"},
		{"link with a dotted link name", func(ctx context.Context) error {
			return good.PutLink(ctx, control.LinkDefinition{ActorID: actor, ProviderID: testKey(t, nkey.Service, 51),
				ContractID: "wasmcloud:keyvalue", LinkName: "a.b"})
		}, `link_name "a.b"`},
		{"link deletion without contract", func(ctx context.Context) error { return good.DelLink(ctx, actor, "", "") },
			"actor_id, contract_id and link_name are required"},
		{"bad registry type", func(ctx context.Context) error {
			return good.PutRegistries(ctx, control.RegistryCredentialMap{"r": {RegistryType: "ftp"}})
		}, `unsupported registryType "ftp"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(t.Context())
			require.ErrorIs(t, err, ErrCtlInvalid)
			require.ErrorContains(t, err, tc.want)
		})
	}
	require.Equal(t, "default timeout", NewCtlClient(nc, testPrefix, testLattice, 0).Timeout(), DefaultCtlTimeout)
}

// FuzzParseAck checks that no reply makes the acknowledgement parser panic, that only a JSON object is
// accepted, and that every failure says which subject it was about.
func FuzzParseAck(f *testing.F) {
	for _, s := range []string{
		`{"accepted":true,"error":""}`, `{"accepted":false,"error":"nope"}`, `{"accepted":false}`, `{}`, `null`,
		`[]`, `{"accepted":"true"}`, `{"accepted":true} {}`, "", " \n", `{"accepted":true,"error":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	const subject = "wasmbus.ctl.default.cmd.N.la"
	f.Fuzz(func(t *testing.T, b []byte) {
		err := parseAck(subject, b)
		if err == nil {
			if !json.Valid(b) || bytes.TrimSpace(b)[0] != '{' {
				t.Fatalf("accepted %q, which is not a JSON object", b)
			}
			return
		}
		if !strings.Contains(err.Error(), subject) {
			t.Fatalf("error %q does not name the subject", err)
		}
		var refused *CtlRefusedError
		if !errors.As(err, &refused) && !errors.Is(err, ErrCtlBadReply) {
			t.Fatalf("error %v is neither a refusal nor a bad reply", err)
		}
	})
}

// BenchmarkCtlCommand measures one acknowledged command (cmd.{host}.la) through a real in-process NATS
// server to a test host: JSON encoding, the request round trip and the acknowledgement's decoding.
func BenchmarkCtlCommand(b *testing.B) {
	h := newFakeHost(b, 1, nil)
	client := ctlSetup(b, &fakeLattice{}, h)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := client.StartActor(ctx, h.info.ID, "ghcr.io/x/echo:0.3.4", 1, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCtlInventory measures one inventory query and its decoding.
func BenchmarkCtlInventory(b *testing.B) {
	h := newFakeHost(b, 1, map[string]string{"a": "b"})
	client := ctlSetup(b, &fakeLattice{}, h)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Inventory(ctx, h.info.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAck measures decoding an acknowledgement, the part of every command that is ours.
func BenchmarkParseAck(b *testing.B) {
	ack := []byte(`{"accepted":true,"error":""}`)
	b.SetBytes(int64(len(ack)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parseAck("s", ack); err != nil {
			b.Fatal(err)
		}
	}
}
