//go:build wasip1

// Command testactor is the guest the tests of package guest run in the real runtime: each operation
// exercises one part of the package (panics, empty replies, host calls, logging, a fatal runtime error)
// in a way the example actors do not.
package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/wasmcloud-host/wasmcloud-host/actor/guest"
)

// sink keeps allocations reachable so the garbage collector cannot reclaim them.
var sink [][]byte

func init() {
	guest.Handle("Test.Echo", func(p []byte) ([]byte, error) { return p, nil })
	guest.Handle("Test.Empty", func([]byte) ([]byte, error) { return nil, nil })
	guest.Handle("Test.Fail", func(p []byte) ([]byte, error) {
		return []byte("dropped"), errors.New("testactor: failed: " + string(p))
	})
	guest.Handle("Test.Panic", func(p []byte) ([]byte, error) { panic(string(p)) })
	guest.Handle("Test.NilDeref", func([]byte) ([]byte, error) {
		var m *struct{ n int }
		return []byte{byte(m.n)}, nil
	})
	guest.Handle("Test.Log", func(p []byte) ([]byte, error) {
		guest.Log(string(p))
		return nil, nil
	})
	guest.Handle("Test.OutOfMemory", func([]byte) ([]byte, error) {
		for {
			sink = append(sink, make([]byte, 8<<20))
		}
	})
	guest.Handle("Test.HostCall", hostCall)
}

// main is never called: a -buildmode=c-shared module only runs its init functions.
func main() {}

// hostCall makes the host call described by the payload, "binding\x00namespace\x00operation\x00payload",
// and replies with the host's reply, or "error: " and the error's text.
func hostCall(p []byte) ([]byte, error) {
	parts := bytes.SplitN(p, []byte{0}, 4)
	if len(parts) != 4 {
		return nil, fmt.Errorf("testactor: want 4 NUL-separated parts, got %d", len(parts))
	}
	reply, err := guest.HostCall(string(parts[0]), string(parts[1]), string(parts[2]), parts[3])
	if err != nil {
		var he *guest.HostError
		if !errors.As(err, &he) || !errors.Is(err, guest.ErrHostCall) {
			return nil, fmt.Errorf("testactor: host call error is not a *guest.HostError: %v", err)
		}
		return []byte("error: " + err.Error()), nil
	}
	return reply, nil
}
