package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// GetResponse is the reply to KeyValue.Get.
type GetResponse struct {
	// Value is the stored value; empty when Exists is false.
	Value string
	// Exists reports whether the key was present.
	Exists bool
}

// AppendMsgpack appends {"value": str, "exists": bool} to b.
func (r *GetResponse) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x82)
	b = append(b, keyValue...)
	b = msgp.AppendString(b, r.Value)
	b = append(b, keyExists...)
	return msgp.AppendBool(b, r.Exists)
}

// UnmarshalMsgpack decodes a GetResponse. Both keys may be absent (meaning "" and false), in any
// order; unknown keys are skipped. On error r is left unchanged.
func (r *GetResponse) UnmarshalMsgpack(b []byte) error {
	var v GetResponse
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode GetResponse: %w", err)
	}
	*r = v
	return nil
}

func (r *GetResponse) decode(b []byte) error {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "value":
			r.Value, b, err = readString(b, "value")
			return 1, b, err
		case "exists":
			r.Exists, b, err = readBool(b, "exists")
			return 2, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return err
	}
	detach(&r.Value)
	return nil
}

// SetRequest is the payload of KeyValue.Set.
type SetRequest struct {
	// Key is the key to create or replace.
	Key string
	// Value is the new value.
	Value string
	// Expires is the number of seconds after which the value is deleted; 0 means never.
	Expires uint32
}

// AppendMsgpack appends {"key": str, "value": str, "expires": uint} to b.
func (r *SetRequest) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x83)
	b = append(b, keyKey...)
	b = msgp.AppendString(b, r.Key)
	b = append(b, keyValue...)
	b = msgp.AppendString(b, r.Value)
	b = append(b, keyExpires...)
	return msgp.AppendUint32(b, r.Expires)
}

// UnmarshalMsgpack decodes a SetRequest: keys in any order, each of them optional (meaning "" or 0),
// expires as an integer of any width within the u32 range, unknown keys skipped. On error r is left
// unchanged.
func (r *SetRequest) UnmarshalMsgpack(b []byte) error {
	var v SetRequest
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode SetRequest: %w", err)
	}
	*r = v
	return nil
}

func (r *SetRequest) decode(b []byte) error {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "key":
			r.Key, b, err = readString(b, "key")
			return 1, b, err
		case "value":
			r.Value, b, err = readString(b, "value")
			return 2, b, err
		case "expires":
			var u uint64
			u, b, err = readUint(b, "expires", math.MaxUint32)
			r.Expires = uint32(u)
			return 4, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return err
	}
	detach(&r.Key, &r.Value)
	return nil
}

// IncrementRequest is the payload of KeyValue.Increment.
type IncrementRequest struct {
	// Key names the counter.
	Key string
	// Value is the amount to add (negative to subtract).
	Value int32
}

// AppendMsgpack appends {"key": str, "value": int} to b, the value in rmp-serde's shortest form.
func (r *IncrementRequest) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x82)
	b = append(b, keyKey...)
	b = msgp.AppendString(b, r.Key)
	b = append(b, keyValue...)
	return appendInt(b, int64(r.Value))
}

// UnmarshalMsgpack decodes an IncrementRequest: keys in any order and optional (meaning "" and 0),
// value as an integer of any width within the i32 range, unknown keys skipped. On error r is left
// unchanged.
func (r *IncrementRequest) UnmarshalMsgpack(b []byte) error {
	var v IncrementRequest
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode IncrementRequest: %w", err)
	}
	*r = v
	return nil
}

func (r *IncrementRequest) decode(b []byte) error {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "key":
			r.Key, b, err = readString(b, "key")
			return 1, b, err
		case "value":
			r.Value, b, err = readInt32(b, "value")
			return 2, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return err
	}
	detach(&r.Key)
	return nil
}

// ListAddRequest is the payload of KeyValue.ListAdd.
type ListAddRequest struct {
	// ListName names the list.
	ListName string
	// Value is appended to the list.
	Value string
}

// AppendMsgpack appends {"listName": str, "value": str} to b.
func (r *ListAddRequest) AppendMsgpack(b []byte) []byte {
	return appendPair(b, keyListName, r.ListName, keyValue, r.Value)
}

// UnmarshalMsgpack decodes a ListAddRequest: keys in any order and optional (meaning ""), unknown
// keys skipped. On error r is left unchanged.
func (r *ListAddRequest) UnmarshalMsgpack(b []byte) error {
	name, value, err := decodePair(b, "listName", "value")
	if err != nil {
		return fmt.Errorf("contract: decode ListAddRequest: %w", err)
	}
	r.ListName, r.Value = name, value
	return nil
}

// ListDelRequest is the payload of KeyValue.ListDel.
type ListDelRequest struct {
	// ListName names the list.
	ListName string
	// Value is removed from the list (its first occurrence only).
	Value string
}

// AppendMsgpack appends {"listName": str, "value": str} to b.
func (r *ListDelRequest) AppendMsgpack(b []byte) []byte {
	return appendPair(b, keyListName, r.ListName, keyValue, r.Value)
}

// UnmarshalMsgpack decodes a ListDelRequest: keys in any order and optional (meaning ""), unknown
// keys skipped. On error r is left unchanged.
func (r *ListDelRequest) UnmarshalMsgpack(b []byte) error {
	name, value, err := decodePair(b, "listName", "value")
	if err != nil {
		return fmt.Errorf("contract: decode ListDelRequest: %w", err)
	}
	r.ListName, r.Value = name, value
	return nil
}

// ListRangeRequest is the payload of KeyValue.ListRange.
type ListRangeRequest struct {
	// ListName names the list.
	ListName string
	// Start is the index of the first value returned, 0-based.
	Start int32
	// Stop is the index of the last value returned, inclusive.
	Stop int32
}

// AppendMsgpack appends {"listName": str, "start": int, "stop": int} to b.
func (r *ListRangeRequest) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x83)
	b = append(b, keyListName...)
	b = msgp.AppendString(b, r.ListName)
	b = append(b, keyStart...)
	b = appendInt(b, int64(r.Start))
	b = append(b, keyStop...)
	return appendInt(b, int64(r.Stop))
}

// UnmarshalMsgpack decodes a ListRangeRequest: keys in any order and optional (meaning "" and 0),
// start and stop as integers of any width within the i32 range, unknown keys skipped. On error r is
// left unchanged.
func (r *ListRangeRequest) UnmarshalMsgpack(b []byte) error {
	var v ListRangeRequest
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode ListRangeRequest: %w", err)
	}
	*r = v
	return nil
}

func (r *ListRangeRequest) decode(b []byte) error {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "listName":
			r.ListName, b, err = readString(b, "listName")
			return 1, b, err
		case "start":
			r.Start, b, err = readInt32(b, "start")
			return 2, b, err
		case "stop":
			r.Stop, b, err = readInt32(b, "stop")
			return 4, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return err
	}
	detach(&r.ListName)
	return nil
}

// SetAddRequest is the payload of KeyValue.SetAdd.
type SetAddRequest struct {
	// SetName names the set.
	SetName string
	// Value is added to the set.
	Value string
}

// AppendMsgpack appends {"setName": str, "value": str} to b.
func (r *SetAddRequest) AppendMsgpack(b []byte) []byte {
	return appendPair(b, keySetName, r.SetName, keyValue, r.Value)
}

// UnmarshalMsgpack decodes a SetAddRequest: keys in any order and optional (meaning ""), unknown
// keys skipped. On error r is left unchanged.
func (r *SetAddRequest) UnmarshalMsgpack(b []byte) error {
	name, value, err := decodePair(b, "setName", "value")
	if err != nil {
		return fmt.Errorf("contract: decode SetAddRequest: %w", err)
	}
	r.SetName, r.Value = name, value
	return nil
}

// SetDelRequest is the payload of KeyValue.SetDel.
type SetDelRequest struct {
	// SetName names the set.
	SetName string
	// Value is removed from the set.
	Value string
}

// AppendMsgpack appends {"setName": str, "value": str} to b.
func (r *SetDelRequest) AppendMsgpack(b []byte) []byte {
	return appendPair(b, keySetName, r.SetName, keyValue, r.Value)
}

// UnmarshalMsgpack decodes a SetDelRequest: keys in any order and optional (meaning ""), unknown
// keys skipped. On error r is left unchanged.
func (r *SetDelRequest) UnmarshalMsgpack(b []byte) error {
	name, value, err := decodePair(b, "setName", "value")
	if err != nil {
		return fmt.Errorf("contract: decode SetDelRequest: %w", err)
	}
	r.SetName, r.Value = name, value
	return nil
}

// StringList is a list of strings: the reply to ListRange, SetQuery, SetUnion and SetIntersection,
// and the payload of SetUnion and SetIntersection (the names of the sets).
type StringList []string

// AppendMsgpack appends the list as an array of str.
func (l *StringList) AppendMsgpack(b []byte) []byte {
	return appendStrings(b, *l)
}

// UnmarshalMsgpack decodes an array of str (not nil, not an array holding anything but str). An
// empty array decodes to a nil list. On error l is left unchanged.
func (l *StringList) UnmarshalMsgpack(b []byte) error {
	list, rest, err := readStringList(b, "")
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return fmt.Errorf("contract: decode StringList: %w", err)
	}
	detachList(list)
	*l = list
	return nil
}

// appendPair writes a map of two str values under two pre-encoded keys.
func appendPair(b []byte, k1, v1, k2, v2 string) []byte {
	b = append(b, 0x82)
	b = append(b, k1...)
	b = msgp.AppendString(b, v1)
	b = append(b, k2...)
	return msgp.AppendString(b, v2)
}

// decodePair decodes a structure of two optional str fields named k1 and k2 (absent meaning ""),
// keys in any order, unknown keys skipped. The results do not alias b.
func decodePair(b []byte, k1, k2 string) (v1, v2 string, err error) {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case k1:
			v1, b, err = readString(b, k1)
			return 1, b, err
		case k2:
			v2, b, err = readString(b, k2)
			return 2, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return "", "", err
	}
	detach(&v1, &v2)
	return v1, v2, nil
}
