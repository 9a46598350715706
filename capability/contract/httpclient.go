package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// HTTPClientRequest is the payload of HttpClient.Request: an outgoing HTTP request an actor asks the
// wasmcloud:httpclient provider to make (Smithy org.wasmcloud.interface.httpclient#HttpRequest). The reply is
// an HTTPResponse, whose Smithy shape is the same as the HTTP server's.
type HTTPClientRequest struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// URL is the absolute URL to request.
	URL string
	// Headers maps each header name to its values. A nil map is written as an empty map.
	Headers map[string][]string
	// Body is the request body. After UnmarshalMsgpack it aliases the input buffer.
	Body []byte
	// TimeoutSecs, when not zero, asks for a shorter timeout than the provider's (an optional field some
	// interface versions have); the provider never waits longer than its own bound.
	TimeoutSecs uint16
}

// HTTPClientRequest field bits for duplicate and presence tracking.
const (
	creqMethod seenFields = 1 << iota
	creqURL
	creqHeaders
	creqBody
	creqTimeout
)

// Keys of HTTPClientRequest, pre-encoded as fixstr.
const (
	keyURL         = "\xa3url"
	keyHeaders     = "\xa7headers"
	keyTimeoutSecs = "\xabtimeoutSecs"
)

// AppendMsgpack appends the request's encoding to b: a map with the keys method, url, headers and body in
// that order (the Smithy order), and timeoutSecs after them when it is not zero; header names sorted, body
// as a bin.
func (r *HTTPClientRequest) AppendMsgpack(b []byte) []byte {
	n := byte(4)
	if r.TimeoutSecs != 0 {
		n = 5
	}
	b = append(b, 0x80|n)
	b = append(b, keyMethod...)
	b = msgp.AppendString(b, r.Method)
	b = append(b, keyURL...)
	b = msgp.AppendString(b, r.URL)
	b = append(b, keyHeaders...)
	b = appendHeader(b, r.Headers)
	b = append(b, keyBody...)
	b = msgp.AppendBytes(b, r.Body)
	if r.TimeoutSecs != 0 {
		b = append(b, keyTimeoutSecs...)
		b = msgp.AppendUint16(b, r.TimeoutSecs)
	}
	return b
}

// UnmarshalMsgpack decodes a request as 0.x actors send it: keys in any order, body as bin or str, method and
// body absent meaning GET and empty, timeoutSecs absent or nil meaning none, and unknown keys skipped. url and
// headers are required. It refuses a value of the wrong type, a duplicate key or header name and trailing
// bytes; the error wraps a *DecodeError.
//
// On success it replaces every field of r. Body then aliases b; the strings and headers do not. On error r is
// left unchanged.
func (r *HTTPClientRequest) UnmarshalMsgpack(b []byte) error {
	var v HTTPClientRequest
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode HttpClient HttpRequest: %w", err)
	}
	*r = v
	return nil
}

func (r *HTTPClientRequest) decode(b []byte) error {
	var (
		raw   []byte
		shape headerShape
	)
	seen, b, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "method":
			r.Method, b, err = readString(b, "method")
			return creqMethod, b, err
		case "url":
			r.URL, b, err = readString(b, "url")
			return creqURL, b, err
		case "headers":
			raw, shape, b, err = scanHeader(b, "headers")
			return creqHeaders, b, err
		case "body":
			r.Body, b, err = readBytes(b, "body")
			return creqBody, b, err
		case "timeoutSecs":
			if msgp.IsNil(b) {
				return creqTimeout, b[1:], nil
			}
			var secs uint64
			secs, b, err = readUint(b, "timeoutSecs", math.MaxUint16)
			r.TimeoutSecs = uint16(secs)
			return creqTimeout, b, err
		}
		return 0, b, nil
	})
	if err != nil {
		return err
	}
	switch {
	case seen&creqURL == 0:
		return fieldError("url", ErrMissingField)
	case seen&creqHeaders == 0:
		return fieldError("headers", ErrMissingField)
	}
	if err := checkTrailing(b); err != nil {
		return err
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	blk := msgpk.NewStringBlock(len(r.Method) + len(r.URL) + shape.bytes)
	r.Method = blk.Copy(r.Method)
	r.URL = blk.Copy(r.URL)
	r.Headers, err = buildHeader(raw, shape, &blk, "headers")
	return err
}
