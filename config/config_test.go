package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestDefaults(t *testing.T) {
	got := mustLoad(t, environ())
	want := Config{
		LatticePrefix:      "default",
		RPC:                NATSConn{Host: "127.0.0.1", Port: 4222},
		RPCTimeout:         2 * time.Second,
		CTL:                NATSConn{Host: "127.0.0.1", Port: 4222},
		CtlTopicPrefix:     "wasmbus.ctl",
		NATSEmbedded:       EmbeddedAuto,
		StateDir:           home + "/.local/state/wasmcloud-host",
		PolicyTimeout:      time.Second,
		Labels:             wantCore(),
		LogLevel:           slog.LevelInfo,
		InvocationValidity: 30 * time.Second,
		ClockSkew:          5 * time.Second,
		ReplayCacheSize:    1000000,
		// Signed responses are required by default since the confinement work (they were optional before).
		RequireSignedResponses: true,
		ReplayScope:            ReplayLattice,
		CtlTokenValidity:       time.Minute,
		KVBucketMaxBytes:       64 << 20,
		KVMaxValueSize:         1 << 20,
	}
	require.DeepEqual(t, "defaults", got, want)
	require.DeepEqual(t, "NATSConfigured", got.NATSConfigured(), false)
	require.DeepEqual(t, "RPC URL", got.RPC.URL(), "nats://127.0.0.1:4222")
}

// TestEmptyMeansUnset: an empty or blank value is the same as no variable, as in env files.
func TestEmptyMeansUnset(t *testing.T) {
	got := mustLoad(t, environ("WASMCLOUD_RPC_HOST=", "WASMCLOUD_LATTICE_PREFIX= ", "WASMCLOUD_CLUSTER_SEED=", "WASMCLOUD_RPC_TLS="))
	require.DeepEqual(t, "defaults", got, mustLoad(t, environ()))
}

func TestValidValues(t *testing.T) {
	hostSeed, _ := seed(t, nkeys.CreateServer)
	clusterSeed, clusterPub := seed(t, nkeys.CreateCluster)
	_, otherCluster := seed(t, nkeys.CreateCluster)
	userSeed, userPub := seed(t, nkeys.CreateUser)
	token := userJWT(t, userPub, time.Time{})
	certPath, keyPath := certFiles(t)
	credsContent, err := jwt.FormatUserConfig(token, []byte(userSeed))
	if err != nil {
		t.Fatal(err)
	}
	credsPath := writeFile(t, "user.creds", credsContent)

	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{"lattice prefix", []string{"WASMCLOUD_LATTICE_PREFIX=prod-eu_1"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "LatticePrefix", c.LatticePrefix, "prod-eu_1")
		}},
		{"host seed", []string{"WASMCLOUD_HOST_SEED=" + hostSeed}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "HostSeed", string(c.HostSeed.Reveal()), hostSeed)
		}},
		{"cluster seed with white space", []string{"WASMCLOUD_CLUSTER_SEED= " + clusterSeed + "\n"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "ClusterSeed", string(c.ClusterSeed.Reveal()), clusterSeed)
		}},
		{"cluster issuers trimmed, empties and duplicates dropped", []string{"WASMCLOUD_CLUSTER_ISSUERS= " + clusterPub + " ,," + otherCluster + "," + clusterPub + ", "}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "ClusterIssuers", c.ClusterIssuers, []string{clusterPub, otherCluster})
		}},
		{"rpc server list", []string{"WASMCLOUD_RPC_URLS=nats://a.example:4222, tls://10.0.0.2:4223,b.example:4224"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPC URLs", c.RPC.URLs, []string{"nats://a.example:4222", "tls://10.0.0.2:4223", "nats://b.example:4224"})
			require.Equal(t, "RPC URL", c.RPC.URL(), "nats://a.example:4222,tls://10.0.0.2:4223,nats://b.example:4224")
			require.True(t, c.RPC.Explicit, "a server list is an explicit NATS setting")
			require.True(t, c.NATSConfigured(), "NATSConfigured")
		}},
		{"ctl server list", []string{"WASMCLOUD_CTL_URLS=nats://[::1]:4222"}, func(t *testing.T, c Config) {
			require.Equal(t, "CTL URL", c.CTL.URL(), "nats://[::1]:4222")
		}},
		{"admin address", []string{"WASMCLOUD_ADMIN_ADDRESS=127.0.0.1:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "AdminAddress", c.AdminAddress, "127.0.0.1:9090")
		}},
		{"admin address on every interface", []string{"WASMCLOUD_ADMIN_ADDRESS=:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "AdminAddress", c.AdminAddress, ":9090")
		}},
		{"pprof off by default", []string{"WASMCLOUD_ADMIN_ADDRESS=127.0.0.1:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "Pprof", c.Pprof, false)
		}},
		{"pprof on loopback", []string{"WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS=127.0.0.2:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "Pprof", c.Pprof, true)
		}},
		{"pprof on IPv6 loopback", []string{"WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS=[::1]:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "Pprof", c.Pprof, true)
		}},
		{"pprof on localhost", []string{"WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS=LocalHost:9090"}, func(t *testing.T, c Config) {
			require.Equal(t, "Pprof", c.Pprof, true)
		}},
		{"replicas", []string{"WASMCLOUD_JS_REPLICAS=3"}, func(t *testing.T, c Config) {
			require.Equal(t, "JSReplicas", c.JSReplicas, 3)
		}},
		{"replicas auto", []string{"WASMCLOUD_JS_REPLICAS=Auto"}, func(t *testing.T, c Config) {
			require.Equal(t, "JSReplicas", c.JSReplicas, 0)
		}},
		{"rpc host and port", []string{"WASMCLOUD_RPC_HOST=nats.example.com", "WASMCLOUD_RPC_PORT=4333"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPC", c.RPC, NATSConn{Host: "nats.example.com", Port: 4333, Explicit: true})
			require.DeepEqual(t, "CTL.Explicit", c.CTL.Explicit, false)
			require.DeepEqual(t, "NATSConfigured", c.NATSConfigured(), true)
			require.DeepEqual(t, "URL", c.RPC.URL(), "nats://nats.example.com:4333")
		}},
		{"ctl port alone is explicit", []string{"WASMCLOUD_CTL_PORT=4222"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "CTL.Explicit", c.CTL.Explicit, true)
			require.DeepEqual(t, "NATSConfigured", c.NATSConfigured(), true)
		}},
		{"ctl host ipv6", []string{"WASMCLOUD_CTL_HOST=::1", "WASMCLOUD_CTL_TLS=yes"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "URL", c.CTL.URL(), "tls://[::1]:4222")
		}},
		{"rpc nkey seed", []string{"WASMCLOUD_RPC_SEED=" + userSeed}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPC.Seed", string(c.RPC.Seed.Reveal()), userSeed)
			require.DeepEqual(t, "RPC.JWT set", c.RPC.JWT.IsSet(), false)
		}},
		{"ctl jwt and seed", []string{"WASMCLOUD_CTL_SEED=" + userSeed, "WASMCLOUD_CTL_JWT=" + token}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "CTL.JWT", string(c.CTL.JWT.Reveal()), token)
		}},
		{"rpc creds file", []string{"WASMCLOUD_RPC_CREDSFILE=" + credsPath}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPC.CredsFile", c.RPC.CredsFile, credsPath)
		}},
		{"tls files imply tls", []string{"WASMCLOUD_RPC_TLS_CA=" + certPath, "WASMCLOUD_RPC_TLS_CERT=" + certPath, "WASMCLOUD_RPC_TLS_KEY=" + keyPath}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPC", c.RPC, NATSConn{Host: "127.0.0.1", Port: 4222, TLS: true, TLSCA: certPath, TLSCert: certPath, TLSKey: keyPath})
			require.DeepEqual(t, "URL", c.RPC.URL(), "tls://127.0.0.1:4222")
		}},
		{"rpc timeout", []string{"WASMCLOUD_RPC_TIMEOUT_MS=150"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "RPCTimeout", c.RPCTimeout, 150*time.Millisecond)
		}},
		{"ctl topic prefix", []string{"WASMCLOUD_CTL_TOPIC_PREFIX=acme.ctl"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "CtlTopicPrefix", c.CtlTopicPrefix, "acme.ctl")
		}},
		{"embedded true spelled enabled", []string{"WASMCLOUD_NATS_EMBEDDED=Enabled"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "NATSEmbedded", c.NATSEmbedded, EmbeddedAlways)
		}},
		{"embedded false", []string{"WASMCLOUD_NATS_EMBEDDED=0"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "NATSEmbedded", c.NATSEmbedded, EmbeddedNever)
		}},
		{"embedded AUTO", []string{"WASMCLOUD_NATS_EMBEDDED=AUTO"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "NATSEmbedded", c.NATSEmbedded, EmbeddedAuto)
		}},
		{"state dir", []string{"WASMCLOUD_STATE_DIR=/var/lib/wasmcloud"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "StateDir", c.StateDir, "/var/lib/wasmcloud")
		}},
		{"allow file load", []string{"WASMCLOUD_ALLOW_FILE_LOAD=TRUE"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "AllowFileLoad", c.AllowFileLoad, true)
		}},
		{"js domain", []string{"WASMCLOUD_JS_DOMAIN=edge"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "JSDomain", c.JSDomain, "edge")
		}},
		{"policy", []string{"WASMCLOUD_POLICY_TOPIC=wasmcloud.policy", "WASMCLOUD_POLICY_TIMEOUT=250"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "PolicyTopic", c.PolicyTopic, "wasmcloud.policy")
			require.DeepEqual(t, "PolicyTimeout", c.PolicyTimeout, 250*time.Millisecond)
		}},
		{"start actors", []string{"WASMCLOUD_START_ACTORS=wasmcloud.azurecr.io/echo:0.3.4, ,/srv/kv.wasm"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "StartActors", c.StartActors, []string{"wasmcloud.azurecr.io/echo:0.3.4", "/srv/kv.wasm"})
		}},
		{"providers unconfined", []string{"WASMCLOUD_PROVIDER_SANDBOX=false"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "ProviderUnconfined", c.ProviderUnconfined, true)
		}},
		{"providers confined", []string{"WASMCLOUD_PROVIDER_SANDBOX=yes"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "ProviderUnconfined", c.ProviderUnconfined, false)
		}},
		{"oci allow latest", []string{"WASMCLOUD_OCI_ALLOW_LATEST=yes"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "OCI", c.OCI, OCIConfig{AllowLatest: true})
		}},
		{"oci allowed insecure trimmed, empties and duplicates dropped", []string{"WASMCLOUD_OCI_ALLOWED_INSECURE= localhost:5000 ,,registry.lan,[::1]:5000,10.0.0.7,[fe80::1],localhost:5000"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "AllowedInsecure", c.OCI.AllowedInsecure, []string{"localhost:5000", "registry.lan", "[::1]:5000", "10.0.0.7", "[fe80::1]"})
		}},
		{"oci registry credentials", []string{"WASMCLOUD_OCI_REGISTRY=ghcr.io", "WASMCLOUD_OCI_REGISTRY_USER=bot", "WASMCLOUD_OCI_REGISTRY_PASSWORD= ghp_token\n"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "Registry", c.OCI.Registry, "ghcr.io")
			require.DeepEqual(t, "User", c.OCI.User, "bot")
			require.DeepEqual(t, "Password", string(c.OCI.Password.Reveal()), "ghp_token")
		}},
		{"oci registry alone", []string{"WASMCLOUD_OCI_REGISTRY=registry.lan:5000"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "OCI", c.OCI, OCIConfig{Registry: "registry.lan:5000"})
		}},
		{"log level warning", []string{"WASMCLOUD_LOG_LEVEL=Warning"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "LogLevel", c.LogLevel, slog.LevelWarn)
		}},
		{"log level debug", []string{"WASMCLOUD_LOG_LEVEL=debug"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "LogLevel", c.LogLevel, slog.LevelDebug)
		}},
		{"structured logging", []string{"WASMCLOUD_STRUCTURED_LOGGING_ENABLED=y"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "StructuredLogging", c.StructuredLogging, true)
		}},
		{"signed invocation tuning", []string{"WASMCLOUD_INVOCATION_VALIDITY=1m30s", "WASMCLOUD_CLOCK_SKEW=0s", "WASMCLOUD_REPLAY_CACHE_SIZE=5000", "WASMCLOUD_REQUIRE_SIGNED_RESPONSES=1"}, func(t *testing.T, c Config) {
			require.DeepEqual(t, "InvocationValidity", c.InvocationValidity, 90*time.Second)
			require.DeepEqual(t, "ClockSkew", c.ClockSkew, time.Duration(0))
			require.DeepEqual(t, "ReplayCacheSize", c.ReplayCacheSize, 5000)
			require.DeepEqual(t, "RequireSignedResponses", c.RequireSignedResponses, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustLoad(t, environ(tt.env...)))
		})
	}
}

func TestBooleans(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
		ok   bool
	}{
		{"1", "1", true, true}, {"true", "TrUe", true, true}, {"yes", "YES", true, true}, {"y", "y", true, true},
		{"enabled", "enabled", true, true}, {"enable", "Enable", true, true},
		{"0", "0", false, true}, {"false", "False", false, true}, {"no", "no", false, true}, {"n", "N", false, true},
		{"disabled", "DISABLED", false, true}, {"disable", "disable", false, true},
		{"padded", " yes ", true, true},
		{"empty", "", false, false}, {"on", "on", false, false}, {"2", "2", false, false}, {"typo", "ture", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBool(tt.in)
			require.DeepEqual(t, "ok", err == nil, tt.ok)
			require.DeepEqual(t, "value", got, tt.want)
		})
	}
}

func TestInvalidValues(t *testing.T) {
	hostSeed, _ := seed(t, nkeys.CreateServer)
	clusterSeed, clusterPub := seed(t, nkeys.CreateCluster)
	userSeed, userPub := seed(t, nkeys.CreateUser)
	otherSeed, otherPub := seed(t, nkeys.CreateUser)
	token := userJWT(t, userPub, time.Time{})
	expired := userJWT(t, userPub, time.Unix(1700000000, 0))
	certPath, keyPath := certFiles(t)
	otherCert, _ := certFiles(t)
	garbage := writeFile(t, "garbage", []byte("not a creds file"))
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name    string
		env     []string
		want    string // the whole error message
		kind    error
		secrets []string // must not appear in the message
	}{
		{"lattice prefix with dot", []string{"WASMCLOUD_LATTICE_PREFIX=a.b"},
			`WASMCLOUD_LATTICE_PREFIX: "a.b": not a single NATS subject token: contains '.'`, ErrInvalid, nil},
		{"lattice prefix wildcard", []string{"WASMCLOUD_LATTICE_PREFIX=a>"},
			`WASMCLOUD_LATTICE_PREFIX: "a>": not a single NATS subject token: contains wildcard '>'`, ErrInvalid, nil},
		{"lattice prefix space", []string{"WASMCLOUD_LATTICE_PREFIX=my lattice"},
			`WASMCLOUD_LATTICE_PREFIX: "my lattice": not a single NATS subject token: contains white space or a control character`, ErrInvalid, nil},
		{"host seed of the wrong type", []string{"WASMCLOUD_HOST_SEED=" + clusterSeed},
			`WASMCLOUD_HOST_SEED: not a server seed (want SN…)`, ErrInvalid, []string{clusterSeed}},
		{"cluster seed of the wrong type", []string{"WASMCLOUD_CLUSTER_SEED=" + hostSeed},
			`WASMCLOUD_CLUSTER_SEED: not a cluster seed (want SC…)`, ErrInvalid, []string{hostSeed}},
		{"cluster seed garbage", []string{"WASMCLOUD_CLUSTER_SEED=SCnotaseed"},
			`WASMCLOUD_CLUSTER_SEED: not a cluster seed (want SC…)`, ErrInvalid, []string{"SCnotaseed"}},
		{"cluster seed with flipped character", []string{"WASMCLOUD_CLUSTER_SEED=" + flip(clusterSeed)},
			`WASMCLOUD_CLUSTER_SEED: not a cluster seed (want SC…)`, ErrInvalid, []string{flip(clusterSeed)}},
		{"issuer not a cluster key", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + clusterPub + "," + userPub},
			`WASMCLOUD_CLUSTER_ISSUERS: "` + userPub + `": not a cluster public key (want C… with a valid checksum)`, ErrInvalid, nil},
		{"a seed in a label", []string{"HOST_NOTE=" + clusterSeed},
			`HOST_NOTE: looks like a seed: labels are published to the lattice (the value looks like a seed and is not shown)`,
			ErrInvalid, []string{clusterSeed}},
		{"replay scope", []string{"WASMCLOUD_REPLAY_SCOPE=cluster"},
			`WASMCLOUD_REPLAY_SCOPE: "cluster": not a replay scope (want lattice or host)`, ErrInvalid, nil},
		{"issuer too short", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + clusterPub[:55]},
			`WASMCLOUD_CLUSTER_ISSUERS: "` + clusterPub[:55] + `": not a cluster public key (want C… with a valid checksum)`, ErrInvalid, nil},
		{"a seed in the issuers", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + clusterSeed},
			`WASMCLOUD_CLUSTER_ISSUERS: not a cluster public key (want C… with a valid checksum) (the value looks like a seed and is not shown)`,
			ErrInvalid, []string{clusterSeed, clusterSeed[2:20]}},
		{"a lower-case seed in the issuers", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + strings.ToLower(clusterSeed)},
			`WASMCLOUD_CLUSTER_ISSUERS: not a cluster public key (want C… with a valid checksum) (the value looks like a seed and is not shown)`,
			ErrInvalid, []string{strings.ToLower(clusterSeed), strings.ToLower(clusterSeed[2:20])}},
		{"issuer with a flipped character (checksum)", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + flip(clusterPub)},
			`WASMCLOUD_CLUSTER_ISSUERS: "` + flip(clusterPub) + `": not a cluster public key (want C… with a valid checksum)`, ErrInvalid, nil},
		{"issuer lower case", []string{"WASMCLOUD_CLUSTER_ISSUERS=" + strings.ToLower(clusterPub)},
			`WASMCLOUD_CLUSTER_ISSUERS: "` + strings.ToLower(clusterPub) + `": not a cluster public key (want C… with a valid checksum)`, ErrInvalid, nil},
		{"rpc host with scheme", []string{"WASMCLOUD_RPC_HOST=nats://x"},
			`WASMCLOUD_RPC_HOST: "nats://x": not a host name or IP address (scheme and port are separate variables)`, ErrInvalid, nil},
		{"ctl host with port", []string{"WASMCLOUD_CTL_HOST=example.com:4222"},
			`WASMCLOUD_CTL_HOST: "example.com:4222": not a host name or IP address (scheme and port are separate variables)`, ErrInvalid, nil},
		{"rpc server list with host", []string{"WASMCLOUD_RPC_URLS=nats://a:4222", "WASMCLOUD_RPC_HOST=b"},
			`WASMCLOUD_RPC_URLS: set together with WASMCLOUD_RPC_HOST or WASMCLOUD_RPC_PORT (use one)`, ErrConflict, nil},
		{"server url with credentials", []string{"WASMCLOUD_CTL_URLS=nats://user:hunter2@a:4222"},
			`WASMCLOUD_CTL_URLS: "nats://user:hunter2@a:4222": has user information (use the _CREDSFILE, _SEED or _JWT variables)`, ErrInvalid, nil},
		{"server url with another scheme", []string{"WASMCLOUD_RPC_URLS=http://a:4222"},
			`WASMCLOUD_RPC_URLS: "http://a:4222": scheme must be nats or tls`, ErrInvalid, nil},
		{"server url without port", []string{"WASMCLOUD_RPC_URLS=nats://a"},
			`WASMCLOUD_RPC_URLS: "nats://a": want scheme://host:port`, ErrInvalid, nil},
		{"server url with path", []string{"WASMCLOUD_RPC_URLS=nats://a:4222/x"},
			`WASMCLOUD_RPC_URLS: "nats://a:4222/x": has a path, query or fragment`, ErrInvalid, nil},
		{"server list with an embedded server", []string{"WASMCLOUD_RPC_URLS=nats://a:4222", "WASMCLOUD_NATS_EMBEDDED=true"},
			`WASMCLOUD_NATS_EMBEDDED: true together with WASMCLOUD_RPC_URLS or WASMCLOUD_CTL_URLS (an embedded server listens on _HOST and _PORT)`, ErrConflict, nil},
		{"admin address without port", []string{"WASMCLOUD_ADMIN_ADDRESS=127.0.0.1"},
			`WASMCLOUD_ADMIN_ADDRESS: "127.0.0.1": not host:port (want e.g. 127.0.0.1:9090)`, ErrInvalid, nil},
		{"admin address bad host", []string{"WASMCLOUD_ADMIN_ADDRESS=a/b:9090"},
			`WASMCLOUD_ADMIN_ADDRESS: "a/b:9090": not a host name or IP address (scheme and port are separate variables)`, ErrInvalid, nil},
		{"pprof without an admin listener", []string{"WASMCLOUD_PPROF=true"},
			`WASMCLOUD_PPROF: true without WASMCLOUD_ADMIN_ADDRESS, where profiles are served (set it to a loopback address such as 127.0.0.1:9090)`, ErrConflict, nil},
		{"pprof on every interface", []string{"WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS=:9090"},
			`WASMCLOUD_PPROF: true with WASMCLOUD_ADMIN_ADDRESS ":9090", which is not a loopback address: profiles are served only on 127.0.0.1, [::1] or localhost`, ErrConflict, nil},
		{"pprof on a public address", []string{"WASMCLOUD_PPROF=1", "WASMCLOUD_ADMIN_ADDRESS=10.1.2.3:9090"},
			`WASMCLOUD_PPROF: true with WASMCLOUD_ADMIN_ADDRESS "10.1.2.3:9090", which is not a loopback address: profiles are served only on 127.0.0.1, [::1] or localhost`, ErrConflict, nil},
		{"pprof on a host name", []string{"WASMCLOUD_PPROF=true", "WASMCLOUD_ADMIN_ADDRESS=admin.example:9090"},
			`WASMCLOUD_PPROF: true with WASMCLOUD_ADMIN_ADDRESS "admin.example:9090", which is not a loopback address: profiles are served only on 127.0.0.1, [::1] or localhost`, ErrConflict, nil},
		{"replicas zero", []string{"WASMCLOUD_JS_REPLICAS=0"},
			`WASMCLOUD_JS_REPLICAS: "0": not a replica count (want auto or 1..5)`, ErrInvalid, nil},
		{"replicas six", []string{"WASMCLOUD_JS_REPLICAS=6"},
			`WASMCLOUD_JS_REPLICAS: "6": not a replica count (want auto or 1..5)`, ErrInvalid, nil},
		{"rpc port zero", []string{"WASMCLOUD_RPC_PORT=0"},
			`WASMCLOUD_RPC_PORT: "0": not a port (want 1..65535)`, ErrInvalid, nil},
		{"ctl port too big", []string{"WASMCLOUD_CTL_PORT=65536"},
			`WASMCLOUD_CTL_PORT: "65536": not a port (want 1..65535)`, ErrInvalid, nil},
		{"rpc port word", []string{"WASMCLOUD_RPC_PORT=nats"},
			`WASMCLOUD_RPC_PORT: "nats": not a port (want 1..65535)`, ErrInvalid, nil},
		{"rpc seed not a user seed", []string{"WASMCLOUD_RPC_SEED=" + clusterSeed},
			`WASMCLOUD_RPC_SEED: not a NATS user seed (want SU…)`, ErrInvalid, []string{clusterSeed}},
		{"rpc jwt without seed", []string{"WASMCLOUD_RPC_JWT=" + token},
			`WASMCLOUD_RPC_JWT: set without WASMCLOUD_RPC_SEED (a user JWT needs its seed to sign the server's nonce)`, ErrConflict, []string{token}},
		{"ctl jwt garbage", []string{"WASMCLOUD_CTL_SEED=" + userSeed, "WASMCLOUD_CTL_JWT=eyJhbGciOi.secret-part.sig"},
			`WASMCLOUD_CTL_JWT: not a NATS user JWT`, ErrInvalid, []string{"secret-part", userSeed}},
		{"ctl jwt for another key", []string{"WASMCLOUD_CTL_SEED=" + otherSeed, "WASMCLOUD_CTL_JWT=" + token},
			`WASMCLOUD_CTL_JWT: issued for ` + userPub + `, not for the seed's key ` + otherPub, ErrInvalid, []string{token, otherSeed}},
		{"rpc jwt expired", []string{"WASMCLOUD_RPC_SEED=" + userSeed, "WASMCLOUD_RPC_JWT=" + expired},
			`WASMCLOUD_RPC_JWT: expired at 2023-11-14T22:13:20Z`, ErrInvalid, []string{expired, userSeed}},
		{"creds file and seed", []string{"WASMCLOUD_RPC_SEED=" + userSeed, "WASMCLOUD_RPC_CREDSFILE=" + garbage},
			"WASMCLOUD_RPC_CREDSFILE: set together with WASMCLOUD_RPC_SEED or WASMCLOUD_RPC_JWT (use one)\n" +
				`WASMCLOUD_RPC_CREDSFILE: "` + garbage + `": no NATS user JWT in the file`, ErrConflict, []string{userSeed}},
		{"creds file missing", []string{"WASMCLOUD_CTL_CREDSFILE=" + missing},
			`WASMCLOUD_CTL_CREDSFILE: "` + missing + `": cannot read: no such file or directory`, fs.ErrNotExist, nil},
		{"tls boolean", []string{"WASMCLOUD_RPC_TLS=maybe"},
			`WASMCLOUD_RPC_TLS: "maybe": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"tls ca not pem", []string{"WASMCLOUD_CTL_TLS_CA=" + garbage},
			`WASMCLOUD_CTL_TLS_CA: "` + garbage + `": no PEM certificate in the file`, ErrInvalid, nil},
		{"tls cert without key", []string{"WASMCLOUD_RPC_TLS_CERT=" + certPath},
			`WASMCLOUD_RPC_TLS_CERT: set without WASMCLOUD_RPC_TLS_KEY`, ErrConflict, nil},
		{"tls key without cert", []string{"WASMCLOUD_CTL_TLS_KEY=" + keyPath},
			`WASMCLOUD_CTL_TLS_KEY: set without WASMCLOUD_CTL_TLS_CERT`, ErrConflict, nil},
		{"tls cert and key mismatch", []string{"WASMCLOUD_RPC_TLS_CERT=" + otherCert, "WASMCLOUD_RPC_TLS_KEY=" + keyPath},
			`WASMCLOUD_RPC_TLS_CERT: "` + otherCert + `": cannot load with WASMCLOUD_RPC_TLS_KEY "` + keyPath + `": tls: private key does not match public key`, ErrInvalid, nil},
		{"rpc timeout zero", []string{"WASMCLOUD_RPC_TIMEOUT_MS=0"},
			`WASMCLOUD_RPC_TIMEOUT_MS: "0": not a positive whole number of milliseconds`, ErrInvalid, nil},
		{"rpc timeout go syntax", []string{"WASMCLOUD_RPC_TIMEOUT_MS=2s"},
			`WASMCLOUD_RPC_TIMEOUT_MS: "2s": not a positive whole number of milliseconds`, ErrInvalid, nil},
		{"ctl topic prefix empty token", []string{"WASMCLOUD_CTL_TOPIC_PREFIX=wasmbus..ctl"},
			`WASMCLOUD_CTL_TOPIC_PREFIX: "wasmbus..ctl": not a NATS subject: empty token`, ErrInvalid, nil},
		{"embedded mode", []string{"WASMCLOUD_NATS_EMBEDDED=sometimes"},
			`WASMCLOUD_NATS_EMBEDDED: "sometimes": not an embedded-NATS mode (want auto, true or false)`, ErrInvalid, nil},
		{"allow file load", []string{"WASMCLOUD_ALLOW_FILE_LOAD=on"},
			`WASMCLOUD_ALLOW_FILE_LOAD: "on": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"js domain with dot", []string{"WASMCLOUD_JS_DOMAIN=a.b"},
			`WASMCLOUD_JS_DOMAIN: "a.b": not a JetStream domain: contains '.'`, ErrInvalid, nil},
		{"policy topic wildcard", []string{"WASMCLOUD_POLICY_TOPIC=policy.*"},
			`WASMCLOUD_POLICY_TOPIC: "policy.*": not a NATS subject: contains wildcard '*'`, ErrInvalid, nil},
		{"policy timeout negative", []string{"WASMCLOUD_POLICY_TIMEOUT=-5"},
			`WASMCLOUD_POLICY_TIMEOUT: "-5": not a positive whole number of milliseconds`, ErrInvalid, nil},
		{"provider sandbox", []string{"WASMCLOUD_PROVIDER_SANDBOX=off"},
			`WASMCLOUD_PROVIDER_SANDBOX: "off": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"oci allow latest", []string{"WASMCLOUD_OCI_ALLOW_LATEST=latest"},
			`WASMCLOUD_OCI_ALLOW_LATEST: "latest": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"oci insecure with scheme", []string{"WASMCLOUD_OCI_ALLOWED_INSECURE=localhost:5000,http://registry.lan"},
			`WASMCLOUD_OCI_ALLOWED_INSECURE: "http://registry.lan": not a registry (want host or host:port, without scheme or path)`, ErrInvalid, nil},
		{"oci insecure with path", []string{"WASMCLOUD_OCI_ALLOWED_INSECURE=registry.lan/org"},
			`WASMCLOUD_OCI_ALLOWED_INSECURE: "registry.lan/org": not a registry (want host or host:port, without scheme or path)`, ErrInvalid, nil},
		{"oci insecure bare ipv6", []string{"WASMCLOUD_OCI_ALLOWED_INSECURE=::1"},
			`WASMCLOUD_OCI_ALLOWED_INSECURE: "::1": not a registry (want host or host:port, without scheme or path)`, ErrInvalid, nil},
		{"oci insecure bad port", []string{"WASMCLOUD_OCI_ALLOWED_INSECURE=registry.lan:0,[::1]:99999"},
			`WASMCLOUD_OCI_ALLOWED_INSECURE: "registry.lan:0": not a registry (want host or host:port, without scheme or path)` + "\n" +
				`WASMCLOUD_OCI_ALLOWED_INSECURE: "[::1]:99999": not a registry (want host or host:port, without scheme or path)`, ErrInvalid, nil},
		{"oci registry underscore", []string{"WASMCLOUD_OCI_REGISTRY=my_registry.lan"},
			`WASMCLOUD_OCI_REGISTRY: "my_registry.lan": not a registry (want host or host:port, without scheme or path)`, ErrInvalid, nil},
		{"oci user without password", []string{"WASMCLOUD_OCI_REGISTRY=ghcr.io", "WASMCLOUD_OCI_REGISTRY_USER=bot"},
			`WASMCLOUD_OCI_REGISTRY_USER: set without WASMCLOUD_OCI_REGISTRY_PASSWORD`, ErrConflict, nil},
		{"oci password without user", []string{"WASMCLOUD_OCI_REGISTRY=ghcr.io", "WASMCLOUD_OCI_REGISTRY_PASSWORD=hunter2-secret"},
			`WASMCLOUD_OCI_REGISTRY_PASSWORD: set without WASMCLOUD_OCI_REGISTRY_USER`, ErrConflict, []string{"hunter2-secret"}},
		{"oci credentials without registry", []string{"WASMCLOUD_OCI_REGISTRY_USER=bot", "WASMCLOUD_OCI_REGISTRY_PASSWORD=hunter2-secret"},
			`WASMCLOUD_OCI_REGISTRY_USER: set without WASMCLOUD_OCI_REGISTRY (credentials need the registry they are for)`, ErrConflict, []string{"hunter2-secret"}},
		{"oci password alone", []string{"WASMCLOUD_OCI_REGISTRY_PASSWORD=hunter2-secret"},
			"WASMCLOUD_OCI_REGISTRY_PASSWORD: set without WASMCLOUD_OCI_REGISTRY_USER\n" +
				`WASMCLOUD_OCI_REGISTRY_PASSWORD: set without WASMCLOUD_OCI_REGISTRY (credentials need the registry they are for)`, ErrConflict, []string{"hunter2-secret"}},
		{"log level", []string{"WASMCLOUD_LOG_LEVEL=trace"},
			`WASMCLOUD_LOG_LEVEL: "trace": not a log level (want debug, info, warn or error)`, ErrInvalid, nil},
		{"structured logging", []string{"WASMCLOUD_STRUCTURED_LOGGING_ENABLED=json"},
			`WASMCLOUD_STRUCTURED_LOGGING_ENABLED: "json": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"invocation validity not a duration", []string{"WASMCLOUD_INVOCATION_VALIDITY=30"},
			`WASMCLOUD_INVOCATION_VALIDITY: "30": not a duration (want e.g. "30s", "1m", "500ms")`, ErrInvalid, nil},
		{"invocation validity zero", []string{"WASMCLOUD_INVOCATION_VALIDITY=0s"},
			`WASMCLOUD_INVOCATION_VALIDITY: "0s": must be positive`, ErrInvalid, nil},
		{"clock skew negative", []string{"WASMCLOUD_CLOCK_SKEW=-1s"},
			`WASMCLOUD_CLOCK_SKEW: "-1s": not a duration (want e.g. "30s", "1m", "500ms")`, ErrInvalid, nil},
		{"replay cache zero", []string{"WASMCLOUD_REPLAY_CACHE_SIZE=0"},
			`WASMCLOUD_REPLAY_CACHE_SIZE: "0": not a positive whole number`, ErrInvalid, nil},
		{"require signed responses", []string{"WASMCLOUD_REQUIRE_SIGNED_RESPONSES=sure"},
			`WASMCLOUD_REQUIRE_SIGNED_RESPONSES: "sure": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`, ErrInvalid, nil},
		{"relative state dir made absolute is fine, no home is not", []string{"HOME=relative"},
			`WASMCLOUD_STATE_DIR: not set, and none of STATE_DIRECTORY, XDG_STATE_HOME or HOME is an absolute path to derive it from`, ErrInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environ(tt.env...)
			if strings.HasPrefix(tt.env[0], "HOME=") {
				env = tt.env
			}
			c, err := LoadFrom(env)
			if err == nil {
				t.Fatalf("LoadFrom accepted %q: %+v", tt.env, c)
			}
			require.DeepEqual(t, "error", err.Error(), tt.want)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q contains secret %q", err, s)
				}
			}
			require.DeepEqual(t, "config on error", c, Config{})
		})
	}
}

// flip changes one character in the middle of a seed, breaking its CRC.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestManyProblems: every bad value is reported at once, in variable order, and a value that
// fails to parse is reported once (not again by Validate).
func TestManyProblems(t *testing.T) {
	hostSeed, _ := seed(t, nkeys.CreateServer)
	_, err := LoadFrom(environ(
		"WASMCLOUD_LOG_LEVEL=loud",
		"WASMCLOUD_RPC_PORT=70000",
		"WASMCLOUD_CLUSTER_SEED="+hostSeed,
		"WASMCLOUD_LATTICE_PREFIX=a.b",
		"WASMCLOUD_RPC_TLS=maybe",
		"WASMCLOUD_CTL_JWT=x.y.z",
		"WASMCLOUD_CLUSTER_ISSUERS=CABC, ,",
		"WASMCLOUD_CTL_TOPIC_PREFIX=",
	))
	want := []string{
		`WASMCLOUD_RPC_PORT: "70000": not a port (want 1..65535)`,
		`WASMCLOUD_RPC_TLS: "maybe": not a boolean (want true/false, 1/0, yes/no, y/n, enabled/disabled)`,
		`WASMCLOUD_LOG_LEVEL: "loud": not a log level (want debug, info, warn or error)`,
		`WASMCLOUD_LATTICE_PREFIX: "a.b": not a single NATS subject token: contains '.'`,
		`WASMCLOUD_CLUSTER_SEED: not a cluster seed (want SC…)`,
		`WASMCLOUD_CLUSTER_ISSUERS: "CABC": not a cluster public key (want C… with a valid checksum)`,
		`WASMCLOUD_CTL_JWT: set without WASMCLOUD_CTL_SEED (a user JWT needs its seed to sign the server's nonce)`,
	}
	require.DeepEqual(t, "problems", lines(err), want)
	ps := problems(t, err)
	vars := make([]string, len(ps))
	for i, p := range ps {
		vars[i] = p.Var
	}
	require.DeepEqual(t, "variables", vars, []string{"WASMCLOUD_RPC_PORT", "WASMCLOUD_RPC_TLS", "WASMCLOUD_LOG_LEVEL", "WASMCLOUD_LATTICE_PREFIX", "WASMCLOUD_CLUSTER_SEED", "WASMCLOUD_CLUSTER_ISSUERS", "WASMCLOUD_CTL_JWT"})
	require.DeepEqual(t, "secret value recorded", ps[4].Value, "")
	require.DeepEqual(t, "plain value recorded", ps[0].Value, "70000")
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrConflict) {
		t.Fatalf("joined error should match both ErrInvalid and ErrConflict: %v", err)
	}
}

func TestClusterSeedFile(t *testing.T) {
	clusterSeed, _ := seed(t, nkeys.CreateCluster)
	hostSeed, _ := seed(t, nkeys.CreateServer)
	good := writeFile(t, "cluster.nk", []byte("\n"+clusterSeed+"\n"))
	wrongType := writeFile(t, "server.nk", []byte(hostSeed))
	empty := writeFile(t, "empty.nk", []byte(" \n"))
	missing := filepath.Join(t.TempDir(), "nope.nk")
	shared := writeFile(t, "shared.nk", []byte(clusterSeed))
	require.NoError(t, os.Chmod(shared, 0o640))

	t.Run("read and trimmed", func(t *testing.T) {
		c := mustLoad(t, environ("WASMCLOUD_CLUSTER_SEED_FILE="+good))
		require.DeepEqual(t, "ClusterSeed", string(c.ClusterSeed.Reveal()), clusterSeed)
		require.DeepEqual(t, "ClusterSeedFile", c.ClusterSeedFile, good)
	})
	tests := []struct {
		name string
		env  []string
		want string
		kind error
	}{
		{"missing", []string{"WASMCLOUD_CLUSTER_SEED_FILE=" + missing},
			`WASMCLOUD_CLUSTER_SEED_FILE: "` + missing + `": cannot read: no such file or directory`, fs.ErrNotExist},
		{"directory", []string{"WASMCLOUD_CLUSTER_SEED_FILE=" + filepath.Dir(good)},
			`WASMCLOUD_CLUSTER_SEED_FILE: "` + filepath.Dir(good) + `": cannot read: is a directory`, ErrInvalid},
		{"empty", []string{"WASMCLOUD_CLUSTER_SEED_FILE=" + empty},
			`WASMCLOUD_CLUSTER_SEED_FILE: "` + empty + `": file is empty`, ErrInvalid},
		{"wrong type", []string{"WASMCLOUD_CLUSTER_SEED_FILE=" + wrongType},
			`WASMCLOUD_CLUSTER_SEED_FILE: "` + wrongType + `": content is not a cluster seed (want SC…)`, ErrInvalid},
		{"readable by the group", []string{"WASMCLOUD_CLUSTER_SEED_FILE=" + shared},
			`WASMCLOUD_CLUSTER_SEED_FILE: "` + shared + `": holds a secret but is readable by group or others (mode 0640); run: chmod 600 ` + shared, ErrInvalid},
		{"both seed and file", []string{"WASMCLOUD_CLUSTER_SEED=" + clusterSeed, "WASMCLOUD_CLUSTER_SEED_FILE=" + good},
			`WASMCLOUD_CLUSTER_SEED_FILE: set together with WASMCLOUD_CLUSTER_SEED (use one)`, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFrom(environ(tt.env...))
			if err == nil {
				t.Fatal("no error")
			}
			require.DeepEqual(t, "error", err.Error(), tt.want)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if strings.Contains(err.Error(), hostSeed) || strings.Contains(err.Error(), clusterSeed) {
				t.Fatalf("error %q contains a seed", err)
			}
		})
	}
}

func TestStateDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"systemd wins", []string{"STATE_DIRECTORY=/var/lib/wasmcloud-host", "XDG_STATE_HOME=/x", "HOME=/h"}, "/var/lib/wasmcloud-host"},
		{"systemd first of several", []string{"STATE_DIRECTORY=/var/lib/a:/var/lib/b"}, "/var/lib/a"},
		{"xdg", []string{"XDG_STATE_HOME=/x/state", "HOME=/h"}, "/x/state/wasmcloud-host"},
		{"relative xdg ignored", []string{"XDG_STATE_HOME=state", "HOME=/h"}, "/h/.local/state/wasmcloud-host"},
		{"home", []string{"HOME=/h"}, "/h/.local/state/wasmcloud-host"},
		{"explicit wins", []string{"WASMCLOUD_STATE_DIR=/srv/wc", "STATE_DIRECTORY=/var/lib/x"}, "/srv/wc"},
		{"explicit relative made absolute", []string{"WASMCLOUD_STATE_DIR=state"}, filepath.Join(cwd, "state")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.DeepEqual(t, "StateDir", mustLoad(t, tt.env).StateDir, tt.want)
		})
	}
}

func TestLabels(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"lower-cased keys, values kept", []string{"HOST_REGION=eu-West", "HOST_Zone_ID=3"}, map[string]string{"region": "eu-West", "zone_id": "3"}},
		{"HOST_CONFIG is a label as in 0.x", []string{"HOST_CONFIG=/x.json"}, map[string]string{"config": "/x.json"}},
		{"empty value kept", []string{"HOST_EMPTY="}, map[string]string{"empty": ""}},
		{"not labels", []string{"HOST_=x", "HOSTNAME=box", "WASMCLOUD_HOST_SEED=", "XHOST_A=1"}, map[string]string{}},
		{"first wins", []string{"HOST_A=1", "HOST_A=2"}, map[string]string{"a": "1"}},
		{"core labels win", []string{"HOST_HOSTCORE.OS=plan9"}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := wantCore()
			maps.Copy(want, tt.want)
			require.DeepEqual(t, "Labels", mustLoad(t, environ(tt.env...)).Labels, want)
		})
	}
}

func TestCoreLabels(t *testing.T) {
	tests := []struct {
		name, goos, goarch string
		want               map[string]string
	}{
		{"linux amd64", "linux", "amd64", map[string]string{LabelArch: "x86_64", LabelOS: "linux", LabelOSFamily: "unix"}},
		{"linux arm64", "linux", "arm64", map[string]string{LabelArch: "aarch64", LabelOS: "linux", LabelOSFamily: "unix"}},
		{"darwin arm64", "darwin", "arm64", map[string]string{LabelArch: "aarch64", LabelOS: "macos", LabelOSFamily: "unix"}},
		{"windows amd64", "windows", "amd64", map[string]string{LabelArch: "x86_64", LabelOS: "windows", LabelOSFamily: "windows"}},
		{"freebsd riscv64", "freebsd", "riscv64", map[string]string{LabelArch: "riscv64", LabelOS: "freebsd", LabelOSFamily: "unix"}},
		{"linux 386", "linux", "386", map[string]string{LabelArch: "x86", LabelOS: "linux", LabelOSFamily: "unix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.DeepEqual(t, "labels", coreLabels(tt.goos, tt.goarch), tt.want)
		})
	}
}

// TestValidateHandBuilt: Validate works on a Config built without Load, and names each field's
// variable.
func TestValidateHandBuilt(t *testing.T) {
	good := mustLoad(t, environ())
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(defaults) = %v", err)
	}
	err := Config{}.Validate()
	ps := problems(t, err)
	var vars []string
	for _, p := range ps {
		vars = append(vars, p.Var)
	}
	require.DeepEqual(t, "variables", vars, []string{
		"WASMCLOUD_LATTICE_PREFIX",
		"WASMCLOUD_RPC_HOST", "WASMCLOUD_RPC_PORT", "WASMCLOUD_RPC_TIMEOUT_MS",
		"WASMCLOUD_CTL_HOST", "WASMCLOUD_CTL_PORT", "WASMCLOUD_CTL_TOPIC_PREFIX", "WASMCLOUD_NATS_EMBEDDED",
		"WASMCLOUD_STATE_DIR", "WASMCLOUD_POLICY_TIMEOUT", "WASMCLOUD_INVOCATION_VALIDITY", "WASMCLOUD_REPLAY_CACHE_SIZE",
		"WASMCLOUD_CTL_TOKEN_VALIDITY",
	})

	bad := good
	bad.StateDir = "relative"
	bad.LogLevel = slog.Level(3)
	require.DeepEqual(t, "errors", lines(bad.Validate()), []string{
		`WASMCLOUD_STATE_DIR: "relative": not an absolute path`,
		`WASMCLOUD_LOG_LEVEL: "INFO+3": not a log level (want debug, info, warn or error)`,
	})

}

// TestSpecNames: every name validate uses is a variable of the spec, so no error can name a
// variable that does not exist.
func TestSpecNames(t *testing.T) {
	names := map[string]bool{}
	var s spec
	walk(&s, func(name string, _ reflect.StructTag, _ field) { names[name] = true })
	for _, n := range []string{envLatticePrefix, envHostSeed, envClusterSeed, envClusterSeedFile, envClusterIssuers,
		envRPCTimeout, envCtlTopicPrefix, envNATSEmbedded, envStateDir, envJSDomain, envPolicyTopic, envPolicyTimeout,
		envLogLevel, envInvValidity, envClockSkew, envReplayCacheSize, envOCIInsecure, envOCIRegistry, envOCIUser, envOCIPassword,
		envCtlIssuers, envCtlIssuerSeed, envCtlIssuerSeedFile, envCtlTokenValidity, envActorIssuers} {
		if !names[n] {
			t.Errorf("%s is not in the spec", n)
		}
	}
	for _, p := range []string{envRPC, envCTL} {
		for _, suffix := range []string{"_HOST", "_PORT", "_SEED", "_JWT", "_CREDSFILE", "_TLS", "_TLS_CA", "_TLS_CERT", "_TLS_KEY"} {
			if !names[p+suffix] {
				t.Errorf("%s is not in the spec", p+suffix)
			}
		}
	}
}

func TestWipe(t *testing.T) {
	clusterSeed, _ := seed(t, nkeys.CreateCluster)
	userSeed, _ := seed(t, nkeys.CreateUser)
	c := mustLoad(t, environ("WASMCLOUD_CLUSTER_SEED="+clusterSeed, "WASMCLOUD_RPC_SEED="+userSeed,
		"WASMCLOUD_OCI_REGISTRY=ghcr.io", "WASMCLOUD_OCI_REGISTRY_USER=bot", "WASMCLOUD_OCI_REGISTRY_PASSWORD=pw"))
	raw := c.ClusterSeed.Reveal()
	cp := c // copies share the secrets
	c.Wipe()
	require.DeepEqual(t, "copy cluster seed set", cp.ClusterSeed.IsSet(), false)
	require.DeepEqual(t, "copy rpc seed set", cp.RPC.Seed.IsSet(), false)
	require.DeepEqual(t, "copy oci password set", cp.OCI.Password.IsSet(), false)
	require.DeepEqual(t, "old bytes zeroed", string(raw), strings.Repeat("\x00", len(clusterSeed)))
	c.Wipe() // twice is fine
}

// TestKeyFiles: the file forms of the key lists merge into the lists, the revocations file is parsed, and
// cosign's files are loaded; each problem names its variable.
func TestKeyFiles(t *testing.T) {
	_, clusterPub := seed(t, nkeys.CreateCluster)
	_, otherCluster := seed(t, nkeys.CreateCluster)
	_, acct := seed(t, nkeys.CreateAccount)
	issuers := writeFile(t, "issuers", []byte("# the new key\n"+otherCluster+"\n\n"))
	actors := writeFile(t, "actors", []byte(acct+"\n"))
	revocations := writeFile(t, "revoked", []byte(acct+" 2026-11-01T00:00:00Z\n"))
	c := mustLoad(t, environ("WASMCLOUD_CLUSTER_ISSUERS="+clusterPub, "WASMCLOUD_CLUSTER_ISSUERS_FILE="+issuers,
		"WASMCLOUD_ACTOR_ISSUERS_FILE="+actors, "WASMCLOUD_REVOCATIONS_FILE="+revocations))
	require.DeepEqual(t, "cluster issuers", c.ClusterIssuers, []string{clusterPub, otherCluster})
	require.DeepEqual(t, "actor issuers", c.ActorIssuers, []string{acct})
	require.True(t, c.Revocations.Revoked(acct, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)), "the revocation")
	require.True(t, c.CosignVerifier == nil, "a cosign verifier without cosign settings")

	badRevocations := writeFile(t, "bad", []byte("not-a-key\n"))
	_, err := LoadFrom(environ("WASMCLOUD_REVOCATIONS_FILE="+badRevocations, "WASMCLOUD_ACTOR_ISSUERS_FILE="+filepath.Join(t.TempDir(), "none"),
		"WASMCLOUD_COSIGN_PUBLIC_KEYS="+filepath.Join(t.TempDir(), "missing.pub")))
	for _, want := range []string{"WASMCLOUD_REVOCATIONS_FILE", "line 1", "WASMCLOUD_ACTOR_ISSUERS_FILE", "WASMCLOUD_COSIGN_PUBLIC_KEYS"} {
		require.True(t, err != nil && strings.Contains(err.Error(), want), "error %v lacks %q", err, want)
	}

	// A line of the wrong kind names the file's variable and the line; a seed put there by mistake is not shown.
	accountSeed, _ := seed(t, nkeys.CreateAccount)
	for _, tc := range []struct {
		name, variable, content string
		want                    []string
	}{
		{"account key among cluster keys", "WASMCLOUD_CLUSTER_ISSUERS_FILE", otherCluster + "\n" + acct + "\n",
			[]string{"WASMCLOUD_CLUSTER_ISSUERS_FILE", "line 2", acct, "not a cluster public key"}},
		{"garbage among actor issuers", "WASMCLOUD_ACTOR_ISSUERS_FILE", "# list\nnope\n", []string{"WASMCLOUD_ACTOR_ISSUERS_FILE", "line 2", `"nope"`}},
		{"cluster key among control issuers", "WASMCLOUD_CTL_ISSUERS_FILE", clusterPub + "\n", []string{"WASMCLOUD_CTL_ISSUERS_FILE", "line 1", "operator or account"}},
		{"seed among cluster keys", "WASMCLOUD_CLUSTER_ISSUERS_FILE", accountSeed + "\n", []string{"WASMCLOUD_CLUSTER_ISSUERS_FILE", "line 1", "holds a seed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFrom(environ(tc.variable + "=" + writeFile(t, "keys", []byte(tc.content))))
			for _, want := range tc.want {
				require.True(t, err != nil && strings.Contains(err.Error(), want), "error %v lacks %q", err, want)
			}
			require.False(t, strings.Contains(err.Error(), accountSeed), "the error shows the seed")
		})
	}
}
