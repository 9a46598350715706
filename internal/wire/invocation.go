package wire

import (
	"fmt"
	"unsafe"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// Invocation is one call from an actor or provider (Origin) to another (Target), as carried on the
// wasmbus.rpc subjects.
type Invocation struct {
	Origin Entity
	Target Entity
	// Operation is the operation name, such as "HttpServer.HandleRequest".
	Operation string
	// Msg is the payload. It is empty when the payload was chunked into the object store. After
	// UnmarshalMsgpack it aliases the input buffer: copy it before reusing that buffer.
	Msg []byte
	// ID is the invocation id, kept exactly as sent (hyphenated or simple UUID): the claims sign it.
	ID string
	// EncodedClaims is the invocation claims token (a JWT signed by a cluster key).
	EncodedClaims string
	// HostID is the sending host's N key (OTP hosts put their cluster C key here).
	HostID string
	// ContentLength is the length of the whole payload; larger than len(Msg) when it was chunked.
	// It is written as is: set it to len(Msg) unless the payload is chunked.
	ContentLength uint64
	// TraceContext carries trace propagation headers. An empty map is not written.
	TraceContext map[string]string

	// Unauthenticated is not part of the wire format: rpc.Cluster.Verify sets it when the verified token says
	// the invocation was made on behalf of unauthenticated input, so that the receiving host marks what the
	// actor does in turn.
	Unauthenticated bool
}

// TargetURL returns the target URL that the invocation claims sign: the target entity's URL, a
// slash and the operation.
func (inv *Invocation) TargetURL() string {
	b := make([]byte, 0, len(urlScheme)+len(inv.Target.PublicKey)+len(inv.Target.ContractID)+len(inv.Target.LinkName)+3+len(inv.Operation))
	b = inv.Target.AppendURL(b)
	b = append(b, '/')
	b = append(b, inv.Operation...)
	// b is never written again, so the string can share its memory.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// AppendMsgpack appends the invocation's MessagePack encoding to b and returns the extended slice.
// The keys are written in the order origin, target, operation, msg, id, encoded_claims, host_id,
// content_length and, when it is not empty, traceContext; msg is always a bin (0xc4 0x00 when empty)
// and integers use their shortest form. It does not allocate when b has room (and traceContext has
// at most 16 entries).
func (inv *Invocation) AppendMsgpack(b []byte) []byte {
	if len(inv.TraceContext) > 0 {
		b = append(b, 0x89) // fixmap, 9 entries
	} else {
		b = append(b, 0x88)
	}
	b = append(b, keyOrigin...)
	b = appendEntity(b, &inv.Origin)
	b = append(b, keyTarget...)
	b = appendEntity(b, &inv.Target)
	b = append(b, keyOperation...)
	b = msgp.AppendString(b, inv.Operation)
	b = append(b, keyMsg...)
	b = msgp.AppendBytes(b, inv.Msg)
	b = append(b, keyID...)
	b = msgp.AppendString(b, inv.ID)
	b = append(b, keyEncodedClaims...)
	b = msgp.AppendString(b, inv.EncodedClaims)
	b = append(b, keyHostID...)
	b = msgp.AppendString(b, inv.HostID)
	b = append(b, keyContentLength...)
	b = msgp.AppendUint64(b, inv.ContentLength)
	if len(inv.TraceContext) > 0 {
		b = append(b, keyTraceContext...)
		b = appendTrace(b, inv.TraceContext)
	}
	return b
}

// Invocation field bits for duplicate and presence tracking.
const (
	invOrigin = 1 << iota
	invTarget
	invOperation
	invMsg
	invID
	invEncodedClaims
	invHostID
	invContentLength
	invTraceContext

	invRequired = invOrigin | invTarget | invOperation | invID | invEncodedClaims | invHostID
)

// UnmarshalMsgpack decodes an invocation as any 0.x peer sends it: keys in any order, msg as bin
// or str (absent means empty), content_length of any integer width or absent or nil (then
// len(Msg)), traceContext absent, nil or a map of at most MaxTraceEntries strings, and unknown keys
// skipped. It refuses a top level that is not a map, a missing origin, target, operation, id,
// encoded_claims or host_id, a value of the wrong type, a duplicate key, a negative content_length
// and trailing bytes; the error wraps a *DecodeError and one of the package's sentinels.
//
// On success it replaces every field of inv. Msg then aliases b; the strings do not (they share one
// allocation of their own). On error inv is left unchanged.
func (inv *Invocation) UnmarshalMsgpack(b []byte) error {
	var v Invocation
	if err := v.decode(b); err != nil {
		return fmt.Errorf("wire: decode invocation: %w", err)
	}
	*inv = v
	return nil
}

func (inv *Invocation) decode(b []byte) error {
	n, b, err := readMapHeader(b, "", "", true)
	if err != nil {
		return err
	}
	var (
		seen     uint16
		lengthOK bool
	)
	for ; n > 0; n-- {
		var key []byte
		key, b, err = readKey(b, "")
		if err != nil {
			return err
		}
		var bit uint16
		switch string(key) {
		case "origin":
			bit = invOrigin
			inv.Origin, b, err = readEntity(b, "origin")
		case "target":
			bit = invTarget
			inv.Target, b, err = readEntity(b, "target")
		case "operation":
			bit = invOperation
			inv.Operation, b, err = readString(b, "", "operation")
		case "msg":
			bit = invMsg
			inv.Msg, b, err = readPayload(b, "msg", invocationPayload)
		case "id":
			bit = invID
			inv.ID, b, err = readString(b, "", "id")
		case "encoded_claims":
			bit = invEncodedClaims
			inv.EncodedClaims, b, err = readString(b, "", "encoded_claims")
		case "host_id":
			bit = invHostID
			inv.HostID, b, err = readString(b, "", "host_id")
		case "content_length":
			bit = invContentLength
			inv.ContentLength, lengthOK, b, err = readLength(b, "content_length")
		case "traceContext":
			bit = invTraceContext
			inv.TraceContext, b, err = readTrace(b, "traceContext")
		default:
			b, err = skipValue(b, "", key)
		}
		if err != nil {
			return err
		}
		if bit != 0 {
			if seen&bit != 0 {
				return fieldError("", string(key), ErrDuplicateKey)
			}
			seen |= bit
		}
	}
	if missing := invRequired &^ seen; missing != 0 {
		return fieldError("", invFieldName(missing), ErrMissingField)
	}
	if err := checkTrailing(b); err != nil {
		return err
	}
	if !lengthOK {
		inv.ContentLength = uint64(len(inv.Msg))
	}
	inv.detachStrings()
	return nil
}

// detachStrings copies every string field, which aliases the input after decode, into one block
// of its own. Every string field of Invocation and Entity must be listed here.
func (inv *Invocation) detachStrings() {
	fields := [...]*string{
		&inv.Origin.PublicKey, &inv.Origin.ContractID, &inv.Origin.LinkName,
		&inv.Target.PublicKey, &inv.Target.ContractID, &inv.Target.LinkName,
		&inv.Operation, &inv.ID, &inv.EncodedClaims, &inv.HostID,
	}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	blk := msgpk.NewStringBlock(n)
	for _, f := range fields {
		blk.Detach(f)
	}
}

// invFieldName names the first field set in bits, in encoding order.
func invFieldName(bits uint16) string {
	switch {
	case bits&invOrigin != 0:
		return "origin"
	case bits&invTarget != 0:
		return "target"
	case bits&invOperation != 0:
		return "operation"
	case bits&invID != 0:
		return "id"
	case bits&invEncodedClaims != 0:
		return "encoded_claims"
	default:
		return "host_id"
	}
}
