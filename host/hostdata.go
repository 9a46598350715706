package host

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// hostData is what a host writes to a provider process's standard input when it starts it: one line of
// standard base64 over a JSON object, with the fields both the Elixir/OTP host and the Rust 0.82 host send
// (protocol notes §6.6), so that providers built for either read it. The two seeds are not fields here: they
// are written into the encoding by encodeHostData from bytes that are wiped afterwards.
type hostData struct {
	HostID              string             `json:"host_id"`
	LatticeRPCPrefix    string             `json:"lattice_rpc_prefix"`
	LinkName            string             `json:"link_name"`
	LatticeRPCUserJWT   string             `json:"lattice_rpc_user_jwt"`
	LatticeRPCURL       string             `json:"lattice_rpc_url"`
	LatticeRPCTLS       bool               `json:"lattice_rpc_tls"`
	EnvValues           map[string]string  `json:"env_values"`
	InstanceID          string             `json:"instance_id"`
	ProviderKey         string             `json:"provider_key"`
	LinkDefinitions     []hostDataLink     `json:"link_definitions"`
	ConfigJSON          *string            `json:"config_json,omitempty"`
	DefaultRPCTimeoutMS uint64             `json:"default_rpc_timeout_ms"`
	ClusterIssuers      []string           `json:"cluster_issuers"`
	JSDomain            *string            `json:"js_domain"`
	StructuredLogging   bool               `json:"structured_logging"`
	OtelConfig          hostDataOtelConfig `json:"otel_config"`
}

// hostDataLink is a link definition as providers receive it, in HostData and on linkdefs.put/del.
type hostDataLink struct {
	ID         string            `json:"id,omitempty"`
	ActorID    string            `json:"actor_id"`
	ProviderID string            `json:"provider_id"`
	LinkName   string            `json:"link_name"`
	ContractID string            `json:"contract_id"`
	Values     map[string]string `json:"values"`
}

// hostDataOtelConfig is WC82's otel_config; this host exports no traces.
type hostDataOtelConfig struct {
	TracesExporter       *string `json:"traces_exporter"`
	ExporterOTLPEndpoint *string `json:"exporter_otlp_endpoint"`
}

// maxHostDataLine bounds a HostData line decodeHostData accepts.
const maxHostDataLine = 4 << 20

// encodeHostData returns the line a provider reads: base64 of the JSON object of d with invocation_seed and
// lattice_rpc_user_seed added (empty when nil), and "\r\n" (which both kinds of provider accept). The seeds
// are copied only into the returned line and a scratch buffer that is wiped before returning; the caller
// wipes the line once it was written.
func encodeHostData(d *hostData, invocationSeed, rpcUserSeed []byte) ([]byte, error) {
	if d.EnvValues == nil {
		d.EnvValues = map[string]string{}
	}
	if d.LinkDefinitions == nil {
		d.LinkDefinitions = []hostDataLink{}
	}
	if d.ClusterIssuers == nil {
		d.ClusterIssuers = []string{}
	}
	obj, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("host: encode host data: %w", err)
	}
	for _, s := range [][]byte{invocationSeed, rpcUserSeed} {
		if !seedChars(s) {
			return nil, errors.New("host: encode host data: a seed holds characters no seed has")
		}
	}
	// obj ends with '}': the seeds go in before it. Seed characters need no JSON escaping.
	raw := make([]byte, 0, len(obj)+len(invocationSeed)+len(rpcUserSeed)+64)
	raw = append(raw, obj[:len(obj)-1]...)
	raw = append(raw, `,"invocation_seed":"`...)
	raw = append(raw, invocationSeed...)
	raw = append(raw, `","lattice_rpc_user_seed":"`...)
	raw = append(raw, rpcUserSeed...)
	raw = append(raw, `"}`...)
	defer clear(raw)
	line := make([]byte, base64.StdEncoding.EncodedLen(len(raw))+2)
	base64.StdEncoding.Encode(line, raw)
	copy(line[len(line)-2:], "\r\n")
	return line, nil
}

// seedChars reports whether s holds only the characters of an encoded nkey seed (base32 upper case).
func seedChars(s []byte) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// decodedHostData is a HostData line as a provider reads it, seeds included (tests and the fuzz target).
type decodedHostData struct {
	hostData
	InvocationSeed     string `json:"invocation_seed"`
	LatticeRPCUserSeed string `json:"lattice_rpc_user_seed"`
}

// decodeHostData reads a HostData line as a provider does: base64 (a trailing "\n" or "\r\n" allowed) of one
// JSON object. It is bounded and refuses trailing data.
func decodeHostData(line []byte) (*decodedHostData, error) {
	if len(line) > maxHostDataLine {
		return nil, fmt.Errorf("host data line of %d bytes, at most %d", len(line), maxHostDataLine)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
	n, err := base64.StdEncoding.Decode(raw, line)
	if err != nil {
		return nil, fmt.Errorf("host data: not base64: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw[:n]))
	var d decodedHostData
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("host data: %w", err)
	}
	if dec.More() {
		return nil, errors.New("host data: data after the JSON object")
	}
	return &d, nil
}
