package wire

import (
	"bytes"
	"testing"
)

// Run with: go test ./internal/wire -run '^$' -fuzz FuzzDecodeInvocation -fuzztime 15s

func FuzzDecodeInvocation(f *testing.F) {
	for _, c := range goldenCases() {
		if c.invocation {
			f.Add(readGolden(f, c.name))
		}
	}
	for _, p := range peerInvocations() {
		f.Add(p.input)
	}
	f.Add(mapOf(plus(validInvocation(), kv{"traceContext", bigTrace(MaxTraceEntries)})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var first Invocation
		if err := first.UnmarshalMsgpack(b); err != nil {
			return
		}
		enc := first.AppendMsgpack(nil)
		var second Invocation
		if err := second.UnmarshalMsgpack(enc); err != nil {
			t.Fatalf("decoding our own encoding %x: %v", enc, err)
		}
		assertInvocation(t, second, first)
		if again := second.AppendMsgpack(nil); !bytes.Equal(again, enc) {
			t.Fatalf("re-encoding is not stable:\n%x\n%x", enc, again)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, c := range goldenCases() {
		if !c.invocation {
			f.Add(readGolden(f, c.name))
		}
	}
	for _, p := range peerResponses() {
		f.Add(p.input)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var first Response
		if err := first.UnmarshalMsgpack(b); err != nil {
			return
		}
		enc := first.AppendMsgpack(nil)
		var second Response
		if err := second.UnmarshalMsgpack(enc); err != nil {
			t.Fatalf("decoding our own encoding %x: %v", enc, err)
		}
		assertResponse(t, second, first)
		if again := second.AppendMsgpack(nil); !bytes.Equal(again, enc) {
			t.Fatalf("re-encoding is not stable:\n%x\n%x", enc, again)
		}
	})
}
