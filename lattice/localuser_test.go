package lattice

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestLocalUser(t *testing.T) {
	t.Run("created once, private, read again", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		_, _, err := LocalUser(dir, false)
		require.ErrorIs(t, err, ErrNoLocalUser)
		require.ErrorIs(t, err, os.ErrNotExist)
		seed, pub, err := LocalUser(dir, true)
		require.NoError(t, err)
		if !strings.HasPrefix(string(seed.Reveal()), "SU") || !strings.HasPrefix(pub, "U") {
			t.Fatalf("not a user key: %s", pub)
		}
		fi, err := os.Stat(LocalUserPath(dir))
		require.NoError(t, err)
		require.Equal(t, "file mode", fi.Mode().Perm(), os.FileMode(0o600))
		di, err := os.Stat(dir)
		require.NoError(t, err)
		require.Equal(t, "dir mode", di.Mode().Perm(), os.FileMode(0o700))
		seed2, pub2, err := LocalUser(dir, true)
		require.NoError(t, err)
		require.Equal(t, "same key", pub2, pub)
		require.Equal(t, "same seed", string(seed2.Reveal()), string(seed.Reveal()))
		entries, _ := os.ReadDir(dir)
		require.Equal(t, "files in the state dir", len(entries), 1)
	})
	t.Run("two processes at once get one key", func(t *testing.T) {
		dir := t.TempDir()
		pubs := make([]string, 8)
		var wg sync.WaitGroup
		for i := range pubs {
			wg.Go(func() {
				_, pub, err := LocalUser(dir, true)
				if err != nil {
					t.Error(err)
				}
				pubs[i] = pub
			})
		}
		wg.Wait()
		for _, p := range pubs {
			require.Equal(t, "key", p, pubs[0])
		}
	})

	userSeed, _ := userKey(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"readable by others", func(t *testing.T, dir string) {
			write(t, LocalUserPath(dir), userSeed, 0o644)
		}, "is readable by group or others (mode 0644); run chmod 600 "},
		{"readable by the group", func(t *testing.T, dir string) {
			write(t, LocalUserPath(dir), userSeed, 0o640)
		}, "mode 0640"},
		{"a symbolic link", func(t *testing.T, dir string) {
			target := filepath.Join(t.TempDir(), "seed")
			write(t, target, userSeed, 0o600)
			require.NoError(t, os.Symlink(target, LocalUserPath(dir)))
		}, "is not a regular file"},
		{"not a seed", func(t *testing.T, dir string) {
			write(t, LocalUserPath(dir), []byte("SUnotaseed-but-secret"), 0o600)
		}, "does not hold a user seed"},
		{"an account seed", func(t *testing.T, dir string) {
			write(t, LocalUserPath(dir), []byte(accountSeedOf(t)), 0o600)
		}, "does not hold a user seed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			_, _, err := LocalUser(dir, true)
			require.ErrorContains(t, err, LocalUserPath(dir), tt.want)
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), string(userSeed[2:])) {
				t.Fatalf("error %q shows the file's content", err)
			}
		})
	}
}

func write(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, b, 0o600))
	require.NoError(t, os.Chmod(path, mode))
}

// TestEmbeddedUser: an embedded server with a user directory admits only that user, who reaches JetStream;
// ConnectLocal finds the user through the state directory.
func TestEmbeddedUser(t *testing.T) {
	dir := t.TempDir()
	e := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: filepath.Join(dir, "jetstream"), UserDir: dir}, nil)
	require.NoError(t, e.Start(t.Context()))
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	url := e.ClientURL()
	ctx := t.Context()

	t.Run("without credentials", func(t *testing.T) {
		_, err := Connect(ctx, ConnConfig{Name: "ctl", URL: url}, nil)
		require.ErrorIs(t, err, nats.ErrAuthorization)
	})
	t.Run("with the state directory's user", func(t *testing.T) {
		nc, user, err := ConnectLocal(ctx, ConnConfig{Name: "ctl", URL: url}, dir, nil)
		require.NoError(t, err)
		defer user.Wipe()
		defer nc.Close()
		require.Equal(t, "the seed used", string(user.Reveal()), string(e.User().Reveal()))
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LATTICEDATA_default"})
		require.NoError(t, err)
		_, err = kv.Put(ctx, "k", []byte("v"))
		require.NoError(t, err)
	})
	t.Run("with another state directory", func(t *testing.T) {
		other := t.TempDir()
		_, _, err := LocalUser(other, true)
		require.NoError(t, err)
		_, _, err = ConnectLocal(ctx, ConnConfig{Name: "ctl", URL: url}, other, nil)
		require.ErrorIs(t, err, nats.ErrAuthorization)
		require.ErrorContains(t, err, "lattice: connect ctl to "+url, "WASMCLOUD_STATE_DIR")
		_, _, err = ConnectLocal(ctx, ConnConfig{Name: "ctl", URL: url}, t.TempDir(), nil) // no user file at all
		require.ErrorIs(t, err, nats.ErrAuthorization)
	})
	t.Run("configured credentials win", func(t *testing.T) {
		seed, _ := userKey(t)
		_, user, err := ConnectLocal(ctx, ConnConfig{Name: "ctl", URL: url, Seed: config.NewSecret(seed)}, dir, nil)
		require.ErrorIs(t, err, nats.ErrAuthorization)
		require.False(t, user.IsSet(), "the local user was used")
	})
	t.Run("the seed is wiped at shutdown", func(t *testing.T) {
		user := e.User()
		require.NoError(t, e.Shutdown(context.Background()))
		require.False(t, user.IsSet(), "the seed is still set")
	})
}

// TestConnectLocalToAnOpenServer: a user file in the state directory does not keep ConnectLocal from a server
// that asks for no authentication.
func TestConnectLocalToAnOpenServer(t *testing.T) {
	srv := runServer(t, &server.Options{})
	dir := t.TempDir()
	_, _, err := LocalUser(dir, true)
	require.NoError(t, err)
	nc, user, err := ConnectLocal(t.Context(), ConnConfig{Name: "rpc", URL: srv.ClientURL()}, dir, nil)
	require.NoError(t, err)
	nc.Close()
	require.False(t, user.IsSet(), "a seed is kept for an open server")
}

func TestLoopbackURLs(t *testing.T) {
	tests := []struct {
		urls string
		want bool
	}{
		{"nats://127.0.0.1:4222", true},
		{"nats://[::1]:4222", true},
		{"nats://localhost:4222", true},
		{"nats://127.0.0.1:4222,nats://127.0.0.2:4223", true},
		{"nats://10.0.0.1:4222", false},
		{"nats://127.0.0.1:4222,tls://nats.example:4222", false},
		{"tls://nats.example:4222", false},
		{"::", false},
	}
	for _, tt := range tests {
		t.Run(tt.urls, func(t *testing.T) {
			require.Equal(t, "loopback", loopbackURLs(tt.urls), tt.want)
		})
	}
}

// FuzzReadLocalUser: no file content makes reading the embedded server's user panic; a content is accepted
// only when it is a user seed, and an error never shows the content.
func FuzzReadLocalUser(f *testing.F) {
	seed, _ := userKey(f)
	for _, s := range [][]byte{seed, append(append([]byte(" \n"), seed...), '\n'), []byte(accountSeedOf(f)), nil, []byte("SU"), []byte("\x00\xff")} {
		f.Add(s)
	}
	dir := f.TempDir()
	path := LocalUserPath(dir)
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, pub, err := readLocalUser(path)
		if err != nil {
			if c := strings.TrimSpace(string(content)); len(c) > 8 && strings.Contains(err.Error(), c) {
				t.Fatalf("error %q shows the content", err)
			}
			return
		}
		if !strings.HasPrefix(pub, "U") || !strings.HasPrefix(string(s.Reveal()), "SU") {
			t.Fatalf("accepted %q as the user %s", content, pub)
		}
	})
}

// accountSeedOf returns the seed of a fresh account key.
func accountSeedOf(tb testing.TB) string {
	tb.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := kp.Seed()
	return string(b)
}
