package host

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

const ctl = "wasmbus.ctl.default."

// eventLog collects the lattice events published on wasmbus.evt.default.
type eventLog struct {
	mu     sync.Mutex
	events []lattice.CloudEvent
}

func watchEvents(t *testing.T, nc *nats.Conn) *eventLog {
	t.Helper()
	l := &eventLog{}
	_, err := nc.Subscribe("wasmbus.evt.default", func(m *nats.Msg) {
		var e lattice.CloudEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Errorf("event is not JSON: %s", m.Data)
			return
		}
		l.mu.Lock()
		l.events = append(l.events, e)
		l.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return l
}

// waitFor polls until an event of the type (without the prefix) arrives, and returns its data.
func (l *eventLog) waitFor(t *testing.T, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var (
		found lattice.CloudEvent
		data  map[string]any
	)
	require.Eventually(t, 10*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, e := range l.events {
			if e.Type != lattice.EventTypePrefix+name {
				continue
			}
			data = nil
			_ = json.Unmarshal(e.Data, &data)
			if match == nil || match(data) {
				found = e
				return true
			}
		}
		return false
	}, "a %s event", name)
	if found.SpecVersion != "1.0" || found.ID == "" || found.Source == "" || found.DataContentType != "application/json" || found.Time.IsZero() {
		t.Fatalf("not a valid CloudEvents envelope: %+v", found)
	}
	return data
}

func ctlRequest[T any](t *testing.T, nc *nats.Conn, subject string, body any) T {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case nil:
	default:
		b, _ = json.Marshal(v)
	}
	m, err := nc.Request(subject, b, 10*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", subject, err)
	}
	var out T
	if err := json.Unmarshal(m.Data, &out); err != nil {
		t.Fatalf("%s: reply %s: %v", subject, m.Data, err)
	}
	return out
}

func wantAck(t *testing.T, ack control.CtlAck, accepted bool, contains string) {
	t.Helper()
	if ack.Accepted != accepted || !strings.Contains(ack.Error, contains) || (accepted && ack.Error != "") {
		t.Fatalf("ack %+v, want accepted=%v with %q", ack, accepted, contains)
	}
}

func connect(t *testing.T, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestControlInterface(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	nc := connect(t, s)
	events := watchEvents(t, nc)
	a := startHost(t, s, seed, "HOST_REGION=eu")
	b := startHost(t, s, seed, "HOST_REGION=us")
	echoPath := testutil.Path("actors/echo.wasm")

	t.Run("ping gathers every host", func(t *testing.T) {
		inbox := nats.NewInbox()
		replies, _ := nc.SubscribeSync(inbox)
		if err := nc.PublishRequest(ctl+"ping.hosts", inbox, nil); err != nil {
			t.Fatal(err)
		}
		seen := map[string]control.HostInfo{}
		for len(seen) < 2 {
			m, err := replies.NextMsg(5 * time.Second)
			if err != nil {
				t.Fatalf("after %d replies: %v", len(seen), err)
			}
			var hi control.HostInfo
			if err := json.Unmarshal(m.Data, &hi); err != nil {
				t.Fatal(err)
			}
			seen[hi.ID] = hi
		}
		if hi := seen[a.HostID()]; hi.Labels["region"] != "eu" || hi.Issuer != a.Cluster().PublicKey() || hi.LatticePrefix != "default" {
			t.Fatalf("host a answered %+v", hi)
		}
		events.waitFor(t, "host_heartbeat", nil)
	})

	t.Run("auction honours label constraints", func(t *testing.T) {
		inbox := nats.NewInbox()
		replies, _ := nc.SubscribeSync(inbox)
		body, _ := json.Marshal(control.ActorAuctionRequest{ActorRef: echoPath, Constraints: map[string]string{"region": "us"}})
		if err := nc.PublishRequest(ctl+"auction.actor", inbox, body); err != nil {
			t.Fatal(err)
		}
		m, err := replies.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var bid control.ActorAuctionAck
		_ = json.Unmarshal(m.Data, &bid)
		if bid.HostID != b.HostID() {
			t.Fatalf("bid from %s, want host b", bid.HostID)
		}
		if extra, err := replies.NextMsg(300 * time.Millisecond); err == nil {
			t.Fatalf("a second bid: %s", extra.Data)
		}
	})

	t.Run("start, scale and stop through commands, with events", func(t *testing.T) {
		ack := ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+b.HostID()+".la", control.StartActorCommand{ActorRef: echoPath, Count: 1,
			Annotations: map[string]string{"app": "demo"}})
		wantAck(t, ack, true, "")
		started := events.waitFor(t, "actors_started", func(d map[string]any) bool { return d["public_key"] == echoKey })
		if started["host_id"] != b.HostID() || started["image_ref"] != echoPath {
			t.Fatalf("actors_started %v", started)
		}
		events.waitFor(t, "health_check_passed", func(d map[string]any) bool { return d["public_key"] == echoKey })
		inv := ctlRequest[control.HostInventory](t, nc, ctl+"get."+b.HostID()+".inv", nil)
		if len(inv.Actors) != 1 || inv.Actors[0].ID != echoKey || inv.Actors[0].Name != "Echo" || len(inv.Actors[0].Instances) != 1 ||
			inv.Actors[0].Instances[0].Annotations["app"] != "demo" {
			t.Fatalf("inventory %+v", inv)
		}
		three := uint16(3)
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+b.HostID()+".scale", control.ScaleActorCommand{ActorID: echoKey, Count: &three}), true, "")
		scaled := events.waitFor(t, "actor_scaled", nil)
		if scaled["max_instances"] != float64(3) {
			t.Fatalf("actor_scaled %v", scaled)
		}
		inv = ctlRequest[control.HostInventory](t, nc, ctl+"get."+b.HostID()+".inv", nil)
		if inv.Actors[0].MaxInstances != 3 {
			t.Fatalf("inventory after scale %+v", inv.Actors[0])
		}
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+b.HostID()+".sa", control.StopActorCommand{ActorRef: echoKey}), true, "")
		events.waitFor(t, "actors_stopped", func(d map[string]any) bool { return d["public_key"] == echoKey && d["count"] == float64(3) })
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+b.HostID()+".sa", control.StopActorCommand{ActorRef: echoKey}), false, "not running")
	})

	t.Run("a failed start of a file is an event that tells nothing about the file", func(t *testing.T) {
		dir := t.TempDir()
		tampered := dir + "/tampered.wasm"
		wasm := testutil.Actor(t, "echo.wasm")
		wasm[len(wasm)/3] ^= 0xff
		writeFile(t, tampered, wasm)
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+a.HostID()+".la", control.StartActorCommand{ActorRef: tampered}), true, "")
		failed := events.waitFor(t, "actors_start_failed", func(d map[string]any) bool { return d["image_ref"] == tampered })
		// The event says only that the file was refused; the reason ("hash does not match") is in the host's
		// log. A path that does not exist gets the very same event.
		missing := dir + "/missing.wasm"
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+a.HostID()+".la", control.StartActorCommand{ActorRef: missing}), true, "")
		gone := events.waitFor(t, "actors_start_failed", func(d map[string]any) bool { return d["image_ref"] == missing })
		if failed["error"] != ErrFileRefused.Error() || gone["error"] != failed["error"] || failed["public_key"] != "" {
			t.Fatalf("actors_start_failed %v and %v", failed, gone)
		}
	})

	t.Run("links apply on every host", func(t *testing.T) {
		l := control.LinkDefinition{ActorID: echoKey, ProviderID: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
			ContractID: "wasmcloud:httpserver", LinkName: "default", Values: map[string]string{"address": "127.0.0.1:8080"}}
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"linkdefs.put", l), true, "")
		events.waitFor(t, "linkdef_set", func(d map[string]any) bool { return d["actor_id"] == echoKey })
		for _, h := range []*Host{a, b} {
			require.Eventually(t, 5*time.Second, func() bool {
				got, ok := h.data.Link(echoKey, "wasmcloud:httpserver", "default")
				return ok && got.Values["address"] == "127.0.0.1:8080"
			}, "host %s to see the link", h.HostID())
		}
		links := ctlRequest[control.LinkDefinitionList](t, nc, ctl+"get.links", nil)
		if len(links.Links) != 1 || links.Links[0].ID == "" {
			t.Fatalf("get.links %+v", links)
		}
		// A host started afterwards learns the link at start.
		c := startHost(t, s, seed)
		if _, ok := c.data.Link(echoKey, "wasmcloud:httpserver", "default"); !ok {
			t.Fatal("a host started later does not know the link")
		}
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"linkdefs.del", control.RemoveLinkDefinition{ActorID: echoKey,
			ContractID: "wasmcloud:httpserver", LinkName: "default"}), true, "")
		events.waitFor(t, "linkdef_deleted", nil)
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"linkdefs.del", control.RemoveLinkDefinition{ActorID: echoKey,
			ContractID: "wasmcloud:httpserver", LinkName: "default"}), false, "no such link")
	})

	t.Run("bad requests are refused with a reason", func(t *testing.T) {
		tests := []struct {
			name, subject string
			body          []byte
			want          string
		}{
			{"malformed JSON", "linkdefs.put", []byte(`{"actor_id":`), "malformed"},
			{"not an object", "cmd." + a.HostID() + ".la", []byte(`["x"]`), "malformed"},
			{"oversize", "linkdefs.put", []byte(`{"actor_id":"` + strings.Repeat("M", control.MaxCtlMessage) + `"}`), "too large"},
			{"missing field", "linkdefs.put", []byte(`{"actor_id":"` + echoKey + `"}`), "provider_id is required"},
			{"link to a non-provider key", "linkdefs.put", mustJSON(control.LinkDefinition{ActorID: echoKey, ProviderID: echoKey,
				ContractID: "wasmcloud:httpserver", LinkName: "default"}), "provider_id"},
			{"start with no ref", "cmd." + a.HostID() + ".la", []byte(`{}`), "actor_ref is required"},
			{"start from a latest tag", "cmd." + a.HostID() + ".la", []byte(`{"actor_ref":"registry.invalid/echo:latest"}`), "latest"},
			{"start from a malformed reference", "cmd." + a.HostID() + ".la", []byte(`{"actor_ref":"registry.invalid/Echo:1!"}`), "unsupported"},
			{"scale an unknown actor", "cmd." + a.HostID() + ".scale", []byte(`{"actor_id":"MNOPE","count":2}`), "not running"},
			{"update an unknown actor", "cmd." + a.HostID() + ".upd", []byte(`{"actor_id":"MNOPE","new_actor_ref":"` + echoPath + `"}`), "not running"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+tc.subject, tc.body), false, tc.want)
			})
		}
		// A command for a host that does not exist has no responder.
		if _, err := nc.Request(ctl+"cmd.NUNKNOWN.la", mustJSON(control.StartActorCommand{ActorRef: echoPath}), time.Second); !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("unknown host: %v", err)
		}
	})

	t.Run("stop host", func(t *testing.T) {
		wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+a.HostID()+".stop", control.StopHostCommand{}), true, "")
		select {
		case <-a.StopRequested():
		case <-time.After(5 * time.Second):
			t.Fatal("stop was not requested")
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func mustPut(t *testing.T, kv jetstream.KeyValue, key string, v any) {
	t.Helper()
	if _, err := kv.Put(context.Background(), key, mustJSON(v)); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
