package cosign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// maxKeyFile bounds the size of a public key file; a PEM public key is a few hundred bytes, an RSA-4096
// one under a kilobyte.
const maxKeyFile = 64 << 10

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// PublicKey is a parsed trusted public key.
type PublicKey struct {
	// Key is an *ecdsa.PublicKey (P-256, P-384 or P-521), an ed25519.PublicKey or an *rsa.PublicKey.
	Key crypto.PublicKey
	// Fingerprint is "sha256:" and the hex SHA-256 of the key's DER (PKIX) encoding.
	Fingerprint string
}

// ParsePublicKey parses a PEM file holding one public key, as `cosign generate-key-pair` and
// `openssl pkey -pubout` write it: a single "PUBLIC KEY" block (PKIX), optionally surrounded by text and
// whitespace. ECDSA P-256, P-384 and P-521, Ed25519 and RSA of at least 2048 bits are accepted. A private
// key is refused without its content ever appearing in the error.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%d bytes, more than a public key file holds (limit %d)", len(data), maxKeyFile)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block (want -----BEGIN PUBLIC KEY-----)")
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("holds a private key (%s), not a public key; give the .pub file", block.Type)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\"", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("PEM block has headers; a public key has none")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block; give one key per file")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, fmt.Errorf("ECDSA curve %s is not supported (want P-256, P-384 or P-521)", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too small (want at least %d)", k.N.BitLen(), minRSABits)
		}
	default:
		return nil, fmt.Errorf("key type %T is not supported (want ECDSA, Ed25519 or RSA)", key)
	}
	sum := sha256.Sum256(block.Bytes)
	return &PublicKey{Key: key, Fingerprint: "sha256:" + hex.EncodeToString(sum[:])}, nil
}
