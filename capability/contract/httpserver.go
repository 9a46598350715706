package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/msgpk"
)

// HTTPRequest is the payload of HttpServer.HandleRequest: an HTTP request handed to an actor
// (Smithy HttpRequest).
type HTTPRequest struct {
	// Method is the HTTP method, such as "GET".
	Method string
	// Path is the request path.
	Path string
	// QueryString is the raw query, without the '?'; empty when there is none.
	QueryString string
	// Header maps each header name to its values. A nil map is written as an empty map.
	Header map[string][]string
	// Body is the request body. After UnmarshalMsgpack it aliases the input buffer: copy it before
	// reusing that buffer.
	Body []byte
}

// HTTPRequest field bits for duplicate and presence tracking.
const (
	reqMethod seenFields = 1 << iota
	reqPath
	reqQueryString
	reqHeader
	reqBody
)

// AppendMsgpack appends the request's encoding to b: a map with the keys method, path, queryString,
// header and body in that order (the Smithy order, as rmp-serde writes it), header names sorted and
// body as a bin. It does not allocate when b has room and Header has at most 16 names.
func (r *HTTPRequest) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x85) // fixmap, 5 entries
	b = append(b, keyMethod...)
	b = msgp.AppendString(b, r.Method)
	b = append(b, keyPath...)
	b = msgp.AppendString(b, r.Path)
	b = append(b, keyQueryString...)
	b = msgp.AppendString(b, r.QueryString)
	b = append(b, keyHeader...)
	b = appendHeader(b, r.Header)
	b = append(b, keyBody...)
	return msgp.AppendBytes(b, r.Body)
}

// UnmarshalMsgpack decodes a request as 0.x hosts send it: keys in any order, body as bin or str,
// method, path, queryString and body absent meaning empty, and unknown keys skipped. header is
// required, as in the Rust model. It refuses a value of the wrong type, a duplicate key or header
// name and trailing bytes; the error wraps a *DecodeError.
//
// On success it replaces every field of r. Body then aliases b; the strings and the header do not
// (their bytes share one allocation). On error r is left unchanged.
func (r *HTTPRequest) UnmarshalMsgpack(b []byte) error {
	var v HTTPRequest
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode HttpRequest: %w", err)
	}
	*r = v
	return nil
}

func (r *HTTPRequest) decode(b []byte) error {
	var (
		raw   []byte
		shape headerShape
	)
	seen, b, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "method":
			r.Method, b, err = readString(b, "method")
			return reqMethod, b, err
		case "path":
			r.Path, b, err = readString(b, "path")
			return reqPath, b, err
		case "queryString":
			r.QueryString, b, err = readString(b, "queryString")
			return reqQueryString, b, err
		case "header":
			raw, shape, b, err = scanHeader(b, "header")
			return reqHeader, b, err
		case "body":
			r.Body, b, err = readBytes(b, "body")
			return reqBody, b, err
		}
		return 0, b, nil
	})
	if err != nil {
		return err
	}
	if seen&reqHeader == 0 {
		return fieldError("header", ErrMissingField)
	}
	if err := checkTrailing(b); err != nil {
		return err
	}
	blk := msgpk.NewStringBlock(len(r.Method) + len(r.Path) + len(r.QueryString) + shape.bytes)
	r.Method = blk.Copy(r.Method)
	r.Path = blk.Copy(r.Path)
	r.QueryString = blk.Copy(r.QueryString)
	r.Header, err = buildHeader(raw, shape, &blk, "header")
	return err
}

// HTTPResponse is an actor's reply to HttpServer.HandleRequest (Smithy HttpResponse).
type HTTPResponse struct {
	// StatusCode is the HTTP status, such as 200.
	StatusCode uint16
	// Header maps each header name to its values. A nil map is written as an empty map.
	Header map[string][]string
	// Body is the response body. After UnmarshalMsgpack it aliases the input buffer: copy it before
	// reusing that buffer.
	Body []byte
}

// HTTPResponse field bits for duplicate and presence tracking.
const (
	respStatusCode seenFields = 1 << iota
	respHeader
	respBody
)

// AppendMsgpack appends the response's encoding to b: a map with the keys statusCode, header and
// body in that order, statusCode in its shortest unsigned form, header names sorted and body as a
// bin. These are the bytes a current Rust actor writes. It does not allocate when b has room and
// Header has at most 16 names.
func (r *HTTPResponse) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x83) // fixmap, 3 entries
	b = append(b, keyStatusCode...)
	b = msgp.AppendUint16(b, r.StatusCode)
	b = append(b, keyHeader...)
	b = appendHeader(b, r.Header)
	b = append(b, keyBody...)
	return msgp.AppendBytes(b, r.Body)
}

// UnmarshalMsgpack decodes a response as 0.x actors write it: keys in any order, statusCode as an
// integer of any width within 0..65535, body as bin or str, statusCode and body absent meaning 0
// and empty, and unknown keys skipped. header is required, as in the Rust model. It refuses a value
// of the wrong type, a duplicate key or header name and trailing bytes; the error wraps a
// *DecodeError.
//
// On success it replaces every field of r. Body then aliases b; the header does not. On error r is
// left unchanged.
func (r *HTTPResponse) UnmarshalMsgpack(b []byte) error {
	var v HTTPResponse
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode HttpResponse: %w", err)
	}
	*r = v
	return nil
}

func (r *HTTPResponse) decode(b []byte) error {
	var (
		raw   []byte
		shape headerShape
	)
	seen, b, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "statusCode":
			var status uint64
			status, b, err = readUint(b, "statusCode", math.MaxUint16)
			r.StatusCode = uint16(status)
			return respStatusCode, b, err
		case "header":
			raw, shape, b, err = scanHeader(b, "header")
			return respHeader, b, err
		case "body":
			r.Body, b, err = readBytes(b, "body")
			return respBody, b, err
		}
		return 0, b, nil
	})
	if err != nil {
		return err
	}
	if seen&respHeader == 0 {
		return fieldError("header", ErrMissingField)
	}
	if err := checkTrailing(b); err != nil {
		return err
	}
	blk := msgpk.NewStringBlock(shape.bytes)
	r.Header, err = buildHeader(raw, shape, &blk, "header")
	return err
}
