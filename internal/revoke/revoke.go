// Package revoke holds revocations of keys, with the semantics of NATS: a revocation is a public key and a
// time, and every token signed by that key, or issued for it, before that time is refused. A key revoked
// without a time is revoked for good: every token it signed or was issued for, whenever.
//
// A List is an immutable set of revocations; the host merges the ones of its revocations file
// (WASMCLOUD_REVOCATIONS_FILE: one key per line, optionally followed by an RFC 3339 time; blank lines and
// lines starting with # are ignored) with the ones the lattice publishes (`ctl revoke`), and swaps the merged
// List in whole when either changes.
package revoke

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// ErrSyntax is matched by every error of Parse: a line that is not a key and an optional time.
var ErrSyntax = errors.New("revoke: malformed revocation")

// ErrRevoked is matched by the errors of Check: the key is revoked for tokens issued when the token was.
var ErrRevoked = errors.New("revoke: key revoked")

// Forever is the time of a revocation without one: every token of the key, whenever issued, is refused.
var Forever = time.Unix(math.MaxInt64/int64(time.Second), 0)

// MaxLines bounds the revocations one file or one lattice may hold, so that a list cannot grow without end.
const MaxLines = 100_000

// List is a set of revocations, by key. The zero List revokes nothing. A List is never changed after it is
// built, so it may be read from any goroutine.
type List struct {
	before map[string]time.Time // key → tokens issued before this are refused
}

// New builds a List from revocations (key → time; Forever for a key alone).
func New(revocations map[string]time.Time) *List {
	return &List{before: maps.Clone(revocations)}
}

// Merge returns a List holding the revocations of every list; where two revoke one key, the later time (the
// one that refuses more tokens) wins.
func Merge(lists ...*List) *List {
	out := map[string]time.Time{}
	for _, l := range lists {
		if l == nil {
			continue
		}
		for k, t := range l.before {
			if prev, ok := out[k]; !ok || t.After(prev) {
				out[k] = t
			}
		}
	}
	return &List{before: out}
}

// Len returns the number of revoked keys.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.before)
}

// Keys returns the revoked keys, sorted.
func (l *List) Keys() []string {
	if l == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(l.before))
}

// Before returns the time before which the tokens of key are refused, and whether key is revoked at all.
func (l *List) Before(key string) (time.Time, bool) {
	if l == nil {
		return time.Time{}, false
	}
	t, ok := l.before[key]
	return t, ok
}

// Revoked reports whether a token signed by or issued for key at issuedAt is refused. A token without a time
// (issuedAt zero) is refused by any revocation of its key.
func (l *List) Revoked(key string, issuedAt time.Time) bool {
	t, ok := l.Before(key)
	return ok && (issuedAt.IsZero() || issuedAt.Before(t))
}

// Check returns an error matching ErrRevoked, naming the key, when Revoked(key, issuedAt); nil otherwise.
// what says what the key is to the token ("issuer", "subject", …).
func (l *List) Check(what, key string, issuedAt time.Time) error {
	if !l.Revoked(key, issuedAt) {
		return nil
	}
	t, _ := l.Before(key)
	if t.Equal(Forever) {
		return fmt.Errorf("%w: %s %s", ErrRevoked, what, key)
	}
	return fmt.Errorf("%w: %s %s, for tokens issued before %s", ErrRevoked, what, key, t.UTC().Format(time.RFC3339))
}

// Parse reads a revocations file: one public key per line (any nkey type but a seed), optionally followed by
// white space and an RFC 3339 time; blank lines and lines starting with # are ignored. Every malformed line is
// reported (the error joins one per line, each naming the line number and matching ErrSyntax), and the value
// of a line that looks like a seed is never repeated.
func Parse(r io.Reader) (*List, error) {
	out := map[string]time.Time{}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(out) >= MaxLines {
			return nil, fmt.Errorf("%w: more than %d revocations", ErrSyntax, MaxLines)
		}
		key, at, err := parseLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: line %d: %w", ErrSyntax, n, err))
			continue
		}
		if prev, ok := out[key]; !ok || at.After(prev) {
			out[key] = at
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrSyntax, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &List{before: out}, nil
}

// ParseBytes is Parse of b.
func ParseBytes(b []byte) (*List, error) { return Parse(bytes.NewReader(b)) }

// parseLine reads "KEY" or "KEY TIME".
func parseLine(line string) (string, time.Time, error) {
	fields := strings.Fields(line)
	if len(fields) > 2 {
		return "", time.Time{}, errors.New("want a key and at most a time")
	}
	key := fields[0]
	if nkey.LooksLikeSeed(key) {
		return "", time.Time{}, errors.New("a seed, not a public key (not shown)")
	}
	if err := CheckKey(key); err != nil {
		return "", time.Time{}, err
	}
	if len(fields) == 1 {
		return key, Forever, nil
	}
	at, err := time.Parse(time.RFC3339, fields[1])
	if err != nil {
		return "", time.Time{}, errors.New("the time is not an RFC 3339 time")
	}
	return key, at, nil
}

// CheckKey checks that key is a public key of a kind that signs or is issued tokens: an operator, account,
// cluster, module, service, server or user key.
func CheckKey(key string) error {
	if err := nkey.CheckID(key, nkey.Operator, nkey.Account, nkey.Cluster, nkey.Module, nkey.Service, nkey.Server, nkey.User); err != nil {
		return fmt.Errorf("not a public key: %w", err)
	}
	return nil
}
