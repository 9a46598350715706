package httpserver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := Config{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2*time.Minute + 30*time.Second + 30*time.Second,
		HandlerTimeout:    30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxBody:           10 << 20,
		MaxHeaderBytes:    64 << 10,
		MaxConnections:    256,
		MaxConcurrent:     64,
		BodyBudget:        64 << 20,
	}
	require.Equal(t, "defaults", got, want)

	set := Config{ReadHeaderTimeout: 1, ReadTimeout: 2, WriteTimeout: 9, HandlerTimeout: 4, IdleTimeout: 5, MaxBody: 6, MaxHeaderBytes: 7,
		MaxConnections: 8, MaxConcurrent: 9, BodyBudget: 128 << 20}
	require.Equal(t, "explicit values", set.withDefaults(), set)

	// The default WriteTimeout follows the HandlerTimeout that was set.
	require.Equal(t, "derived WriteTimeout", Config{HandlerTimeout: time.Minute}.withDefaults().WriteTimeout,
		2*time.Minute+time.Minute+30*time.Second)

}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		wants []string // each names a field; nil means valid
	}{
		{name: "zero", cfg: Config{}},
		{name: "all set", cfg: Config{ReadHeaderTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Minute,
			HandlerTimeout: time.Second, IdleTimeout: time.Second, MaxBody: 1, MaxHeaderBytes: 1}},
		{name: "negative fields", cfg: Config{ReadHeaderTimeout: -1, ReadTimeout: -1, WriteTimeout: -1, HandlerTimeout: -1,
			IdleTimeout: -1, MaxBody: -1, MaxHeaderBytes: -1},
			wants: []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout is negative", "HandlerTimeout", "IdleTimeout", "MaxBody", "MaxHeaderBytes"}},
		{name: "write timeout within the default handler timeout", cfg: Config{WriteTimeout: 10 * time.Second},
			wants: []string{"WriteTimeout (10s) must exceed HandlerTimeout (30s)"}},
		{name: "write timeout equal to the handler timeout", cfg: Config{WriteTimeout: time.Second, HandlerTimeout: time.Second},
			wants: []string{"WriteTimeout (1s) must exceed HandlerTimeout (1s)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wants == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrConfig)
			lines := strings.Split(err.Error(), "\n")
			require.Equal(t, "number of problems", len(lines), len(tc.wants))
			for _, w := range tc.wants {
				assertContains(t, "error", err.Error(), w)
			}
			var joined interface{ Unwrap() []error }
			if errors.As(err, &joined) {
				for _, e := range joined.Unwrap() {
					require.ErrorIs(t, e, ErrConfig)
				}
			}
		})
	}
}
