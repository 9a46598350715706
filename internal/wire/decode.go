package wire

import (
	"errors"
	"strconv"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
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

// sentinels makes the shared msgpk readers return this package's sentinel errors.
var sentinels = msgpk.Sentinels{
	Truncated:     ErrTruncated,
	Malformed:     ErrMalformed,
	WrongType:     ErrWrongType,
	NotMap:        ErrNotMap,
	TrailingBytes: ErrTrailingBytes,
}

// wrongType reports that the value at b is not what the field accepts. An empty input is
// reported as truncated and an unused prefix byte as malformed, since neither is a type.
func wrongType(parent, child, want string, b []byte) error {
	return fieldError(parent, child, sentinels.TypeError(want, b))
}

// primitiveError maps an error from a msgp read primitive, called after the type was checked, to
// the package's sentinels.
func primitiveError(parent, child string, err error) error {
	var below msgp.UintBelowZero
	if errors.As(err, &below) {
		return fieldError(parent, child, msgpk.Detail(ErrNegativeLength, "negative content_length "+strconv.FormatInt(below.Value, 10)))
	}
	return fieldError(parent, child, sentinels.PrimitiveError(err))
}

// readMapHeader reads a map header. When top is set, a value of another type is refused with
// ErrNotMap instead of ErrWrongType.
func readMapHeader(b []byte, parent, child string, top bool) (uint32, []byte, error) {
	n, rest, err := sentinels.ReadMapHeader(b, top)
	if err != nil {
		return 0, b, fieldError(parent, child, err)
	}
	return n, rest, nil
}

// readKey reads a map key, which must be a str, without copying it.
func readKey(b []byte, parent string) ([]byte, []byte, error) {
	k, rest, err := sentinels.ReadKey(b)
	if err != nil {
		return nil, b, fieldError(parent, "", err)
	}
	return k, rest, nil
}

// readString reads a str value as a string that still ALIASES b. The decoders detach every such
// string on success, which copies it into memory of their own, and drop the value on error.
func readString(b []byte, parent, child string) (string, []byte, error) {
	v, rest, err := sentinels.ReadString(b)
	if err != nil {
		return "", b, fieldError(parent, child, err)
	}
	return v, rest, nil
}

// readOptString reads a str value or nil (meaning the same as an absent key).
func readOptString(b []byte, parent, child string) (string, []byte, error) {
	v, rest, err := sentinels.ReadOptString(b)
	if err != nil {
		return "", b, fieldError(parent, child, err)
	}
	return v, rest, nil
}

// payloadForm selects which MessagePack forms readPayload accepts besides bin and str.
type payloadForm bool

const (
	invocationPayload payloadForm = false // bin or str
	responsePayload   payloadForm = true  // bin, str, nil or an empty array
)

// readPayload reads msg without copying: the result aliases b.
func readPayload(b []byte, child string, form payloadForm) ([]byte, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.BinType, msgp.StrType:
		v, rest, err := sentinels.ReadBinOrStr(b)
		if err != nil {
			return nil, b, fieldError("", child, err)
		}
		return v, rest, nil
	case msgp.NilType:
		if form == responsePayload {
			return nil, b[1:], nil
		}
	case msgp.ArrayType:
		if form == responsePayload {
			n, rest, err := msgp.ReadArrayHeaderBytes(b)
			switch {
			case err != nil:
				return nil, b, primitiveError("", child, err)
			case n != 0:
				return nil, b, fieldError("", child, msgpk.Detail(ErrWrongType, "want bin, str, nil or empty array, got array of "+strconv.FormatUint(uint64(n), 10)))
			}
			return nil, rest, nil
		}
	default:
		if form == responsePayload {
			return nil, b, wrongType("", child, "bin, str, nil or empty array", b)
		}
	}
	return nil, b, wrongType("", child, "bin or str", b)
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
	n, b, err := readMapHeader(b, "", parent, false)
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
	n, b, err := readMapHeader(b, "", child, false)
	if err != nil {
		return nil, b, err
	}
	if n > MaxTraceEntries {
		return nil, b, fieldError("", child, msgpk.Detail(ErrTooManyTraceEntries,
			strconv.FormatUint(uint64(n), 10)+" traceContext entries, at most "+strconv.Itoa(MaxTraceEntries)+" allowed"))
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

// skipValue skips the value of an unknown key (see msgpk.Sentinels.Skip). The key is converted
// to a string only on the error path.
func skipValue(b []byte, parent string, key []byte) ([]byte, error) {
	rest, err := sentinels.Skip(b)
	if err != nil {
		return b, fieldError(parent, string(key), err)
	}
	return rest, nil
}

// checkTrailing refuses bytes after the top-level map.
func checkTrailing(rest []byte) error {
	if err := sentinels.CheckTrailing(rest, "map"); err != nil {
		return &DecodeError{Err: err}
	}
	return nil
}
