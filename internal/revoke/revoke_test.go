package revoke

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func key(t testing.TB, typ nkey.Type) (string, string) {
	t.Helper()
	kp, err := nkey.Generate(typ)
	require.NoError(t, err)
	seed, err := kp.Seed()
	require.NoError(t, err)
	return kp.Public().String(), string(seed)
}

func TestParse(t *testing.T) {
	acct, acctSeed := key(t, nkey.Account)
	mod, _ := key(t, nkey.Module)
	cl, _ := key(t, nkey.Cluster)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l, err := ParseBytes([]byte("# revoked after the incident\n\n" + acct + "\n" + mod + " 2026-11-01T12:00:00Z\n  " + cl + "\t2026-10-01T00:00:00Z \n" +
		cl + " 2026-11-01T12:00:00Z\n"))
	require.NoError(t, err)
	require.Equal(t, "revoked keys", l.Len(), 3)
	require.True(t, l.Revoked(acct, time.Now()), "an account revoked for good, now")
	require.True(t, l.Revoked(acct, time.Now().Add(time.Hour)), "… and later")
	require.True(t, l.Revoked(mod, at.Add(-time.Second)), "a module token issued before the time")
	require.False(t, l.Revoked(mod, at.Add(time.Second)), "a module token issued after it")
	require.True(t, l.Revoked(cl, at.Add(-time.Minute)), "the later of two times wins")
	require.True(t, l.Revoked(mod, time.Time{}), "a token without a time")
	require.ErrorIs(t, l.Check("issuer", acct, time.Now()), ErrRevoked)
	require.NoError(t, l.Check("issuer", "ANOTREVOKED", time.Now()))

	_, err = ParseBytes([]byte(mod + " yesterday\nnot-a-key\n" + acctSeed + "\n" + acct + " " + at.Format(time.RFC3339) + " extra\n"))
	require.ErrorIs(t, err, ErrSyntax)
	for _, want := range []string{"line 1", "line 2", "line 3", "line 4", "not shown"} {
		require.True(t, strings.Contains(err.Error(), want), "error %q lacks %q", err, want)
	}
	require.False(t, strings.Contains(err.Error(), acctSeed[2:]), "the error repeats a seed")
}

func TestMerge(t *testing.T) {
	a, _ := key(t, nkey.Account)
	early, late := time.Unix(1000, 0), time.Unix(2000, 0)
	m := Merge(New(map[string]time.Time{a: early}), nil, New(map[string]time.Time{a: late}))
	got, ok := m.Before(a)
	require.True(t, ok && got.Equal(late), "merged time %v", got)
	var zero *List
	require.False(t, zero.Revoked(a, time.Now()), "the nil list revokes")
}

func FuzzParse(f *testing.F) {
	f.Add("ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW\n")
	f.Add("MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5 2026-01-01T00:00:00Z\n# c\n")
	f.Add("x y z\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseBytes([]byte(s))
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not match ErrSyntax", err)
			}
			if nkey.LooksLikeSeed(err.Error()) {
				t.Fatalf("error %q shows a seed", err)
			}
			return
		}
		for _, k := range l.Keys() {
			if CheckKey(k) != nil {
				t.Fatalf("key %q accepted", k)
			}
		}
	})
}
