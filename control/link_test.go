package control

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// fixedKey derives a fixed public key of the given type from n.
func fixedKey(t testing.TB, typ nkey.Type, n byte) string {
	t.Helper()
	kp, err := nkey.FromRawSeed(typ, bytes.Repeat([]byte{n}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	return kp.Public().String()
}

func TestValidateLink(t *testing.T) {
	actor, provider := fixedKey(t, nkey.Module, 1), fixedKey(t, nkey.Service, 2)
	good := func(edit func(*LinkDefinition)) LinkDefinition {
		l := LinkDefinition{ActorID: actor, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "default",
			Values: map[string]string{"bucket": "counters"}}
		if edit != nil {
			edit(&l)
		}
		return l
	}
	many := map[string]string{}
	for i := range MaxLinkValues + 1 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	tests := []struct {
		name string
		link LinkDefinition
		want string // "" for valid
	}{
		{"valid", good(nil), ""},
		{"no values", good(func(l *LinkDefinition) { l.Values = nil }), ""},
		{"built-in contract", good(func(l *LinkDefinition) { l.ContractID = "wasmcloud:builtin:logging" }), ""},
		{"no actor", good(func(l *LinkDefinition) { l.ActorID = "" }), "actor_id is required"},
		{"no provider", good(func(l *LinkDefinition) { l.ProviderID = "" }), "provider_id is required"},
		{"no contract", good(func(l *LinkDefinition) { l.ContractID = "" }), "contract_id is required"},
		{"no link name", good(func(l *LinkDefinition) { l.LinkName = "" }), "link_name is required"},
		{"actor is a service key", good(func(l *LinkDefinition) { l.ActorID = provider }), "actor_id: nkey"},
		{"provider is a module key", good(func(l *LinkDefinition) { l.ProviderID = actor }), "provider_id: nkey"},
		{"provider is garbage", good(func(l *LinkDefinition) { l.ProviderID = "V" }), "provider_id: nkey"},
		{"contract without a namespace", good(func(l *LinkDefinition) { l.ContractID = "keyvalue" }), "is not a contract"},
		{"contract with an empty name", good(func(l *LinkDefinition) { l.ContractID = "wasmcloud:" }), "is not a contract"},
		{"link name with a dot", good(func(l *LinkDefinition) { l.LinkName = "a.b" }), `link_name "a.b": contains '.'`},
		{"link name with a wildcard", good(func(l *LinkDefinition) { l.LinkName = ">" }), `link_name ">"`},
		{"link name with a space", good(func(l *LinkDefinition) { l.LinkName = "my link" }), "white space"},
		{"too many values", good(func(l *LinkDefinition) { l.Values = many }), "at most 64 allowed"},
		{"long value name", good(func(l *LinkDefinition) { l.Values = map[string]string{strings.Repeat("k", MaxLinkValueKey+1): ""} }),
			"value name of 257 bytes"},
		{"long value", good(func(l *LinkDefinition) { l.Values = map[string]string{"k": strings.Repeat("v", MaxLinkValue+1)} }),
			`value "k" of 16385 bytes`},
		{"value not UTF-8", good(func(l *LinkDefinition) { l.Values = map[string]string{"k": "\xff"} }), "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.link.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzValidateLink: a link definition decoded from any linkdefs.put request either is refused or has keys
// of the right types, a namespace:name contract, a link name that is one subject token and bounded values.
func FuzzValidateLink(f *testing.F) {
	actor, provider := fixedKey(f, nkey.Module, 1), fixedKey(f, nkey.Service, 2)
	for _, s := range []string{
		`{"actor_id":"` + actor + `","provider_id":"` + provider + `","contract_id":"wasmcloud:keyvalue","link_name":"default","values":{"bucket":"b"}}`,
		`{"actor_id":"` + actor + `","provider_id":"` + actor + `","contract_id":"x:y","link_name":"a.b"}`,
		`{"actor_id":"` + actor + `","provider_id":"` + provider + `","contract_id":":","link_name":"*"}`,
		`{"actor_id":"M","provider_id":"V","contract_id":"c","link_name":"d"}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l LinkDefinition
		if DecodeCtl(b, &l) != nil {
			return
		}
		if nkey.CheckID(l.ActorID, nkey.Module) != nil || nkey.CheckID(l.ProviderID, nkey.Service) != nil {
			t.Fatalf("keys of %+v accepted", l)
		}
		if i := strings.IndexByte(l.ContractID, ':'); i <= 0 || i == len(l.ContractID)-1 {
			t.Fatalf("contract %q accepted", l.ContractID)
		}
		if l.LinkName == "" || strings.ContainsAny(l.LinkName, ".*> \t\r\n") || len(l.Values) > MaxLinkValues {
			t.Fatalf("link %+v accepted", l)
		}
		if _, err := json.Marshal(l); err != nil {
			t.Fatalf("an accepted link does not encode: %v", err)
		}
	})
}
