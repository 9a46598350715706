package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// bigBody is the HTTP body of the chunked calls: 1.2 MiB, so the request is above the 900 KiB threshold.
var bigBody = bytes.Repeat([]byte{'a'}, 1200<<10)

// httpRequest encodes a wasmcloud:httpserver HttpRequest (GET /) with the given body, as echo.wasm reads it.
func httpRequest(body []byte) []byte {
	b := msgp.AppendMapHeader(nil, 5)
	b = msgp.AppendString(b, "body")
	b = msgp.AppendBytes(b, body)
	b = msgp.AppendString(b, "header")
	b = msgp.AppendMapHeader(b, 0)
	b = msgp.AppendString(b, "method")
	b = msgp.AppendString(b, "GET")
	b = msgp.AppendString(b, "path")
	b = msgp.AppendString(b, "/")
	b = msgp.AppendString(b, "queryString")
	return msgp.AppendString(b, "")
}

// echoReplyFor is echo.wasm's HttpResponse to httpRequest(body): status 200, no headers, and a JSON body that
// lists the request body's bytes as numbers.
func echoReplyFor(body []byte) []byte {
	var js strings.Builder
	js.WriteString(`{"body":[`)
	for i, c := range body {
		if i > 0 {
			js.WriteByte(',')
		}
		js.WriteString(strconv.Itoa(int(c)))
	}
	js.WriteString(`],"method":"GET","path":"/","query_string":""}`)
	b := msgp.AppendMapHeader(nil, 3)
	b = msgp.AppendString(b, "statusCode")
	b = msgp.AppendUint16(b, 200)
	b = msgp.AppendString(b, "header")
	b = msgp.AppendMapHeader(b, 0)
	b = msgp.AppendString(b, "body")
	return msgp.AppendBytes(b, []byte(js.String()))
}

// objectStore opens the lattice's object store the way a 0.x host does: the bucket is the lattice prefix.
func objectStore(t *testing.T, nc *nats.Conn) jetstream.ObjectStore {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs, err := js.ObjectStore(ctx, "default")
	if err != nil {
		t.Fatalf("object store default: %v", err)
	}
	return obs
}

// wantNoObject fails unless the object store holds no object called name.
func wantNoObject(t *testing.T, obs jetstream.ObjectStore, name string) {
	t.Helper()
	if info, err := obs.GetInfo(context.Background(), name); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("object %s: info %+v, error %v; want it deleted", name, info, err)
	}
}

// wireSizes records the sizes of the invocation id's request and response as they crossed NATS.
type wireSizes struct {
	mu            sync.Mutex
	request, resp int // guarded by mu; -1 until seen
}

func watchSizes(t *testing.T, nc *nats.Conn, id string) *wireSizes {
	t.Helper()
	w := &wireSizes{request: -1, resp: -1}
	_, err := nc.Subscribe("wasmbus.rpc.default.>", func(m *nats.Msg) {
		var inv wire.Invocation
		if inv.UnmarshalMsgpack(m.Data) == nil && inv.ID == id {
			w.mu.Lock()
			w.request = len(m.Data)
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Replies go to the caller's inbox, as do the object store's own messages: keep only the response.
	_, err = nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		var resp wire.Response
		if resp.UnmarshalMsgpack(m.Data) == nil && resp.InvocationID == id {
			w.mu.Lock()
			w.resp = len(m.Data)
			w.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// wait polls until both messages were seen, and returns their sizes.
func (w *wireSizes) wait(t *testing.T) (request, resp int) {
	t.Helper()
	require.Eventually(t, 10*time.Second, func() bool {
		w.mu.Lock()
		request, resp = w.request, w.resp
		w.mu.Unlock()
		return request >= 0 && resp >= 0
	}, "the request and the response of the chunked call on the wire")
	return request, resp
}

func TestChunkedCallAcrossHosts(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	a := startHost(t, s, seed, "WASMCLOUD_RPC_TIMEOUT_MS=30000")
	b := startHost(t, s, seed, "WASMCLOUD_RPC_TIMEOUT_MS=30000")
	startFixture(t, a, "echo.wasm")
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	req := httpRequest(bigBody)
	want := echoReplyFor(bigBody)
	if len(req) <= lattice.ChunkThreshold || len(want) <= len(req) {
		t.Fatalf("request %d bytes, reply %d: the test needs both above %d, the reply larger", len(req), len(want), lattice.ChunkThreshold)
	}
	const id = "6f1d7c2e-4b8a-4c55-9e3f-1a2b3c4d5e6f"
	sizes := watchSizes(t, nc, id)
	got, err := b.invoke(context.Background(), &wire.Invocation{ID: id,
		Origin: wire.Entity{PublicKey: "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP"},
		Target: wire.Entity{PublicKey: echoKey}, Operation: "HttpServer.HandleRequest", Msg: req})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("reply of %d bytes (starts %q), want %d bytes", len(got), got[:min(len(got), 64)], len(want))
	}
	// Both messages crossed NATS without their payloads (a few hundred bytes of token and fields each).
	if request, resp := sizes.wait(t); request < 0 || request > 4<<10 || resp < 0 || resp > 4<<10 {
		t.Fatalf("request %d bytes, response %d bytes on the wire; want both chunked", request, resp)
	}
	obs := objectStore(t, nc)
	wantNoObject(t, obs, id)
	wantNoObject(t, obs, id+"-r")
}

func TestChunkedInvocationWithReplacedObject(t *testing.T) {
	s := runNATS(t)
	seed := clusterSeed(t)
	logs := &logBuffer{}
	h := startHostWithLog(t, s, seed, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		"WASMCLOUD_RPC_TIMEOUT_MS=30000")
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

	req := httpRequest(bigBody)
	inv := &wire.Invocation{
		Origin:    wire.Entity{PublicKey: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW", ContractID: "wasmcloud:httpserver", LinkName: "default"},
		Target:    wire.Entity{PublicKey: echoKey},
		Operation: "HttpServer.HandleRequest",
		Msg:       req,
	}
	if err := c.Sign(inv); err != nil {
		t.Fatal(err)
	}
	// Store a payload of the same length that is not the one the token signs.
	replaced := httpRequest(bytes.Repeat([]byte{'b'}, len(bigBody)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := lattice.NewChunkStore(nc, "default", "")
	if err := store.Put(ctx, inv.ID, replaced); err != nil {
		t.Fatal(err)
	}
	inv.Msg = []byte{}
	m, err := nc.RequestWithContext(ctx, "wasmbus.rpc.default."+echoKey, inv.AppendMsgpack(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.VerifyResponse(m.Data, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Error, rpc.ErrHashMismatch.Error()) || len(resp.Msg) != 0 {
		t.Fatalf("response error %q, %d bytes of msg; want the hash refusal", resp.Error, len(resp.Msg))
	}
	refused := logs.find(t, "refused invocation")
	if len(refused) != 1 || !strings.Contains(refused[0][attrReason].(string), rpc.ErrHashMismatch.Error()) {
		t.Fatalf("refusals logged: %v", refused)
	}
	if failed := logs.find(t, "invocation failed"); len(failed) != 0 {
		t.Fatalf("the actor ran: %v", failed)
	}
	wantNoObject(t, objectStore(t, nc), inv.ID)
}
