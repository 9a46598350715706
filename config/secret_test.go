package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestConfigNeverPrintsSecrets prints and logs a Config holding every kind of secret in every
// usual way and checks that no part of a seed or JWT appears.
func TestConfigNeverPrintsSecrets(t *testing.T) {
	hostSeed, _ := seed(t, nkeys.CreateServer)
	clusterSeed, _ := seed(t, nkeys.CreateCluster)
	rpcSeed, _ := seed(t, nkeys.CreateUser)
	ctlSeed, ctlPub := seed(t, nkeys.CreateUser)
	ctlJWT := userJWT(t, ctlPub, time.Time{})
	issuerSeed, _ := seed(t, nkeys.CreateOperator)
	c := mustLoad(t, environ(
		"WASMCLOUD_CTL_ISSUER_SEED="+issuerSeed,
		"WASMCLOUD_HOST_SEED="+hostSeed,
		"WASMCLOUD_CLUSTER_SEED="+clusterSeed,
		"WASMCLOUD_RPC_SEED="+rpcSeed,
		"WASMCLOUD_CTL_SEED="+ctlSeed,
		"WASMCLOUD_CTL_JWT="+ctlJWT,
		"WASMCLOUD_OCI_REGISTRY=ghcr.io",
		"WASMCLOUD_OCI_REGISTRY_USER=bot",
		"WASMCLOUD_OCI_REGISTRY_PASSWORD=oci-Password-7f3e",
	))
	// Every seed shares its first two characters with others; look for what identifies it.
	secrets := []string{hostSeed[2:], clusterSeed[2:], rpcSeed[2:], ctlSeed[2:], issuerSeed[2:], strings.Split(ctlJWT, ".")[1], strings.Split(ctlJWT, ".")[2], "oci-Password-7f3e"}

	jsonBytes, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var text, jsonLog bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c, "seed", c.ClusterSeed, "rpc", c.RPC)
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("config", "config", c, "seed", c.ClusterSeed, "rpc", c.RPC)
	// A Config inside a struct's unexported field: fmt cannot call methods there.
	type holder struct{ cfg Config }
	outputs := map[string]string{
		"%v":                   fmt.Sprintf("%v", c),
		"%+v":                  fmt.Sprintf("%+v", c),
		"%#v":                  fmt.Sprintf("%#v", c),
		"%s":                   fmt.Sprintf("%s", any(c)),
		"%x":                   fmt.Sprintf("%x", any(c)),
		"%q secret":            fmt.Sprintf("%q", c.ClusterSeed),
		"%x secret":            fmt.Sprintf("%x", c.ClusterSeed),
		"%d secret":            fmt.Sprintf("%d", c.ClusterSeed),
		"pointer %+v":          fmt.Sprintf("%+v", &c),
		"unexported field %+v": fmt.Sprintf("%+v", holder{c}),
		"unexported field %#v": fmt.Sprintf("%#v", holder{c}),
		"oci %+v":              fmt.Sprintf("%+v", c.OCI),
		"json":                 string(jsonBytes),
		"slog text":            text.String(),
		"slog json":            jsonLog.String(),
		"String":               c.HostSeed.String(),
		"GoString":             c.HostSeed.GoString(),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains a secret:\n%s", name, out)
			}
		}
	}
	for _, name := range []string{"%+v", "json", "slog text", "slog json"} {
		if !strings.Contains(outputs[name], redacted) {
			t.Errorf("%s output does not show %s:\n%s", name, redacted, outputs[name])
		}
	}
	require.DeepEqual(t, "json of RPC", mustJSON(t, c.RPC), `{"Host":"127.0.0.1","Port":4222,"URLs":null,"Explicit":false,"Seed":"[redacted]","JWT":"","CredsFile":"","TLS":false,"TLSCA":"","TLSCert":"","TLSKey":""}`)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecret(t *testing.T) {
	src := []byte("SCsecret")
	s := NewSecret(src)
	clear(src) // NewSecret copied
	require.DeepEqual(t, "Reveal", string(s.Reveal()), "SCsecret")
	require.DeepEqual(t, "IsSet", s.IsSet(), true)
	require.DeepEqual(t, "String", s.String(), "[redacted]")
	require.DeepEqual(t, "Sprint", fmt.Sprint(s), "[redacted]")
	text, _ := s.MarshalText()
	require.DeepEqual(t, "MarshalText", string(text), "[redacted]")
	require.DeepEqual(t, "LogValue", s.LogValue().String(), "[redacted]")

	var unset Secret
	require.DeepEqual(t, "unset String", unset.String(), "")
	require.DeepEqual(t, "unset JSON", mustJSON(t, unset), `""`)
	require.DeepEqual(t, "unset Reveal", unset.Reveal(), []byte(nil))
	unset.Wipe()
	require.DeepEqual(t, "NewSecret(nil) set", NewSecret(nil).IsSet(), false)

	var d Secret
	if err := d.Decode("  SUabc\n"); err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "Decode trims", string(d.Reveal()), "SUabc")
	if err := d.Decode(" "); err != nil {
		t.Fatal(err)
	}
	require.DeepEqual(t, "Decode blank", d.IsSet(), false)

	cp := s
	raw := s.Reveal()
	s.Wipe()
	require.DeepEqual(t, "copy wiped", cp.IsSet(), false)
	require.DeepEqual(t, "bytes zeroed", raw, make([]byte, len("SCsecret")))
	require.DeepEqual(t, "wiped String", cp.String(), "")
}
