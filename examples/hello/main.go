//go:build wasip1

// Command hello is an example actor written with the actor/guest package: it greets by name and
// counts the invocations its instance has served. Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm ./examples/hello
//
// Operations (payloads and replies are MessagePack maps):
//
//	Hello.SayHello  {"name": "Ada"}  ->  {"message": "Hello, Ada!"}  (no name: "Hello, world!")
//	Hello.Calls     (any payload)    ->  {"calls": <invocations served by this instance, this one included>}
//
// The host's tests use Hello.Calls to show that invocations they refused never reached the actor.
package main

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/actor/guest"
)

// calls counts the invocations of this instance's operations. An operation the actor does not have is
// answered by package guest and not counted. An instance runs one call at a time.
var calls uint64

func init() {
	guest.Handle("Hello.SayHello", counted(sayHello))
	guest.Handle("Hello.Calls", counted(func([]byte) ([]byte, error) {
		b := msgp.AppendMapHeader(nil, 1)
		b = msgp.AppendString(b, "calls")
		return msgp.AppendUint64(b, calls), nil
	}))
}

// main is never called: a -buildmode=c-shared module only runs its init functions.
func main() {}

// counted wraps h so that every invocation is counted before h runs.
func counted(h func([]byte) ([]byte, error)) func([]byte) ([]byte, error) {
	return func(payload []byte) ([]byte, error) {
		calls++
		return h(payload)
	}
}

// sayHello answers Hello.SayHello.
func sayHello(payload []byte) ([]byte, error) {
	name, err := decodeName(payload)
	if err != nil {
		return nil, fmt.Errorf("hello: Hello.SayHello payload: %w", err)
	}
	if name == "" {
		name = "world"
	}
	b := msgp.AppendMapHeader(nil, 1)
	b = msgp.AppendString(b, "message")
	return msgp.AppendString(b, "Hello, "+name+"!"), nil
}

// decodeName reads the "name" string of a {"name": <str>} map, ignoring other keys. An empty payload
// counts as a map without a name.
func decodeName(payload []byte) (string, error) {
	if len(payload) == 0 {
		return "", nil
	}
	n, rest, err := msgp.ReadMapHeaderBytes(payload)
	if err != nil {
		return "", fmt.Errorf("want a map: %w", err)
	}
	var name string
	for range n {
		var key []byte
		key, rest, err = msgp.ReadMapKeyZC(rest)
		if err != nil {
			return "", fmt.Errorf("map key: %w", err)
		}
		if string(key) != "name" {
			if rest, err = msgp.Skip(rest); err != nil {
				return "", fmt.Errorf("value of %q: %w", key, err)
			}
			continue
		}
		if name, rest, err = msgp.ReadStringBytes(rest); err != nil {
			return "", fmt.Errorf("name: %w", err)
		}
	}
	if len(rest) != 0 {
		return "", errors.New("trailing bytes after the map")
	}
	return name, nil
}
