package contract

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestTranscriptHTTPRequests decodes the two HttpServer.HandleRequest payloads the fixture actors
// were called with. The first is what the OTP host sends (keys sorted, body as str); the second is in
// Smithy order with body as bin, which is also exactly what our encoder writes.
func TestTranscriptHTTPRequests(t *testing.T) {
	tests := []struct {
		name          string
		input         string
		want          HTTPRequest
		encodesToSame bool
	}{
		{
			name:  "OTP order, body str",
			input: vecRequestStrBody,
			want:  HTTPRequest{Method: "GET", Path: "/", QueryString: "", Body: []byte("hello")},
		},
		{
			name:          "Smithy order, body bin",
			input:         vecRequestBinBody,
			want:          HTTPRequest{Method: "POST", Path: "/foo/bar", QueryString: "amount=5&x=y", Body: []byte("hi there")},
			encodesToSame: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.input)
			got := decodeAs[HTTPRequest](t, in)
			assertDeepEqual(t, "request", got, tt.want)
			enc := tt.want.AppendMsgpack(nil)
			if tt.encodesToSame {
				assertHex(t, "encoding", enc, tt.input)
			}
			assertDeepEqual(t, "request decoded from our encoding", decodeAs[HTTPRequest](t, enc), tt.want)
		})
	}
}

// TestTranscriptHTTPResponses decodes the responses of echo.wasm (statusCode first, as current
// wasmbus-rpc writes) and kvcounter.wasm (body first, as wasmbus-rpc 0.3 wrote). Our encoder
// reproduces echo's bytes exactly.
func TestTranscriptHTTPResponses(t *testing.T) {
	tests := []struct {
		name  string
		input string
		body  string
		// canonical is our encoding of the decoded response.
		canonical string
	}{
		{
			name:      "echo GET",
			input:     vecEchoResponseGet,
			body:      `{"body":[104,101,108,108,111],"method":"GET","path":"/","query_string":""}`,
			canonical: vecEchoResponseGet,
		},
		{
			name:      "echo POST",
			input:     vecEchoResponsePost,
			body:      `{"body":[104,105,32,116,104,101,114,101],"method":"POST","path":"/foo/bar","query_string":"amount=5&x=y"}`,
			canonical: vecEchoResponsePost,
		},
		{
			name:  "kvcounter 42",
			input: vecKVCounterResponse42,
			body:  `{"counter":42}`,
			// statusCode 200 (cc c8), empty header, body bin8(14).
			canonical: "83aa737461747573436f6465ccc8a668656164657280a4626f6479c40e7b22636f756e746572223a34327d",
		},
		{
			name:      "kvcounter 46",
			input:     vecKVCounterResponse46,
			body:      `{"counter":46}`,
			canonical: "83aa737461747573436f6465ccc8a668656164657280a4626f6479c40e7b22636f756e746572223a34367d",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAs[HTTPResponse](t, unhex(t, tt.input))
			assertDeepEqual(t, "response", got, HTTPResponse{StatusCode: 200, Body: []byte(tt.body)})
			assertHex(t, "encoding", got.AppendMsgpack(nil), tt.canonical)
		})
	}
}

// TestTranscriptIncrement decodes kvcounter's KeyValue.Increment calls and encodes the host's
// answers; both directions are byte-identical to the transcript.
func TestTranscriptIncrement(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		want      IncrementRequest
		reply     int32
		replyWire string
	}{
		{name: "counter:: by 1", input: vecIncrementCounter, want: IncrementRequest{Key: "counter::", Value: 1}, reply: 42, replyWire: vecReply42},
		{name: "counter::foo:bar by 5", input: vecIncrementCounterFooBar, want: IncrementRequest{Key: "counter::foo:bar", Value: 5}, reply: 46, replyWire: vecReply46},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAs[IncrementRequest](t, unhex(t, tt.input))
			require.Equal(t, "request", got, tt.want)
			assertHex(t, "request encoding", tt.want.AppendMsgpack(nil), tt.input)
			assertHex(t, "reply encoding", AppendI32(nil, tt.reply), tt.replyWire)
			v, err := UnmarshalI32(unhex(t, tt.replyWire))
			require.NoError(t, err)
			require.Equal(t, "reply", v, tt.reply)
		})
	}
}

// TestTranscriptPolicy decodes the MessageSubscriber.HandleMessage payloads sent to
// example_policy_s.wasm and the Messaging.Publish payloads it answered with. Both encode back to
// the recorded bytes: replyTo is present in the first and left out (None) in the second.
func TestTranscriptPolicy(t *testing.T) {
	subs := []struct {
		name    string
		input   string
		replyTo string
		bodyLen int
		action  string
	}{
		{name: "start_actor official issuer", input: vecSubStartOfficial, replyTo: "_INBOX.policy.1", bodyLen: 740, action: `"action":"start_actor"`},
		{name: "start_actor other issuer", input: vecSubStartOther, replyTo: "_INBOX.policy.2", bodyLen: 740, action: `"action":"start_actor"`},
		{name: "perform_invocation", input: vecSubPerform, replyTo: "_INBOX.policy.3", bodyLen: 747, action: `"action":"perform_invocation"`},
		{name: "snake_case body", input: vecSubSnakeCase, replyTo: "_INBOX.policy.4", bodyLen: 741, action: `"request_id":"11111111-2222-3333-4444-555555555555"`},
	}
	for _, tt := range subs {
		t.Run("sub/"+tt.name, func(t *testing.T) {
			in := unhex(t, tt.input)
			got := decodeAs[SubMessage](t, in)
			require.Equal(t, "Subject", got.Subject, "wasmcloud.policy.evaluator")
			require.Equal(t, "ReplyTo", got.ReplyTo, tt.replyTo)
			require.Equal(t, "len(Body)", len(got.Body), tt.bodyLen)
			if !bytes.HasPrefix(got.Body, []byte(`{"request`)) || !bytes.HasSuffix(got.Body, []byte(`}}`)) {
				t.Errorf("Body is not the JSON policy request: %.40q…", got.Body)
			}
			if !strings.Contains(string(got.Body), tt.action) {
				t.Errorf("Body lacks %s", tt.action)
			}
			assertHex(t, "encoding", got.AppendMsgpack(nil), tt.input)
		})
	}

	pubs := []struct {
		name    string
		input   string
		subject string
		body    string
	}{
		{name: "permitted 1", input: vecPubPermitted1, subject: "_INBOX.policy.1", body: `{"permitted":true,"message":null,"requestId":"11111111-2222-3333-4444-555555555555"}`},
		{name: "denied 2", input: vecPubDenied2, subject: "_INBOX.policy.2", body: `{"permitted":false,"message":"Issuer was not the official wasmCloud issuer","requestId":"11111111-2222-3333-4444-555555555555"}`},
		{name: "permitted 3", input: vecPubPermitted3, subject: "_INBOX.policy.3", body: `{"permitted":true,"message":null,"requestId":"11111111-2222-3333-4444-555555555555"}`},
	}
	for _, tt := range pubs {
		t.Run("pub/"+tt.name, func(t *testing.T) {
			got := decodeAs[PubMessage](t, unhex(t, tt.input))
			assertDeepEqual(t, "message", got, PubMessage{Subject: tt.subject, Body: []byte(tt.body)})
			assertHex(t, "encoding", got.AppendMsgpack(nil), tt.input)
		})
	}
}

// TestDecodedStringsDoNotAlias overwrites the input after decoding: the strings must be unaffected
// (the body, documented to alias, changes with it).
func TestDecodedStringsDoNotAlias(t *testing.T) {
	in := unhex(t, vecRequestBinBody)
	in = bytes.Replace(in, []byte("\xa6header\x80"), mapOf(kv{"header", mapOf(kv{"Accept", arrOf(str("text/plain"))})})[1:], 1)
	in[0] = 0x85
	var r HTTPRequest
	require.NoError(t, r.UnmarshalMsgpack(in))
	for i := range in {
		in[i] = 'X'
	}
	require.Equal(t, "Method", r.Method, "POST")
	require.Equal(t, "Path", r.Path, "/foo/bar")
	require.Equal(t, "QueryString", r.QueryString, "amount=5&x=y")
	assertDeepEqual(t, "Header", r.Header, map[string][]string{"Accept": {"text/plain"}})
	require.Equal(t, "Body", string(r.Body), "XXXXXXXX")
}
