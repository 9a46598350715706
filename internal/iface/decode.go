package iface

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/tinylib/msgp/msgp"
)

// fieldError builds the *DecodeError for a field path.
func fieldError(field string, err error) error {
	return &DecodeError{Field: field, Err: err}
}

// joinField joins a parent path and a child name. It is called only on error paths, so that
// decoding a valid input builds no strings for paths.
func joinField(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
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

// wrongType reports that the value at b is not what the field accepts. An empty input is reported
// as truncated and an unused prefix byte as malformed, since neither is a type.
func wrongType(field, want string, b []byte) error {
	switch {
	case len(b) == 0:
		return fieldError(field, ErrTruncated)
	case msgp.NextType(b) == msgp.InvalidType:
		return fieldError(field, &detailError{ErrMalformed, "invalid msgpack prefix byte 0x" + strconv.FormatUint(uint64(b[0]), 16)})
	}
	return fieldError(field, &detailError{ErrWrongType, "want " + want + ", got " + typeName(b)})
}

// primitiveError maps an error from a msgp read primitive, called after the type was checked, to
// the package's sentinels.
func primitiveError(field string, err error) error {
	if errors.Is(err, msgp.ErrShortBytes) {
		return fieldError(field, ErrTruncated)
	}
	return fieldError(field, &detailError{ErrMalformed, err.Error()})
}

// readStructHeader reads the map header that starts a structure payload. A top-level value of
// another type is refused with ErrNotMap.
func readStructHeader(b []byte) (uint32, []byte, error) {
	if msgp.NextType(b) != msgp.MapType {
		if len(b) > 0 && msgp.NextType(b) != msgp.InvalidType {
			return 0, b, fieldError("", &detailError{ErrNotMap, "top level is " + typeName(b) + ", want map"})
		}
		return 0, b, wrongType("", "map", b)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return 0, b, primitiveError("", err)
	}
	return n, rest, nil
}

// readKey reads a map key, which must be a str, without copying it. field is the path of the map.
func readKey(b []byte, field string) ([]byte, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		if len(b) == 0 || msgp.NextType(b) == msgp.InvalidType {
			return nil, b, wrongType(field, "str key", b)
		}
		return nil, b, fieldError(field, &detailError{ErrWrongType, "map key: want str, got " + typeName(b)})
	}
	k, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return nil, b, primitiveError(field, err)
	}
	return k, rest, nil
}

// aliasString returns a string that shares v's memory. Decoders use it while they walk the input
// and replace every such string with a copy (see detach) before they return.
func aliasString(v []byte) string {
	return unsafe.String(unsafe.SliceData(v), len(v))
}

// readString reads a str value as a string that still ALIASES b (see aliasString).
func readString(b []byte, field string) (string, []byte, error) {
	if msgp.NextType(b) != msgp.StrType {
		return "", b, wrongType(field, "str", b)
	}
	v, rest, err := msgp.ReadStringZC(b)
	if err != nil {
		return "", b, primitiveError(field, err)
	}
	return aliasString(v), rest, nil
}

// readOptString reads a str or nil (an Option<String> that is None, the same as an absent key). The
// string ALIASES b.
func readOptString(b []byte, field string) (string, []byte, error) {
	if msgp.IsNil(b) {
		return "", b[1:], nil
	}
	if msgp.NextType(b) != msgp.StrType {
		return "", b, wrongType(field, "str or nil", b)
	}
	return readString(b, field)
}

// readBytes reads a Blob field: a bin or, as some senders pack it, a str. The result ALIASES b; an
// empty value is returned as nil.
func readBytes(b []byte, field string) ([]byte, []byte, error) {
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
		return nil, b, wrongType(field, "bin or str", b)
	}
	if err != nil {
		return nil, b, primitiveError(field, err)
	}
	if len(v) == 0 {
		v = nil
	}
	return v, rest, nil
}

// readUint reads an integer of any MessagePack width whose value lies in [0, maxValue].
func readUint(b []byte, field string, maxValue uint64) (uint64, []byte, error) {
	var (
		v    uint64
		rest []byte
		err  error
	)
	switch msgp.NextType(b) {
	case msgp.UintType:
		v, rest, err = msgp.ReadUint64Bytes(b)
	case msgp.IntType:
		var i int64
		i, rest, err = msgp.ReadInt64Bytes(b)
		if err == nil && i < 0 {
			return 0, b, fieldError(field, &detailError{ErrOutOfRange, strconv.FormatInt(i, 10) + " is negative, want 0.." + strconv.FormatUint(maxValue, 10)})
		}
		v = uint64(i)
	default:
		return 0, b, wrongType(field, "int", b)
	}
	if err != nil {
		return 0, b, primitiveError(field, err)
	}
	if v > maxValue {
		return 0, b, fieldError(field, &detailError{ErrOutOfRange, strconv.FormatUint(v, 10) + " is above " + strconv.FormatUint(maxValue, 10)})
	}
	return v, rest, nil
}

// readInt32 reads an integer of any MessagePack width whose value fits an int32.
func readInt32(b []byte, field string) (int32, []byte, error) {
	var (
		v    int64
		rest []byte
		err  error
	)
	switch msgp.NextType(b) {
	case msgp.UintType:
		var u uint64
		u, rest, err = msgp.ReadUint64Bytes(b)
		if err == nil && u > 1<<31-1 {
			return 0, b, fieldError(field, &detailError{ErrOutOfRange, strconv.FormatUint(u, 10) + " does not fit an i32"})
		}
		v = int64(u)
	case msgp.IntType:
		v, rest, err = msgp.ReadInt64Bytes(b)
		if err == nil && (v < -1<<31 || v > 1<<31-1) {
			return 0, b, fieldError(field, &detailError{ErrOutOfRange, strconv.FormatInt(v, 10) + " does not fit an i32"})
		}
	default:
		return 0, b, wrongType(field, "int", b)
	}
	if err != nil {
		return 0, b, primitiveError(field, err)
	}
	return int32(v), rest, nil
}

// readBool reads a bool (true or false; nil and integers are refused).
func readBool(b []byte, field string) (bool, []byte, error) {
	if msgp.NextType(b) != msgp.BoolType {
		return false, b, wrongType(field, "bool", b)
	}
	v, rest, err := msgp.ReadBoolBytes(b)
	if err != nil {
		return false, b, primitiveError(field, err)
	}
	return v, rest, nil
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
			return b, fieldError(joinField(parent, string(key)), ErrTruncated)
		}
		switch msgp.NextType(rest) {
		case msgp.MapType:
			n, rest, err = msgp.ReadMapHeaderBytes(rest)
			pending += 2 * uint64(n)
		case msgp.ArrayType:
			n, rest, err = msgp.ReadArrayHeaderBytes(rest)
			pending += uint64(n)
		case msgp.InvalidType:
			return b, wrongType(joinField(parent, string(key)), "", rest)
		default:
			rest, err = msgp.Skip(rest) // a scalar: no recursion
		}
		if err != nil {
			return b, primitiveError(joinField(parent, string(key)), err)
		}
	}
	return rest, nil
}

// checkTrailing refuses bytes after the top-level value.
func checkTrailing(rest []byte) error {
	if len(rest) != 0 {
		return &DecodeError{Err: &detailError{ErrTrailingBytes, strconv.Itoa(len(rest)) + " trailing bytes after the top-level value"}}
	}
	return nil
}

// seenFields records which known keys of a structure were read, to refuse duplicates.
type seenFields uint8

// mark records bit, the key's field, and refuses a key that was already seen.
func (s *seenFields) mark(bit seenFields, key []byte) error {
	if *s&bit != 0 {
		return fieldError(string(key), ErrDuplicateKey)
	}
	*s |= bit
	return nil
}

// stringBlock holds copies of the strings of one decoded value in a single allocation, so that a
// decoded message costs one allocation for all its strings instead of one each.
type stringBlock []byte

// newStringBlock returns a block that holds exactly n bytes; it never grows, so the strings cut
// from it stay valid.
func newStringBlock(n int) stringBlock { return make(stringBlock, 0, n) }

// copyString returns a copy of s, which may alias the input, held in the block.
func (blk *stringBlock) copyString(s string) string {
	if len(s) == 0 {
		return ""
	}
	start := len(*blk)
	*blk = append(*blk, s...)
	return unsafe.String(&(*blk)[start], len(s))
}

// detach replaces each string, which may alias the input, with a copy; all the copies share one
// allocation.
func detach(fields ...*string) {
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	if n == 0 {
		for _, f := range fields {
			*f = ""
		}
		return
	}
	blk := newStringBlock(n)
	for _, f := range fields {
		*f = blk.copyString(*f)
	}
}

// headerShape is what scanHeader learned about a header map: enough to size every allocation of
// buildHeader exactly, from the bytes actually present rather than from lengths read off the wire.
type headerShape struct {
	names  int // entries
	values int // strings in all the value lists
	bytes  int // bytes in all the names and values
}

// scanHeader checks that b starts with a HeaderMap (a map of str to an array of str) and measures
// it without allocating. raw is the map's encoding, for buildHeader.
func scanHeader(b []byte, field string) (raw []byte, shape headerShape, rest []byte, err error) {
	if msgp.NextType(b) != msgp.MapType {
		return nil, shape, b, wrongType(field, "map", b)
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, shape, b, primitiveError(field, err)
	}
	for ; n > 0; n-- {
		var name []byte
		name, rest, err = readKey(rest, field)
		if err != nil {
			return nil, shape, b, err
		}
		if msgp.NextType(rest) != msgp.ArrayType {
			return nil, shape, b, wrongType(joinField(field, string(name)), "array of str", rest)
		}
		var m uint32
		m, rest, err = msgp.ReadArrayHeaderBytes(rest)
		if err != nil {
			return nil, shape, b, primitiveError(joinField(field, string(name)), err)
		}
		shape.names++
		shape.bytes += len(name)
		for i := uint32(0); i < m; i++ {
			if msgp.NextType(rest) != msgp.StrType {
				return nil, shape, b, wrongType(joinField(field, string(name))+"["+strconv.FormatUint(uint64(i), 10)+"]", "str", rest)
			}
			var v []byte
			v, rest, err = msgp.ReadStringZC(rest)
			if err != nil {
				return nil, shape, b, primitiveError(joinField(field, string(name))+"["+strconv.FormatUint(uint64(i), 10)+"]", err)
			}
			shape.values++
			shape.bytes += len(v)
		}
	}
	return b[:len(b)-len(rest)], shape, rest, nil
}

// buildHeader decodes a header map that scanHeader accepted, copying every name and value into
// blk (which must have room for shape.bytes more bytes). The only error left is a duplicate name.
// An empty map decodes to nil.
func buildHeader(raw []byte, shape headerShape, blk *stringBlock, field string) (map[string][]string, error) {
	if shape.names == 0 {
		return nil, nil
	}
	h := make(map[string][]string, shape.names)
	all := make([]string, shape.values)
	n, rest, _ := msgp.ReadMapHeaderBytes(raw)
	for ; n > 0; n-- {
		var name []byte
		name, rest, _ = msgp.ReadStringZC(rest)
		if _, dup := h[aliasString(name)]; dup {
			return nil, fieldError(joinField(field, string(name)), ErrDuplicateKey)
		}
		var m uint32
		m, rest, _ = msgp.ReadArrayHeaderBytes(rest)
		values := all[:m:m]
		all = all[m:]
		for i := range values {
			var v []byte
			v, rest, _ = msgp.ReadStringZC(rest)
			values[i] = blk.copyString(aliasString(v))
		}
		if m == 0 {
			values = nil
		}
		h[blk.copyString(aliasString(name))] = values
	}
	return h, nil
}

// readStringList reads an array of str whose strings ALIAS b. The slice is sized from the bytes
// present, never from the array header alone.
func readStringList(b []byte, field string) ([]string, []byte, error) {
	if msgp.NextType(b) != msgp.ArrayType {
		return nil, b, wrongType(field, "array of str", b)
	}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, b, primitiveError(field, err)
	}
	if uint64(n) > uint64(len(rest)) {
		// Every string takes at least one byte.
		return nil, b, fieldError(field, &detailError{ErrTruncated, "array of " + strconv.FormatUint(uint64(n), 10) + " strings in " + strconv.Itoa(len(rest)) + " bytes"})
	}
	if n == 0 {
		return nil, rest, nil
	}
	out := make([]string, n)
	for i := range out {
		if msgp.NextType(rest) != msgp.StrType {
			return nil, b, wrongType(field+"["+strconv.Itoa(i)+"]", "str", rest)
		}
		var v []byte
		v, rest, err = msgp.ReadStringZC(rest)
		if err != nil {
			return nil, b, primitiveError(field+"["+strconv.Itoa(i)+"]", err)
		}
		out[i] = aliasString(v)
	}
	return out, rest, nil
}

// detachList replaces every string of list, which may alias the input, with a copy; all the
// copies share one allocation.
func detachList(list []string) {
	n := 0
	for _, s := range list {
		n += len(s)
	}
	blk := newStringBlock(n)
	for i, s := range list {
		list[i] = blk.copyString(s)
	}
}
