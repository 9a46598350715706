package host

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func testHostData() *hostData {
	return &hostData{HostID: "NAZKQHV3K46PN5GTQAGTZIIORIAIGFIFSUUIARM2AD5MGPDACBGMIETS", LatticeRPCPrefix: "default", LinkName: "default",
		LatticeRPCURL: "nats://127.0.0.1:4222", InstanceID: "i", ProviderKey: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		LinkDefinitions:     []hostDataLink{{ActorID: "M", ProviderID: "V", LinkName: "default", ContractID: "a:b", Values: map[string]string{"k": "v"}}},
		DefaultRPCTimeoutMS: 2000, ClusterIssuers: []string{"CDMWAO5TUQ63J6HBC4MGFNMP4QEORHSABBWZRAQWOW62M4LFOZOUKHVE"}}
}

// TestHostData: the line carries the fields of both 0.x hosts, the seeds as given, ends in \r\n, and decodes as
// a provider decodes it; a seed with characters no seed has is refused rather than escaped.
func TestHostData(t *testing.T) {
	kp, err := nkey.Generate(nkey.Cluster)
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	line, err := encodeHostData(testHostData(), seed, nil)
	require.NoError(t, err)
	require.True(t, bytes.HasSuffix(line, []byte("\r\n")), "the line ends with CR LF")
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(line)))
	require.NoError(t, err)
	for _, field := range []string{"host_id", "lattice_rpc_prefix", "link_name", "lattice_rpc_user_jwt", "lattice_rpc_user_seed",
		"lattice_rpc_url", "lattice_rpc_tls", "env_values", "instance_id", "provider_key", "link_definitions",
		"default_rpc_timeout_ms", "cluster_issuers", "invocation_seed", "js_domain", "structured_logging", "otel_config"} {
		require.True(t, bytes.Contains(raw, []byte(`"`+field+`":`)), "host data has %s", field)
	}
	d, err := decodeHostData(line)
	require.NoError(t, err)
	require.Equal(t, "invocation seed", d.InvocationSeed, string(seed))
	require.Equal(t, "user seed", d.LatticeRPCUserSeed, "")
	require.DeepEqual(t, "links", d.LinkDefinitions, testHostData().LinkDefinitions)
	_, err = encodeHostData(testHostData(), []byte(`SC","x":"`), nil)
	require.ErrorContains(t, err, "characters no seed has")
}

// FuzzDecodeHostData: no line makes the decoder panic, and what the encoder writes decodes to what it was given.
func FuzzDecodeHostData(f *testing.F) {
	line, err := encodeHostData(testHostData(), []byte("SCABC"), []byte("SUABC"))
	require.NoError(f, err)
	for _, s := range [][]byte{line, nil, []byte("\r\n"), []byte("e30="), []byte("bnVsbA=="), []byte("!!"), []byte(base64.StdEncoding.EncodeToString([]byte(`{"host_id":1}`)))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeHostData(b)
		if err != nil {
			return
		}
		again, err := encodeHostData(&d.hostData, nil, nil)
		if err != nil {
			t.Fatalf("re-encoding what decoded: %v", err)
		}
		if _, err := decodeHostData(again); err != nil {
			t.Fatalf("decoding our own encoding: %v", err)
		}
	})
}

// FuzzDecodeHealth: no reply makes the health decoder panic, and a well-formed reply says what it holds.
func FuzzDecodeHealth(f *testing.F) {
	ok := msgp.AppendBool(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "healthy"), true)
	withMsg := msgp.AppendNil(msgp.AppendString(msgp.AppendBool(msgp.AppendString(msgp.AppendMapHeader(nil, 2), "healthy"), false), "message"))
	for _, s := range [][]byte{ok, withMsg, nil, {0x80}, {0xc1}, {0x81, 0xa7}} {
		f.Add(s)
	}
	r, err := decodeHealth(ok)
	require.NoError(f, err)
	require.True(f, r.Healthy, "healthy reply")
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = decodeHealth(b) })
}
