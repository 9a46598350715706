package host

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// Actors start from a real OCI registry on loopback, pinned or by tag; a digest pin that does not match is
// refused, and the module pulled is verified like any other.
func TestStartActorFromRegistry(t *testing.T) {
	reg := ocitest.NewRegistry(t, ocitest.Options{})
	ref, digest := reg.Push(t, "echo:0.3.4", testutil.Actor(t, "echo.wasm"))
	tampered := testutil.Actor(t, "echo.wasm")
	tampered[len(tampered)/3] ^= 0xff
	badRef, _ := reg.Push(t, "echo:tampered", tampered)

	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t), "WASMCLOUD_OCI_ALLOWED_INSECURE="+reg.Host)
	ctx := context.Background()

	wrongDigest := ref + "@sha256:" + strings.Repeat("0", 64)
	if _, err := h.StartActor(ctx, wrongDigest); !errors.Is(err, oci.ErrDigestMismatch) {
		t.Fatalf("wrong digest pin: %v", err)
	}
	if _, err := h.StartActor(ctx, badRef); err == nil || !strings.Contains(err.Error(), "hash does not match") {
		t.Fatalf("tampered module from the registry: %v", err)
	}
	if _, err := h.StartActor(ctx, reg.Ref("echo:latest")); !errors.Is(err, oci.ErrLatest) {
		t.Fatalf("latest tag: %v", err)
	}
	c, err := h.StartActor(ctx, ref+"@"+digest)
	if err != nil || c.Subject != echoKey {
		t.Fatalf("pinned pull: %v", err)
	}
	inv := h.inventory()
	if len(inv.Actors) != 1 || inv.Actors[0].ImageRef != ref+"@"+digest {
		t.Fatalf("inventory %+v", inv.Actors)
	}
	// The reference map in the lattice bucket records which actor the reference resolved to.
	js, err := lattice.JetStream(h.ctlConn, "")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, lattice.DataBucket("default"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "REFMAP_"+base64.RawURLEncoding.EncodeToString([]byte(ref+"@"+digest)))
	if err != nil || !strings.Contains(string(e.Value()), echoKey) {
		t.Fatalf("reference map: %v", err)
	}
	// Registry credentials from the control interface reach the client.
	nc := connect(t, s)
	creds := control.RegistryCredentialMap{reg.Host: {RegistryType: "oci", Username: "u", Password: "p"}}
	wantAck(t, ctlRequest[control.CtlAck](t, nc, ctl+"registries.put", creds), true, "")
}
