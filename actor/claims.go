package actor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// Reasons a module is refused. A refusal is a *ModuleError that matches exactly one of these with errors.Is
// (and the underlying cause too, where there is one).
var (
	// ErrMalformedModule: the bytes are not a well-formed core WebAssembly module.
	ErrMalformedModule = errors.New("actor: malformed wasm module")
	// ErrUnsigned: the module carries no jwt or wasmcloud_jwt section.
	ErrUnsigned = errors.New("actor: module is not signed")
	// ErrMultipleTokens: the module carries more than one token section, so which one counts is ambiguous.
	ErrMultipleTokens = errors.New("actor: module carries more than one token")
	// ErrMalformedToken: the embedded token is not a well-formed wascap token (truncated, bad encoding, ...).
	ErrMalformedToken = errors.New("actor: malformed token")
	// ErrIssuer: the token's issuer is not an account key.
	ErrIssuer = errors.New("actor: token issuer is not an account key")
	// ErrBadSignature: the token's signature does not verify (its claims were edited, or it was forged).
	ErrBadSignature = errors.New("actor: token signature does not verify")
	// ErrSubject: the token's subject is not a module key.
	ErrSubject = errors.New("actor: token subject is not a module key")
	// ErrMetadata: the token has no actor metadata, or it lacks the module hash.
	ErrMetadata = errors.New("actor: token has no valid actor metadata")
	// ErrExpired: the token's exp has passed.
	ErrExpired = errors.New("actor: token expired")
	// ErrNotYetValid: the token's nbf has not come.
	ErrNotYetValid = errors.New("actor: token not valid yet")
	// ErrHashMismatch: the module's bytes are not the ones the token signed.
	ErrHashMismatch = errors.New("actor: module hash does not match its token")
)

// ModuleError is a refusal of a module: which module, which reason (one of the Err* values above) and the
// underlying cause.
type ModuleError struct {
	Module string // the name the caller gave (a file name or reference)
	Reason error
	Err    error // the cause, may be nil
}

func (e *ModuleError) Error() string {
	msg := fmt.Sprintf("actor: module %q refused: %s", e.Module, strings.TrimPrefix(e.Reason.Error(), "actor: "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the reason and the cause to errors.Is and errors.As.
func (e *ModuleError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// Claims is what a verified module's token says about the actor.
type Claims struct {
	Issuer         string // account key (A…) that signed the token
	Subject        string // the actor's module key (M…)
	Name           string
	Hash           string // module hash as signed, upper-case hex
	Caps           []string
	Tags           []string
	Rev            int32
	Ver            string
	CallAlias      string
	IssuedAt       time.Time
	Expires        time.Time // zero: never
	NotBefore      time.Time // zero: immediately
	WascapRevision int
	ID             string // jti
	Token          string // the raw token
}

// HasCap reports whether the actor's signed claims list the contract.
func (c *Claims) HasCap(contract string) bool { return slices.Contains(c.Caps, contract) }

// VerifyOptions tunes Verify. The zero value checks time bounds against the wall clock with no skew.
type VerifyOptions struct {
	Now  time.Time     // zero: time.Now()
	Skew time.Duration // tolerated clock difference for exp and nbf
}

// Verify checks the token embedded in a module and returns its claims. It finds the token section wherever it
// sits, checks the token's structure and signature (issuer: an account key; subject: a module key), its time
// bounds, and the module hash — always, whatever the token's wascap_revision: wasmCloud skips the hash for
// tokens below revision 3, which lets any old signed token be stapled onto other code. The hash is accepted
// when it matches either the module with the token section cut out byte for byte, or the same with section
// sizes re-encoded minimally (the two rules wascap has used).
func Verify(name string, wasm []byte, opts VerifyOptions) (*Claims, error) {
	c, err := Inspect(name, wasm, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Inspect is Verify for people: when the module is refused it still returns whatever the token claims (nil if
// no token could be decoded), so a tool can show what a bad token says next to why it was refused. Claims
// returned with an error must not be trusted.
func Inspect(name string, wasm []byte, opts VerifyOptions) (*Claims, error) {
	var claims *Claims
	refuse := func(reason, cause error) (*Claims, error) {
		return claims, &ModuleError{Module: name, Reason: reason, Err: cause}
	}
	mod, err := wasmbin.Parse(wasm)
	if err != nil {
		return refuse(ErrMalformedModule, err)
	}
	sections := mod.TokenSections()
	switch len(sections) {
	case 0:
		return refuse(ErrUnsigned, nil)
	case 1:
	default:
		return refuse(ErrMultipleTokens, fmt.Errorf("%d token sections", len(sections)))
	}
	tok, err := wascap.Parse(string(sections[0].Payload()))
	if err != nil {
		return refuse(ErrMalformedToken, err)
	}
	var meta wascap.Actor
	metaErr := tok.DecodeMetadata(&meta)
	claims = newClaims(tok, &meta)
	if _, err := nkey.ParsePublicOf(tok.Claims.Issuer, nkey.Account); err != nil {
		return refuse(ErrIssuer, err)
	}
	if _, err := tok.VerifyIssuer(nkey.Account); err != nil {
		return refuse(ErrBadSignature, err)
	}
	if err := tok.CheckSubject(nkey.Module); err != nil {
		return refuse(ErrSubject, err)
	}
	if metaErr != nil {
		return refuse(ErrMetadata, metaErr)
	}
	if meta.Hash == "" {
		return refuse(ErrMetadata, errors.New("no module hash"))
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
	raw, minimal := mod.Hashes()
	if meta.Hash != wasmbin.HexUpper(raw) && meta.Hash != wasmbin.HexUpper(minimal) {
		return refuse(ErrHashMismatch, fmt.Errorf("token says %s, module hashes to %s", meta.Hash, wasmbin.HexUpper(raw)))
	}
	return claims, nil
}

func newClaims(tok *wascap.Token, meta *wascap.Actor) *Claims {
	c := tok.Claims
	return &Claims{
		Issuer:         c.Issuer,
		Subject:        c.Subject,
		Name:           meta.Name,
		Hash:           meta.Hash,
		Caps:           meta.Caps,
		Tags:           meta.Tags,
		Rev:            meta.Rev,
		Ver:            meta.Ver,
		CallAlias:      meta.CallAlias,
		IssuedAt:       unixOrZero(c.IssuedAt),
		Expires:        unixOrZero(c.Expires),
		NotBefore:      unixOrZero(c.NotBefore),
		WascapRevision: c.Revision,
		ID:             c.ID,
		Token:          tok.Raw,
	}
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// SignOptions describe the token Sign embeds.
type SignOptions struct {
	Issuer    *nkey.KeyPair  // account key pair that signs
	Subject   nkey.PublicKey // the actor's module key
	Name      string
	Caps      []string
	Tags      []string
	Rev       int32
	Ver       string
	CallAlias string
	IssuedAt  time.Time // zero: now
	Expires   time.Time // zero: never
	NotBefore time.Time // zero: immediately
}

// Sign returns a copy of the module with a new token: every existing token section is removed, section sizes
// are re-encoded minimally, the hash of that module is signed (wascap_revision 3), and the token is appended
// as a wasmcloud_jwt section. Because the rest of the module is already in minimal form, the result verifies
// under both hash rules, so wasmCloud's tooling accepts it and so do we.
func Sign(wasm []byte, o SignOptions) ([]byte, error) {
	switch {
	case o.Issuer == nil || o.Issuer.Type() != nkey.Account:
		return nil, fmt.Errorf("actor: sign: the issuer must be an account key pair")
	case o.Subject.Type() != nkey.Module || o.Subject.IsZero():
		return nil, fmt.Errorf("actor: sign: the subject must be a module key")
	case o.Name == "":
		return nil, fmt.Errorf("actor: sign: a name is required")
	case !o.Expires.IsZero() && !o.NotBefore.IsZero() && !o.Expires.After(o.NotBefore):
		return nil, fmt.Errorf("actor: sign: expiry must be after not-before")
	}
	for _, c := range o.Caps {
		if c == "" {
			return nil, fmt.Errorf("actor: sign: empty capability contract")
		}
	}
	mod, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, &ModuleError{Module: o.Name, Reason: ErrMalformedModule, Err: err}
	}
	issued := o.IssuedAt
	if issued.IsZero() {
		issued = time.Now()
	}
	claims := wascap.Claims{
		Subject:  o.Subject.String(),
		IssuedAt: issued.Unix(),
		Revision: wascap.Revision,
	}
	if !o.Expires.IsZero() {
		claims.Expires = o.Expires.Unix()
	}
	if !o.NotBefore.IsZero() {
		claims.NotBefore = o.NotBefore.Unix()
	}
	tags := o.Tags
	if tags == nil {
		tags = []string{} // wash writes an empty list, not null
	}
	meta := wascap.Actor{
		Name:      o.Name,
		Hash:      wasmbin.HexUpper(mod.HashMinimal()),
		Tags:      tags,
		Caps:      o.Caps,
		Rev:       o.Rev,
		Ver:       o.Ver,
		CallAlias: o.CallAlias,
	}
	token, err := wascap.Sign(claims, meta, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("actor: sign: %w", err)
	}
	return mod.Embed([]byte(token))
}
