package wascap

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// A real invocation token's claims and metadata, as our hosts and 0.x peers write them.
const (
	seedInvocationMeta = `{"target_url":"wasmbus://MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5/HttpServer.HandleRequest",` +
		`"origin_url":"wasmbus://wasmcloud/httpserver/default/VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",` +
		`"hash":"0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9",` +
		`"host_id":"NAHXX3Q6RF5SLVO6R4VJ3BHQEMLKUD2F5WMQK5CE4KHG3Y6MGSVYO3PU","unauthenticated":true,"lattice":"default"}`
	seedClaims = `{"exp":1800000030,"jti":"3f1d8a3e0d9c4b1f9e2a7c6b5d4e3f21","iat":1800000000,` +
		`"iss":"CAHVQ3ZWLBZHTHR4E52GTNXHC2M3GSNZTLVFOX7AQZGQF4ZIVP4YRZDE","sub":"3f1d8a3e0d9c4b1f9e2a7c6b5d4e3f21",` +
		`"wascap":` + seedInvocationMeta + `,"wascap_revision":3}`
	seedResponseMeta = `{"hash":"0A1B","error_hash":"FFEE","host_id":"NAHXX3Q6RF5SLVO6R4VJ3BHQEMLKUD2F5WMQK5CE4KHG3Y6MGSVYO3PU"}`
)

// FuzzAppendJSON checks that the fixed-layout encoder writes exactly what encoding/json writes (marshal) for
// the claims, invocation and response metadata of any field values.
func FuzzAppendJSON(f *testing.F) {
	f.Add(int64(1800000030), "3f1d8a3e", int64(1800000000), "CAHV", "3f1d8a3e", int64(0), 3,
		"wasmbus://M/Op", "wasmbus://wasmcloud/httpserver/default/V", "0A1B", "NAHX", true, "default")
	f.Add(int64(0), "", int64(0), "", "", int64(5), 0, "", "", "", "", false, "")
	f.Add(int64(-1), "a\"b\\c\n\x00\u2028<&>", int64(1<<62), "é\xff", "\t", int64(-9), -3,
		"\x7f", "\u2029", "\xc3", "</script>", false, "lattice\r")
	f.Fuzz(func(t *testing.T, exp int64, jti string, iat int64, iss, sub string, nbf int64, rev int,
		target, origin, hash, hostID string, unauth bool, lattice string) {
		inv := Invocation{TargetURL: target, OriginURL: origin, Hash: hash, HostID: hostID, Unauthenticated: unauth, Lattice: lattice}
		resp := Response{Hash: hash, ErrorHash: lattice, HostID: hostID}
		for _, meta := range []metadataAppender{inv, resp} {
			want, err := marshal(meta)
			require.NoError(t, err)
			got := meta.appendJSON(nil)
			require.Equal(t, "metadata JSON", string(got), string(want))

			c := Claims{Expires: exp, ID: jti, IssuedAt: iat, Issuer: iss, Subject: sub, NotBefore: nbf, Metadata: got, Revision: rev}
			want, err = marshal(c)
			require.NoError(t, err)
			require.Equal(t, "claims JSON", string(c.appendJSON(nil)), string(want))
			c.Metadata = nil
			want, err = marshal(c)
			require.NoError(t, err)
			require.Equal(t, "claims JSON", string(c.appendJSON(nil)), string(want))
		}
	})
}

// FuzzDecodeJSON checks that whatever the fast decoders accept, encoding/json accepts too and decodes to the
// same values (also into a value that already holds fields, which both leave alone when absent), and that
// what they refuse is left unchanged.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{seedClaims, seedInvocationMeta, seedResponseMeta, `{}`, ` { "iss" : "C" , "sub":"x" } `,
		`{"iss":"C","ISS":"D"}`, `{"iss":"C","iss":"D"}`, `{"exp":01}`, `{"exp":1e3}`, `{"exp":-1}`, `{"exp":1.0}`,
		`{"exp":123456789012345678901}`, `{"iss":"a\"b"}`, `{"iss":"é"}`, `{"wascap":{"a":[1]}}`, `{"wascap":{"a":{}}}`,
		`{"wascap":{"a":1,"a":true,"b":"c"}}`, `{"unauthenticated":false}`, `{"unauthenticated":"true"}`,
		`{"hash":null}`, `{"iss":"C"}x`, `{"iss":"C",}`, "{\"iss\":\"\x7f\"}", `{"wascap":{ }}`, `{"exp":9}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Claims.
		var fast Claims
		if decodeClaims(string(data), &fast) {
			var want Claims
			require.NoError(t, json.Unmarshal(data, &want))
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("claims of %q: fast %+v, encoding/json %+v", data, fast, want)
			}
		} else if !reflect.DeepEqual(fast, Claims{}) {
			t.Fatalf("claims of %q: refused but changed to %+v", data, fast)
		}

		// Invocation metadata, into a zero value and into one that holds every field.
		full := Invocation{TargetURL: "t", OriginURL: "o", Hash: "h", HostID: "n", Unauthenticated: true, Lattice: "l"}
		for _, start := range []Invocation{{}, full} {
			got := start
			if got.decodeJSON(data) {
				want := start
				require.NoError(t, json.Unmarshal(data, &want))
				require.Equal(t, "decoded", got, want)
			} else {
				require.Equal(t, "refused input leaves the value", got, start)
			}
		}

		// Response metadata.
		for _, start := range []Response{{}, {Hash: "h", ErrorHash: "e", HostID: "n"}} {
			got := start
			if got.decodeJSON(data) {
				want := start
				require.NoError(t, json.Unmarshal(data, &want))
				require.Equal(t, "decoded", got, want)
			} else {
				require.Equal(t, "refused input leaves the value", got, start)
			}
		}
	})
}

// TestDecodeJSONAccepts pins which inputs take the fast path, so that a change that makes every input fall
// back to encoding/json (still correct, but slow) does not go unnoticed.
func TestDecodeJSONAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fast bool
	}{
		{"our claims", seedClaims, true},
		{"white space", ` { "iss" : "C" , "sub":"x" } `, true},
		{"case variant of a key", `{"iss":"C","ISS":"D"}`, false},
		{"duplicate key", `{"iss":"C","iss":"D"}`, false},
		{"leading zero", `{"exp":01}`, false},
		{"exponent", `{"exp":1e3}`, false},
		{"negative", `{"exp":-1}`, false},
		{"escape", `{"iss":"a\"b"}`, false},
		{"non-ASCII", `{"iss":"é"}`, false},
		{"nested metadata", `{"wascap":{"a":[1]}}`, false},
		{"trailing bytes", `{"iss":"C"}x`, false},
		{"trailing comma", `{"iss":"C",}`, false},
		{"unknown key", `{"iss":"C","x":1}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Claims
			require.Equal(t, "fast path", decodeClaims(tc.in, &c), tc.fast)
		})
	}
	var m Invocation
	require.True(t, m.decodeJSON([]byte(seedInvocationMeta)))
	var r Response
	require.True(t, r.decodeJSON([]byte(seedResponseMeta)))
}
