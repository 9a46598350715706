package host

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// cmd.{host}.upd takes only a higher revision of the same actor; the update serves calls at once.
func TestUpdateActor(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t))
	nc := connect(t, s)
	events := watchEvents(t, nc)
	ctx := context.Background()
	acct, _ := nkey.Generate(nkey.Account)
	mod, _ := nkey.Generate(nkey.Module)
	other, _ := nkey.Generate(nkey.Module)
	dir := t.TempDir()
	sign := func(name string, subject nkey.PublicKey, rev int32) string {
		t.Helper()
		out, err := actor.Sign(testutil.Actor(t, "echo.wasm"), actor.SignOptions{Issuer: acct, Subject: subject, Name: "echo",
			Caps: []string{"wasmcloud:httpserver"}, Rev: rev})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		writeFile(t, path, out)
		return path
	}
	v1, v2, v2again, foreign := sign("v1.wasm", mod.Public(), 1), sign("v2.wasm", mod.Public(), 2),
		sign("v2b.wasm", mod.Public(), 2), sign("other.wasm", other.Public(), 3)
	key := mod.Public().String()
	if _, err := h.StartActor(ctx, v1); err != nil {
		t.Fatal(err)
	}
	upd := func(ref string) control.CtlAck {
		return ctlRequest[control.CtlAck](t, nc, ctl+"cmd."+h.HostID()+".upd", control.UpdateActorCommand{ActorID: key, NewActorRef: ref})
	}
	wantAck(t, upd(v2), true, "")
	events.waitFor(t, "actor_updated", func(d map[string]any) bool { return d["revision"] == float64(2) })
	if c, _ := h.running(key).snapshot(); c.Rev != 2 {
		t.Fatalf("revision after update: %d", c.Rev)
	}
	out, err := h.invoke(ctx, &wire.Invocation{Origin: wire.Entity{PublicKey: echoKey}, Target: wire.Entity{PublicKey: key},
		Operation: "HttpServer.HandleRequest", Msg: echoRequest})
	if err != nil || !bytes.Equal(out, echoReply) {
		t.Fatalf("call after update: %v", err)
	}
	wantAck(t, upd(v2again), false, "not above 2")
	wantAck(t, upd(foreign), false, "is actor "+other.Public().String())
	events.waitFor(t, "actor_update_failed", nil)
	if err := h.UpdateActor(ctx, "MNOTRUNNING", v2); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("update of an actor not running: %v", err)
	}
}
