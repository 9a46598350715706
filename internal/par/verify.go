package par

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// Claims is what a provider archive's token says about the provider.
type Claims struct {
	Issuer         string // account key (A…) that signed the token
	Subject        string // the provider's service key (V…)
	Name           string // empty when the token's name is null
	CapID          string // the capability contract, such as wasmcloud:keyvalue
	Vendor         string
	Rev            int32
	Ver            string
	TargetHashes   map[string]string // target (or WorldEntry) → upper-case hex SHA-256
	ConfigSchema   json.RawMessage   // nil when absent
	IssuedAt       time.Time
	Expires        time.Time // zero: never
	NotBefore      time.Time // zero: immediately
	WascapRevision int
	ID             string // jti
	Token          string // the raw token
}

// VerifyOptions tune Verify and Inspect. The zero value checks time bounds against the wall clock with no
// skew and accepts any account as issuer.
type VerifyOptions struct {
	Now  time.Time     // zero: time.Now()
	Skew time.Duration // tolerated clock difference for exp and nbf
	// TrustedIssuers, when not empty, lists the account keys (A…) whose archives are accepted.
	TrustedIssuers []string
}

// Verify checks the archive's token and the binary for target, and returns the token's claims; the binary
// is then a.Binary(target) (if Read kept it). The checks, in order: the token's structure, an account key as
// issuer, the signature, the trusted issuers, provider metadata (not an actor's or another kind's), a
// service key as subject, well-formed metadata, the time bounds, a binary for target, its hash against
// target_hashes[target], and the WIT world's hash when the archive has one. Hashes of other targets are not
// looked at: a host runs one binary. A refusal is a *VerifyError.
func Verify(a *Archive, target string, opts VerifyOptions) (*Claims, error) {
	if target == "" {
		return nil, &VerifyError{Reason: ErrNoBinary, Err: errors.New("no target was named")}
	}
	c, err := verifyToken(a, opts)
	if err != nil {
		return nil, err
	}
	if err := checkBinary(a, c, target); err != nil {
		return nil, err
	}
	if a.world != nil {
		if err := checkBinary(a, c, WorldEntry); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// TargetStatus compares one target's binary with its signed hash.
type TargetStatus struct {
	Target     string // a target name, or WorldEntry
	SignedHash string // from the token's target_hashes; empty when it has none for this target
	Hash       string // of the binary in the archive; empty when the archive has none
	Size       int64  // of the binary in the archive
}

// OK reports whether the archive holds the binary and it matches its signed hash.
func (s TargetStatus) OK() bool { return s.Hash != "" && s.Hash == s.SignedHash }

// Report is what Inspect found.
type Report struct {
	// Claims are what the token claims, nil when no token could be decoded. They must not be trusted when
	// Inspect returned an error.
	Claims *Claims
	// Targets lists every target that has a binary in the archive or a hash in the token, sorted, with
	// WorldEntry last when either has one.
	Targets []TargetStatus
}

// Inspect is Verify for people: it checks the token as Verify does, then every target rather than one (each
// binary must match its signed hash, and each signed target must have its binary), and reports what it found
// even when it refuses the archive, so a tool can show what a bad archive claims next to why it was refused.
// The error is the first refusal, a *VerifyError.
func Inspect(a *Archive, opts VerifyOptions) (*Report, error) {
	r := &Report{}
	tok, _ := wascap.Parse(a.token)
	var hashes map[string]string
	if tok != nil {
		r.Claims = newClaims(tok)
		hashes = r.Claims.TargetHashes
	}
	names := slices.Sorted(maps.Keys(a.binaries))
	for t := range hashes {
		if t != WorldEntry && a.binaries[t] == nil {
			names = append(names, t)
		}
	}
	slices.Sort(names)
	if _, ok := hashes[WorldEntry]; ok || a.world != nil {
		names = append(names, WorldEntry)
	}
	for _, t := range names {
		s := TargetStatus{Target: t, SignedHash: hashes[t]}
		if e := a.lookup(t); e != nil {
			s.Hash, s.Size = e.hash, e.size
		}
		r.Targets = append(r.Targets, s)
	}
	c, err := verifyToken(a, opts)
	if err != nil {
		return r, err
	}
	r.Claims = c
	for _, s := range r.Targets {
		if s.Target == WorldEntry && a.world == nil {
			continue // the WIT world is optional, and no binary: wasmCloud ignores a missing one
		}
		if err := checkBinary(a, c, s.Target); err != nil {
			return r, err
		}
	}
	return r, nil
}

// verifyToken runs the checks of the token, in the order Verify documents.
func verifyToken(a *Archive, opts VerifyOptions) (*Claims, error) {
	refuse := func(reason, cause error) (*Claims, error) {
		return nil, &VerifyError{Reason: reason, Err: cause}
	}
	tok, err := wascap.Parse(a.token)
	if err != nil {
		return refuse(ErrMalformedToken, err)
	}
	if _, err := nkey.ParsePublicOf(tok.Claims.Issuer, nkey.Account); err != nil {
		return refuse(ErrIssuer, err)
	}
	if _, err := tok.VerifyIssuer(nkey.Account); err != nil {
		return refuse(ErrBadSignature, err)
	}
	if len(opts.TrustedIssuers) > 0 && !slices.Contains(opts.TrustedIssuers, tok.Claims.Issuer) {
		return refuse(ErrUntrustedIssuer, fmt.Errorf("issuer %s", tok.Claims.Issuer))
	}
	switch k := tok.MetadataKind(); k {
	case wascap.KindProvider:
	case wascap.KindNone:
		return refuse(ErrMetadata, wascap.ErrNoMetadata)
	default:
		return refuse(ErrNotProvider, fmt.Errorf("it carries %s metadata", k))
	}
	if err := tok.CheckSubject(nkey.Service); err != nil {
		return refuse(ErrSubject, err)
	}
	meta, err := tok.DecodeProvider()
	if err != nil {
		return refuse(ErrMetadata, err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := tok.CheckTime(now, opts.Skew); err != nil {
		if errors.Is(err, wascap.ErrExpired) {
			return refuse(ErrExpired, err)
		}
		return refuse(ErrNotYetValid, err)
	}
	c := newClaims(tok)
	fill(c, meta)
	return c, nil
}

// checkBinary checks that the archive holds the binary for target and that it matches its signed hash.
func checkBinary(a *Archive, c *Claims, target string) error {
	e := a.lookup(target)
	signed, hasHash := c.TargetHashes[target]
	switch {
	case e == nil:
		return &VerifyError{Target: target, Reason: ErrNoBinary, Err: holds(a)}
	case !hasHash:
		return &VerifyError{Target: target, Reason: ErrUnsignedBinary}
	case e.hash != signed:
		return &VerifyError{Target: target, Reason: ErrHashMismatch,
			Err: fmt.Errorf("token says %s, binary hashes to %s", signed, e.hash)}
	}
	return nil
}

// holds describes which binaries the archive has, for an error about a missing one.
func holds(a *Archive) error {
	return fmt.Errorf("the archive holds %s", strings.Join(a.Targets(), ", "))
}

// newClaims fills Claims from a token that has not been verified: whatever of the provider metadata decodes,
// leniently, so that a tool can show what a refused token claims.
func newClaims(tok *wascap.Token) *Claims {
	c := tok.Claims
	out := &Claims{
		Issuer:         c.Issuer,
		Subject:        c.Subject,
		IssuedAt:       unixOrZero(c.IssuedAt),
		Expires:        unixOrZero(c.Expires),
		NotBefore:      unixOrZero(c.NotBefore),
		WascapRevision: c.Revision,
		ID:             c.ID,
		Token:          tok.Raw,
	}
	var meta wascap.Provider
	_ = tok.DecodeMetadata(&meta) // best effort: fields of the wrong type stay empty
	fill(out, &meta)
	return out
}

func fill(c *Claims, m *wascap.Provider) {
	if m.Name != nil {
		c.Name = *m.Name
	}
	c.CapID, c.Vendor, c.Rev, c.Ver = m.CapID, m.Vendor, m.Rev, m.Ver
	c.TargetHashes, c.ConfigSchema = m.TargetHashes, m.ConfigSchema
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
