package config

import (
	"net"
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

// FuzzPprofLoopback loads WASMCLOUD_PPROF=true with an arbitrary admin address: the configuration is accepted
// only with a loopback address, and a refusal names only the two variables.
func FuzzPprofLoopback(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9090", "[::1]:1", "localhost:80", ":9090", "0.0.0.0:9090", "[::]:9090",
		"10.0.0.1:9090", "127.0.0.1", "[::ffff:127.0.0.1]:9090", "localhost.:9090", "a/b:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if strings.ContainsRune(addr, 0) {
			return // an environment entry cannot hold NUL
		}
		c, err := LoadFrom(environ("WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS="+addr))
		if err != nil {
			for _, p := range problems(t, err) {
				if p.Var != "WASMCLOUD_PPROF" && p.Var != "WASMCLOUD_ADMIN_ADDRESS" {
					t.Fatalf("%q: problem names %s: %v", addr, p.Var, err)
				}
			}
			return
		}
		host, _, err := net.SplitHostPort(c.AdminAddress)
		if err != nil {
			t.Fatalf("accepted %q, which is not host:port", c.AdminAddress)
		}
		if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("pprof accepted on %q, which is not a loopback address", c.AdminAddress)
		}
	})
}
