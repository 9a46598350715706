package nkey

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package. None of them, and no error built from them here, contains the text of
// the key or seed that failed to parse.
var (
	// ErrInvalidEncoding: the string is not the canonical base32 encoding of a key of the right length.
	ErrInvalidEncoding = errors.New("nkey: invalid encoding")
	// ErrInvalidChecksum: the CRC-16 at the end of the key does not match.
	ErrInvalidChecksum = errors.New("nkey: invalid checksum")
	// ErrUnknownType: the prefix names no supported key type.
	ErrUnknownType = errors.New("nkey: unknown key type")
	// ErrInvalidKey: the 32 bytes are not a usable Ed25519 public key.
	ErrInvalidKey = errors.New("nkey: invalid public key")
	// ErrInvalidSeed: the string is not a valid seed.
	ErrInvalidSeed = errors.New("nkey: invalid seed")
	// ErrSeedNotPublic: a seed was given where a public key was expected (the seed is not echoed).
	ErrSeedNotPublic = errors.New("nkey: got a seed where a public key was expected")
	// ErrWrongType: the key decoded but is not of the wanted type; see TypeError.
	ErrWrongType = errors.New("nkey: wrong key type")
	// ErrWiped: the key pair's private key was wiped.
	ErrWiped = errors.New("nkey: key pair was wiped")
)

// TypeError reports a key of the wrong type. It matches ErrWrongType with errors.Is.
type TypeError struct {
	Want []Type
	Got  Type
}

func (e *TypeError) Error() string {
	want := make([]string, len(e.Want))
	for i, t := range e.Want {
		want[i] = fmt.Sprintf("%s (%c…)", t, t.Letter())
	}
	return fmt.Sprintf("nkey: want %s key, got %s (%c…)", strings.Join(want, " or "), e.Got, e.Got.Letter())
}

// Is makes errors.Is(err, ErrWrongType) true.
func (e *TypeError) Is(target error) bool { return target == ErrWrongType }
