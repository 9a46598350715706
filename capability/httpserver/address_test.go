package httpserver

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		want   string
		err    error
		key    string // the link value a *LinkValueError names
	}{
		{name: "address", values: map[string]string{"address": "127.0.0.1:8080"}, want: "127.0.0.1:8080"},
		{name: "address on every interface", values: map[string]string{"address": "0.0.0.0:80"}, want: "0.0.0.0:80"},
		{name: "IPv6 address", values: map[string]string{"address": "[::1]:8443"}, want: "[::1]:8443"},
		{name: "address with leading zeros in the port", values: map[string]string{"address": "10.0.0.1:0080"}, want: "10.0.0.1:80"},
		{name: "port", values: map[string]string{"port": "8080"}, want: "0.0.0.0:8080"},
		{name: "highest port", values: map[string]string{"port": "65535"}, want: "0.0.0.0:65535"},
		{name: "both agreeing", values: map[string]string{"address": "0.0.0.0:8080", "port": "8080"}, want: "0.0.0.0:8080"},
		{name: "other link values ignored", values: map[string]string{"port": "9000", "timeout_ms": "100"}, want: "0.0.0.0:9000"},
		{name: "neither", values: map[string]string{"timeout_ms": "100"}, err: ErrNoAddress},
		{name: "nil map", values: nil, err: ErrNoAddress},
		{name: "both disagreeing", values: map[string]string{"address": "127.0.0.1:8080", "port": "8080"}, err: ErrLinkValue, key: "port"},
		{name: "both with different ports", values: map[string]string{"address": "0.0.0.0:8081", "port": "8080"}, err: ErrLinkValue, key: "port"},
		{name: "port zero", values: map[string]string{"port": "0"}, err: ErrLinkValue, key: "port"},
		{name: "port too large", values: map[string]string{"port": "65536"}, err: ErrLinkValue, key: "port"},
		{name: "negative port", values: map[string]string{"port": "-1"}, err: ErrLinkValue, key: "port"},
		{name: "port with space", values: map[string]string{"port": " 8080"}, err: ErrLinkValue, key: "port"},
		{name: "empty port", values: map[string]string{"port": ""}, err: ErrLinkValue, key: "port"},
		{name: "address without port", values: map[string]string{"address": "127.0.0.1"}, err: ErrLinkValue, key: "address"},
		{name: "address with port zero", values: map[string]string{"address": "127.0.0.1:0"}, err: ErrLinkValue, key: "address"},
		{name: "address with host name", values: map[string]string{"address": "localhost:8080"}, err: ErrLinkValue, key: "address"},
		{name: "address without host", values: map[string]string{"address": ":8080"}, err: ErrLinkValue, key: "address"},
		{name: "IPv6 address without brackets", values: map[string]string{"address": "::1:8080"}, err: ErrLinkValue, key: "address"},
		{name: "empty address", values: map[string]string{"address": ""}, err: ErrLinkValue, key: "address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddress(tc.values)
			if tc.err == nil {
				require.NoError(t, err)
				require.Equal(t, "address", got, tc.want)
				return
			}
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, "address", got, "")
			if tc.key == "" {
				return
			}
			var lv *LinkValueError
			if !errors.As(err, &lv) {
				t.Fatalf("error %v is not a *LinkValueError", err)
			}
			require.Equal(t, "Key", lv.Key, tc.key)
			require.Equal(t, "Value", lv.Value, tc.values[tc.key])
			assertContains(t, "message", err.Error(), tc.key+"=")
		})
	}
}

// FuzzParseAddress checks that ParseAddress never panics, and that what it accepts is a usable
// listen address in normal form: parsing it again as "address" gives it back unchanged.
func FuzzParseAddress(f *testing.F) {
	for _, seed := range [][2]string{
		{"127.0.0.1:8080", ""}, {"", "8080"}, {"0.0.0.0:80", "80"}, {"[::1]:1", ""},
		{"[fe80::1%eth0]:443", ""}, {"1.2.3.4:0", "0"}, {"x", "y"}, {"[::ffff:1.2.3.4]:65535", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, address, port string) {
		values := map[string]string{}
		if address != "" {
			values["address"] = address
		}
		if port != "" {
			values["port"] = port
		}
		got, err := ParseAddress(values)
		if err != nil {
			if got != "" {
				t.Fatalf("ParseAddress returned %q with error %v", got, err)
			}
			if !errors.Is(err, ErrLinkValue) && !errors.Is(err, ErrNoAddress) {
				t.Fatalf("error %v wraps neither ErrLinkValue nor ErrNoAddress", err)
			}
			return
		}
		ap, err := netip.ParseAddrPort(got)
		if err != nil || ap.Port() == 0 {
			t.Fatalf("ParseAddress returned %q, which is not an address with a port: %v", got, err)
		}
		again, err := ParseAddress(map[string]string{"address": got})
		if err != nil || again != got {
			t.Fatalf("ParseAddress(address=%q) = %q, %v; want it unchanged", got, again, err)
		}
		if addrKey(got) != got {
			t.Fatalf("addrKey(%q) = %q, want it unchanged", got, addrKey(got))
		}
	})
}
