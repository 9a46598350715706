package contract

import (
	"slices"

	"github.com/tinylib/msgp/msgp"
)

// Map keys, pre-encoded as MessagePack fixstr (a 0xa0|len byte, then the name).
const (
	keyMethod      = "\xa6method"
	keyPath        = "\xa4path"
	keyQueryString = "\xabqueryString"
	keyHeader      = "\xa6header"
	keyBody        = "\xa4body"
	keyStatusCode  = "\xaastatusCode"
	keyValue       = "\xa5value"
	keyExists      = "\xa6exists"
	keyKey         = "\xa3key"
	keyExpires     = "\xa7expires"
	keyListName    = "\xa8listName"
	keyStart       = "\xa5start"
	keyStop        = "\xa4stop"
	keySetName     = "\xa7setName"
	keySubject     = "\xa7subject"
	keyReplyTo     = "\xa7replyTo"
	keyTimeoutMs   = "\xa9timeoutMs"
	keyLevel       = "\xa5level"
	keyText        = "\xa4text"
	keyMin         = "\xa3min"
	keyMax         = "\xa3max"
)

// appendInt writes a signed integer the way rmp-serde does: a non-negative value in the shortest
// unsigned form (so 200 is cc c8, not d1 00 c8), a negative one in the shortest signed form.
func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return msgp.AppendUint64(b, uint64(v))
	}
	return msgp.AppendInt64(b, v)
}

// sortedNamesOnStack is how many header names appendHeader sorts without allocating.
const sortedNamesOnStack = 16

// appendHeader writes a HeaderMap with its names in ascending order, so that the same value always
// encodes to the same bytes. A nil map is written as an empty map.
func appendHeader(b []byte, h map[string][]string) []byte {
	b = msgp.AppendMapHeader(b, uint32(len(h)))
	if len(h) == 0 {
		return b
	}
	var stack [sortedNamesOnStack]string
	names := stack[:0]
	if len(h) > sortedNamesOnStack {
		names = make([]string, 0, len(h))
	}
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = msgp.AppendString(b, name)
		b = appendStrings(b, h[name])
	}
	return b
}

// appendStrings writes an array of str.
func appendStrings(b []byte, list []string) []byte {
	b = msgp.AppendArrayHeader(b, uint32(len(list)))
	for _, s := range list {
		b = msgp.AppendString(b, s)
	}
	return b
}
