package wascap

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

const (
	hashA = "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97"
	hashB = "7CC05764EF3F818E305FD7C598F80BA98936B3FBA8948D40879BD65D60DC28C1"
)

// signMeta signs a token whose metadata is the raw JSON meta.
func signMeta(tb testing.TB, meta string) *Token {
	tb.Helper()
	kp, err := nkey.Generate(nkey.Account)
	if err != nil {
		tb.Fatal(err)
	}
	var m any
	if meta != "" {
		m = json.RawMessage(meta)
	}
	raw, err := Sign(Claims{Subject: "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC", IssuedAt: 1}, m, kp)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestMetadataKind(t *testing.T) {
	tests := []struct {
		name string
		meta string
		want Kind
	}{
		{"none", "", KindNone},
		{"null", "null", KindNone},
		{"provider", `{"name":"x","capid":"wasmcloud:keyvalue","vendor":"v","target_hashes":{}}`, KindProvider},
		{"provider without capid (wascap 1.x)", `{"name":"x","vendor":"v","target_hashes":{}}`, KindProvider},
		{"actor", `{"name":"echo","hash":"AB","tags":[],"caps":[],"prov":false}`, KindActor},
		{"invocation", `{"target_url":"wasmbus://x","origin_url":"wasmbus://y","hash":"AB"}`, KindInvocation},
		{"account", `{"name":"acct","valid_signers":[]}`, KindUnknown},
		{"array", `[1,2]`, KindUnknown},
		{"duplicate key", `{"capid":"a","capid":"b"}`, KindUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := signMeta(t, tc.meta).MetadataKind(); got != tc.want {
				t.Fatalf("kind %q, want %q", got, tc.want)
			}
		})
	}
	// A real actor's token.
	tok, err := Parse(fixtureToken(t, "echo.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if k := tok.MetadataKind(); k != KindActor {
		t.Fatalf("echo.wasm's token is of kind %q", k)
	}
}

func TestDecodeProvider(t *testing.T) {
	name := "Key-value"
	meta := `{"name":"Key-value","capid":"wasmcloud:keyvalue","vendor":"acme","rev":3,"ver":"0.1.0",` +
		`"target_hashes":{"x86_64-linux":"` + hashA + `","aarch64-macos":"` + hashB + `"},` +
		`"config_schema":{"type":"object"},"unknown_field":true}`
	got, err := signMeta(t, meta).DecodeProvider()
	if err != nil {
		t.Fatal(err)
	}
	want := &Provider{Name: &name, CapID: "wasmcloud:keyvalue", Vendor: "acme", Rev: 3, Ver: "0.1.0",
		TargetHashes: map[string]string{"x86_64-linux": hashA, "aarch64-macos": hashB},
		ConfigSchema: json.RawMessage(`{"type":"object"}`)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("provider %+v\nwant %+v", got, want)
	}

	t.Run("null name and schema", func(t *testing.T) {
		got, err := signMeta(t, `{"name":null,"capid":"c","vendor":"","target_hashes":{},"config_schema":null}`).DecodeProvider()
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != nil || got.ConfigSchema != nil || got.TargetHashes == nil {
			t.Fatalf("provider %+v", got)
		}
	})

	long := strings.Repeat("x", MaxTargetLen+1)
	tests := []struct {
		name string
		meta string
		want error
	}{
		{"no metadata", "", ErrNoMetadata},
		{"actor metadata", `{"name":"echo","hash":"` + hashA + `","tags":[],"prov":false}`, ErrKind},
		{"account metadata", `{"name":"acct","valid_signers":[]}`, ErrKind},
		{"not an object", `"provider"`, ErrMetadata},
		{"duplicate key", `{"capid":"a","vendor":"v","target_hashes":{},"capid":"b"}`, ErrMetadata},
		{"duplicate target", `{"capid":"a","vendor":"v","target_hashes":{"x86_64-linux":"` + hashA + `","x86_64-linux":"` + hashB + `"}}`, ErrMetadata},
		{"no capid (wascap 1.x)", `{"name":"x","vendor":"v","target_hashes":{}}`, ErrMetadata},
		{"empty capid", `{"capid":"","vendor":"v","target_hashes":{}}`, ErrMetadata},
		{"no vendor", `{"capid":"c","target_hashes":{}}`, ErrMetadata},
		{"no target_hashes", `{"capid":"c","vendor":"v"}`, ErrMetadata},
		{"target_hashes null", `{"capid":"c","vendor":"v","target_hashes":null}`, ErrMetadata},
		{"target_hashes an array", `{"capid":"c","vendor":"v","target_hashes":["` + hashA + `"]}`, ErrMetadata},
		{"hash a number", `{"capid":"c","vendor":"v","target_hashes":{"x86_64-linux":1}}`, ErrMetadata},
		{"hash lower case", `{"capid":"c","vendor":"v","target_hashes":{"x86_64-linux":"` + strings.ToLower(hashA) + `"}}`, ErrMetadata},
		{"hash too short", `{"capid":"c","vendor":"v","target_hashes":{"x86_64-linux":"` + hashA[:62] + `"}}`, ErrMetadata},
		{"empty target", `{"capid":"c","vendor":"v","target_hashes":{"":"` + hashA + `"}}`, ErrMetadata},
		{"target too long", `{"capid":"c","vendor":"v","target_hashes":{"` + long + `":"` + hashA + `"}}`, ErrMetadata},
		{"capid a number", `{"capid":5,"vendor":"v","target_hashes":{}}`, ErrMetadata},
		{"rev beyond int32", `{"capid":"c","vendor":"v","rev":4294967296,"target_hashes":{}}`, ErrMetadata},
		{"name a list", `{"name":["x"],"capid":"c","vendor":"v","target_hashes":{}}`, ErrMetadata},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := signMeta(t, tc.meta).DecodeProvider()
			require.ErrorIs(t, err, tc.want)
			if p != nil {
				t.Fatalf("a refused decode returned %+v", p)
			}
		})
	}
}

// The provider metadata is serialised in wascap's field order, with a null name when none is set.
func TestSignProviderJSON(t *testing.T) {
	kp, _ := nkey.Generate(nkey.Account)
	name := "P"
	raw, err := Sign(Claims{Subject: "V", IssuedAt: 1, ID: "j", Revision: Revision}, Provider{Name: &name, CapID: "c",
		Vendor: "v", Rev: 2, Ver: "1", TargetHashes: map[string]string{"b": hashB, "a": hashA}}, kp)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := Parse(raw)
	want := `{"name":"P","capid":"c","vendor":"v","rev":2,"ver":"1","target_hashes":{"a":"` + hashA + `","b":"` + hashB + `"}}`
	if string(tok.Claims.Metadata) != want {
		t.Fatalf("metadata %s\nwant %s", tok.Claims.Metadata, want)
	}
	raw, _ = Sign(Claims{Subject: "V"}, Provider{CapID: "c", TargetHashes: map[string]string{}}, kp)
	tok, _ = Parse(raw)
	if want := `{"name":null,"capid":"c","vendor":"","target_hashes":{}}`; string(tok.Claims.Metadata) != want {
		t.Fatalf("metadata %s\nwant %s", tok.Claims.Metadata, want)
	}
}

func FuzzDecodeProvider(f *testing.F) {
	f.Add(`{"name":"Key-value","capid":"wasmcloud:keyvalue","vendor":"acme","rev":3,"ver":"0.1.0","target_hashes":{"x86_64-linux":"` + hashA + `"},"config_schema":{"a":[1,2]}}`)
	f.Add(`{"name":null,"capid":"c","vendor":"","target_hashes":{}}`)
	f.Add(`{"name":"echo","hash":"AB","tags":[],"prov":false}`)
	f.Add(`{"capid":"a","capid":"b"}`)
	f.Add(`{"capid":"c","vendor":"v","target_hashes":{"x":"` + hashA + `","x":"` + hashB + `"}}`)
	f.Add(`[]`)
	f.Add(`{"capid":"c","vendor":"v","target_hashes":{"x":1}} {}`)
	kp, err := nkey.Generate(nkey.Account)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, meta string) {
		if !json.Valid([]byte(meta)) {
			return // Sign would refuse to embed it; Parse refuses such claims anyway
		}
		raw, err := Sign(Claims{Subject: "V", IssuedAt: 1}, json.RawMessage(meta), kp)
		if err != nil {
			return
		}
		tok, err := Parse(raw)
		if err != nil {
			return
		}
		kind := tok.MetadataKind()
		p, err := tok.DecodeProvider()
		if err != nil {
			if p != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if kind != KindProvider || p.CapID == "" || p.TargetHashes == nil {
			t.Fatalf("accepted %s as kind %q: %+v", meta, kind, p)
		}
		for target, h := range p.TargetHashes {
			if target == "" || len(target) > MaxTargetLen || !isHexUpperSHA256(h) {
				t.Fatalf("accepted target %q hash %q", target, h)
			}
		}
	})
}
