package wascap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Kind is what a token's wascap metadata describes. wascap writes no kind field: the kind is told by the
// fields each metadata type requires, which is how MetadataKind tells them apart.
type Kind string

// The kinds MetadataKind reports.
const (
	KindNone       Kind = ""           // no metadata object
	KindActor      Kind = "actor"      // has "hash" (the module hash)
	KindProvider   Kind = "provider"   // has "capid" or "target_hashes"
	KindInvocation Kind = "invocation" // has "target_url" or "origin_url"
	KindUnknown    Kind = "unknown"    // an object with none of those (account, operator, cluster), or not an object
)

// MetadataKind tells which kind of entity the token's metadata describes, from the keys of the metadata
// object. It does not check that the metadata is well formed for that kind.
func (t *Token) MetadataKind() Kind {
	m := t.Claims.Metadata
	if len(m) == 0 || bytes.Equal(m, []byte("null")) {
		return KindNone
	}
	keys, err := objectKeys(m)
	if err != nil {
		return KindUnknown
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("capid") || has("target_hashes"):
		return KindProvider
	case has("target_url") || has("origin_url"):
		return KindInvocation
	case has("hash"):
		return KindActor
	}
	return KindUnknown
}

// MaxTargetLen bounds the keys of a provider's target_hashes. Real keys ("x86_64-linux", "world.wasm") are
// short; the bound keeps a hostile token from naming megabyte-long targets.
const MaxTargetLen = 64

// DecodeProvider decodes the metadata of a capability provider's token strictly: the metadata must be a JSON
// object without duplicate keys and must carry capid (not empty), vendor and target_hashes, as wascap's own
// decoder requires; target_hashes must map distinct, non-empty keys of at most MaxTargetLen bytes to
// upper-case hex SHA-256 digests. A token of another kind is refused with ErrKind, so an actor's token
// cannot pass for a provider's. Unknown fields are ignored, as wascap ignores them.
func (t *Token) DecodeProvider() (*Provider, error) {
	m := t.Claims.Metadata
	if len(m) == 0 || bytes.Equal(m, []byte("null")) {
		return nil, ErrNoMetadata
	}
	keys, err := objectKeys(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	if k := t.MetadataKind(); k != KindProvider {
		return nil, fmt.Errorf("%w: want provider metadata, got %s metadata", ErrKind, k)
	}
	for _, k := range []string{"capid", "vendor", "target_hashes"} {
		if _, ok := keys[k]; !ok {
			return nil, fmt.Errorf("%w: provider metadata lacks %q", ErrMetadata, k)
		}
	}
	if _, err := objectKeys(keys["target_hashes"]); err != nil {
		return nil, fmt.Errorf("%w: target_hashes: %v", ErrMetadata, err)
	}
	var p Provider
	if err := json.Unmarshal(m, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	if p.CapID == "" {
		return nil, fmt.Errorf("%w: empty capid", ErrMetadata)
	}
	for target, hash := range p.TargetHashes {
		if target == "" || len(target) > MaxTargetLen {
			return nil, fmt.Errorf("%w: target_hashes key of %d bytes (want 1 to %d)", ErrMetadata, len(target), MaxTargetLen)
		}
		if !isHexUpperSHA256(hash) {
			return nil, fmt.Errorf("%w: target_hashes[%q] is not an upper-case hex SHA-256 digest", ErrMetadata, target)
		}
	}
	if bytes.Equal(p.ConfigSchema, []byte("null")) {
		p.ConfigSchema = nil
	}
	return &p, nil
}

// isHexUpperSHA256 reports whether s is 64 upper-case hex digits, the form wascap writes file hashes in.
func isHexUpperSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// objectKeys returns the members of the JSON object b by key, refusing anything that is not exactly one
// object, and duplicate keys: encoding/json keeps the last of two equal keys where serde refuses the token,
// and two readers must never see two different values in one signed document.
func objectKeys(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate key %s", quoteKey(key))
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the object")
	}
	return out, nil
}

// quoteKey quotes a key for an error message, cut to a length that keeps the message readable.
func quoteKey(k string) string {
	if len(k) > MaxTargetLen {
		k = k[:MaxTargetLen] + "…"
	}
	return fmt.Sprintf("%q", k)
}
