// Package numbergen is the built-in wasmcloud:builtin:numbergen provider: GUIDs and random numbers from
// crypto/rand. It reaches nothing outside the host, so it needs no link; the actor's claims must still list
// the contract.
package numbergen

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// Call serves one call of the numbergen contract.
func Call(op string, payload []byte) ([]byte, error) {
	switch op {
	case contract.OpNumberGenGenerateGuid:
		return contract.AppendString(nil, wire.NewID()), nil
	case contract.OpNumberGenRandom32:
		return contract.AppendU32(nil, random32()), nil
	case contract.OpNumberGenRandomInRange:
		var r contract.RangeLimit
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if r.Min > r.Max {
			return nil, fmt.Errorf("%w: NumberGen.RandomInRange: min %d is above max %d", ErrRange, r.Min, r.Max)
		}
		span := uint64(r.Max) - uint64(r.Min) + 1
		// Rejection sampling: no modulo bias.
		limit := (1 << 32) - (1<<32)%span
		for {
			if v := uint64(random32()); v < limit {
				return contract.AppendU32(nil, r.Min+uint32(v%span)), nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.LittleEndian.Uint32(b[:])
}
