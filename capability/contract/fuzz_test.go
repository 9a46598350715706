package contract

import (
	"bytes"
	"errors"
	"testing"
)

// Run one with: go test ./capability/contract -run '^$' -fuzz '^FuzzHTTPRequest$' -fuzztime 15s
//
// Every target checks the same properties: a refusal is a *DecodeError; an accepted input decodes
// again, from our own encoding, to the same value; and that encoding is stable.

// transcriptSeeds are the recorded payloads of the fixture actors, seeded into every target (an
// input meant for another type is a good start for mutations too).
func transcriptSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, h := range []string{
		vecRequestStrBody, vecRequestBinBody, vecEchoResponseGet, vecKVCounterResponse42,
		vecIncrementCounter, vecIncrementCounterFooBar, vecReply42, vecSubStartOfficial,
		vecSubSnakeCase, vecPubPermitted1, vecPubDenied2,
	} {
		out = append(out, unhex(tb, h))
	}
	return out
}

// fuzzCodec runs the round-trip properties for the message type T, seeded with the golden
// encodings of T, the transcripts and extra.
func fuzzCodec[T any, PT interface {
	*T
	codec
}](f *testing.F, extra ...[]byte) {
	for _, c := range goldenCases() {
		if _, ok := c.fresh().(PT); ok {
			f.Add(readGolden(f, c.name))
		}
	}
	for _, s := range transcriptSeeds(f) {
		f.Add(s)
	}
	for _, s := range extra {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var first T
		if err := PT(&first).UnmarshalMsgpack(b); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("refusal %v is not a *DecodeError", err)
			}
			return
		}
		enc := PT(&first).AppendMsgpack(nil)
		var second T
		if err := PT(&second).UnmarshalMsgpack(enc); err != nil {
			t.Fatalf("decoding our own encoding %x: %v", enc, err)
		}
		assertDeepEqual(t, "value decoded from our encoding", normalize(PT(&second)), normalize(PT(&first)))
		if again := PT(&second).AppendMsgpack(nil); !bytes.Equal(again, enc) {
			t.Fatalf("re-encoding is not stable:\n%x\n%x", enc, again)
		}
	})
}

// fuzzScalar runs the same properties for a scalar payload helper pair.
func fuzzScalar[T comparable](f *testing.F, decode func([]byte) (T, error), encode func([]byte, T) []byte, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("refusal %v is not a *DecodeError", err)
			}
			return
		}
		enc := encode(nil, v)
		again, err := decode(enc)
		if err != nil {
			t.Fatalf("decoding our own encoding %x: %v", enc, err)
		}
		if again != v {
			t.Fatalf("round trip of %v gave %v", v, again)
		}
	})
}

func FuzzHTTPRequest(f *testing.F) {
	fuzzCodec[HTTPRequest](f,
		mapOf(plus(validRequest(), kv{"x", arrOf(mapOf(kv{"y", nilv()}))})...),
		mapOf(replaced(validRequest(), "header", mapOf(kv{"A", arrOf(str("1"), str("2"))}, kv{"B", arrOf()}))...),
	)
}

func FuzzHTTPResponse(f *testing.F) {
	fuzzCodec[HTTPResponse](f, mapOf(replaced(validResponse(), "statusCode", raw("d300000000000001f4"))...))
}

func FuzzGetResponse(f *testing.F) {
	fuzzCodec[GetResponse](f, mapOf(kv{"exists", boolv(false)}))
}

func FuzzSetRequest(f *testing.F) {
	fuzzCodec[SetRequest](f, mapOf(kv{"expires", raw("ceffffffff")}, kv{"key", str("k")}))
}

func FuzzIncrementRequest(f *testing.F) {
	fuzzCodec[IncrementRequest](f, mapOf(kv{"value", raw("d280000000")}))
}

func FuzzListAddRequest(f *testing.F) { fuzzCodec[ListAddRequest](f) }

func FuzzListDelRequest(f *testing.F) { fuzzCodec[ListDelRequest](f) }

func FuzzListRangeRequest(f *testing.F) {
	fuzzCodec[ListRangeRequest](f, mapOf(kv{"start", raw("d1fc18")}, kv{"stop", raw("ff")}))
}

func FuzzSetAddRequest(f *testing.F) { fuzzCodec[SetAddRequest](f) }

func FuzzSetDelRequest(f *testing.F) { fuzzCodec[SetDelRequest](f) }

func FuzzStringList(f *testing.F) {
	fuzzCodec[StringList](f, arrOf(), arrOf(str16("a"), str("")))
}

func FuzzPubMessage(f *testing.F) {
	fuzzCodec[PubMessage](f, mapOf(kv{"replyTo", nilv()}, kv{"body", str("x")}))
}

func FuzzRequestMessage(f *testing.F) { fuzzCodec[RequestMessage](f) }

func FuzzReplyMessage(f *testing.F) { fuzzCodec[ReplyMessage](f) }

func FuzzSubMessage(f *testing.F) { fuzzCodec[SubMessage](f) }

func FuzzLogEntry(f *testing.F) { fuzzCodec[LogEntry](f) }

func FuzzRangeLimit(f *testing.F) { fuzzCodec[RangeLimit](f) }

func FuzzUnmarshalString(f *testing.F) {
	fuzzScalar(f, UnmarshalString, AppendString, str("counter::"), str16(""), raw("c0"))
}

func FuzzUnmarshalU32(f *testing.F) {
	fuzzScalar(f, UnmarshalU32, AppendU32, raw("03"), raw("ceffffffff"), raw("d30000000000000003"))
}

func FuzzUnmarshalI32(f *testing.F) {
	fuzzScalar(f, UnmarshalI32, AppendI32, unhex(f, vecReply42), raw("d280000000"), raw("cf000000007fffffff"))
}

func FuzzUnmarshalBool(f *testing.F) {
	fuzzScalar(f, UnmarshalBool, AppendBool, raw("c3"), raw("c2"))
}
