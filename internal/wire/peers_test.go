package wire

import (
	"encoding/hex"
	"testing"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// The byte sequences in this file are built key by key with msgp's own append functions (or
// written out in hex), never with this package's encoder, so that they stand for what other peers
// put on the wire.

// kv is one map entry: a str key and an already encoded value.
type kv struct {
	key string
	val []byte
}

func mapOf(entries ...kv) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(entries)))
	for _, e := range entries {
		b = msgp.AppendString(b, e.key)
		b = append(b, e.val...)
	}
	return b
}

func str(s string) []byte   { return msgp.AppendString(nil, s) }
func bin(p []byte) []byte   { return msgp.AppendBytes(nil, p) }
func uintv(u uint64) []byte { return msgp.AppendUint64(nil, u) }
func nilv() []byte          { return msgp.AppendNil(nil) }
func raw(h string) []byte   { b, _ := hex.DecodeString(h); return b }
func strMap(kvs ...string) []byte {
	b := msgp.AppendMapHeader(nil, uint32(len(kvs)/2))
	for i := 0; i+1 < len(kvs); i += 2 {
		b = msgp.AppendString(b, kvs[i])
		b = msgp.AppendString(b, kvs[i+1])
	}
	return b
}

// otpEntity is an entity in the OTP key order (public_key, contract_id, link_name).
func otpEntity(e Entity) []byte {
	return mapOf(kv{"public_key", str(e.PublicKey)}, kv{"contract_id", str(e.ContractID)}, kv{"link_name", str(e.LinkName)})
}

// rustEntity is an entity in the Rust key order (public_key, link_name, contract_id).
func rustEntity(e Entity) []byte {
	return mapOf(kv{"public_key", str(e.PublicKey)}, kv{"link_name", str(e.LinkName)}, kv{"contract_id", str(e.ContractID)})
}

type peerInvocation struct {
	name  string
	input []byte
	want  Invocation
}

func peerInvocations() []peerInvocation {
	hello := []byte("hello")
	base := goldenInvocation()
	with := func(f func(*Invocation)) Invocation {
		inv := goldenInvocation()
		f(&inv)
		return inv
	}
	return []peerInvocation{
		{
			// OTP's Elixir side (Msgpax): keys sorted, msg packed as str, the cluster key as host_id.
			name: "otp msgpax",
			input: mapOf(
				kv{"content_length", uintv(5)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(clusterKey)},
				kv{"id", str(hyphenID)},
				kv{"msg", str("hello")},
				kv{"operation", str(operation)},
				kv{"origin", otpEntity(actorEntity)},
				kv{"target", otpEntity(providerEntity)},
			),
			want: with(func(i *Invocation) { i.HostID = clusterKey }),
		},
		{
			// OTP's NIF (rmp_serde struct map): struct order, OTP entity order, msg as bin.
			name: "otp nif",
			input: mapOf(
				kv{"origin", otpEntity(actorEntity)},
				kv{"target", otpEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(clusterKey)},
				kv{"content_length", uintv(5)},
			),
			want: with(func(i *Invocation) { i.HostID = clusterKey }),
		},
		{
			// The Rust host (WC82): Rust entity order, traceContext always present, here empty.
			name: "wc82 empty traceContext",
			input: mapOf(
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", rustEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(simpleID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", uintv(5)},
				kv{"traceContext", strMap()},
			),
			want: with(func(i *Invocation) { i.ID = simpleID }),
		},
		{
			name: "wc82 traceContext with entries",
			input: mapOf(
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", rustEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", uintv(5)},
				kv{"traceContext", strMap("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate", "")},
			),
			want: with(func(i *Invocation) {
				i.TraceContext = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": ""}
			}),
		},
		{
			// wasmbus-rpc 0.15: simple id, no traceContext, an actor calling an actor.
			name: "wasmbus-rpc",
			input: mapOf(
				kv{"origin", rustEntity(providerEntity)},
				kv{"target", rustEntity(actorEntity)},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(simpleID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", uintv(5)},
			),
			want: with(func(i *Invocation) {
				i.Origin, i.Target, i.ID = providerEntity, actorEntity, simpleID
			}),
		},
		{
			name: "wasmbus-rpc traceContext nil",
			input: mapOf(
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", rustEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", uintv(5)},
				kv{"traceContext", nilv()},
			),
			want: base,
		},
		{
			name: "actor entities without contract_id and link_name, content_length absent",
			input: mapOf(
				kv{"origin", mapOf(kv{"public_key", str(actorKey)})},
				kv{"target", mapOf(kv{"link_name", nilv()}, kv{"public_key", str(providerKey)}, kv{"contract_id", nilv()})},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
			),
			want: with(func(i *Invocation) { i.Target = Entity{PublicKey: providerKey} }),
		},
		{
			name: "msg absent means empty",
			input: mapOf(
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", rustEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
			),
			want: with(func(i *Invocation) { i.Msg, i.ContentLength = nil, 0 }),
		},
		{
			name: "chunked: empty msg, content_length larger",
			input: mapOf(
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", rustEntity(providerEntity)},
				kv{"operation", str(operation)},
				kv{"msg", raw("c400")},
				kv{"id", str(hyphenID)},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", raw("ce000f0000")},
			),
			want: with(func(i *Invocation) { i.Msg, i.ContentLength = nil, 0xf0000 }),
		},
		{
			name: "unknown keys skipped, including our response_claims and nested values",
			input: mapOf(
				kv{"x-extra", mapOf(kv{"a", raw("93c0c3c2")}, kv{"b", bin([]byte{1, 2})})},
				kv{"origin", rustEntity(actorEntity)},
				kv{"target", mapOf(kv{"public_key", str(providerKey)}, kv{"future", raw("d70100000000000000ff")},
					kv{"link_name", str("default")}, kv{"contract_id", str("wasmcloud:httpserver")})},
				kv{"operation", str(operation)},
				kv{"msg", bin(hello)},
				kv{"id", str(hyphenID)},
				kv{"response_claims", str("ignored")},
				kv{"encoded_claims", str(dummyToken)},
				kv{"host_id", str(hostKey)},
				kv{"content_length", uintv(5)},
				kv{"float", raw("cb3ff0000000000000")},
			),
			want: base,
		},
	}
}

func TestDecodeInvocationPeers(t *testing.T) {
	for _, tt := range peerInvocations() {
		t.Run(tt.name, func(t *testing.T) {
			assertInvocation(t, decodeInvocation(t, tt.input), tt.want)
		})
	}
}

// TestDecodeContentLengthWidths feeds content_length in every MessagePack integer encoding.
func TestDecodeContentLengthWidths(t *testing.T) {
	tests := []struct {
		name   string
		length []byte // nil: key absent
		want   uint64
	}{
		{"positive fixint", raw("05"), 5},
		{"uint8", raw("cc05"), 5},
		{"uint16", raw("cd0100"), 256},
		{"uint32", raw("ce00010000"), 65536},
		{"uint64", raw("cf0000000100000000"), 1 << 32},
		{"uint64 max", raw("cfffffffffffffffff"), 1<<64 - 1},
		{"int8", raw("d005"), 5},
		{"int16", raw("d10100"), 256},
		{"int32", raw("d200010000"), 65536},
		{"int64", raw("d30000000100000000"), 1 << 32},
		{"zero", raw("00"), 0},
		{"nil means len(msg)", nilv(), 5},
		{"absent means len(msg)", nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := []kv{
				{"origin", rustEntity(actorEntity)},
				{"target", rustEntity(providerEntity)},
				{"operation", str(operation)},
				{"msg", bin([]byte("hello"))},
				{"id", str(hyphenID)},
				{"encoded_claims", str(dummyToken)},
				{"host_id", str(hostKey)},
			}
			if tt.length != nil {
				entries = append(entries, kv{"content_length", tt.length})
			}
			require.Equal(t, "invocation ContentLength", decodeInvocation(t, mapOf(entries...)).ContentLength, tt.want)
			resp := []kv{{"msg", str("hello")}, {"invocation_id", str(hyphenID)}}
			if tt.length != nil {
				resp = append(resp, kv{"content_length", tt.length})
			}
			require.Equal(t, "response ContentLength", decodeResponse(t, mapOf(resp...)).ContentLength, tt.want)
		})
	}
}

type peerResponse struct {
	name  string
	input []byte
	want  Response
}

func peerResponses() []peerResponse {
	return []peerResponse{
		{
			// OTP (Msgpax): keys sorted, msg as str, the actor instance id added.
			name: "otp success",
			input: mapOf(
				kv{"content_length", uintv(5)},
				kv{"instance_id", str("9f1e2d3c-4b5a-4968-8776-655443322110")},
				kv{"invocation_id", str(hyphenID)},
				kv{"msg", str("hello")},
			),
			want: Response{Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5, InstanceID: "9f1e2d3c-4b5a-4968-8776-655443322110"},
		},
		{
			// OTP's early-reject reply, written out in hex: {"error": "boom", "invocation_id": "x", "msg": []}.
			name:  "otp early reject, msg empty array, no content_length",
			input: raw("83" + "a5" + "6572726f72" + "a4" + "626f6f6d" + "ad" + "696e766f636174696f6e5f6964" + "a1" + "78" + "a3" + "6d7367" + "90"),
			want:  Response{InvocationID: "x", Error: "boom"},
		},
		{
			name: "otp error with instance id",
			input: mapOf(
				kv{"error", str("Anti-forgery check failed: Invocation claims signature invalid")},
				kv{"instance_id", str("9f1e2d3c-4b5a-4968-8776-655443322110")},
				kv{"invocation_id", str(hyphenID)},
				kv{"msg", raw("90")},
			),
			want: Response{
				InvocationID: hyphenID, Error: "Anti-forgery check failed: Invocation claims signature invalid",
				InstanceID: "9f1e2d3c-4b5a-4968-8776-655443322110",
			},
		},
		{
			// WC82: msg bin, content_length required, traceContext always present.
			name: "wc82 success",
			input: mapOf(
				kv{"msg", bin([]byte("hello"))},
				kv{"invocation_id", str(simpleID)},
				kv{"content_length", uintv(5)},
				kv{"traceContext", strMap()},
			),
			want: Response{Msg: []byte("hello"), InvocationID: simpleID, ContentLength: 5},
		},
		{
			name: "wc82 chunked",
			input: mapOf(
				kv{"msg", bin(nil)},
				kv{"invocation_id", str(hyphenID)},
				kv{"content_length", uintv(2 << 20)},
				kv{"traceContext", strMap("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
			),
			want: Response{InvocationID: hyphenID, ContentLength: 2 << 20,
				TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
		},
		{
			// wasmbus-rpc error replies omit content_length.
			name: "wasmbus-rpc error",
			input: mapOf(
				kv{"msg", bin(nil)},
				kv{"invocation_id", str(simpleID)},
				kv{"error", str("unlinked actor")},
			),
			want: Response{InvocationID: simpleID, Error: "unlinked actor"},
		},
		{
			name: "nil msg, nil error, nil instance id",
			input: mapOf(
				kv{"msg", nilv()},
				kv{"invocation_id", str(hyphenID)},
				kv{"error", nilv()},
				kv{"instance_id", nilv()},
				kv{"response_claims", nilv()},
			),
			want: Response{InvocationID: hyphenID},
		},
		{
			name: "present but empty error still means failure",
			input: mapOf(
				kv{"msg", bin([]byte("x"))},
				kv{"invocation_id", str(hyphenID)},
				kv{"error", str("")},
			),
			want: Response{Msg: []byte("x"), InvocationID: hyphenID, Error: EmptyErrorText, ContentLength: 1},
		},
		{
			name: "our response_claims, unknown keys skipped",
			input: mapOf(
				kv{"msg", bin([]byte("hello"))},
				kv{"invocation_id", str(hyphenID)},
				kv{"content_length", uintv(5)},
				kv{"future", mapOf(kv{"x", raw("c0")})},
				kv{"response_claims", str(dummyToken)},
			),
			want: Response{Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5, Claims: dummyToken},
		},
	}
}

func TestDecodeResponsePeers(t *testing.T) {
	for _, tt := range peerResponses() {
		t.Run(tt.name, func(t *testing.T) {
			assertResponse(t, decodeResponse(t, tt.input), tt.want)
		})
	}
}

// TestDecodeGolden decodes the golden files, which also checks the encoder against the decoder
// from the other side.
func TestDecodeGolden(t *testing.T) {
	assertInvocation(t, decodeInvocation(t, readGolden(t, "invocation")), goldenInvocation())
	assertResponse(t, decodeResponse(t, readGolden(t, "response_claims")), Response{
		Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5,
		InstanceID: "9f1e2d3c-4b5a-4968-8776-655443322110", Claims: dummyToken,
	})
}

// TestOnlyMsgAliasesInput documents that Msg points into the decoded buffer and checks that no
// string field does: overwriting the input changes Msg and nothing else.
func TestOnlyMsgAliasesInput(t *testing.T) {
	inv := goldenInvocation()
	inv.Origin = Entity{PublicKey: "V-origin", ContractID: "wasmcloud:messaging", LinkName: "backup"}
	inv.TraceContext = map[string]string{"traceparent": "00-01", "tracestate": "a=b"}
	b := inv.AppendMsgpack(nil)
	got := decodeInvocation(t, b)
	for i := range b {
		b[i] = 'Z'
	}
	want := inv
	want.Msg = []byte("ZZZZZ")
	assertInvocation(t, got, want)

	resp := Response{Msg: []byte("hello"), InvocationID: hyphenID, Error: "boom", ContentLength: 5,
		TraceContext: map[string]string{"k": "v"}, InstanceID: "inst", Claims: dummyToken}
	b = resp.AppendMsgpack(nil)
	gotResp := decodeResponse(t, b)
	for i := range b {
		b[i] = 'Z'
	}
	resp.Msg = []byte("ZZZZZ")
	assertResponse(t, gotResp, resp)
}

// TestDecodeReplacesAllFields checks that decoding into a used value leaves nothing behind.
func TestDecodeReplacesAllFields(t *testing.T) {
	inv := goldenInvocation()
	inv.TraceContext = map[string]string{"a": "b"}
	require.NoError(t, inv.UnmarshalMsgpack(peerInvocations()[0].input))
	assertInvocation(t, inv, peerInvocations()[0].want)

	r := Response{Error: "old", InstanceID: "old", Claims: "old", TraceContext: map[string]string{"a": "b"}}
	require.NoError(t, r.UnmarshalMsgpack(peerResponses()[3].input))
	assertResponse(t, r, peerResponses()[3].want)
}
