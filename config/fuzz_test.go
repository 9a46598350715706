package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// FuzzSecretNeverEchoed: whatever a seed or JWT variable holds, the error is one of the fixed
// messages for that variable and never contains the value.
func FuzzSecretNeverEchoed(f *testing.F) {
	for _, s := range []string{"", "SC", "SCAJ3XNUSNKLLSVKPPQ5TL5U2F6WEG6ZVXO2EAUCUEDNE4BXDGEXMXM5VM", "SUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "eyJ0eXAiOiJKV1QifQ.e30.sig", "\x00\xff", " \n"} {
		f.Add(uint8(0), s)
		f.Add(uint8(3), s)
	}
	userSeed, _ := seed(f, nkeys.CreateUser)
	type variable struct {
		name    string
		extra   []string
		allowed []string
	}
	vars := []variable{
		{"WASMCLOUD_CLUSTER_SEED", nil, []string{"WASMCLOUD_CLUSTER_SEED: not a cluster seed (want SC…)"}},
		{"WASMCLOUD_HOST_SEED", nil, []string{"WASMCLOUD_HOST_SEED: not a server seed (want SN…)"}},
		{"WASMCLOUD_RPC_SEED", nil, []string{"WASMCLOUD_RPC_SEED: not a NATS user seed (want SU…)"}},
		{"WASMCLOUD_CTL_JWT", []string{"WASMCLOUD_CTL_SEED=" + userSeed}, []string{"WASMCLOUD_CTL_JWT: not a NATS user JWT"}},
		{"WASMCLOUD_CTL_ISSUER_SEED", nil, []string{"WASMCLOUD_CTL_ISSUER_SEED: not an operator or account seed (want SO… or SA…)"}},
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		v := vars[int(which)%len(vars)]
		env := environ(append([]string{v.name + "=" + value}, v.extra...)...)
		_, err := LoadFrom(env)
		if err == nil {
			return
		}
		msg := err.Error()
		ok := false
		for _, a := range v.allowed {
			ok = ok || msg == a
		}
		if !ok && !strings.HasPrefix(msg, "WASMCLOUD_CTL_JWT: expired at ") && !strings.HasPrefix(msg, "WASMCLOUD_CTL_JWT: issued for ") {
			t.Fatalf("unexpected error for %s: %q", v.name, msg)
		}
	})
}

// FuzzLoadFrom: any value of any variable gives a Config or problems that each name a variable;
// nothing panics.
func FuzzLoadFrom(f *testing.F) {
	var names []string
	var s spec
	walk(&s, func(name string, _ reflect.StructTag, _ field) { names = append(names, name) })
	for i, v := range []string{"", "1", "true", "auto", "65535", "a.b", "30s", "-1", "x,y, ,", "/tmp", "SC"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := names[int(which)%len(names)]
		if strings.ContainsRune(value, 0) {
			return // an environment entry cannot hold NUL
		}
		c, err := LoadFrom(environ(name + "=" + value))
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("LoadFrom accepted %s=%q but Validate says %v", name, value, verr)
			}
			return
		}
		for _, line := range problems(t, err) {
			if line.Var != name && line.Var != "WASMCLOUD_STATE_DIR" {
				t.Fatalf("%s=%q: problem names %s: %v", name, value, line.Var, err)
			}
		}
	})
}
