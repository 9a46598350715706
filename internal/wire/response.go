package wire

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// EmptyErrorText is what Response.Error holds after decoding a response whose error key is present
// with an empty string. Peers treat any present error as a failure, and an empty Error would read
// as success.
const EmptyErrorText = "(empty error from peer)"

// Response is the reply to an Invocation (InvocationResponse in the 0.x hosts).
type Response struct {
	// Msg is the reply payload; ignore it when Error is set. After UnmarshalMsgpack it aliases the
	// input buffer: copy it before reusing that buffer.
	Msg []byte
	// InvocationID is the id of the invocation this answers.
	InvocationID string
	// Error is the failure message; empty means success.
	Error string
	// ContentLength is the length of the whole reply payload; larger than len(Msg) when it was
	// chunked. It is always written (the Rust host requires it), as is.
	ContentLength uint64
	// TraceContext carries trace propagation headers. An empty map is not written.
	TraceContext map[string]string
	// InstanceID is the OTP host's actor instance id, when one sent it.
	InstanceID string
	// Claims is this host's extension: a token signed by the responding host, carried under the
	// key "response_claims" that 0.x peers ignore. It is not written when empty.
	Claims string
}

// AppendMsgpack appends the response's MessagePack encoding to b and returns the extended slice.
// The keys are written in the order msg, invocation_id, error (when not empty), content_length,
// traceContext, instance_id and response_claims (each when not empty); msg is always a bin. It
// does not allocate when b has room (and traceContext has at most 16 entries).
func (r *Response) AppendMsgpack(b []byte) []byte {
	n := byte(3)
	if r.Error != "" {
		n++
	}
	if len(r.TraceContext) > 0 {
		n++
	}
	if r.InstanceID != "" {
		n++
	}
	if r.Claims != "" {
		n++
	}
	b = append(b, 0x80|n) // fixmap
	b = append(b, keyMsg...)
	b = msgp.AppendBytes(b, r.Msg)
	b = append(b, keyInvocationID...)
	b = msgp.AppendString(b, r.InvocationID)
	if r.Error != "" {
		b = append(b, keyError...)
		b = msgp.AppendString(b, r.Error)
	}
	b = append(b, keyContentLength...)
	b = msgp.AppendUint64(b, r.ContentLength)
	if len(r.TraceContext) > 0 {
		b = append(b, keyTraceContext...)
		b = appendTrace(b, r.TraceContext)
	}
	if r.InstanceID != "" {
		b = append(b, keyInstanceID...)
		b = msgp.AppendString(b, r.InstanceID)
	}
	if r.Claims != "" {
		b = append(b, keyResponseClaims...)
		b = msgp.AppendString(b, r.Claims)
	}
	return b
}

// Response field bits for duplicate and presence tracking.
const (
	respMsg = 1 << iota
	respInvocationID
	respError
	respContentLength
	respTraceContext
	respInstanceID
	respClaims
)

// UnmarshalMsgpack decodes a response as any 0.x peer sends it: keys in any order; msg as bin,
// str, nil or an empty array (absent means empty); error, instance_id and response_claims as str,
// nil or absent; content_length of any integer width, or absent or nil (then len(Msg));
// traceContext as for invocations; unknown keys skipped. Only invocation_id is required. A present
// but empty error decodes to EmptyErrorText. Refusals are as for Invocation.UnmarshalMsgpack.
//
// On success it replaces every field of r. Msg then aliases b; the strings do not. On error r is
// left unchanged.
func (r *Response) UnmarshalMsgpack(b []byte) error {
	var v Response
	if err := v.decode(b); err != nil {
		return fmt.Errorf("wire: decode response: %w", err)
	}
	*r = v
	return nil
}

func (r *Response) decode(b []byte) error {
	n, b, err := readMapHeader(b, "", "", true)
	if err != nil {
		return err
	}
	var (
		seen       uint8
		lengthOK   bool
		errPresent bool
	)
	for ; n > 0; n-- {
		var key []byte
		key, b, err = readKey(b, "")
		if err != nil {
			return err
		}
		var bit uint8
		switch string(key) {
		case "msg":
			bit = respMsg
			r.Msg, b, err = readPayload(b, "msg", responsePayload)
		case "invocation_id":
			bit = respInvocationID
			r.InvocationID, b, err = readString(b, "", "invocation_id")
		case "error":
			bit = respError
			errPresent = !msgp.IsNil(b)
			r.Error, b, err = readOptString(b, "", "error")
		case "content_length":
			bit = respContentLength
			r.ContentLength, lengthOK, b, err = readLength(b, "content_length")
		case "traceContext":
			bit = respTraceContext
			r.TraceContext, b, err = readTrace(b, "traceContext")
		case "instance_id":
			bit = respInstanceID
			r.InstanceID, b, err = readOptString(b, "", "instance_id")
		case "response_claims":
			bit = respClaims
			r.Claims, b, err = readOptString(b, "", "response_claims")
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
	if seen&respInvocationID == 0 {
		return fieldError("", "invocation_id", ErrMissingField)
	}
	if err := checkTrailing(b); err != nil {
		return err
	}
	if !lengthOK {
		r.ContentLength = uint64(len(r.Msg))
	}
	r.detachStrings()
	if errPresent && r.Error == "" {
		r.Error = EmptyErrorText
	}
	return nil
}

// detachStrings copies every string field, which aliases the input after decode, into one block
// of its own. Every string field of Response must be listed here.
func (r *Response) detachStrings() {
	fields := [...]*string{&r.InvocationID, &r.Error, &r.InstanceID, &r.Claims}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	blk := msgpk.NewStringBlock(n)
	for _, f := range fields {
		blk.Detach(f)
	}
}
