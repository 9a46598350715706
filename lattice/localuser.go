package lattice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// The embedded server's user. The embedded nats-server listens on loopback only, but every local user of the
// machine can reach loopback; so it accepts one NATS user, whose nkey seed the host that starts it generates
// into its state directory (LocalUserFile, mode 0600, in a 0700 directory). Hosts, `call` and `ctl` started by
// the same user with the same state directory read the seed there and authenticate with it when no NATS
// credentials are configured; anyone else gets "authorization violation".

// LocalUserFile is the name, in the state directory, of the file that holds the embedded server's user seed.
const LocalUserFile = "nats-user.nk"

// maxLocalUserFile bounds the file: a seed is 58 bytes.
const maxLocalUserFile = 4 << 10

// LocalUserPath returns the path of the embedded server's user seed in stateDir.
func LocalUserPath(stateDir string) string { return filepath.Join(stateDir, LocalUserFile) }

// LocalUser returns the seed of the embedded server's user kept in stateDir, and its public key (U…). When
// the file does not exist it is created, with a new seed, if create is true (stateDir too, mode 0700), and
// ErrNoLocalUser is returned otherwise. Two processes creating it at once end up with the same seed: the file
// appears whole or not at all. An existing file must be a regular file readable by its owner only; errors
// name the file and never contain the seed.
func LocalUser(stateDir string, create bool) (config.Secret, string, error) {
	path := LocalUserPath(stateDir)
	seed, pub, err := readLocalUser(path)
	if !create || !errors.Is(err, ErrNoLocalUser) {
		return seed, pub, err
	}
	if err := writeLocalUser(stateDir, path); err != nil {
		return config.Secret{}, "", err
	}
	return readLocalUser(path)
}

// readLocalUser reads and checks the seed file at path.
func readLocalUser(path string) (config.Secret, string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return config.Secret{}, "", fmt.Errorf("%w: %s: %w", ErrNoLocalUser, path, os.ErrNotExist)
	}
	if err != nil {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %s is readable by group or others (mode %04o); run chmod 600 %s",
			path, perm, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLocalUserFile))
	if err != nil {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: read %s: %w", path, err)
	}
	defer clear(b)
	raw := bytes.TrimSpace(b)
	kp, err := nkeys.FromSeed(raw)
	if err != nil {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %s does not hold a user seed", path)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return config.Secret{}, "", fmt.Errorf("lattice: embedded server user: %s does not hold a user seed (want SU…)", path)
	}
	return config.NewSecret(raw), pub, nil
}

// writeLocalUser writes a new user seed to path, unless a file is there already (another process won).
func writeLocalUser(stateDir, path string) error {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("lattice: embedded server user: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return fmt.Errorf("lattice: embedded server user: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("lattice: embedded server user: %w", err)
	}
	defer clear(seed)
	tmp, err := os.CreateTemp(stateDir, ".nats-user-*") // mode 0600
	if err != nil {
		return fmt.Errorf("lattice: embedded server user: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(seed, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lattice: embedded server user: write %s: %w", tmp.Name(), err)
	}
	// A hard link appears complete and fails if the name exists, so of two processes one wins and the other
	// reads the winner's seed.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("lattice: embedded server user: %w", err)
	}
	return nil
}

// ConnectLocal is Connect for a connection that may reach the embedded server another process of the same
// user started: when c carries no credentials, its URL names a loopback address and stateDir holds the
// embedded server's user seed, the connection authenticates with that seed (a server that asks for no
// authentication is then reached without it). It returns the seed it used (unset when none), which the caller
// wipes once the connection is closed.
func ConnectLocal(ctx context.Context, c ConnConfig, stateDir string, log *slog.Logger) (*nats.Conn, config.Secret, error) {
	if c.CredsFile != "" || c.JWT.IsSet() || c.Seed.IsSet() || stateDir == "" || !loopbackURLs(c.URL) {
		nc, err := Connect(ctx, c, log)
		return nc, config.Secret{}, err
	}
	seed, _, err := LocalUser(stateDir, false)
	if errors.Is(err, ErrNoLocalUser) {
		nc, err := Connect(ctx, c, log)
		return nc, config.Secret{}, authHint(err)
	}
	if err != nil {
		return nil, config.Secret{}, &ConnectError{Name: c.Name, URL: redactURL(c.URL), Err: err}
	}
	local := c
	local.Seed = seed
	nc, err := Connect(ctx, local, log)
	if errors.Is(err, nats.ErrNkeysNotSupported) { // a server without authentication
		seed.Wipe()
		nc, err = Connect(ctx, c, log)
		return nc, config.Secret{}, err
	}
	if err != nil {
		seed.Wipe()
		return nil, config.Secret{}, authHint(err)
	}
	return nc, seed, nil
}

// authHint adds to an authorization failure what it most likely means on a loopback address.
func authHint(err error) error {
	var ce *ConnectError
	if errors.As(err, &ce) && errors.Is(err, nats.ErrAuthorization) {
		ce.Err = fmt.Errorf("%w (if this is a host's embedded server: it admits only the user of that host's WASMCLOUD_STATE_DIR)", ce.Err)
	}
	return err
}

// loopbackURLs reports whether every URL of a comma-separated list names a loopback IP address or localhost.
func loopbackURLs(urls string) bool {
	for u := range strings.SplitSeq(urls, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			return false
		}
		h := p.Hostname()
		if ip := net.ParseIP(h); (ip == nil || !ip.IsLoopback()) && h != "localhost" {
			return false
		}
	}
	return true
}
