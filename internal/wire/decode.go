package wire

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
)

// MaxTraceEntries is the largest traceContext map the decoders accept.
const MaxTraceEntries = 64

// fieldError builds the *DecodeError for field parent.child (either part may be empty). The path is
// joined only here, on the error path, so that decoding a valid input builds no strings for it.
func fieldError(parent, child string, err error) error {
	field := child
	switch {
	case parent == "":
	case child == "":
		field = parent
	default:
		field = parent + "." + child
	}
	return &DecodeError{Field: field, Err: err}
}

// typeName describes the MessagePack value at the start of b for error messages.
func typeName(b []byte) string {
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

// wrongType reports that the value at b is not what the field accepts. An empty input is
// reported as truncated and an unused prefix byte as malformed, since neither is a type.
func wrongType(parent, child, want string, b []byte) error {
	switch {
	case len(b) == 0:
		return fieldError(parent, child, ErrTruncated)
	case msgp.NextType(b) == msgp.InvalidType:
		return fieldError(parent, child, &detailError{ErrMalformed, "invalid msgpack prefix byte 0x" + strconv.FormatUint(uint64(b[0]), 16)})
	}
	return fieldError(parent, child, &detailError{ErrWrongType, "want " + want + ", got " + typeName(b)})
}

// primitiveError maps an error from a msgp read primitive, called after the type was checked, to
// the package's sentinels.
func primitiveError(parent, child string, err error) error {
	var below msgp.UintBelowZero
	switch {
	case errors.Is(err, msgp.ErrShortBytes):
		return fieldError(parent, child, ErrTruncated)
	case errors.As(err, &below):
		return fieldError(parent, child, &detailError{ErrNegativeLength, "negative content_length " + strconv.FormatInt(below.Value, 10)})
	default:
		return fieldError(parent, child, &detailError{ErrMalformed, err.Error()})
	}
}

// readMapHeader reads a map header. When notMap is set (at the top level), a value of another type
// is refused with that sentinel instead of ErrWrongType.
func readMapHeader(b []byte, parent, child string, notMap error) (uint32, []byte, error) {
	if msgp.NextType(b) != msgp.MapType {
		if notMap != nil && len(b) > 0 && msgp.NextType(b) != msgp.InvalidType {
			return 0, b, fieldError(parent, child, &detailError{notMap, "top level is " + typeName(b) + ", want map"})
		}
		return 0, b, wrongType(parent, child, "map", b)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return 0, b, primitiveError(parent, child, err)
	}
	return n, rest, nil
}

// readKey reads a map key, which must be a str, without copying it.
func readKey(b []byte, parent string) ([]byte, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		if len(b) == 0 || msgp.NextType(b) == msgp.InvalidType {
			return nil, b, wrongType(parent, "", "str key", b)
		}
		return nil, b, fieldError(parent, "", &detailError{ErrWrongType, "map key: want str, got " + typeName(b)})
	}
	k, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return nil, b, primitiveError(parent, "", err)
	}
	return k, rest, nil
}

// readString reads a str value as a string that still ALIASES b. The decoders call detach on
// success, which copies every such string into memory of their own, and drop the value on error.
func readString(b []byte, parent, child string) (string, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		return "", b, wrongType(parent, child, "str", b)
	}
	v, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return "", b, primitiveError(parent, child, err)
	}
	return unsafe.String(unsafe.SliceData(v), len(v)), rest, nil
}

// stringBlock copies the strings of one decoded value into a single allocation, so that a decoded
// invocation costs one allocation for all its strings instead of one each.
type stringBlock []byte

// newStringBlock returns a block that holds exactly n bytes; it never grows, so the strings cut
// from it stay valid.
func newStringBlock(n int) stringBlock { return make(stringBlock, 0, n) }

// detach replaces *s, which may alias the input, with a copy held in the block.
func (blk *stringBlock) detach(s *string) {
	if len(*s) == 0 {
		*s = ""
		return
	}
	start := len(*blk)
	*blk = append(*blk, *s...)
	*s = unsafe.String(&(*blk)[start], len(*s))
}

// readOptString reads a str value or nil (meaning the same as an absent key).
func readOptString(b []byte, parent, child string) (string, []byte, error) {
	if msgp.IsNil(b) {
		return "", b[1:], nil
	}
	if msgp.NextType(b) != msgp.StrType {
		return "", b, wrongType(parent, child, "str or nil", b)
	}
	return readString(b, parent, child)
}

// payloadForm selects which MessagePack forms readPayload accepts besides bin and str.
type payloadForm bool

const (
	invocationPayload payloadForm = false // bin or str
	responsePayload   payloadForm = true  // bin, str, nil or an empty array
)

// readPayload reads msg without copying: the result aliases b.
func readPayload(b []byte, child string, form payloadForm) ([]byte, []byte, error) {
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
	case msgp.NilType:
		if form != responsePayload {
			return nil, b, wrongType("", child, "bin or str", b)
		}
		return nil, b[1:], nil
	case msgp.ArrayType:
		if form != responsePayload {
			return nil, b, wrongType("", child, "bin or str", b)
		}
		var n uint32
		n, rest, err = msgp.ReadArrayHeaderBytes(b)
		if err == nil && n != 0 {
			return nil, b, fieldError("", child, &detailError{ErrWrongType, "want bin, str, nil or empty array, got array of " + strconv.FormatUint(uint64(n), 10)})
		}
	default:
		if form == responsePayload {
			return nil, b, wrongType("", child, "bin, str, nil or empty array", b)
		}
		return nil, b, wrongType("", child, "bin or str", b)
	}
	if err != nil {
		return nil, b, primitiveError("", child, err)
	}
	return v, rest, nil
}

// readLength reads content_length: an int or uint of any width that is not negative, or nil
// (meaning absent, reported by ok=false).
func readLength(b []byte, child string) (n uint64, ok bool, rest []byte, err error) {
	switch msgp.NextType(b) {
	case msgp.NilType:
		return 0, false, b[1:], nil
	case msgp.IntType, msgp.UintType:
		n, rest, err = msgp.ReadUint64Bytes(b)
		if err != nil {
			return 0, false, b, primitiveError("", child, err)
		}
		return n, true, rest, nil
	default:
		return 0, false, b, wrongType("", child, "int or nil", b)
	}
}

// Entity field bits for duplicate and presence tracking.
const (
	entPublicKey = 1 << iota
	entContractID
	entLinkName
)

// readEntity reads an entity map. Keys may come in any order; public_key is required and a missing
// (or nil) contract_id or link_name means "".
func readEntity(b []byte, parent string) (Entity, []byte, error) {
	var e Entity
	n, b, err := readMapHeader(b, "", parent, nil)
	if err != nil {
		return e, b, err
	}
	var seen uint8
	for ; n > 0; n-- {
		var key []byte
		key, b, err = readKey(b, parent)
		if err != nil {
			return e, b, err
		}
		var bit uint8
		switch string(key) {
		case "public_key":
			bit = entPublicKey
			e.PublicKey, b, err = readString(b, parent, "public_key")
		case "contract_id":
			bit = entContractID
			e.ContractID, b, err = readOptString(b, parent, "contract_id")
		case "link_name":
			bit = entLinkName
			e.LinkName, b, err = readOptString(b, parent, "link_name")
		default:
			b, err = skipValue(b, parent, key)
		}
		if err != nil {
			return e, b, err
		}
		if bit != 0 {
			if seen&bit != 0 {
				return e, b, fieldError(parent, string(key), ErrDuplicateKey)
			}
			seen |= bit
		}
	}
	if seen&entPublicKey == 0 {
		return e, b, fieldError(parent, "public_key", ErrMissingField)
	}
	return e, b, nil
}

// readTrace reads traceContext: a map of str to str with at most MaxTraceEntries entries, or nil.
// An empty map decodes to a nil map.
func readTrace(b []byte, child string) (map[string]string, []byte, error) {
	if msgp.IsNil(b) {
		return nil, b[1:], nil
	}
	n, b, err := readMapHeader(b, "", child, nil)
	if err != nil {
		return nil, b, err
	}
	if n > MaxTraceEntries {
		return nil, b, fieldError("", child, &detailError{ErrTooManyTraceEntries,
			strconv.FormatUint(uint64(n), 10) + " traceContext entries, at most " + strconv.Itoa(MaxTraceEntries) + " allowed"})
	}
	var m map[string]string
	for ; n > 0; n-- {
		var key, val []byte
		key, b, err = readKey(b, child)
		if err != nil {
			return nil, b, err
		}
		if msgp.NextType(b) != msgp.StrType {
			return nil, b, wrongType(child, string(key), "str", b)
		}
		val, b, err = msgp.ReadStringZC(b)
		if err != nil {
			return nil, b, primitiveError(child, string(key), err)
		}
		if m == nil {
			m = make(map[string]string)
		}
		if _, dup := m[string(key)]; dup {
			return nil, b, fieldError(child, string(key), ErrDuplicateKey)
		}
		m[string(key)] = string(val)
	}
	return m, b, nil
}

// skipValue skips the value of an unknown key. It walks nested maps and arrays iteratively with a
// count of values still to skip, so that hostile nesting costs no stack; the count can never exceed
// the bytes left, which ends a lying header early. The key is converted to a string only on the
// error path.
func skipValue(b []byte, parent string, key []byte) ([]byte, error) {
	var (
		n    uint32
		err  error
		rest = b
	)
	for pending := uint64(1); pending > 0; pending-- {
		if pending > uint64(len(rest)) {
			return b, fieldError(parent, string(key), ErrTruncated)
		}
		switch msgp.NextType(rest) {
		case msgp.MapType:
			n, rest, err = msgp.ReadMapHeaderBytes(rest)
			pending += 2 * uint64(n)
		case msgp.ArrayType:
			n, rest, err = msgp.ReadArrayHeaderBytes(rest)
			pending += uint64(n)
		case msgp.InvalidType:
			return b, wrongType(parent, string(key), "", rest)
		default:
			rest, err = msgp.Skip(rest) // a scalar: no recursion
		}
		if err != nil {
			return b, primitiveError(parent, string(key), err)
		}
	}
	return rest, nil
}

// checkTrailing refuses bytes after the top-level map.
func checkTrailing(rest []byte) error {
	if len(rest) != 0 {
		return &DecodeError{Err: &detailError{ErrTrailingBytes, strconv.Itoa(len(rest)) + " trailing bytes after the top-level map"}}
	}
	return nil
}
