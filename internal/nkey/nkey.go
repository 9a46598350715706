// Package nkey encodes, decodes, generates, signs and verifies nkeys: the Ed25519 key format that NATS and
// wasmCloud share, for every key type wasmCloud uses.
//
// github.com/nats-io/nkeys refuses module (M) and service (V) keys, which wasmCloud uses for actor and provider
// identities, so this package carries its own codec for all types rather than two code paths. The encoding is
// the nkeys one: RFC 4648 base32 without padding over prefix ‖ key ‖ CRC-16/XMODEM (little-endian); a seed
// packs the seed marker and the key type into its first two bytes.
//
// Parsing is strict: a string decodes only if it is the canonical encoding, the checksum matches, the type is a
// known one, and (for public keys) the key is a valid Ed25519 point of large order. A KeyPair keeps the expanded
// Ed25519 private key so signing never re-derives it; call Wipe when it is no longer needed.
package nkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"

	"filippo.io/edwards25519"
)

// Type is an nkey type, stored as its prefix byte.
type Type byte

// The key types wasmCloud and NATS use. The values are the nkeys prefix bytes.
const (
	Account  Type = 0      // A: signs actor and provider tokens
	Cluster  Type = 2 << 3 // C: signs invocations
	Module   Type = 12 << 3
	Server   Type = 13 << 3 // N: a host's identity
	Operator Type = 14 << 3
	User     Type = 20 << 3
	Service  Type = 21 << 3 // V: a capability provider's identity
)

const seedMarker = 18 << 3 // the 'S' that starts every seed

var types = []struct {
	t      Type
	letter byte
	name   string
}{
	{Account, 'A', "account"},
	{Cluster, 'C', "cluster"},
	{Module, 'M', "module"},
	{Server, 'N', "server"},
	{Operator, 'O', "operator"},
	{User, 'U', "user"},
	{Service, 'V', "service"},
}

// Types returns every supported key type.
func Types() []Type {
	out := make([]Type, len(types))
	for i, d := range types {
		out[i] = d.t
	}
	return out
}

func (t Type) valid() bool {
	for _, d := range types {
		if d.t == t {
			return true
		}
	}
	return false
}

// Letter returns the character a public key of this type starts with.
func (t Type) Letter() byte {
	for _, d := range types {
		if d.t == t {
			return d.letter
		}
	}
	return '?'
}

// String returns the type's name ("account", "module", ...).
func (t Type) String() string {
	for _, d := range types {
		if d.t == t {
			return d.name
		}
	}
	return fmt.Sprintf("unknown(%#x)", byte(t))
}

// ParseType accepts a type name ("cluster"), its wasmCloud alias ("actor" for module, "provider" for service,
// "host" for server), or its letter ("C").
func ParseType(s string) (Type, error) {
	switch s {
	case "actor":
		return Module, nil
	case "provider":
		return Service, nil
	case "host":
		return Server, nil
	}
	for _, d := range types {
		if s == d.name || (len(s) == 1 && s[0] == d.letter) {
			return d.t, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownType, s)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const (
	publicLen    = 56 // base32 of 1 + 32 + 2 bytes
	publicRawLen = 35
	seedLen      = 58 // base32 of 2 + 32 + 2 bytes
	seedRawLen   = 36
)

// PublicKey is a decoded public nkey. It is a comparable value, usable as a map key.
type PublicKey struct {
	typ Type
	key [ed25519.PublicKeySize]byte
}

// ParsePublic decodes a public key of any supported type.
func ParsePublic(s string) (PublicKey, error) {
	if len(s) == seedLen && s[0] == 'S' {
		return PublicKey{}, ErrSeedNotPublic
	}
	if len(s) != publicLen {
		return PublicKey{}, fmt.Errorf("%w: length %d, want %d", ErrInvalidEncoding, len(s), publicLen)
	}
	var raw [publicRawLen]byte
	if err := decode(raw[:], s); err != nil {
		return PublicKey{}, err
	}
	t := Type(raw[0])
	if !t.valid() {
		return PublicKey{}, fmt.Errorf("%w: prefix byte %#x", ErrUnknownType, raw[0])
	}
	p := PublicKey{typ: t}
	copy(p.key[:], raw[1:33])
	if err := checkPoint(p.key[:]); err != nil {
		return PublicKey{}, err
	}
	return p, nil
}

// ParsePublicOf decodes a public key and checks that it has one of the wanted types.
func ParsePublicOf(s string, want ...Type) (PublicKey, error) {
	p, err := ParsePublic(s)
	if err != nil {
		return PublicKey{}, err
	}
	if err := checkType(p.typ, want); err != nil {
		return PublicKey{}, err
	}
	return p, nil
}

// CheckID checks the encoding, checksum and type of a public key that serves only as an identifier (a host
// id, an actor subject). It skips the curve-point check that makes ParsePublic cost microseconds, so a key
// checked this way must never be used to verify a signature.
func CheckID(s string, want ...Type) error {
	if len(s) != publicLen {
		if len(s) == seedLen && s[0] == 'S' {
			return ErrSeedNotPublic
		}
		return fmt.Errorf("%w: length %d, want %d", ErrInvalidEncoding, len(s), publicLen)
	}
	var raw [publicRawLen]byte
	if err := decode(raw[:], s); err != nil {
		return err
	}
	if t := Type(raw[0]); !t.valid() {
		return fmt.Errorf("%w: prefix byte %#x", ErrUnknownType, raw[0])
	}
	return checkType(Type(raw[0]), want)
}

// PublicKeyFromBytes wraps a raw 32-byte Ed25519 key as an nkey of type t.
func PublicKeyFromBytes(t Type, key []byte) (PublicKey, error) {
	if !t.valid() {
		return PublicKey{}, fmt.Errorf("%w: %#x", ErrUnknownType, byte(t))
	}
	if len(key) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: %d bytes", ErrInvalidKey, len(key))
	}
	if err := checkPoint(key); err != nil {
		return PublicKey{}, err
	}
	p := PublicKey{typ: t}
	copy(p.key[:], key)
	return p, nil
}

// checkPoint refuses keys that are not points of the curve, or of small order: a signature "by" a small-order
// key can be forged for any message.
func checkPoint(key []byte) error {
	pt, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return fmt.Errorf("%w: not a curve point", ErrInvalidKey)
	}
	if new(edwards25519.Point).MultByCofactor(pt).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return fmt.Errorf("%w: small-order point", ErrInvalidKey)
	}
	return nil
}

func checkType(got Type, want []Type) error {
	if len(want) == 0 {
		return nil
	}
	for _, w := range want {
		if got == w {
			return nil
		}
	}
	return &TypeError{Want: want, Got: got}
}

// IsZero reports whether p is the zero value (no key).
func (p PublicKey) IsZero() bool { return p == PublicKey{} }

// Type returns the key's type.
func (p PublicKey) Type() Type { return p.typ }

// Bytes returns a copy of the raw 32-byte Ed25519 public key.
func (p PublicKey) Bytes() []byte { return append([]byte(nil), p.key[:]...) }

// String returns the 56-character encoding ("A…", "M…", ...).
func (p PublicKey) String() string {
	if p.IsZero() {
		return ""
	}
	var raw [1 + ed25519.PublicKeySize]byte
	raw[0] = byte(p.typ)
	copy(raw[1:], p.key[:])
	return encode(raw[:])
}

// Encodes reports whether s is p's encoding (what String returns), without allocating.
func (p PublicKey) Encodes(s string) bool {
	if p.IsZero() {
		return s == ""
	}
	var raw [1 + ed25519.PublicKeySize]byte
	raw[0] = byte(p.typ)
	copy(raw[1:], p.key[:])
	var out [publicLen]byte
	return string(appendEncoded(out[:0], raw[:])) == s
}

// Verify reports whether sig is a valid signature of msg by this key.
func (p PublicKey) Verify(msg, sig []byte) bool {
	if p.IsZero() || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(p.key[:], msg, sig)
}

// KeyPair is a private key with its public key. The zero value is not usable; the pointer must not be copied.
type KeyPair struct {
	pub  PublicKey
	priv ed25519.PrivateKey // seed ‖ public key; nil once wiped
}

// Generate creates a new key pair of type t from crypto/rand.
func Generate(t Type) (*KeyPair, error) {
	return generate(t, rand.Reader)
}

func generate(t Type, r io.Reader) (*KeyPair, error) {
	if !t.valid() {
		return nil, fmt.Errorf("%w: %#x", ErrUnknownType, byte(t))
	}
	var seed [ed25519.SeedSize]byte
	defer clear(seed[:])
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("nkey: read random seed: %w", err)
	}
	return FromRawSeed(t, seed[:])
}

// FromRawSeed builds a key pair of type t from a raw 32-byte Ed25519 seed (for deterministic test keys and
// for keys derived elsewhere). The caller keeps ownership of seed and should wipe it.
func FromRawSeed(t Type, seed []byte) (*KeyPair, error) {
	if !t.valid() {
		return nil, fmt.Errorf("%w: %#x", ErrUnknownType, byte(t))
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: raw seed of %d bytes", ErrInvalidSeed, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub, err := PublicKeyFromBytes(t, priv[ed25519.SeedSize:])
	if err != nil {
		clear(priv)
		return nil, err
	}
	return &KeyPair{pub: pub, priv: priv}, nil
}

// ParseSeed decodes an encoded seed ("SA…", "SC…", ...). The input is not modified; callers holding the seed in
// a byte slice should wipe it themselves. Errors never contain the seed.
func ParseSeed(seed []byte) (*KeyPair, error) {
	if len(seed) != seedLen {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrInvalidSeed, len(seed), seedLen)
	}
	var raw [seedRawLen]byte
	defer clear(raw[:])
	if err := decode(raw[:], string(seed)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSeed, err)
	}
	if raw[0]&0xF8 != seedMarker {
		return nil, fmt.Errorf("%w: does not start with the seed marker S", ErrInvalidSeed)
	}
	t := Type((raw[0]&7)<<5 | (raw[1]&0xF8)>>3)
	if !t.valid() || raw[1]&7 != 0 {
		return nil, fmt.Errorf("%w: unknown key type", ErrInvalidSeed)
	}
	return FromRawSeed(t, raw[2:34])
}

// ParseSeedOf decodes a seed and checks that it has one of the wanted types.
func ParseSeedOf(seed []byte, want ...Type) (*KeyPair, error) {
	kp, err := ParseSeed(seed)
	if err != nil {
		return nil, err
	}
	if err := checkType(kp.pub.typ, want); err != nil {
		kp.Wipe()
		return nil, err
	}
	return kp, nil
}

// Public returns the public key.
func (kp *KeyPair) Public() PublicKey { return kp.pub }

// Type returns the key type.
func (kp *KeyPair) Type() Type { return kp.pub.typ }

// Sign signs msg. It panics if the key pair was wiped: signing with a discarded key is a programming error.
func (kp *KeyPair) Sign(msg []byte) []byte {
	if kp.priv == nil {
		panic("nkey: Sign on a wiped key pair")
	}
	return ed25519.Sign(kp.priv, msg)
}

// Seed returns the encoded seed. The caller owns the slice and should wipe it (clear) after use.
func (kp *KeyPair) Seed() ([]byte, error) {
	if kp.priv == nil {
		return nil, ErrWiped
	}
	t := byte(kp.pub.typ)
	var raw [seedRawLen]byte
	defer clear(raw[:])
	raw[0] = seedMarker | t>>5
	raw[1] = (t & 31) << 3
	copy(raw[2:], kp.priv[:ed25519.SeedSize])
	crc := crc16(raw[:34])
	raw[34], raw[35] = byte(crc), byte(crc>>8)
	out := make([]byte, seedLen)
	b32.Encode(out, raw[:])
	return out, nil
}

// Wipe overwrites the private key. The key pair can still report its public key; Sign panics afterwards.
func (kp *KeyPair) Wipe() {
	clear(kp.priv)
	kp.priv = nil
}

// Wiped reports whether Wipe was called.
func (kp *KeyPair) Wiped() bool { return kp.priv == nil }

// decode base32-decodes s into raw (whose length is the expected decoded length) and checks the trailing
// CRC. Only the canonical encoding is accepted: base32 without padding can carry unused low bits in its last
// character, and a key must have exactly one spelling.
func decode(raw []byte, s string) error {
	if b32.DecodedLen(len(s)) != len(raw) {
		return fmt.Errorf("%w: length %d", ErrInvalidEncoding, len(s))
	}
	n, err := b32.Decode(raw, []byte(s))
	if err != nil || n != len(raw) {
		return fmt.Errorf("%w: not base32", ErrInvalidEncoding)
	}
	if len(raw)*8%5 != 0 {
		// The last character carries padding bits; they must be zero.
		last := s[len(s)-1]
		unused := 5 - (len(raw)*8)%5
		var v byte
		switch {
		case last >= 'A' && last <= 'Z':
			v = last - 'A'
		default:
			v = last - '2' + 26
		}
		if v&(1<<unused-1) != 0 {
			return fmt.Errorf("%w: non-canonical base32", ErrInvalidEncoding)
		}
	}
	body, sum := raw[:len(raw)-2], raw[len(raw)-2:]
	if crc16(body) != uint16(sum[0])|uint16(sum[1])<<8 {
		return ErrInvalidChecksum
	}
	return nil
}

func encode(raw []byte) string {
	var out [2 * publicLen]byte
	return string(appendEncoded(out[:0], raw))
}

// appendEncoded appends the encoding of raw (a type prefix and a key) and its checksum to dst; for a public
// key it does not allocate when dst has room for publicLen bytes.
func appendEncoded(dst, raw []byte) []byte {
	var stack [64]byte
	buf := stack[:0]
	if len(raw)+2 > len(stack) {
		buf = make([]byte, 0, len(raw)+2)
	}
	defer clear(buf[:cap(buf)])
	crc := crc16(raw)
	buf = append(append(buf, raw...), byte(crc), byte(crc>>8))
	return b32.AppendEncode(dst, buf)
}

// crc16 is CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final XOR.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
