package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// Several operations take or return a bare value rather than a structure: KeyValue.Get, Del,
// Contains, ListClear, SetQuery and SetClear take a key or name (a str); Increment returns an i32;
// ListAdd, SetAdd, SetDel, Random32 and RandomInRange return a u32; Del, Contains, ListDel, ListClear
// and SetClear return a bool; GenerateGuid returns a str. The helpers below encode and decode such a
// payload: exactly one value, nothing after it.

// AppendString appends s as a msgpack str.
func AppendString(b []byte, s string) []byte { return msgp.AppendString(b, s) }

// UnmarshalString decodes a payload that is a single str. The result does not alias b.
func UnmarshalString(b []byte) (string, error) {
	v, rest, err := readString(b, "")
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return "", fmt.Errorf("contract: decode string: %w", err)
	}
	return string(v), nil
}

// AppendU32 appends v in its shortest unsigned form.
func AppendU32(b []byte, v uint32) []byte { return msgp.AppendUint32(b, v) }

// UnmarshalU32 decodes a payload that is a single integer of any width within the u32 range.
func UnmarshalU32(b []byte) (uint32, error) {
	v, rest, err := readUint(b, "", math.MaxUint32)
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return 0, fmt.Errorf("contract: decode u32: %w", err)
	}
	return uint32(v), nil
}

// AppendI32 appends v as rmp-serde writes an i32: a non-negative value in its shortest unsigned
// form, a negative one in its shortest signed form. kvcounter's answer 42 is the single byte 2a.
func AppendI32(b []byte, v int32) []byte { return appendInt(b, int64(v)) }

// UnmarshalI32 decodes a payload that is a single integer of any width within the i32 range.
func UnmarshalI32(b []byte) (int32, error) {
	v, rest, err := readInt32(b, "")
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return 0, fmt.Errorf("contract: decode i32: %w", err)
	}
	return v, nil
}

// AppendBool appends v as c3 (true) or c2 (false).
func AppendBool(b []byte, v bool) []byte { return msgp.AppendBool(b, v) }

// UnmarshalBool decodes a payload that is a single bool.
func UnmarshalBool(b []byte) (bool, error) {
	v, rest, err := readBool(b, "")
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return false, fmt.Errorf("contract: decode bool: %w", err)
	}
	return v, nil
}
