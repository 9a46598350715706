package host

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// Shutdown answers every invocation delivered to the host before it began: drained subscriptions hand their
// pending messages to the actor (or refuse them), and nothing is dropped unanswered.
func TestShutdownAnswersDelivered(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	h := startHost(t, s, seed)
	startFixture(t, h, "echo.wasm")
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
	const n = 100
	// Large bodies make echo slow enough that most calls are still queued when Shutdown starts.
	body := make([]byte, 64<<10)
	req := msgp.AppendMapHeader(nil, 5)
	for _, kv := range [][2]string{{"method", "POST"}, {"path", "/"}, {"queryString", ""}} {
		req = msgp.AppendString(msgp.AppendString(req, kv[0]), kv[1])
	}
	req = msgp.AppendMapHeader(msgp.AppendString(req, "header"), 0)
	req = msgp.AppendBytes(msgp.AppendString(req, "body"), body)
	inbox := nats.NewInbox()
	replies := make(chan *nats.Msg, n)
	if _, err := nc.ChanSubscribe(inbox+".*", replies); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		inv := &wire.Invocation{Origin: wire.Entity{PublicKey: server.Public().String()}, Target: wire.Entity{PublicKey: echoKey},
			Operation: "HttpServer.HandleRequest", Msg: req}
		if err := c.Sign(inv); err != nil {
			t.Fatal(err)
		}
		ids[i] = inv.ID
		if err := nc.PublishRequest("wasmbus.rpc.default."+echoKey, inbox+"."+strconv.Itoa(i), inv.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got := 0
	timeout := time.After(30 * time.Second) // the host is done; this only bounds the server's delivery
	for got < n {
		select {
		case m := <-replies:
			got++
			i, _ := strconv.Atoi(m.Subject[len(inbox)+1:])
			if _, err := c.VerifyResponse(m.Data, ids[i]); err != nil {
				t.Fatalf("reply %d: %v", i, err)
			}
		case <-timeout:
			t.Fatalf("%d of %d delivered invocations answered", got, n)
		}
	}
}
