package wire

import (
	"slices"

	"github.com/tinylib/msgp/msgp"
)

// Map keys, pre-encoded as MessagePack fixstr (a 0xa0|len byte, then the name).
const (
	keyOrigin         = "\xa6origin"
	keyTarget         = "\xa6target"
	keyOperation      = "\xa9operation"
	keyMsg            = "\xa3msg"
	keyID             = "\xa2id"
	keyEncodedClaims  = "\xaeencoded_claims"
	keyHostID         = "\xa7host_id"
	keyContentLength  = "\xaecontent_length"
	keyTraceContext   = "\xactraceContext"
	keyPublicKey      = "\xaapublic_key"
	keyLinkName       = "\xa9link_name"
	keyContractID     = "\xabcontract_id"
	keyInvocationID   = "\xadinvocation_id"
	keyError          = "\xa5error"
	keyInstanceID     = "\xabinstance_id"
	keyResponseClaims = "\xafresponse_claims"
)

// appendEntity writes an entity map in the key order of the Rust host.
func appendEntity(b []byte, e *Entity) []byte {
	b = append(b, 0x83) // fixmap, 3 entries
	b = append(b, keyPublicKey...)
	b = msgp.AppendString(b, e.PublicKey)
	b = append(b, keyLinkName...)
	b = msgp.AppendString(b, e.LinkName)
	b = append(b, keyContractID...)
	return msgp.AppendString(b, e.ContractID)
}

// sortedKeysOnStack is how many trace keys appendTrace sorts without allocating.
const sortedKeysOnStack = 16

// appendTrace writes a str→str map with its keys in ascending order, so that the same value always
// encodes to the same bytes.
func appendTrace(b []byte, m map[string]string) []byte {
	b = msgp.AppendMapHeader(b, uint32(len(m)))
	var stack [sortedKeysOnStack]string
	keys := stack[:0]
	if len(m) > sortedKeysOnStack {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = msgp.AppendString(b, k)
		b = msgp.AppendString(b, m[k])
	}
	return b
}
