package control

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

const testSubject = "wasmbus.ctl.default.linkdefs.put"

// newSigner returns a signer for a fresh key of type typ and the key's seed.
func newSigner(t testing.TB, typ nkey.Type, validity time.Duration) (*Signer, []byte) {
	t.Helper()
	kp, err := nkey.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(seed, validity)
	if err != nil {
		t.Fatal(err)
	}
	return s, seed
}

func newVerifier(t testing.TB, now time.Time, issuers ...string) *Verifier {
	t.Helper()
	v, err := NewVerifier(VerifierConfig{Issuers: issuers, Validity: time.Minute, Skew: 5 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// segments splits a token and decodes its claims into a map.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// handToken builds a token from its documented format with ed25519 and nkeys only, as another implementation
// would: header, claims, signature.
func handToken(t testing.TB, kp nkeys.KeyPair, claims map[string]any) string {
	t.Helper()
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"jwt","alg":"Ed25519"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := head + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := kp.Sign([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	op, opSeed := newSigner(t, nkey.Operator, time.Minute)
	op.now = func() time.Time { return now }
	acct, _ := newSigner(t, nkey.Account, time.Minute)
	acct.now = op.now
	stranger, _ := newSigner(t, nkey.Operator, time.Minute)
	stranger.now = op.now
	v := newVerifier(t, now, op.PublicKey(), acct.PublicKey())
	body := []byte(`{"actor_id":"M","contract_id":"wasmcloud:keyvalue","link_name":"default"}`)

	sign := func(s *Signer, subject string, body []byte, iat time.Time) string {
		tok, err := s.SignAt(subject, body, iat)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(op, testSubject, body, now)

	t.Run("format", func(t *testing.T) {
		c := claimsOf(t, good)
		require.Equal(t, "iss", c["iss"], any(op.PublicKey()))
		require.Equal(t, "sub", c["sub"], any(testSubject))
		require.Equal(t, "iat", c["iat"], any(float64(now.Unix())))
		require.Equal(t, "exp", c["exp"], any(float64(now.Add(time.Minute).Unix())))
		sum := sha256.Sum256(body)
		require.DeepEqual(t, "wascap", c["wascap"], any(map[string]any{"type": "ctl_request", "body_sha256": hex.EncodeToString(sum[:])}))
		if jti, _ := c["jti"].(string); len(jti) != 32 {
			t.Fatalf("jti %q, want 32 hex digits", jti)
		}
		if strings.Contains(good, string(opSeed)) || strings.Contains(good, string(opSeed[2:])) {
			t.Fatal("the token contains the seed")
		}
		if sign(op, testSubject, body, now) == good {
			t.Fatal("two tokens of the same request are equal: the jti is not unique")
		}
	})

	handKP, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	handPub, _ := handKP.PublicKey()
	hv := newVerifier(t, now, handPub)
	sum := sha256.Sum256(body)
	handClaims := func(mod func(map[string]any)) string {
		c := map[string]any{"iss": handPub, "sub": testSubject, "iat": now.Unix(), "exp": now.Unix() + 30, "jti": "0b7c1d3e-9f2a-4c55-8e1b-7a6d5c4b3a29",
			"wascap": map[string]any{"type": "ctl_request", "body_sha256": hex.EncodeToString(sum[:])}}
		if mod != nil {
			mod(c)
		}
		return handToken(t, handKP, c)
	}

	tampered := []byte(strings.Replace(string(body), "keyvalue", "messaging", 1))
	flipped := good[:len(good)-3] + string(rune(good[len(good)-3]^1)) + good[len(good)-2:]
	tests := []struct {
		name    string
		v       *Verifier
		subject string
		body    []byte
		token   string
		want    error
	}{
		{"operator", v, testSubject, body, good, nil},
		{"account", v, testSubject, body, sign(acct, testSubject, body, now), nil},
		{"empty body", v, testSubject, nil, sign(op, testSubject, nil, now), nil},
		{"made by hand from the documented format", hv, testSubject, body, handClaims(nil), nil},
		{"no token", v, testSubject, body, "", ErrNotSigned},
		{"not a JWT", v, testSubject, body, "garbage", ErrNotSigned},
		{"signature tampered", v, testSubject, body, flipped, ErrNotSigned},
		{"untrusted operator", v, testSubject, body, sign(stranger, testSubject, body, now), ErrUntrustedSigner},
		{"body tampered", v, testSubject, tampered, good, ErrBodyMismatch},
		{"body with a trailing space", v, testSubject, append(body, ' '), good, ErrBodyMismatch},
		{"another subject", v, "wasmbus.ctl.default.linkdefs.del", body, good, ErrSubjectMismatch},
		{"another lattice", v, "wasmbus.ctl.other.linkdefs.put", body, good, ErrSubjectMismatch},
		{"expired", v, testSubject, body, sign(op, testSubject, body, now.Add(-66*time.Second)), ErrExpired},
		{"within the skew after exp", v, testSubject, body, sign(op, testSubject, body, now.Add(-64*time.Second)), nil},
		{"issued in the future", v, testSubject, body, sign(op, testSubject, body, now.Add(6*time.Second)), ErrNotYetValid},
		{"exp far away is cut at iat plus validity", hv, testSubject, body, handClaims(func(c map[string]any) {
			c["iat"], c["exp"] = now.Unix()-120, now.Unix()+3600
		}), ErrExpired},
		{"no exp", hv, testSubject, body, handClaims(func(c map[string]any) { delete(c, "exp") }), ErrNotSigned},
		{"exp before iat", hv, testSubject, body, handClaims(func(c map[string]any) { c["exp"] = now.Unix() - 1 }), ErrNotSigned},
		{"no jti", hv, testSubject, body, handClaims(func(c map[string]any) { delete(c, "jti") }), ErrNotSigned},
		{"jti with a space", hv, testSubject, body, handClaims(func(c map[string]any) { c["jti"] = "a b" }), ErrNotSigned},
		{"jti too long", hv, testSubject, body, handClaims(func(c map[string]any) { c["jti"] = strings.Repeat("x", MaxTokenIDLen+1) }), ErrNotSigned},
		{"no metadata", hv, testSubject, body, handClaims(func(c map[string]any) { delete(c, "wascap") }), ErrNotSigned},
		{"an actor's metadata", hv, testSubject, body, handClaims(func(c map[string]any) {
			c["wascap"] = map[string]any{"hash": strings.Repeat("A", 64), "name": "x"}
		}), ErrNotSigned},
		{"upper-case hash", hv, testSubject, body, handClaims(func(c map[string]any) {
			c["wascap"] = map[string]any{"type": "ctl_request", "body_sha256": strings.ToUpper(hex.EncodeToString(sum[:]))}
		}), ErrNotSigned},
		{"issuer is a cluster key", hv, testSubject, body, handClaims(func(c map[string]any) { c["iss"] = publicOf(t, nkey.Cluster) }), ErrUntrustedSigner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.v.Verify(tt.subject, tt.body, tt.token)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, "subject", r.Subject, tt.subject)
				if !r.Deadline.After(r.IssuedAt) || r.Deadline.After(r.IssuedAt.Add(time.Minute+5*time.Second)) {
					t.Fatalf("deadline %s for iat %s", r.Deadline, r.IssuedAt)
				}
				return
			}
			require.ErrorIs(t, err, tt.want)
			checkOneReason(t, err)
		})
	}

	t.Run("stored tokens do not expire", func(t *testing.T) {
		old := sign(op, testSubject, body, now.Add(-24*time.Hour))
		_, err := v.Verify(testSubject, body, old)
		require.ErrorIs(t, err, ErrExpired)
		r, err := v.VerifyStored(testSubject, body, old)
		require.NoError(t, err)
		require.Equal(t, "iat", r.IssuedAt, now.Add(-24*time.Hour))
		_, err = v.VerifyStored(testSubject, tampered, old)
		require.ErrorIs(t, err, ErrBodyMismatch)
	})
	t.Run("replay keys", func(t *testing.T) {
		r1, _ := v.Verify(testSubject, body, good)
		r2, _ := v.Verify(testSubject, body, sign(op, testSubject, body, now))
		if r1.ReplayKey() == r2.ReplayKey() || !strings.Contains(r1.ReplayKey(), op.PublicKey()) {
			t.Fatalf("replay keys %q and %q", r1.ReplayKey(), r2.ReplayKey())
		}
	})
}

// checkOneReason fails unless err matches exactly one refusal sentinel.
func checkOneReason(t testing.TB, err error) {
	t.Helper()
	n := 0
	for _, s := range []error{ErrNotSigned, ErrUntrustedSigner, ErrBodyMismatch, ErrSubjectMismatch, ErrExpired, ErrNotYetValid} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v matches %d refusal sentinels, want 1", err, n)
	}
}

func publicOf(t testing.TB, typ nkey.Type) string {
	t.Helper()
	kp, err := nkey.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	return kp.Public().String()
}

func TestNewSignerAndVerifierRefuse(t *testing.T) {
	cluster, err := nkey.Generate(nkey.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := cluster.Seed()
	t.Run("a cluster seed", func(t *testing.T) {
		_, err := NewSigner(seed, 0)
		require.ErrorIs(t, err, nkey.ErrWrongType)
		if strings.Contains(err.Error(), string(seed[2:])) {
			t.Fatal("the error shows the seed")
		}
	})
	t.Run("garbage seed", func(t *testing.T) {
		_, err := NewSigner([]byte("SOnotaseed"), 0)
		require.ErrorContains(t, err, "control: signer seed")
		if strings.Contains(err.Error(), "notaseed") {
			t.Fatal("the error shows the seed")
		}
	})
	tests := []struct {
		name    string
		issuers []string
		want    string
	}{
		{"none", nil, "no trusted control issuer"},
		{"a cluster key", []string{cluster.Public().String()}, "trusted issuer"},
		{"a seed", []string{string(seed)}, "seed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(VerifierConfig{Issuers: tt.issuers})
			require.ErrorContains(t, err, tt.want)
			if strings.Contains(err.Error(), string(seed[2:])) {
				t.Fatal("the error shows the seed")
			}
		})
	}
	t.Run("duplicates listed once", func(t *testing.T) {
		op := publicOf(t, nkey.Operator)
		v, err := NewVerifier(VerifierConfig{Issuers: []string{op, op}})
		require.NoError(t, err)
		require.DeepEqual(t, "issuers", v.Issuers(), []string{op})
	})
}

// FuzzVerifyToken: no token and body make the verifier panic; a token verifies only when it was signed by the
// trusted key for this subject and body; every refusal matches exactly one sentinel.
func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	kp, err := nkey.FromRawSeed(nkey.Operator, make([]byte, ed25519.SeedSize))
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := kp.Seed()
	s, err := NewSigner(seed, time.Minute)
	if err != nil {
		f.Fatal(err)
	}
	v := newVerifier(f, now, s.PublicKey())
	body := []byte(`{"actor_ref":"x"}`)
	tok, _ := s.SignAt(testSubject, body, now)
	other, _ := wascap.Sign(wascap.Claims{Subject: testSubject, IssuedAt: now.Unix(), Expires: now.Unix() + 60}, map[string]string{"type": "ctl_request"}, kp)
	for _, seed := range []struct {
		tok  string
		body []byte
	}{{tok, body}, {tok, nil}, {other, body}, {"", body}, {"a.b.c", body}, {tok + "x", body}, {strings.Replace(tok, ".", "..", 1), body}} {
		f.Add(seed.tok, seed.body)
	}
	f.Fuzz(func(t *testing.T, token string, b []byte) {
		r, err := v.Verify(testSubject, b, token)
		if err != nil {
			checkOneReason(t, err)
			return
		}
		if r.Issuer != s.PublicKey() || BodyHash(b) != BodyHash(body) {
			t.Fatalf("accepted a token of %s for body %q", r.Issuer, b)
		}
	})
}

// TestVerifierReload: the trusted keys and the revocations of a Verifier change without a new Verifier, and
// every holder of it sees the change at once.
func TestVerifierReload(t *testing.T) {
	first, _ := newSigner(t, nkey.Operator, time.Minute)
	second, _ := newSigner(t, nkey.Account, time.Minute)
	v, err := NewVerifier(VerifierConfig{Issuers: []string{first.PublicKey()}})
	require.NoError(t, err)
	body := []byte(`{}`)
	tok, err := second.Sign("a.b", body)
	require.NoError(t, err)
	_, err = v.Verify("a.b", body, tok)
	require.ErrorIs(t, err, ErrUntrustedSigner)
	require.NoError(t, v.SetIssuers([]string{first.PublicKey(), second.PublicKey()}))
	_, err = v.Verify("a.b", body, tok)
	require.NoError(t, err)
	require.True(t, v.SetIssuers(nil) != nil, "an empty list accepted")
	require.True(t, v.SetIssuers([]string{"OBAD"}) != nil, "a malformed key accepted")
	require.DeepEqual(t, "issuers after refused changes", v.Issuers(), []string{first.PublicKey(), second.PublicKey()})

	v.SetRevocations(revoke.New(map[string]time.Time{second.PublicKey(): revoke.Forever}))
	_, err = v.Verify("a.b", body, tok)
	require.ErrorIs(t, err, ErrUntrustedSigner)
	require.ErrorIs(t, err, revoke.ErrRevoked)
	_, err = v.VerifyStored("a.b", body, tok)
	require.ErrorIs(t, err, revoke.ErrRevoked)
}
