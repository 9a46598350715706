package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats-server/v2/server"
)

// checkAnswer holds for every decoded answer: a bounded TTL and a bounded, valid message.
func checkAnswer(t *testing.T, data []byte, a answer, err error) {
	t.Helper()
	if err != nil {
		var ae *answerError
		if !errors.As(err, &ae) || ae.kind != ErrBadResponse || ae.reason == "" {
			t.Fatalf("error %v is not a bad response with a reason", err)
		}
		if len(ae.reason) > 400 {
			t.Fatalf("reason of %d bytes: %q", len(ae.reason), ae.reason)
		}
		return
	}
	if !json.Valid(data) {
		t.Fatalf("decoded invalid JSON %q", data)
	}
	if a.ttl < 0 || a.ttl > MaxTTL || (!a.hasTTL && a.ttl != 0) {
		t.Fatalf("ttl %v (has %v)", a.ttl, a.hasTTL)
	}
	if len(a.message) > maxMessage+len("…") || !utf8.ValidString(a.message) {
		t.Fatalf("message %q", a.message)
	}
}

var replySeeds = []string{
	`{"requestId":"r1","permitted":true}`,
	`{"requestId":"r1","permitted":false,"message":"Issuer was not the official wasmCloud issuer"}`,
	`{"permitted":true,"message":null,"requestId":"r1"}`,
	`{"request_id":"r1","permitted":true,"ttl":30}`,
	`{"requestId":"r1","request_id":"r2","permitted":true}`,
	`{"requestId":"r1","permitted":true,"permitted":false}`,
	`{"requestId":"r1","permitted":"true","ttl":-1}`,
	`{"requestId":"r1","permitted":true,"ttl":1e400}`,
	`{"requestId":"r1","permitted":true} {}`,
	`{"requestId":"\ud800","permitted":true,"message":"\u0000\ufffd"}`,
	`[`, ``, `null`, `{"a":{"b":[1,2,{"c":null}]}}`,
}

// FuzzDecodeReply: any bytes give an answer for the request id asked, or a bad response; nothing panics.
func FuzzDecodeReply(f *testing.F) {
	for _, s := range replySeeds {
		f.Add([]byte(s), "r1")
	}
	f.Fuzz(func(t *testing.T, data []byte, id string) {
		a, err := decodeReply(data, id)
		checkAnswer(t, data, a, err)
		if err == nil {
			got, idErr := mustFields(t, data).requestID()
			if idErr != nil || got != id {
				t.Fatalf("accepted an answer for request %q (%v) as one for %q", got, idErr, id)
			}
		}
	})
}

// FuzzDecodeOPA: any bytes give a decision with a boolean behind it, or a bad response.
func FuzzDecodeOPA(f *testing.F) {
	for _, s := range []string{
		`{"result":true}`, `{"result":false,"decision_id":"x"}`, `{}`,
		`{"result":{"allow":true}}`, `{"result":{"allow":false,"message":"no","ttl":5,"other":[1]}}`,
		`{"result":{"allow":"true"}}`, `{"result":"yes"}`, `{"result":[true]}`, `{"result":null}`,
		`{"result":{"allow":true,"allow":false}}`, `{"result":true}x`, `{"result":{"message":"m"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeOPA(data)
		checkAnswer(t, data, a, err)
		if err != nil {
			return
		}
		result := mustFields(t, data)["result"]
		allow := string(result)
		if allow != "true" && allow != "false" {
			allow = string(mustFields(t, result)["allow"])
		}
		if allow != "true" && allow != "false" || (allow == "true") != a.permitted {
			t.Fatalf("decided %v from %q", a.permitted, data)
		}
	})
}

// FuzzDecodeChange: any bytes give a change naming a request id, or an error; nothing panics.
func FuzzDecodeChange(f *testing.F) {
	for _, s := range append(replySeeds, `{"request_id":"r1","permitted":false,"message":"revoked"}`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeChange(data)
		if err != nil {
			if strings.HasPrefix(err.Error(), "policy:") || len(err.Error()) > 400 {
				t.Fatalf("error %q", err)
			}
			return
		}
		id, idErr := mustFields(t, data).requestID()
		if idErr != nil || id != c.requestID {
			t.Fatalf("change for %q, data says %q (%v)", c.requestID, id, idErr)
		}
		if len(c.message) > maxMessage+len("…") || !utf8.ValidString(c.message) {
			t.Fatalf("message %q", c.message)
		}
	})
}

func mustFields(t *testing.T, data []byte) fields {
	t.Helper()
	f, err := readObject(data)
	if err != nil {
		t.Fatalf("decoded, but readObject fails: %v", err)
	}
	return f
}

// FuzzSubjectProblem: a subject New accepts is one nats-server accepts (a literal one for Topic).
func FuzzSubjectProblem(f *testing.F) {
	for _, s := range []string{"wasmcloud.policy", "a.*.c", "a.>", ">", "a..b", ".a", "a.", "a b", "a.>.b", "*", "a\tb", "ü.ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return
		}
		if subjectProblem(s, false) == "" && !server.IsValidLiteralSubject(s) {
			t.Fatalf("Topic %q accepted, but nats-server refuses it as a literal subject", s)
		}
		if subjectProblem(s, true) == "" && !server.IsValidSubject(s) {
			t.Fatalf("ChangesTopic %q accepted, but nats-server refuses it", s)
		}
	})
}

// FuzzRequestKey: two requests that share a cache key send the same request, so a cached decision is
// never served for a question that was not asked; normalize never panics.
func FuzzRequestKey(f *testing.F) {
	f.Add(uint8(0), "MA", "", "i", "c1,c2", uint8(0), "MB", "", "i", "c1,c2")
	f.Add(uint8(3), "MA", "VB", "wasmcloud:keyvalue", "bucket=a", uint8(3), "MA", "VB", "wasmcloud:keyvalue", "bucket=a,x=")
	f.Add(uint8(2), "a\x00", "b", "", "", uint8(2), "a", "\x00b", "", "")
	f.Add(uint8(1), "\xff", "", "", "", uint8(1), "\xfe", "", "", "")
	actions := []Action{ActionStartActor, ActionStartProvider, ActionPerformInvocation, ActionPutLink, "other"}
	build := func(action uint8, a, b, c, list string) Request {
		r := Request{Action: actions[int(action)%len(actions)],
			Source: Entity{PublicKey: a, Issuer: c, Capabilities: strings.Split(list, ",")},
			Target: Entity{PublicKey: b, ContractID: c}}
		if r.Action == ActionPutLink {
			values := map[string]string{}
			for kv := range strings.SplitSeq(list, ",") {
				k, v, _ := strings.Cut(kv, "=")
				values[k] = v
			}
			r.Source.PublicKey, r.Target.PublicKey = "", ""
			r.Link = &LinkRequest{ActorID: a, ProviderID: b, ContractID: c, LinkName: "default", Values: values}
		}
		return r
	}
	host := encodeHost(testHost)
	f.Fuzz(func(t *testing.T, act1 uint8, a1, b1, c1, l1 string, act2 uint8, a2, b2, c2, l2 string) {
		r1, _, err1 := normalize(build(act1, a1, b1, c1, l1))
		r2, _, err2 := normalize(build(act2, a2, b2, c2, l2))
		if err1 != nil || err2 != nil {
			return
		}
		if !bytes.Equal(appendKey(nil, &r1), appendKey(nil, &r2)) {
			return
		}
		if e1, e2 := encodeRequest("id", &r1, host), encodeRequest("id", &r2, host); !bytes.Equal(e1, e2) {
			t.Fatalf("same key, different requests:\n%s\n%s", e1, e2)
		}
	})
}
