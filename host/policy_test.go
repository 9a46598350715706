package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
)

// policyServer plays a NATS policy service: it denies the (action, target) pairs in deny and permits the rest,
// and records every question.
type policyServer struct {
	mu    sync.Mutex
	deny  map[string]bool // action + " " + target public key
	asked []map[string]any
}

func (p *policyServer) serve(t *testing.T, nc *nats.Conn, topic string) {
	t.Helper()
	_, err := nc.Subscribe(topic, func(m *nats.Msg) {
		var req map[string]any
		if json.Unmarshal(m.Data, &req) != nil {
			return
		}
		target, _ := req["target"].(map[string]any)
		key := req["action"].(string) + " " + target["publicKey"].(string)
		p.mu.Lock()
		p.asked = append(p.asked, req)
		denied := p.deny[key]
		p.mu.Unlock()
		b, _ := json.Marshal(map[string]any{"requestId": req["requestId"], "permitted": !denied, "message": "not for you"})
		_ = m.Respond(b)
	})
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
}

func (p *policyServer) count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.asked {
		if r["action"] == action {
			n++
		}
	}
	return n
}

// TestPolicyService: the host asks the policy service before an actor starts, an invocation reaches an actor,
// a capability call reaches its provider and a link is stored; a denial refuses exactly that, a service that
// does not answer refuses everything (fail closed), and the host keeps running.
func TestPolicyService(t *testing.T) {
	s := runNATS(t)
	nc := connect(t, s)
	ps := &policyServer{deny: map[string]bool{"start_actor " + echoUnprivKey: true}}
	ps.serve(t, nc, "policy.questions")
	seed := clusterSeed(t)
	h := startHost(t, s, seed, "WASMCLOUD_POLICY_TOPIC=policy.questions")
	ctx := context.Background()

	// start_actor: kvcounter is permitted, echo_unpriv denied.
	startFixture(t, h, "kvcounter.wasm")
	_, err := h.StartActorBytes(ctx, "echo_unpriv_s.wasm", testutil.Actor(t, "echo_unpriv_s.wasm"))
	require.ErrorIs(t, err, policy.ErrDenied)
	require.True(t, h.running(echoUnprivKey) == nil, "a denied actor runs")

	// perform_invocation: permitted, then denied for echo.
	startFixture(t, h, "echo.wasm")
	call := func() ([]byte, error) {
		return h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: kvcounterKey}, Target: wire.Entity{PublicKey: echoKey},
			Operation: "HttpServer.HandleRequest", Msg: echoRequest})
	}
	out, err := call()
	require.NoError(t, err)
	require.True(t, bytes.Equal(out, echoReply), "echo's reply")
	before := ps.count("perform_invocation")
	_, err = call()
	require.NoError(t, err)
	require.Equal(t, "questions for a cached decision", ps.count("perform_invocation"), before)
	ps.mu.Lock()
	ps.deny["perform_invocation "+echoKey] = true
	ps.mu.Unlock()
	h.policy.svc.Load().Flush()
	_, err = call()
	require.True(t, err != nil && bytes.Contains([]byte(err.Error()), []byte("policy: denied")), "call after the denial: %v", err)

	// put_link: denied for a provider the policy names.
	ps.mu.Lock()
	ps.deny["put_link "+capability.BuiltinKeyValue] = true
	ps.mu.Unlock()
	l := control.LinkDefinition{ActorID: kvcounterKey, ProviderID: capability.BuiltinKeyValue, ContractID: contract.ContractKeyValue,
		LinkName: "default", Values: map[string]string{"bucket": "counters"}}
	ack := ctlRequest[control.CtlAck](t, nc, "wasmbus.ctl.default.linkdefs.put", l)
	require.False(t, ack.Accepted, "a denied link was stored")
	contains := func(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }
	require.True(t, contains(ack.Error, "policy: denied"), "ack %+v", ack)
	_, stored := h.data.Link(kvcounterKey, contract.ContractKeyValue, "default")
	require.False(t, stored, "the denied link is in the lattice")

	// A link the actor's claims do not allow is refused at put, whatever the policy says.
	httpLink := control.LinkDefinition{ActorID: kvcounterKey, ProviderID: capability.BuiltinMessaging, ContractID: contract.ContractMessaging,
		LinkName: "default", Values: map[string]string{}}
	ack = ctlRequest[control.CtlAck](t, nc, "wasmbus.ctl.default.linkdefs.put", httpLink)
	require.True(t, !ack.Accepted && contains(ack.Error, "actor does not have capability claim for wasmcloud:messaging"), "ack %+v", ack)

	require.True(t, h.PolicyDenials() >= 3, "denials counted: %d", h.PolicyDenials())
}

// TestPolicyServiceUnavailable: with nobody answering on the policy topic, every action is refused, and the
// host keeps running and answering its control interface.
func TestPolicyServiceUnavailable(t *testing.T) {
	s := runNATS(t)
	nc := connect(t, s)
	h := startHost(t, s, clusterSeed(t), "WASMCLOUD_POLICY_TOPIC=policy.nobody", "WASMCLOUD_POLICY_TIMEOUT=200")
	_, err := h.StartActorBytes(context.Background(), "echo.wasm", testutil.Actor(t, "echo.wasm"))
	require.ErrorIs(t, err, policy.ErrUnavailable)
	var pe *policy.Error
	require.True(t, errors.As(err, &pe), "a *policy.Error: %v", err)
	hosts := ctlRequest[control.HostInfo](t, nc, "wasmbus.ctl.default.ping.hosts", struct{}{})
	require.Equal(t, "host answering", hosts.ID, h.HostID())
	require.True(t, h.PolicyDenials() == 1, "denials %d", h.PolicyDenials())
}
