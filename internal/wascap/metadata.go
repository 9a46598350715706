package wascap

import "encoding/json"

// Actor is the wascap metadata of an actor module's token (sub = module key M…, iss = account A…).
type Actor struct {
	Name      string   `json:"name,omitempty"`
	Hash      string   `json:"hash"`
	Tags      []string `json:"tags"`
	Caps      []string `json:"caps,omitempty"`
	Rev       int32    `json:"rev,omitempty"`
	Ver       string   `json:"ver,omitempty"`
	CallAlias string   `json:"call_alias,omitempty"`
	Provider  bool     `json:"prov"`
}

// Invocation is the wascap metadata of an invocation token (sub = invocation id, iss = cluster key C…).
type Invocation struct {
	TargetURL string `json:"target_url"`
	OriginURL string `json:"origin_url"`
	Hash      string `json:"hash"`
	// HostID binds the sending host's id, which 0.x left outside the signature. It is our extension: 0.x
	// peers ignore unknown fields, and tokens from 0.x peers do not carry it.
	HostID string `json:"host_id,omitempty"`
	// Unauthenticated marks an invocation a host made on behalf of input nobody authenticated (an HTTP
	// request, a subscribed message) or of an actor handling such input. Receivers keep such ids in a replay
	// cache of their own, so that a flood of that input can exhaust only its own share. Our extension, like
	// HostID.
	Unauthenticated bool `json:"unauthenticated,omitempty"`
	// Lattice binds the lattice the invocation was sent in, so that one captured in one lattice cannot be
	// replayed in another whose hosts trust the same cluster key (each lattice keeps its own replay record).
	// Our extension, like HostID.
	Lattice string `json:"lattice,omitempty"`
}

// Response is the wascap metadata of a responder token (sub = invocation id, iss = cluster key C…), our
// extension: it binds the response payload and the error text, so neither can be swapped in transit. 0.x peers
// ignore the token that carries it.
type Response struct {
	Hash      string `json:"hash"`                 // SHA-256 of the complete response payload
	ErrorHash string `json:"error_hash,omitempty"` // SHA-256 of the error text, when there is one
	HostID    string `json:"host_id"`              // the responding host
}

// Provider is the wascap metadata of a capability provider's token (sub = service key V…).
type Provider struct {
	Name         *string           `json:"name"`
	CapID        string            `json:"capid"`
	Vendor       string            `json:"vendor"`
	Rev          int32             `json:"rev,omitempty"`
	Ver          string            `json:"ver,omitempty"`
	TargetHashes map[string]string `json:"target_hashes"`
	ConfigSchema json.RawMessage   `json:"config_schema,omitempty"`
}
