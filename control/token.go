package control

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// Signed control requests. A request that changes the lattice carries, in the NATS header TokenHeader, a
// wascap-style JWT signed by an operator (O…) or account (A…) key. Its claims bind everything a replay or a
// forgery could change:
//
//	iss  the signer's public key (O… or A…), which the host must trust (WASMCLOUD_CTL_ISSUERS)
//	sub  the exact NATS subject the request is published on ({prefix}.{lattice}.linkdefs.put, ….cmd.{host}.la, …)
//	iat  when it was signed (Unix seconds); exp when it stops being valid (required, exp >= iat)
//	jti  a unique id (1..MaxTokenIDLen printable ASCII characters), remembered until exp to refuse replays
//	wascap {"type":"ctl_request","body_sha256":"<lower-case hex SHA-256 of the exact body bytes>"}
//
// The body is the 0.x JSON request, unchanged, so 0.x hosts (which ignore headers) still understand it. The
// token's header segment is wascap's ({"typ":"jwt","alg":"Ed25519"}) and the signature is Ed25519 over the
// first two segments, as for every wascap token.

// TokenHeader is the NATS header that carries a control request's token.
const TokenHeader = "Wasmcloud-Ctl-Token"

// TokenType is the "type" of a control token's metadata: it keeps a control token from passing for any other
// token the same key signs (an account key also signs actors).
const TokenType = "ctl_request"

// DefaultTokenValidity is the lifetime of the tokens a Signer makes, and the longest a Verifier honours a token
// after its iat, when they are configured with zero.
const DefaultTokenValidity = 60 * time.Second

// DefaultTokenSkew is the clock difference a Verifier tolerates when configured with zero.
const DefaultTokenSkew = 5 * time.Second

// MaxTokenIDLen bounds a token's jti.
const MaxTokenIDLen = 128

// tokenMetadata is the "wascap" object of a control token.
type tokenMetadata struct {
	Type       string `json:"type"`
	BodySHA256 string `json:"body_sha256"`
}

// BodyHash returns the body_sha256 a token binds for body: the lower-case hex SHA-256 of the exact bytes.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Signer signs control requests with an operator or account key. It is safe for concurrent use until Wipe.
type Signer struct {
	key      *nkey.KeyPair
	validity time.Duration
	now      func() time.Time
}

// NewSigner returns a signer for the seed (SO… or SA…), whose tokens are valid for validity
// (DefaultTokenValidity when zero or negative). It does not keep seed; the caller wipes it. Errors never
// contain the seed.
func NewSigner(seed []byte, validity time.Duration) (*Signer, error) {
	kp, err := nkey.ParseSeedOf(seed, nkey.Operator, nkey.Account)
	if err != nil {
		return nil, fmt.Errorf("control: signer seed: %w", err)
	}
	if validity <= 0 {
		validity = DefaultTokenValidity
	}
	return &Signer{key: kp, validity: validity, now: time.Now}, nil
}

// PublicKey returns the signer's public key (O… or A…), the one hosts list in WASMCLOUD_CTL_ISSUERS.
func (s *Signer) PublicKey() string { return s.key.Public().String() }

// Sign returns the token of a request with body published on subject, issued now.
func (s *Signer) Sign(subject string, body []byte) (string, error) {
	return s.SignAt(subject, body, s.now())
}

// SignAt returns the token of a request with body published on subject, issued at iat (whole seconds) and
// expiring the signer's validity later.
func (s *Signer) SignAt(subject string, body []byte, iat time.Time) (string, error) {
	if subject == "" {
		return "", fmt.Errorf("%w: no subject", ErrNotSigned)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("control: token id: %w", err)
	}
	start := iat.Unix()
	end := iat.Add(s.validity).Unix()
	if end == start {
		end++ // a validity under a second still has to outlive the second it was issued in
	}
	return wascap.Sign(wascap.Claims{
		ID:       hex.EncodeToString(id[:]),
		IssuedAt: start,
		Expires:  end,
		Subject:  subject,
		Revision: wascap.Revision,
	}, tokenMetadata{Type: TokenType, BodySHA256: BodyHash(body)}, s.key)
}

// Wipe overwrites the signer's private key; Sign must not be called afterwards.
func (s *Signer) Wipe() { s.key.Wipe() }

// Request is what a verified token says about the request it came with.
type Request struct {
	// Issuer is the trusted key that signed the token.
	Issuer string
	// ID is the token's jti.
	ID string
	// Subject is the NATS subject the token binds.
	Subject string
	// IssuedAt and Expires are the token's iat and exp.
	IssuedAt, Expires time.Time
	// Deadline is the last instant the token passes the time checks: the earlier of exp and iat plus the
	// verifier's validity, plus the clock skew. A replay cache must remember the token until then.
	Deadline time.Time
	// Token is the token as received.
	Token string
}

// ReplayKey identifies the token for replay protection: its issuer and jti (a jti is unique per issuer).
func (r Request) ReplayKey() string { return "ctl\x00" + r.Issuer + "\x00" + r.ID }

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuers are the trusted operator (O…) and account (A…) public keys. At least one is required.
	Issuers []string
	// Validity is the longest a token is honoured after its iat, whatever its exp says
	// (DefaultTokenValidity when zero).
	Validity time.Duration
	// Skew is the clock difference tolerated on iat and exp (DefaultTokenSkew when zero; negative: none).
	Skew time.Duration
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Verifier checks the tokens of control requests against a list of trusted keys. It holds no secret and no
// mutable state (replays are the caller's to refuse, with Request.ReplayKey), so it is safe for concurrent
// use.
type Verifier struct {
	trust    atomic.Pointer[verifierTrust] // replaced whole by SetIssuers and SetRevocations
	mu       sync.Mutex                    // serializes the replacements
	validity time.Duration
	skew     time.Duration
	now      func() time.Time
}

// verifierTrust is what a Verifier trusts, never changed once built.
type verifierTrust struct {
	issuers map[string]nkey.PublicKey
	list    []string
	revoked *revoke.List
}

// parseIssuers builds the trusted keys of a Verifier.
func parseIssuers(issuers []string) (map[string]nkey.PublicKey, []string, error) {
	if len(issuers) == 0 {
		return nil, nil, errors.New("control: no trusted control issuer")
	}
	m, list := make(map[string]nkey.PublicKey, len(issuers)), []string{}
	for i, s := range issuers {
		k, err := nkey.ParsePublicOf(s, nkey.Operator, nkey.Account)
		if err != nil {
			// The value is not echoed: a seed listed by mistake must not reach a log.
			return nil, nil, fmt.Errorf("control: trusted issuer %d: %w", i+1, err)
		}
		if _, dup := m[s]; !dup {
			list = append(list, s)
		}
		m[s] = k
	}
	return m, list, nil
}

// SetIssuers replaces the trusted keys (a reload): requests and stored entries are checked against the new
// list from the next one on. Nothing changes when the list is empty or an entry is not an operator or account
// key.
func (v *Verifier) SetIssuers(issuers []string) error {
	m, list, err := parseIssuers(issuers)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	t := *v.trust.Load()
	t.issuers, t.list = m, list
	v.trust.Store(&t)
	return nil
}

// SetRevocations replaces the revoked keys: a token whose issuer is revoked for tokens issued when it was is
// refused (ErrUntrustedSigner), by Verify and VerifyStored alike. Nil revokes nothing.
func (v *Verifier) SetRevocations(l *revoke.List) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := *v.trust.Load()
	t.revoked = l
	v.trust.Store(&t)
}

// NewVerifier builds a verifier. It fails when no issuer is given or one is not an operator or account
// public key.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	m, list, err := parseIssuers(cfg.Issuers)
	if err != nil {
		return nil, err
	}
	v := &Verifier{validity: cfg.Validity, skew: cfg.Skew, now: cfg.Now}
	v.trust.Store(&verifierTrust{issuers: m, list: list})
	if v.validity <= 0 {
		v.validity = DefaultTokenValidity
	}
	switch {
	case v.skew == 0:
		v.skew = DefaultTokenSkew
	case v.skew < 0:
		v.skew = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Issuers returns the trusted keys, in the order they were configured.
func (v *Verifier) Issuers() []string { return slices.Clone(v.trust.Load().list) }

// Verify checks the token of a request with body received on subject, in this order: a token is present and
// is a well-formed control token (ErrNotSigned), its issuer is trusted (ErrUntrustedSigner), its signature
// verifies (ErrNotSigned), it binds subject (ErrSubjectMismatch) and body (ErrBodyMismatch), and it is within
// its time bounds (ErrExpired, ErrNotYetValid). It does not check for replays.
func (v *Verifier) Verify(subject string, body []byte, token string) (Request, error) {
	r, err := v.verify(subject, body, token)
	if err != nil {
		return r, err
	}
	now := v.now()
	if now.Add(v.skew).Before(r.IssuedAt) {
		return Request{}, fmt.Errorf("%w: issued at %s", ErrNotYetValid, r.IssuedAt.UTC().Format(time.RFC3339))
	}
	if now.After(r.Deadline) {
		return Request{}, fmt.Errorf("%w at %s", ErrExpired, r.Deadline.Add(-v.skew).UTC().Format(time.RFC3339))
	}
	return r, nil
}

// VerifyStored checks a token kept with what it authorised (a link entry in the lattice bucket): everything
// Verify checks except the time bounds, which apply to a request in flight, not to a record of it.
func (v *Verifier) VerifyStored(subject string, body []byte, token string) (Request, error) {
	return v.verify(subject, body, token)
}

func (v *Verifier) verify(subject string, body []byte, token string) (Request, error) {
	if token == "" {
		return Request{}, ErrNotSigned
	}
	t, err := wascap.Parse(token)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrNotSigned, err)
	}
	c := t.Claims
	var meta tokenMetadata
	if err := t.DecodeMetadata(&meta); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrNotSigned, err)
	}
	switch {
	case meta.Type != TokenType:
		return Request{}, fmt.Errorf("%w: not a control token (type %q)", ErrNotSigned, meta.Type)
	case !isLowerHex(meta.BodySHA256, sha256.Size*2):
		return Request{}, fmt.Errorf("%w: body_sha256 is not a lower-case hex SHA-256", ErrNotSigned)
	case c.IssuedAt == 0 || c.Expires == 0:
		return Request{}, fmt.Errorf("%w: iat and exp are required", ErrNotSigned)
	case c.Expires < c.IssuedAt:
		return Request{}, fmt.Errorf("%w: exp before iat", ErrNotSigned)
	case !validID(c.ID):
		return Request{}, fmt.Errorf("%w: jti must be 1 to %d printable ASCII characters", ErrNotSigned, MaxTokenIDLen)
	}
	trust := v.trust.Load()
	key, ok := trust.issuers[c.Issuer]
	if !ok {
		if nkey.CheckID(c.Issuer, nkey.Operator, nkey.Account) != nil {
			return Request{}, fmt.Errorf("%w: issuer is not an operator or account key", ErrUntrustedSigner)
		}
		return Request{}, fmt.Errorf("%w: %s", ErrUntrustedSigner, c.Issuer)
	}
	if err := t.Verify(key); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrNotSigned, err)
	}
	if err := trust.revoked.Check("signer", c.Issuer, time.Unix(c.IssuedAt, 0)); err != nil {
		return Request{}, fmt.Errorf("%w: %w", ErrUntrustedSigner, err)
	}
	if c.Subject != subject {
		return Request{}, fmt.Errorf("%w: token for %q", ErrSubjectMismatch, c.Subject)
	}
	if BodyHash(body) != meta.BodySHA256 {
		return Request{}, ErrBodyMismatch
	}
	iat, exp := time.Unix(c.IssuedAt, 0), time.Unix(c.Expires, 0)
	deadline := exp
	if limit := iat.Add(v.validity); limit.Before(deadline) {
		deadline = limit
	}
	return Request{Issuer: c.Issuer, ID: c.ID, Subject: c.Subject, IssuedAt: iat, Expires: exp,
		Deadline: deadline.Add(v.skew), Token: token}, nil
}

// isLowerHex reports whether s is n lower-case hex digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// validID accepts 1..MaxTokenIDLen printable ASCII characters (no space).
func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxTokenIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// SignedRequest is a request body with the token that authorised it, as the lattice bucket keeps it next to
// a link. The zero value is an unsigned request.
type SignedRequest struct {
	Token string
	Body  []byte
}

// IsZero reports whether r carries no token.
func (r SignedRequest) IsZero() bool { return r.Token == "" }
