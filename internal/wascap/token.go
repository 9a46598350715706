// Package wascap encodes, decodes and verifies wascap tokens: the Ed25519-signed JWTs that wasmCloud embeds in
// actor modules, attaches to invocations and ships with providers.
//
// Decoding is strict where wasmCloud's own decoders were lenient or crashed: exactly three segments, strict
// unpadded base64url, the exact header semantics, a 64-byte signature, and a signature checked over the first
// two segments exactly as received (never re-serialised). Parse checks structure only; the caller then
// verifies the signature, the issuer's trust and the time bounds, in the order its protocol requires.
package wascap

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nuid"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// MaxTokenSize bounds the tokens this package decodes. Real tokens are well under 2 KiB; the bound keeps a
// hostile peer from making the decoder chew on megabytes.
const MaxTokenSize = 64 << 10

// Revision is the wascap_revision written into tokens this package signs (wascap >= 0.10.1).
const Revision = 3

// headerSegment is base64url({"typ":"jwt","alg":"Ed25519"}), the only header wascap writes.
const headerSegment = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0"

var b64 = base64.RawURLEncoding.Strict()

// Claims are the registered claims of a wascap token, with the kind-specific metadata kept raw. Field order
// is the order wascap serialises them in.
type Claims struct {
	Expires   int64           `json:"exp,omitempty"`
	ID        string          `json:"jti"`
	IssuedAt  int64           `json:"iat"`
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	NotBefore int64           `json:"nbf,omitempty"`
	Metadata  json.RawMessage `json:"wascap,omitempty"`
	Revision  int             `json:"wascap_revision,omitempty"`
}

// Token is a structurally valid token whose signature has not been checked yet.
type Token struct {
	Raw    string
	Claims Claims

	signingInput []byte // the first two segments, as received
	sig          [ed25519.SignatureSize]byte
}

// Parse splits and decodes a token. It checks the structure, the header and the presence of iss and sub; it
// does not check the signature or the time bounds.
func Parse(raw string) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), MaxTokenSize)
	}
	if n := strings.Count(raw, "."); n != 2 {
		return nil, fmt.Errorf("%w, found %d", ErrSegments, n+1)
	}
	first := strings.IndexByte(raw, '.')
	second := first + 1 + strings.IndexByte(raw[first+1:], '.')
	hdr, body, sig := raw[:first], raw[first+1:second], raw[second+1:]

	if hdr != headerSegment {
		if err := checkHeader(hdr); err != nil {
			return nil, err
		}
	}
	t := &Token{Raw: raw, signingInput: []byte(raw[:second])}
	if b64.DecodedLen(len(sig)) == ed25519.SignatureSize {
		// The usual case, decoded in place; the same refusals as below otherwise.
		if _, err := b64.Decode(t.sig[:], stringBytes(sig)); err != nil {
			return nil, fmt.Errorf("%w: signature: %v", ErrEncoding, err)
		}
	} else {
		sigBytes, err := b64.DecodeString(sig)
		if err != nil {
			return nil, fmt.Errorf("%w: signature: %v", ErrEncoding, err)
		}
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrSignatureSize, len(sigBytes), ed25519.SignatureSize)
	}
	claims := make([]byte, b64.DecodedLen(len(body)))
	n, err := b64.Decode(claims, stringBytes(body))
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrEncoding, err)
	}
	// claims is never written again: the decoded strings may share its memory.
	if !decodeClaims(bytesString(claims[:n]), &t.Claims) {
		if err := json.Unmarshal(claims[:n], &t.Claims); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrClaims, err)
		}
	}
	if t.Claims.Expires < 0 || t.Claims.IssuedAt < 0 || t.Claims.NotBefore < 0 {
		return nil, fmt.Errorf("%w: negative time", ErrClaims)
	}
	if t.Claims.Issuer == "" {
		return nil, ErrMissingIssuer
	}
	if t.Claims.Subject == "" {
		return nil, ErrMissingSubject
	}
	return t, nil
}

// checkHeader validates a header that is not byte-for-byte the one wascap writes.
func checkHeader(seg string) error {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrEncoding, err)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b, &h); err != nil || h == nil {
		return fmt.Errorf("%w: not a JSON object", ErrHeader)
	}
	var alg, typ string
	if json.Unmarshal(h["alg"], &alg) != nil || alg != "Ed25519" {
		return ErrAlgorithm
	}
	if json.Unmarshal(h["typ"], &typ) != nil || typ != "jwt" {
		return fmt.Errorf("%w: typ must be \"jwt\"", ErrHeader)
	}
	if _, ok := h["crit"]; ok {
		return ErrCritical
	}
	return nil
}

// SigningInput returns the bytes the signature covers: the first two segments exactly as received.
func (t *Token) SigningInput() []byte { return t.signingInput }

// Verify checks the signature under key, which the caller has resolved from the issuer claim (for example
// from a table of trusted, already-parsed keys).
func (t *Token) Verify(key nkey.PublicKey) error {
	if !key.Encodes(t.Claims.Issuer) {
		return fmt.Errorf("%w: key %s is not the issuer", ErrSignature, key)
	}
	if !key.Verify(t.signingInput, t.sig[:]) {
		return ErrSignature
	}
	return nil
}

// VerifyIssuer parses the issuer claim, checks that it is one of the allowed key types, and verifies the
// signature under it. It returns the issuer's key.
func (t *Token) VerifyIssuer(allowed ...nkey.Type) (nkey.PublicKey, error) {
	key, err := nkey.ParsePublicOf(t.Claims.Issuer, allowed...)
	if err != nil {
		return nkey.PublicKey{}, fmt.Errorf("%w: %w", ErrIssuer, err)
	}
	if !key.Verify(t.signingInput, t.sig[:]) {
		return nkey.PublicKey{}, ErrSignature
	}
	return key, nil
}

// CheckSubject checks that the subject claim is a public key of one of the given types.
func (t *Token) CheckSubject(allowed ...nkey.Type) error {
	if err := nkey.CheckID(t.Claims.Subject, allowed...); err != nil {
		return fmt.Errorf("%w: %w", ErrSubject, err)
	}
	return nil
}

// CheckTime refuses a token whose exp has passed or whose nbf has not come, allowing skew either way.
func (t *Token) CheckTime(now time.Time, skew time.Duration) error {
	if exp := t.Claims.Expires; exp != 0 && now.After(time.Unix(exp, 0).Add(skew)) {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	if nbf := t.Claims.NotBefore; nbf != 0 && now.Add(skew).Before(time.Unix(nbf, 0)) {
		return fmt.Errorf("%w: not before %s", ErrNotYetValid, time.Unix(nbf, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// DecodeMetadata decodes the wascap metadata object into v.
func (t *Token) DecodeMetadata(v any) error {
	m := t.Claims.Metadata
	if len(m) == 0 || bytes.Equal(m, []byte("null")) {
		return ErrNoMetadata
	}
	switch v := v.(type) {
	case *Invocation:
		if v.decodeJSON(m) {
			return nil
		}
	case *Response:
		if v.decodeJSON(m) {
			return nil
		}
	}
	if err := json.Unmarshal(m, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	return nil
}

// Sign fills in iss (from kp), jti (when empty) and the metadata, and returns the signed token. The caller sets
// sub, iat and the optional exp and nbf; a zero iat is set to now.
func Sign(c Claims, metadata any, kp *nkey.KeyPair) (string, error) {
	if c.Subject == "" {
		return "", ErrMissingSubject
	}
	c.Issuer = kp.Public().String()
	if c.ID == "" {
		c.ID = nuid.Next()
	}
	if c.IssuedAt == 0 {
		c.IssuedAt = time.Now().Unix()
	}
	var body []byte
	if m, ok := metadata.(metadataAppender); ok {
		// The fixed-layout encoder: the bytes marshal would write (see json.go), in one buffer.
		scratch := make([]byte, 0, 512)
		scratch = m.appendJSON(scratch)
		c.Metadata = scratch
		body = c.appendJSON(scratch[len(scratch):])
	} else {
		if metadata != nil {
			m, err := marshal(metadata)
			if err != nil {
				return "", fmt.Errorf("wascap: encode metadata: %w", err)
			}
			c.Metadata = m
		}
		var err error
		if body, err = marshal(c); err != nil {
			return "", fmt.Errorf("wascap: encode claims: %w", err)
		}
	}
	buf := make([]byte, 0, len(headerSegment)+2+b64.EncodedLen(len(body))+b64.EncodedLen(ed25519.SignatureSize))
	buf = append(buf, headerSegment...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, body)
	sig := kp.Sign(buf)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

// marshal encodes compact JSON without HTML escaping, as serde_json writes it.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
