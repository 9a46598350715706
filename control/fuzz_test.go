package control

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzDecodeCtl: no request makes the decoder panic; a request is accepted only when it is one JSON object
// within MaxCtlMessage, and every refusal matches exactly one of the package's sentinels.
func FuzzDecodeCtl(f *testing.F) {
	for _, s := range []string{
		`{"actor_ref":"file:///a.wasm","count":1}`, `{"actor_ref":""}`, `{}`, `[]`, `null`, ``, ` {"actor_ref":"x"} `,
		`{"actor_ref":"x"} {}`, `{"actor_ref":1}`, `{"actor_ref":"x","annotations":{"a":"b"},"host_id":"N"}`,
		`{"actor_ref":"` + strings.Repeat("x", MaxCtlMessage) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c StartActorCommand
		err := DecodeCtl(b, &c)
		if err == nil {
			if len(b) > MaxCtlMessage || bytes.TrimSpace(b)[0] != '{' || c.ActorRef == "" {
				t.Fatalf("accepted %q", b)
			}
			return
		}
		n := 0
		for _, s := range []error{ErrCtlTooLarge, ErrCtlMalformed, ErrCtlInvalid} {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v matches %d sentinels, want 1", err, n)
		}
	})
}
