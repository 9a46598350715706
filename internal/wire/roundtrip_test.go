package wire

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func traceOf(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m["key-"+strconv.Itoa(i)] = strings.Repeat("v", i)
	}
	return m
}

func TestInvocationRoundTrip(t *testing.T) {
	with := func(f func(*Invocation)) Invocation {
		inv := goldenInvocation()
		f(&inv)
		return inv
	}
	tests := []struct {
		name string
		inv  Invocation
	}{
		{"golden", goldenInvocation()},
		{"zero value", Invocation{}},
		{"nil msg, chunked length", with(func(i *Invocation) { i.Msg, i.ContentLength = nil, 1<<40 })},
		{"max content_length", with(func(i *Invocation) { i.ContentLength = 1<<64 - 1 })},
		{"msg 255 bytes (bin8)", with(func(i *Invocation) { i.Msg = bytes.Repeat([]byte{7}, 255) })},
		{"msg 256 bytes (bin16)", with(func(i *Invocation) { i.Msg = bytes.Repeat([]byte{7}, 256) })},
		{"msg 65536 bytes (bin32)", with(func(i *Invocation) { i.Msg = bytes.Repeat([]byte{7}, 65536) })},
		{"operation 31 and 32 bytes", with(func(i *Invocation) { i.Operation, i.ID = strings.Repeat("o", 31), strings.Repeat("i", 32) })},
		{"claims 256 bytes (str16)", with(func(i *Invocation) { i.EncodedClaims = strings.Repeat("c", 256) })},
		{"claims 65536 bytes (str32)", with(func(i *Invocation) { i.EncodedClaims = strings.Repeat("c", 65536) })},
		{"non-ASCII and invalid UTF-8 strings", with(func(i *Invocation) { i.Target.LinkName, i.HostID = "lïnk", "N\xff\xfe" })},
		{"simple id", with(func(i *Invocation) { i.ID = simpleID })},
		{"trace of 3", with(func(i *Invocation) { i.TraceContext = traceOf(3) })},
		{"trace of 64 (sorted on the heap)", with(func(i *Invocation) { i.TraceContext = traceOf(64) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.inv.AppendMsgpack(nil)
			assertInvocation(t, decodeInvocation(t, b), tt.inv)
			// Encoding is deterministic, trace map included.
			if again := tt.inv.AppendMsgpack(nil); !bytes.Equal(again, b) {
				t.Errorf("second encoding differs from the first")
			}
		})
	}
}

func TestResponseRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		resp Response
	}{
		{"zero value", Response{}},
		{"success", Response{Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5}},
		{"error", Response{InvocationID: simpleID, Error: "boom"}},
		{"all fields", Response{
			Msg: []byte{0xc1, 0x00}, InvocationID: hyphenID, Error: "e", ContentLength: 1 << 33,
			TraceContext: traceOf(20), InstanceID: "inst", Claims: dummyToken,
		}},
		{"large msg", Response{Msg: bytes.Repeat([]byte("x"), 70000), InvocationID: "x", ContentLength: 70000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.resp.AppendMsgpack(nil)
			assertResponse(t, decodeResponse(t, b), tt.resp)
			if again := tt.resp.AppendMsgpack(nil); !bytes.Equal(again, b) {
				t.Errorf("second encoding differs from the first")
			}
		})
	}
}

// TestResponseOptionalKeysOmitted checks that empty optional fields leave no key behind, and that
// content_length is always written.
func TestResponseOptionalKeysOmitted(t *testing.T) {
	b := (&Response{InvocationID: "x"}).AppendMsgpack(nil)
	want := raw("83" + "a3" + "6d7367" + "c400" + "ad" + "696e766f636174696f6e5f6964" + "a178" + "ae" + "636f6e74656e745f6c656e677468" + "00")
	if !bytes.Equal(b, want) {
		t.Errorf("encoding = %x, want %x", b, want)
	}
	// An empty trace map is not written for invocations either.
	inv := goldenInvocation()
	inv.TraceContext = map[string]string{}
	if !bytes.Equal(inv.AppendMsgpack(nil), readGolden(t, "invocation")) {
		t.Errorf("an empty TraceContext changes the invocation encoding")
	}
}

func TestAppendMsgpackAppends(t *testing.T) {
	inv := goldenInvocation()
	b := inv.AppendMsgpack([]byte("prefix"))
	if !bytes.HasPrefix(b, []byte("prefix")) || !bytes.Equal(b[6:], readGolden(t, "invocation")) {
		t.Errorf("AppendMsgpack does not append to its argument")
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	inv := goldenInvocation()
	inv.TraceContext = traceOf(4)
	resp := Response{Msg: []byte("hello"), InvocationID: hyphenID, ContentLength: 5, TraceContext: traceOf(4), Claims: dummyToken}
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		buf = inv.AppendMsgpack(buf[:0])
		buf = resp.AppendMsgpack(buf[:0])
	})
	require.Equal(t, "allocations of AppendMsgpack with a reused buffer", allocs, 0)
}
