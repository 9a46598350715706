package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestSignedControlVariables(t *testing.T) {
	opSeed, opPub := seed(t, nkeys.CreateOperator)
	acctSeed, acctPub := seed(t, nkeys.CreateAccount)
	_, acct2 := seed(t, nkeys.CreateAccount)
	clusterSeed, clusterPub := seed(t, nkeys.CreateCluster)

	t.Run("valid", func(t *testing.T) {
		c := mustLoad(t, environ(
			"WASMCLOUD_CTL_ISSUERS="+opPub+","+acctPub+","+opPub,
			"WASMCLOUD_CTL_ISSUER_SEED="+opSeed,
			"WASMCLOUD_CTL_TOKEN_VALIDITY=90s",
			"WASMCLOUD_ACTOR_ISSUERS="+acctPub+", "+acct2,
		))
		require.DeepEqual(t, "CtlIssuers", c.CtlIssuers, []string{opPub, acctPub})
		require.Equal(t, "CtlIssuerSeed", string(c.CtlIssuerSeed.Reveal()), opSeed)
		require.Equal(t, "CtlTokenValidity", c.CtlTokenValidity, 90*time.Second)
		require.DeepEqual(t, "ActorIssuers", c.ActorIssuers, []string{acctPub, acct2})
	})
	t.Run("an account seed signs too", func(t *testing.T) {
		c := mustLoad(t, environ("WASMCLOUD_CTL_ISSUER_SEED="+acctSeed))
		require.Equal(t, "CtlIssuerSeed", string(c.CtlIssuerSeed.Reveal()), acctSeed)
	})

	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"cluster key as control issuer", []string{"WASMCLOUD_CTL_ISSUERS=" + clusterPub},
			`WASMCLOUD_CTL_ISSUERS: "` + clusterPub + `": not an operator or account public key (want O… or A…)`},
		{"garbage control issuer", []string{"WASMCLOUD_CTL_ISSUERS=" + opPub + ",OXYZ"},
			`WASMCLOUD_CTL_ISSUERS: "OXYZ": not an operator or account public key (want O… or A…)`},
		{"seed as control issuer", []string{"WASMCLOUD_CTL_ISSUERS=" + opSeed},
			`WASMCLOUD_CTL_ISSUERS: not an operator or account public key (want O… or A…) (the value looks like a seed and is not shown)`},
		{"operator as actor issuer", []string{"WASMCLOUD_ACTOR_ISSUERS=" + opPub},
			`WASMCLOUD_ACTOR_ISSUERS: "` + opPub + `": not an account public key (want A…)`},
		{"cluster seed as issuer seed", []string{"WASMCLOUD_CTL_ISSUER_SEED=" + clusterSeed},
			`WASMCLOUD_CTL_ISSUER_SEED: not an operator or account seed (want SO… or SA…)`},
		{"zero validity", []string{"WASMCLOUD_CTL_TOKEN_VALIDITY=0s"}, `WASMCLOUD_CTL_TOKEN_VALIDITY: "0s": must be positive`},
		{"not a duration", []string{"WASMCLOUD_CTL_TOKEN_VALIDITY=soon"}, `WASMCLOUD_CTL_TOKEN_VALIDITY: "soon": not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFrom(environ(tt.env...))
			require.ErrorIs(t, err, ErrInvalid)
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
			for _, s := range []string{opSeed, acctSeed, clusterSeed} {
				if strings.Contains(err.Error(), s[2:]) {
					t.Fatalf("error %q shows a seed", err)
				}
			}
		})
	}
}

func TestCtlIssuerSeedFile(t *testing.T) {
	opSeed, _ := seed(t, nkeys.CreateOperator)
	clusterSeed, _ := seed(t, nkeys.CreateCluster)
	good := writeFile(t, "op.nk", []byte(opSeed+"\n"))
	wrongType := writeFile(t, "cluster.nk", []byte(clusterSeed))
	empty := writeFile(t, "empty.nk", []byte("\n"))
	open := writeFile(t, "open.nk", []byte(opSeed))
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	groupOnly := writeFile(t, "group.nk", []byte(opSeed))
	if err := os.Chmod(groupOnly, 0o640); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope.nk")

	t.Run("read and trimmed", func(t *testing.T) {
		c := mustLoad(t, environ("WASMCLOUD_CTL_ISSUER_SEED_FILE="+good))
		require.Equal(t, "seed", string(c.CtlIssuerSeed.Reveal()), opSeed)
		require.Equal(t, "file", c.CtlIssuerSeedFile, good)
	})
	tests := []struct {
		name string
		env  []string
		want string
		kind error
	}{
		{"readable by others", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + open},
			`WASMCLOUD_CTL_ISSUER_SEED_FILE: "` + open + `": holds a secret but is readable by group or others (mode 0644); run: chmod 600 ` + open, ErrInvalid},
		{"readable by the group", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + groupOnly},
			`WASMCLOUD_CTL_ISSUER_SEED_FILE: "` + groupOnly + `": holds a secret but is readable by group or others (mode 0640); run: chmod 600 ` + groupOnly, ErrInvalid},
		{"missing", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + missing},
			`WASMCLOUD_CTL_ISSUER_SEED_FILE: "` + missing + `": cannot read: no such file or directory`, os.ErrNotExist},
		{"directory", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + t.TempDir()}, `": cannot read: is a directory`, ErrInvalid},
		{"empty", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + empty}, `WASMCLOUD_CTL_ISSUER_SEED_FILE: "` + empty + `": file is empty`, ErrInvalid},
		{"wrong type", []string{"WASMCLOUD_CTL_ISSUER_SEED_FILE=" + wrongType},
			`WASMCLOUD_CTL_ISSUER_SEED_FILE: "` + wrongType + `": content is not an operator or account seed (want SO… or SA…)`, ErrInvalid},
		{"both", []string{"WASMCLOUD_CTL_ISSUER_SEED=" + opSeed, "WASMCLOUD_CTL_ISSUER_SEED_FILE=" + good},
			`WASMCLOUD_CTL_ISSUER_SEED_FILE: set together with WASMCLOUD_CTL_ISSUER_SEED (use one)`, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFrom(environ(tt.env...))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if strings.Contains(err.Error(), opSeed[2:]) || strings.Contains(err.Error(), clusterSeed[2:]) {
				t.Fatalf("error %q shows a seed", err)
			}
		})
	}
}
