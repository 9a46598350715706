package wire

import (
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestEntityURL(t *testing.T) {
	tests := []struct {
		name   string
		entity Entity
		want   string
	}{
		{
			name:   "actor",
			entity: actorEntity,
			want:   "wasmbus://" + actorKey,
		},
		{
			name:   "actor ignores contract and link",
			entity: Entity{PublicKey: actorKey, ContractID: "wasmcloud:httpserver", LinkName: "default"},
			want:   "wasmbus://" + actorKey,
		},
		{
			name:   "lower-case m counts as an actor key",
			entity: Entity{PublicKey: "mabc", ContractID: "x", LinkName: "y"},
			want:   "wasmbus://mabc",
		},
		{
			name:   "provider",
			entity: providerEntity,
			want:   "wasmbus://wasmcloud/httpserver/default/" + providerKey,
		},
		{
			name:   "contract and link are lower-cased, spaces and colons replaced",
			entity: Entity{PublicKey: providerKey, ContractID: "Wasmcloud:Built In:Logging", LinkName: "My Link:1"},
			want:   "wasmbus://wasmcloud/built_in/logging/my_link:1/" + providerKey,
		},
		{
			name:   "public key is not lower-cased",
			entity: Entity{PublicKey: "VABC", ContractID: "c", LinkName: "l"},
			want:   "wasmbus://c/l/VABC",
		},
		{
			name:   "non-M key without contract or link",
			entity: Entity{PublicKey: hostKey},
			want:   "wasmbus:////" + hostKey,
		},
		{
			name:   "empty key",
			entity: Entity{},
			want:   "wasmbus:////",
		},
		{
			name:   "non-ASCII is lower-cased by code point",
			entity: Entity{PublicKey: "V1", ContractID: "ÄÖ:Ünï", LinkName: "ΔX"},
			want:   "wasmbus://äö/ünï/δx/V1",
		},
		{
			name:   "capital I with dot above lower-cases to two code points",
			entity: Entity{PublicKey: "V1", ContractID: "\u0130", LinkName: "l"},
			want:   "wasmbus://i\u0307/l/V1",
		},
		{
			name:   "invalid UTF-8 is copied unchanged",
			entity: Entity{PublicKey: "V1", ContractID: "A\xffB", LinkName: "l"},
			want:   "wasmbus://a\xffb/l/V1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, "URL()", tt.entity.URL(), tt.want)
			prefix := []byte("prefix:")
			require.Equal(t, "AppendURL()", string(tt.entity.AppendURL(prefix)), "prefix:"+tt.want)
		})
	}
}

func TestEntityAppendURLDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, e := range []Entity{actorEntity, providerEntity} {
		allocs := testing.AllocsPerRun(100, func() { buf = e.AppendURL(buf[:0]) })
		require.Equal(t, "allocations of AppendURL("+e.PublicKey+")", allocs, 0)
	}
	allocs := testing.AllocsPerRun(100, func() { _ = providerEntity.URL() })
	require.Equal(t, "allocations of URL()", allocs, 1)
}

func TestTargetURL(t *testing.T) {
	inv := goldenInvocation()
	require.Equal(t, "TargetURL()", inv.TargetURL(),
		"wasmbus://wasmcloud/httpserver/default/"+providerKey+"/HttpServer.HandleRequest")

	inv.Target = actorEntity
	inv.Operation = "Actor.HealthRequest"
	require.Equal(t, "TargetURL() of an actor", inv.TargetURL(), "wasmbus://"+actorKey+"/Actor.HealthRequest")
}
