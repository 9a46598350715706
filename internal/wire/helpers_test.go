package wire

import (
	"bytes"
	"maps"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Test values shared by the golden, peer and benchmark tests. The keys are real wasmCloud test
// keys (an actor, a provider, a host and a cluster key that appear in the public wasmCloud sources);
// the codec does not check them.
const (
	actorKey    = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
	providerKey = "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	hostKey     = "NBVEWE3W3B5SUG7JTRNO3TAZRJPSXKJHYJNW6VSVOSXTK3V6D5AXRXCG"
	clusterKey  = "CBS5UT5WT4BN7WZUM2CUF3ON4ZL6AIMWLQ3VTOTVBJB7ISTLCHQO5VGN"
	hyphenID    = "4b0f2c6e-8d3a-4f1b-9c2e-7a5d6e8f9012"
	simpleID    = "4b0f2c6e8d3a4f1b9c2e7a5d6e8f9012"
	dummyToken  = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.ZHVtbXktY2xhaW1z.ZHVtbXktc2lnbmF0dXJl"
	operation   = "HttpServer.HandleRequest"
)

var (
	actorEntity    = Entity{PublicKey: actorKey}
	providerEntity = Entity{PublicKey: providerKey, ContractID: "wasmcloud:httpserver", LinkName: "default"}
)

// goldenInvocation is the invocation pinned by testdata/invocation.golden.
func goldenInvocation() Invocation {
	return Invocation{
		Origin:        actorEntity,
		Target:        providerEntity,
		Operation:     operation,
		Msg:           []byte("hello"),
		ID:            hyphenID,
		EncodedClaims: dummyToken,
		HostID:        hostKey,
		ContentLength: 5,
	}
}

func assertInvocation(t testing.TB, got, want Invocation) {
	t.Helper()
	if got.Origin != want.Origin {
		t.Errorf("Origin = %+v, want %+v", got.Origin, want.Origin)
	}
	if got.Target != want.Target {
		t.Errorf("Target = %+v, want %+v", got.Target, want.Target)
	}
	if got.Operation != want.Operation {
		t.Errorf("Operation = %q, want %q", got.Operation, want.Operation)
	}
	if !bytes.Equal(got.Msg, want.Msg) {
		t.Errorf("Msg = %x, want %x", got.Msg, want.Msg)
	}
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if got.EncodedClaims != want.EncodedClaims {
		t.Errorf("EncodedClaims = %q, want %q", got.EncodedClaims, want.EncodedClaims)
	}
	if got.HostID != want.HostID {
		t.Errorf("HostID = %q, want %q", got.HostID, want.HostID)
	}
	if got.ContentLength != want.ContentLength {
		t.Errorf("ContentLength = %d, want %d", got.ContentLength, want.ContentLength)
	}
	if !maps.Equal(got.TraceContext, want.TraceContext) {
		t.Errorf("TraceContext = %v, want %v", got.TraceContext, want.TraceContext)
	}
}

func assertResponse(t testing.TB, got, want Response) {
	t.Helper()
	if !bytes.Equal(got.Msg, want.Msg) {
		t.Errorf("Msg = %x, want %x", got.Msg, want.Msg)
	}
	if got.InvocationID != want.InvocationID {
		t.Errorf("InvocationID = %q, want %q", got.InvocationID, want.InvocationID)
	}
	if got.Error != want.Error {
		t.Errorf("Error = %q, want %q", got.Error, want.Error)
	}
	if got.ContentLength != want.ContentLength {
		t.Errorf("ContentLength = %d, want %d", got.ContentLength, want.ContentLength)
	}
	if !maps.Equal(got.TraceContext, want.TraceContext) {
		t.Errorf("TraceContext = %v, want %v", got.TraceContext, want.TraceContext)
	}
	if got.InstanceID != want.InstanceID {
		t.Errorf("InstanceID = %q, want %q", got.InstanceID, want.InstanceID)
	}
	if got.Claims != want.Claims {
		t.Errorf("Claims = %q, want %q", got.Claims, want.Claims)
	}
}

func decodeInvocation(t testing.TB, b []byte) Invocation {
	t.Helper()
	var inv Invocation
	require.NoError(t, inv.UnmarshalMsgpack(b))
	return inv
}

func decodeResponse(t testing.TB, b []byte) Response {
	t.Helper()
	var r Response
	require.NoError(t, r.UnmarshalMsgpack(b))
	return r
}
