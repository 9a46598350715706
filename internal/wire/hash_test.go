package wire

import (
	"crypto/sha256"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestHashVector checks the invocation hash against the vector computed from the 0.x sources
// (protocol notes §4.2).
func TestHashVector(t *testing.T) {
	inv := Invocation{
		Origin:    actorEntity,
		Target:    providerEntity,
		Operation: operation,
		Msg:       []byte{1, 2, 3, 4},
	}
	const want = "6F818CD888A96D649F75E827A4CAF753085E4A5DFDBC1D2E8A1E79092C9E6D2E"
	require.Equal(t, "HashHex(Hash())", HashHex(inv.Hash()), want)
}

func TestHashInputs(t *testing.T) {
	inv := goldenInvocation()
	input := "wasmbus://" + actorKey +
		"wasmbus://wasmcloud/httpserver/default/" + providerKey + "/" + operation +
		operation + "hello"
	require.Equal(t, "Hash()", inv.Hash(), sha256.Sum256([]byte(input)))

	// The hash covers every input: changing any of them changes it.
	base := inv.Hash()
	changes := []struct {
		name   string
		mutate func(*Invocation)
	}{
		{"origin key", func(i *Invocation) { i.Origin.PublicKey = "MX" }},
		{"target link", func(i *Invocation) { i.Target.LinkName = "other" }},
		{"target contract", func(i *Invocation) { i.Target.ContractID = "wasmcloud:keyvalue" }},
		{"operation", func(i *Invocation) { i.Operation = "HttpServer.Other" }},
		{"msg", func(i *Invocation) { i.Msg = []byte("hellO") }},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			mutated := goldenInvocation()
			c.mutate(&mutated)
			if mutated.Hash() == base {
				t.Errorf("changing %s does not change the hash", c.name)
			}
		})
	}
	// Fields outside the hash do not change it.
	other := goldenInvocation()
	other.ID, other.HostID, other.EncodedClaims, other.ContentLength = simpleID, clusterKey, "x", 99
	require.Equal(t, "Hash() with other id, host, claims, length", other.Hash(), base)
}

func TestHashDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so Hash allocates now and then")
	}
	inv := goldenInvocation()
	inv.Hash() // warm the pool
	allocs := testing.AllocsPerRun(100, func() { _ = inv.Hash() })
	require.Equal(t, "allocations of Hash()", allocs, 0)
}

func TestHashHex(t *testing.T) {
	var sum [32]byte
	for i := range sum {
		sum[i] = byte(i * 9)
	}
	require.Equal(t, "HashHex", HashHex(sum), "0009121B242D363F48515A636C757E879099A2ABB4BDC6CFD8E1EAF3FC050E17")
}
