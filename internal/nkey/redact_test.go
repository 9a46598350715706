package nkey

import (
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestRedactSeeds(t *testing.T) {
	kp, err := Generate(Cluster)
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	pub := kp.Public().String()
	for _, s := range []string{string(seed), strings.ToLower(string(seed)), strings.ToUpper(string(seed[:20])) + strings.ToLower(string(seed[20:]))} {
		require.True(t, LooksLikeSeed("issuers: "+s+","), "%s… not recognised", s[:4])
		out := RedactSeeds("issuers: " + s + ",")
		require.Equal(t, "redacted", out, "issuers: "+SeedRedacted+",")
	}
	require.False(t, LooksLikeSeed(pub), "a public key looks like a seed")
	require.Equal(t, "public key kept", RedactSeeds(pub), pub)
}

func FuzzRedactSeeds(f *testing.F) {
	f.Add("SCABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWX")
	f.Add("scabcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx and more")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if LooksLikeSeed(RedactSeeds(s)) {
			t.Fatalf("%q still looks like it holds a seed after redaction", s)
		}
	})
}
