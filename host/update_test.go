package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// cmd.{host}.upd takes only a higher revision of the same actor; the update serves calls at once.
func TestUpdateActor(t *testing.T) {
	s := runNATS(t)
	logs := &logBuffer{}
	h := startHostWithLog(t, s, clusterSeed(t), slog.New(slog.NewJSONHandler(logs, nil)))
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
	// The reasons of a refused file reference stay in the host's log: replies and events only say it was
	// refused, so that they tell nobody which files exist on the host and what they hold.
	wantAck(t, upd(v2again), false, ErrFileRefused.Error())
	wantAck(t, upd(foreign), false, ErrFileRefused.Error())
	var reasons []string
	for _, rec := range logs.find(t, "actor file refused") {
		reasons = append(reasons, rec["error"].(string))
	}
	require.True(t, len(reasons) == 2 && strings.Contains(reasons[0], "not above 2") &&
		strings.Contains(reasons[1], "is actor "+other.Public().String()), "logged reasons %q", reasons)
	events.waitFor(t, "actor_update_failed", nil)
	if err := h.UpdateActor(ctx, "MNOTRUNNING", v2); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("update of an actor not running: %v", err)
	}
}
