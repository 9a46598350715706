//go:build wasip1

// Command caller is an example actor that calls another actor through the host, to show and test
// actor-to-actor calls with the actor/guest package. Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o caller.wasm ./examples/caller
//
// Caller.Relay takes {"target": <public key or call alias>, "name": <str>}, calls Hello.SayHello on
// the target with {"name": <name>} and replies {"relayed": <the target's message>, "via": "caller"}.
// A failed call becomes a guest error that includes the host's error text.
package main

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/actor/guest"
)

func init() {
	guest.Handle("Caller.Relay", relay)
}

// main is never called: a -buildmode=c-shared module only runs its init functions.
func main() {}

// relay answers Caller.Relay.
func relay(payload []byte) ([]byte, error) {
	fields, err := decodeStrings(payload, "target", "name")
	if err != nil {
		return nil, fmt.Errorf("caller: Caller.Relay payload: %w", err)
	}
	target, name := fields["target"], fields["name"]
	if target == "" {
		return nil, errors.New("caller: Caller.Relay payload: target is missing or empty")
	}
	req := msgp.AppendMapHeader(nil, 1)
	req = msgp.AppendString(req, "name")
	req = msgp.AppendString(req, name)
	reply, err := guest.CallActor(target, "Hello.SayHello", req)
	if err != nil {
		return nil, fmt.Errorf("caller: relay to %s: %w", target, err)
	}
	got, err := decodeStrings(reply, "message")
	if err != nil {
		return nil, fmt.Errorf("caller: reply of %s to Hello.SayHello: %w", target, err)
	}
	b := msgp.AppendMapHeader(nil, 2)
	b = msgp.AppendString(b, "relayed")
	b = msgp.AppendString(b, got["message"])
	b = msgp.AppendString(b, "via")
	return msgp.AppendString(b, "caller"), nil
}

// decodeStrings reads a MessagePack map and returns the string values of the wanted keys that are
// present, skipping every other key.
func decodeStrings(b []byte, want ...string) (map[string]string, error) {
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("want a map: %w", err)
	}
	out := make(map[string]string, len(want))
	for range n {
		var key []byte
		key, rest, err = msgp.ReadMapKeyZC(rest)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		wanted := false
		for _, w := range want {
			wanted = wanted || string(key) == w
		}
		if !wanted {
			if rest, err = msgp.Skip(rest); err != nil {
				return nil, fmt.Errorf("value of %q: %w", key, err)
			}
			continue
		}
		var v string
		if v, rest, err = msgp.ReadStringBytes(rest); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[string(key)] = v
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes after the map")
	}
	return out, nil
}
