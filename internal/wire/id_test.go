package wire

import (
	"regexp"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestParseID(t *testing.T) {
	want := [16]byte{0x4b, 0x0f, 0x2c, 0x6e, 0x8d, 0x3a, 0x4f, 0x1b, 0x9c, 0x2e, 0x7a, 0x5d, 0x6e, 0x8f, 0x90, 0x12}
	tests := []struct {
		name   string
		id     string
		wantOK bool
	}{
		{"hyphenated lower", hyphenID, true},
		{"hyphenated upper", "4B0F2C6E-8D3A-4F1B-9C2E-7A5D6E8F9012", true},
		{"simple lower", simpleID, true},
		{"simple mixed case", "4B0f2C6e8D3a4F1b9C2e7A5d6E8f9012", true},
		{"empty", "", false},
		{"hyphens misplaced", "4b0f2c6e8-d3a-4f1b-9c2e-7a5d6e8f9012", false},
		{"non-hex in simple", "4b0f2c6e8d3a4f1b9c2e7a5d6e8f901g", false},
		{"non-hex in hyphenated", "4b0f2c6e-8d3a-4f1b-9c2e-7a5d6e8f901z", false},
		{"hyphen inside a group", "4b0f2c6e-8d3a-4f1b-9c2e-7a5d6e8f-012", false},
		{"braced", "{4b0f2c6e-8d3a-4f1b-9c2e-7a5d6e8f9012}", false},
		{"urn", "urn:uuid:4b0f2c6e-8d3a-4f1b-9c2e-7a5d6e8f9012", false},
		{"too short", "4b0f2c6e8d3a4f1b9c2e7a5d6e8f901", false},
		{"too long", simpleID + "0", false},
		{"nuid", "SjB5MTxLPmvcBmmvcJkQnH", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseID(tt.id)
			require.Equal(t, "ok", ok, tt.wantOK)
			if tt.wantOK {
				require.Equal(t, "key", got, want)
			} else {
				require.Equal(t, "key", got, [16]byte{})
			}
		})
	}
}

func TestParseIDDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = ParseID(hyphenID)
		_, _ = ParseID(simpleID)
	})
	require.Equal(t, "allocations of ParseID", allocs, 0)
}

func TestNewID(t *testing.T) {
	format := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 100 {
		id := NewID()
		if !format.MatchString(id) {
			t.Fatalf("NewID() = %q, not a hyphenated lower-case UUIDv4", id)
		}
		key, ok := ParseID(id)
		if !ok {
			t.Fatalf("ParseID(NewID() = %q) failed", id)
		}
		require.Equal(t, "version nibble", key[6]>>4, 4)
		require.Equal(t, "variant bits", key[8]>>6, 2)
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
