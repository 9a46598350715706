package contract

import (
	"strconv"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
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

// sentinels makes the shared msgpk readers return this package's sentinel errors.
var sentinels = msgpk.Sentinels{
	Truncated:     ErrTruncated,
	Malformed:     ErrMalformed,
	WrongType:     ErrWrongType,
	NotMap:        ErrNotMap,
	TrailingBytes: ErrTrailingBytes,
}

// wrongType reports that the value at b is not what the field accepts. An empty input is reported
// as truncated and an unused prefix byte as malformed, since neither is a type.
func wrongType(field, want string, b []byte) error {
	return fieldError(field, sentinels.TypeError(want, b))
}

// primitiveError maps an error from a msgp read primitive, called after the type was checked, to
// the package's sentinels.
func primitiveError(field string, err error) error {
	return fieldError(field, sentinels.PrimitiveError(err))
}

// readStructHeader reads the map header that starts a structure payload. A top-level value of
// another type is refused with ErrNotMap.
func readStructHeader(b []byte) (uint32, []byte, error) {
	n, rest, err := sentinels.ReadMapHeader(b, true)
	if err != nil {
		return 0, b, fieldError("", err)
	}
	return n, rest, nil
}

// readKey reads a map key, which must be a str, without copying it. field is the path of the map.
func readKey(b []byte, field string) ([]byte, []byte, error) {
	k, rest, err := sentinels.ReadKey(b)
	if err != nil {
		return nil, b, fieldError(field, err)
	}
	return k, rest, nil
}

// readString reads a str value as a string that still ALIASES b (see msgpk.AliasString).
func readString(b []byte, field string) (string, []byte, error) {
	v, rest, err := sentinels.ReadString(b)
	if err != nil {
		return "", b, fieldError(field, err)
	}
	return v, rest, nil
}

// readOptString reads a str or nil (an Option<String> that is None, the same as an absent key). The
// string ALIASES b.
func readOptString(b []byte, field string) (string, []byte, error) {
	v, rest, err := sentinels.ReadOptString(b)
	if err != nil {
		return "", b, fieldError(field, err)
	}
	return v, rest, nil
}

// readBytes reads a Blob field: a bin or, as some senders pack it, a str. The result ALIASES b; an
// empty value is returned as nil.
func readBytes(b []byte, field string) ([]byte, []byte, error) {
	v, rest, err := sentinels.ReadBinOrStr(b)
	if err != nil {
		return nil, b, fieldError(field, err)
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
			return 0, b, fieldError(field, msgpk.Detail(ErrOutOfRange, strconv.FormatInt(i, 10)+" is negative, want 0.."+strconv.FormatUint(maxValue, 10)))
		}
		v = uint64(i)
	default:
		return 0, b, wrongType(field, "int", b)
	}
	if err != nil {
		return 0, b, primitiveError(field, err)
	}
	if v > maxValue {
		return 0, b, fieldError(field, msgpk.Detail(ErrOutOfRange, strconv.FormatUint(v, 10)+" is above "+strconv.FormatUint(maxValue, 10)))
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
			return 0, b, fieldError(field, msgpk.Detail(ErrOutOfRange, strconv.FormatUint(u, 10)+" does not fit an i32"))
		}
		v = int64(u)
	case msgp.IntType:
		v, rest, err = msgp.ReadInt64Bytes(b)
		if err == nil && (v < -1<<31 || v > 1<<31-1) {
			return 0, b, fieldError(field, msgpk.Detail(ErrOutOfRange, strconv.FormatInt(v, 10)+" does not fit an i32"))
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

// skipValue skips the value of an unknown key (see msgpk.Sentinels.Skip). The key is converted
// to a string only on the error path.
func skipValue(b []byte, parent string, key []byte) ([]byte, error) {
	rest, err := sentinels.Skip(b)
	if err != nil {
		return b, fieldError(joinField(parent, string(key)), err)
	}
	return rest, nil
}

// checkTrailing refuses bytes after the top-level value.
func checkTrailing(rest []byte) error {
	if err := sentinels.CheckTrailing(rest, "value"); err != nil {
		return &DecodeError{Err: err}
	}
	return nil
}

// decodeFields reads a structure's MessagePack map for the decoders of this package: keys in any order,
// each known key at most once (a repeat is ErrDuplicateKey), unknown keys skipped. field reads the value of
// one key: it returns the key's bit and the input after the value, or bit 0 and b unchanged for a key the
// structure does not have. decodeFields returns the keys seen and the input after the map; required fields
// and trailing bytes are the caller's to check, in its own order.
func decodeFields(b []byte, field func(key, b []byte) (seenFields, []byte, error)) (seenFields, []byte, error) {
	n, b, err := readStructHeader(b)
	if err != nil {
		return 0, b, err
	}
	var seen seenFields
	for ; n > 0; n-- {
		var key []byte
		if key, b, err = readKey(b, ""); err != nil {
			return seen, b, err
		}
		bit, rest, err := field(key, b)
		switch {
		case err != nil:
		case bit == 0:
			rest, err = skipValue(b, "", key)
		default:
			err = seen.mark(bit, key)
		}
		if err != nil {
			return seen, b, err
		}
		b = rest
	}
	return seen, b, nil
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
	blk := msgpk.NewStringBlock(n)
	for _, f := range fields {
		*f = blk.Copy(*f)
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
func buildHeader(raw []byte, shape headerShape, blk *msgpk.StringBlock, field string) (map[string][]string, error) {
	if shape.names == 0 {
		return nil, nil
	}
	h := make(map[string][]string, shape.names)
	all := make([]string, shape.values)
	n, rest, _ := msgp.ReadMapHeaderBytes(raw)
	for ; n > 0; n-- {
		var name []byte
		name, rest, _ = msgp.ReadStringZC(rest)
		if _, dup := h[msgpk.AliasString(name)]; dup {
			return nil, fieldError(joinField(field, string(name)), ErrDuplicateKey)
		}
		var m uint32
		m, rest, _ = msgp.ReadArrayHeaderBytes(rest)
		values := all[:m:m]
		all = all[m:]
		for i := range values {
			var v []byte
			v, rest, _ = msgp.ReadStringZC(rest)
			values[i] = blk.Copy(msgpk.AliasString(v))
		}
		if m == 0 {
			values = nil
		}
		h[blk.Copy(msgpk.AliasString(name))] = values
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
		return nil, b, fieldError(field, msgpk.Detail(ErrTruncated, "array of "+strconv.FormatUint(uint64(n), 10)+" strings in "+strconv.Itoa(len(rest))+" bytes"))
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
		out[i] = msgpk.AliasString(v)
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
	blk := msgpk.NewStringBlock(n)
	for i, s := range list {
		list[i] = blk.Copy(s)
	}
}
