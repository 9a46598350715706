package nkey

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func mustParseSeed(t *testing.T, seed string) *KeyPair {
	t.Helper()
	kp, err := ParseSeed([]byte(seed))
	if err != nil {
		t.Fatalf("ParseSeed: %v", err)
	}
	return kp
}

// The seeds that signed the two _unpriv fixtures derive their issuers and subjects; nkeys cannot read the
// module (SM) seeds at all.
func TestFixtureSeeds(t *testing.T) {
	tests := []struct {
		file, public string
		typ          Type
	}{
		{"echo_unpriv_account.nk", "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM", Account},
		{"echo_unpriv_module.nk", "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5", Module},
		{"kvcounter_unpriv_account.nk", "ABRIBHH54GM7QIEJBYYGZJUSDAMO34YM4SKWUQJGIILRB7JYGXEPWUVT", Account},
		{"kvcounter_unpriv_module.nk", "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU", Module},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			seed := bytes.TrimSpace(testutil.ReadFile(t, "keys/"+tc.file))
			kp := mustParseSeed(t, string(seed))
			if got := kp.Public().String(); got != tc.public {
				t.Fatalf("public key = %s, want %s", got, tc.public)
			}
			if kp.Type() != tc.typ {
				t.Fatalf("type = %v, want %v", kp.Type(), tc.typ)
			}
			back, err := kp.Seed()
			if err != nil || !bytes.Equal(back, seed) {
				t.Fatalf("Seed() does not round-trip (err %v)", err)
			}
			p, err := ParsePublic(tc.public)
			if err != nil || p != kp.Public() {
				t.Fatalf("ParsePublic = %v, %v", p, err)
			}
		})
	}
}

// For the types nkeys supports, both libraries agree on seeds, public keys and signatures.
func TestAgreesWithNkeys(t *testing.T) {
	for _, typ := range []Type{Account, Cluster, Server, Operator, User} {
		t.Run(typ.String(), func(t *testing.T) {
			theirs, err := nkeys.CreatePair(nkeys.PrefixByte(typ))
			if err != nil {
				t.Fatal(err)
			}
			seed, _ := theirs.Seed()
			theirPub, _ := theirs.PublicKey()
			ours := mustParseSeed(t, string(seed))
			if ours.Public().String() != theirPub {
				t.Fatalf("public %s, nkeys says %s", ours.Public(), theirPub)
			}
			if string(seed[:2]) != "S"+string(typ.Letter()) {
				t.Fatalf("seed starts %q", seed[:2])
			}
			msg := []byte("invocation")
			sig := ours.Sign(msg)
			if err := theirs.Verify(msg, sig); err != nil {
				t.Fatalf("nkeys rejects our signature: %v", err)
			}
			theirSig, _ := theirs.Sign(msg)
			if !ours.Public().Verify(msg, theirSig) {
				t.Fatal("we reject nkeys' signature")
			}

			gen, err := Generate(typ)
			if err != nil {
				t.Fatal(err)
			}
			genSeed, _ := gen.Seed()
			back, err := nkeys.FromSeed(genSeed)
			if err != nil {
				t.Fatalf("nkeys cannot read our seed: %v", err)
			}
			if pub, _ := back.PublicKey(); pub != gen.Public().String() {
				t.Fatalf("nkeys derives %s from our seed, we %s", pub, gen.Public())
			}
		})
	}
}

func TestEveryTypeRoundTrips(t *testing.T) {
	for _, typ := range Types() {
		t.Run(typ.String(), func(t *testing.T) {
			kp, err := Generate(typ)
			if err != nil {
				t.Fatal(err)
			}
			pub := kp.Public().String()
			if pub[0] != typ.Letter() || len(pub) != 56 {
				t.Fatalf("public key %s", pub)
			}
			seed, _ := kp.Seed()
			if len(seed) != 58 || seed[0] != 'S' || seed[1] != typ.Letter() {
				t.Fatalf("seed has the wrong shape for %v", typ)
			}
			again := mustParseSeed(t, string(seed))
			if again.Public() != kp.Public() {
				t.Fatal("seed does not round-trip")
			}
			p, err := ParsePublicOf(pub, typ)
			if err != nil || p != kp.Public() {
				t.Fatalf("ParsePublicOf: %v", err)
			}
			msg := []byte("hello")
			if !p.Verify(msg, kp.Sign(msg)) {
				t.Fatal("signature does not verify")
			}
			if p.Verify([]byte("hellO"), kp.Sign(msg)) {
				t.Fatal("signature verifies another message")
			}
		})
	}
}

func TestParseTypeNames(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"account", Account}, {"module", Module}, {"actor", Module}, {"service", Service},
		{"provider", Service}, {"server", Server}, {"host", Server}, {"operator", Operator},
		{"cluster", Cluster}, {"user", User}, {"C", Cluster}, {"M", Module},
	}
	for _, tc := range tests {
		got, err := ParseType(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseType("curve"); !errors.Is(err, ErrUnknownType) {
		t.Errorf("ParseType(curve) error = %v", err)
	}
}

// encodeRaw builds an encoding with a valid checksum around arbitrary bytes, for refusal tests.
func encodeRaw(raw []byte) string { return encode(raw) }

func TestParsePublicRefusals(t *testing.T) {
	good := "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
	flip := []byte(good)
	flip[20] = 'A' + (flip[20]-'A'+1)%26
	if flip[20] == good[20] {
		t.Fatal("test bug")
	}
	seedKP, _ := Generate(Cluster)
	seed, _ := seedKP.Seed()
	pub := seedKP.Public().Bytes()

	identity := make([]byte, 32)
	identity[0] = 1
	offCurve := make([]byte, 32)
	offCurve[0] = 2 // no x satisfies the curve equation for y = 2

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrInvalidEncoding},
		{"short", good[:55], ErrInvalidEncoding},
		{"long", good + "A", ErrInvalidEncoding},
		{"lower case", strings.ToLower(good), ErrInvalidEncoding},
		{"not base32", good[:55] + "1", ErrInvalidEncoding},
		{"bad checksum", string(flip), ErrInvalidChecksum},
		{"seed given", string(seed), ErrSeedNotPublic},
		{"private prefix P", encodeRaw(append([]byte{15 << 3}, pub...)), ErrUnknownType},
		{"curve prefix X", encodeRaw(append([]byte{23 << 3}, pub...)), ErrUnknownType},
		{"identity point", encodeRaw(append([]byte{byte(Account)}, identity...)), ErrInvalidKey},
		{"order-4 point (all zero)", encodeRaw(append([]byte{byte(Account)}, make([]byte, 32)...)), ErrInvalidKey},
		{"not on curve", encodeRaw(append([]byte{byte(Cluster)}, offCurve...)), ErrInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePublic(tc.in)
			require.ErrorIs(t, err, tc.want)
			if len(tc.in) > 8 && strings.Contains(err.Error(), tc.in) {
				t.Fatalf("error echoes its input: %v", err)
			}
		})
	}
}

func TestParsePublicOfWrongType(t *testing.T) {
	_, err := ParsePublicOf("ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW", Cluster)
	require.ErrorIs(t, err, ErrWrongType)
	var te *TypeError
	if !errors.As(err, &te) || te.Got != Account {
		t.Fatalf("error = %#v", err)
	}
	if got, want := err.Error(), "nkey: want cluster (C…) key, got account (A…)"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

func TestCheckID(t *testing.T) {
	if err := CheckID("MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", Module); err != nil {
		t.Fatal(err)
	}
	require.ErrorIs(t, CheckID("MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", Server), ErrWrongType)
	require.ErrorIs(t, CheckID("MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WDA"), ErrInvalidChecksum)
	require.ErrorIs(t, CheckID("N"), ErrInvalidEncoding)
	kp, _ := Generate(Server)
	seed, _ := kp.Seed()
	require.ErrorIs(t, CheckID(string(seed), Server), ErrSeedNotPublic)
}

func TestParseSeedRefusals(t *testing.T) {
	kp, _ := Generate(Cluster)
	seed, _ := kp.Seed()
	s := string(seed)

	// Last character carries two unused bits: set them.
	nonCanonical := []byte(s)
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", nonCanonical[57])
	nonCanonical[57] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[last|1]
	if string(nonCanonical) == s {
		nonCanonical[57] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[last&^1]
	}
	badSum := []byte(s)
	badSum[30] = 'A' + (badSum[30]-'A'+1)%26
	if badSum[30] < 'A' || badSum[30] > 'Z' {
		badSum[30] = 'B'
	}
	// Seed marker with an unknown type (P).
	var raw [36]byte
	raw[0] = seedMarker | (15<<3)>>5
	raw[1] = ((15 << 3) & 31) << 3
	unknownType := encodeRaw(raw[:34])

	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrInvalidSeed},
		{"public key given", kp.Public().String(), ErrInvalidSeed},
		{"truncated", s[:57], ErrInvalidSeed},
		{"lower case", strings.ToLower(s), ErrInvalidSeed},
		{"bad checksum", string(badSum), ErrInvalidChecksum},
		{"non-canonical trailing bits", string(nonCanonical), ErrInvalidEncoding},
		{"unknown type", unknownType, ErrInvalidSeed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSeed([]byte(tc.in))
			require.ErrorIs(t, err, tc.want)
			if strings.Contains(err.Error(), s[2:20]) {
				t.Fatalf("error leaks the seed: %v", err)
			}
		})
	}
	_, err := ParseSeedOf(seed, Account)
	require.ErrorIs(t, err, ErrWrongType)
	if strings.Contains(err.Error(), s[2:20]) {
		t.Fatalf("error leaks the seed: %v", err)
	}
}

func TestWipe(t *testing.T) {
	kp, _ := Generate(Module)
	priv := kp.priv
	kp.Wipe()
	if !kp.Wiped() || !bytes.Equal(priv, make([]byte, ed25519.PrivateKeySize)) {
		t.Fatal("private key not zeroed")
	}
	if _, err := kp.Seed(); !errors.Is(err, ErrWiped) {
		t.Fatalf("Seed after Wipe: %v", err)
	}
	if kp.Public().IsZero() {
		t.Fatal("public key lost on wipe")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Sign after Wipe did not panic")
		}
	}()
	kp.Sign([]byte("x"))
}

func FuzzParsePublic(f *testing.F) {
	for _, s := range []string{
		"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
		"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
		"MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3",
		"", "A", strings.Repeat("A", 56),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePublic(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, p.String())
		}
	})
}

// FuzzCheckID: CheckID, the validator of keys that only identify (actor, provider and host ids), accepts
// every key ParsePublic accepts, and only canonical 56-character keys of the type asked for.
func FuzzCheckID(f *testing.F) {
	for _, s := range []string{
		"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
		"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
		"VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		"", "M", strings.Repeat("M", 56), strings.Repeat("S", 58),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckID(s, Module)
		if p, perr := ParsePublic(s); perr == nil {
			if p.Type() == Module && err != nil {
				t.Fatalf("ParsePublic accepts the module key %q, CheckID refuses it: %v", s, err)
			}
			if p.Type() != Module && err == nil {
				t.Fatalf("CheckID accepts the %v key %q as a module key", p.Type(), s)
			}
		}
		if err == nil && (len(s) != 56 || s[0] != 'M' || strings.ToUpper(s) != s) {
			t.Fatalf("CheckID accepts %q", s)
		}
	})
}

func FuzzParseSeed(f *testing.F) {
	for _, name := range []string{"echo_unpriv_account.nk", "echo_unpriv_module.nk"} {
		f.Add(bytes.TrimSpace(testutil.ReadFile(f, "keys/"+name)))
	}
	f.Add([]byte(strings.Repeat("S", 58)))
	f.Fuzz(func(t *testing.T, seed []byte) {
		kp, err := ParseSeed(seed)
		if err != nil {
			return
		}
		back, err := kp.Seed()
		if err != nil || !bytes.Equal(back, seed) {
			t.Fatalf("accepted non-canonical seed")
		}
	})
}

var sink any

func BenchmarkParsePublic(b *testing.B) {
	b.Run("ours/module", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := ParsePublic("MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5")
			sink = p
		}
	})
	b.Run("ours/account", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := ParsePublic("ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW")
			sink = p
		}
	})
	b.Run("nkeys/account", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := nkeys.FromPublicKey("ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW")
			sink = p
		}
	})
}

func BenchmarkSign(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 400)
	kp, _ := Generate(Cluster)
	seed, _ := kp.Seed()
	theirs, _ := nkeys.FromSeed(seed)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = kp.Sign(msg)
		}
	})
	b.Run("nkeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink, _ = theirs.Sign(msg)
		}
	})
	b.Run("verify", func(b *testing.B) {
		sig := kp.Sign(msg)
		pub := kp.Public()
		b.ReportAllocs()
		for b.Loop() {
			sink = pub.Verify(msg, sig)
		}
	})
}

func TestEncodes(t *testing.T) {
	kp, err := Generate(Cluster)
	require.NoError(t, err)
	pub := kp.Public()
	other, err := Generate(Cluster)
	require.NoError(t, err)
	tests := []struct {
		name string
		key  PublicKey
		s    string
		want bool
	}{
		{"own encoding", pub, pub.String(), true},
		{"another key", pub, other.Public().String(), false},
		{"lower case", pub, strings.ToLower(pub.String()), false},
		{"truncated", pub, pub.String()[:55], false},
		{"empty", pub, "", false},
		{"zero key, empty", PublicKey{}, "", true},
		{"zero key, a key", PublicKey{}, pub.String(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, "Encodes", tc.key.Encodes(tc.s), tc.want)
		})
	}
}
