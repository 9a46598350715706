package msgpk

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
)

// TypeName describes the MessagePack value at the start of b for error messages: "int" and
// "float" for every width, "ext" for every extension, msgp's name for the other types,
// "end of input" when b is empty and "invalid byte 0xc1" for the unused prefix byte.
func TypeName(b []byte) string {
	if len(b) == 0 {
		return "end of input"
	}
	switch t := msgp.NextType(b); t {
	case msgp.IntType, msgp.UintType:
		return "int"
	case msgp.Float32Type, msgp.Float64Type:
		return "float"
	case msgp.ExtensionType, msgp.TimeType, msgp.Complex64Type, msgp.Complex128Type:
		return "ext"
	case msgp.InvalidType:
		return "invalid byte 0x" + strconv.FormatUint(uint64(b[0]), 16)
	default:
		return t.String()
	}
}

// TypeError reports that the value at b is not the want the field accepts. An empty input is
// reported as s.Truncated and an unused prefix byte as s.Malformed, since neither is a type.
func (s *Sentinels) TypeError(want string, b []byte) error {
	switch {
	case len(b) == 0:
		return s.Truncated
	case msgp.NextType(b) == msgp.InvalidType:
		return Detail(s.Malformed, "invalid msgpack prefix byte 0x"+strconv.FormatUint(uint64(b[0]), 16))
	}
	return Detail(s.WrongType, "want "+want+", got "+TypeName(b))
}

// PrimitiveError maps an error from a msgp read primitive, called after the type was checked, to
// s.Truncated when the input ran out and to s.Malformed otherwise.
func (s *Sentinels) PrimitiveError(err error) error {
	if errors.Is(err, msgp.ErrShortBytes) {
		return s.Truncated
	}
	return Detail(s.Malformed, err.Error())
}

// ReadMapHeader reads a map header and returns the number of entries. When top is set (the map is
// the whole input), a well-formed value of another type is refused with s.NotMap rather than
// s.WrongType.
func (s *Sentinels) ReadMapHeader(b []byte, top bool) (uint32, []byte, error) {
	if msgp.NextType(b) != msgp.MapType {
		if top && len(b) > 0 && msgp.NextType(b) != msgp.InvalidType {
			return 0, b, Detail(s.NotMap, "top level is "+TypeName(b)+", want map")
		}
		return 0, b, s.TypeError("map", b)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return 0, b, s.PrimitiveError(err)
	}
	return n, rest, nil
}

// ReadKey reads a map key, which must be a str, without copying it: the key ALIASES b.
func (s *Sentinels) ReadKey(b []byte) ([]byte, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		if len(b) == 0 || msgp.NextType(b) == msgp.InvalidType {
			return nil, b, s.TypeError("str key", b)
		}
		return nil, b, Detail(s.WrongType, "map key: want str, got "+TypeName(b))
	}
	k, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return nil, b, s.PrimitiveError(err)
	}
	return k, rest, nil
}

// AliasString returns a string that shares v's memory. Decoders use it while they walk the input
// and replace every such string with a copy (see StringBlock) before they return.
func AliasString(v []byte) string {
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// ReadString reads a str value as a string that ALIASES b (see AliasString).
func (s *Sentinels) ReadString(b []byte) (string, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		return "", b, s.TypeError("str", b)
	}
	v, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return "", b, s.PrimitiveError(err)
	}
	return AliasString(v), rest, nil
}

// ReadOptString reads a str value, which ALIASES b, or nil, which reads as "".
func (s *Sentinels) ReadOptString(b []byte) (string, []byte, error) {
	if msgp.IsNil(b) {
		return "", b[1:], nil
	}
	if msgp.NextType(b) != msgp.StrType {
		return "", b, s.TypeError("str or nil", b)
	}
	return s.ReadString(b)
}

// ReadBinOrStr reads a byte string packed as bin or, as some senders do, as str. The result
// ALIASES b.
func (s *Sentinels) ReadBinOrStr(b []byte) ([]byte, []byte, error) {
	var (
		v    []byte
		rest []byte
		err  error
	)
	switch msgp.NextType(b) {
	case msgp.BinType:
		v, rest, err = msgp.ReadBytesZC(b)
	case msgp.StrType:
		v, rest, err = msgp.ReadStringZC(b)
	default:
		return nil, b, s.TypeError("bin or str", b)
	}
	if err != nil {
		return nil, b, s.PrimitiveError(err)
	}
	return v, rest, nil
}

// Skip skips one value of any type, such as the value of an unknown key. It walks nested maps and
// arrays iteratively with a count of values still to skip, so that hostile nesting costs no stack;
// the count can never exceed the bytes left, which ends a lying header early.
func (s *Sentinels) Skip(b []byte) ([]byte, error) {
	var (
		n    uint32
		err  error
		rest = b
	)
	for pending := uint64(1); pending > 0; pending-- {
		if pending > uint64(len(rest)) {
			return b, s.Truncated
		}
		switch msgp.NextType(rest) {
		case msgp.MapType:
			n, rest, err = msgp.ReadMapHeaderBytes(rest)
			pending += 2 * uint64(n)
		case msgp.ArrayType:
			n, rest, err = msgp.ReadArrayHeaderBytes(rest)
			pending += uint64(n)
		case msgp.InvalidType:
			return b, s.TypeError("", rest)
		default:
			rest, err = msgp.Skip(rest) // a scalar: no recursion
		}
		if err != nil {
			return b, s.PrimitiveError(err)
		}
	}
	return rest, nil
}

// CheckTrailing refuses bytes after the top-level value, which the message calls what (for example
// "map").
func (s *Sentinels) CheckTrailing(rest []byte, what string) error {
	if len(rest) != 0 {
		return Detail(s.TrailingBytes, strconv.Itoa(len(rest))+" trailing bytes after the top-level "+what)
	}
	return nil
}
