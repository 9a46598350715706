package capability

import (
	"crypto/sha256"
	"strings"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// The built-in providers' public keys. Operators link actors to them by key, exactly as to an external
// provider. The keys are identifiers only: they derive from fixed, public seeds and never sign anything (the
// invocations built-in providers deliver stay in the process and carry no token; see rpc.Local).
var (
	BuiltinHTTPServer = builtinKey("httpserver")
	BuiltinKeyValue   = builtinKey("keyvalue")
	BuiltinMessaging  = builtinKey("messaging")
	BuiltinHTTPClient = builtinKey("httpclient")
)

func builtinKey(name string) string {
	seed := sha256.Sum256([]byte("wasmcloud-host built-in provider " + name))
	kp, err := nkey.FromRawSeed(nkey.Service, seed[:])
	if err != nil {
		panic(err) // a fixed, valid input: unreachable
	}
	defer kp.Wipe()
	return kp.Public().String()
}

// IsBuiltin reports whether key is one of the built-in providers' keys.
func IsBuiltin(key string) bool {
	return key == BuiltinHTTPServer || key == BuiltinKeyValue || key == BuiltinMessaging || key == BuiltinHTTPClient
}

// BuiltinProviders lists the linkable built-in providers, as inventories show them.
func BuiltinProviders() []control.ProviderDescription {
	p := func(key, contract, name string) control.ProviderDescription {
		return control.ProviderDescription{ID: key, ImageRef: "builtin:" + name, ContractID: contract, LinkName: control.DefaultLinkName,
			Name: "built-in " + name, Annotations: map[string]string{}}
	}
	return []control.ProviderDescription{
		p(BuiltinHTTPServer, contract.ContractHTTPServer, "httpserver"),
		p(BuiltinKeyValue, contract.ContractKeyValue, "keyvalue"),
		p(BuiltinMessaging, contract.ContractMessaging, "messaging"),
		p(BuiltinHTTPClient, contract.ContractHTTPClient, "httpclient"),
	}
}

// HostLocal reports whether a contract is served by the host itself without a link
// (wasmcloud:builtin:logging, wasmcloud:builtin:numbergen and any other wasmcloud:builtin: contract).
func HostLocal(contractID string) bool { return strings.HasPrefix(contractID, "wasmcloud:builtin:") }
