package contract

import (
	"bytes"
	"strconv"
	"testing"
)

var benchSizes = []int{0, 1 << 10, 64 << 10}

// benchHeader is a typical browser request header: 6 names, 7 values.
func benchHeader() map[string][]string {
	return map[string][]string{
		"Host":            {"localhost:8080"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		"Accept":          {"text/html", "application/xhtml+xml"},
		"Accept-Language": {"en-US,en;q=0.5"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Connection":      {"keep-alive"},
	}
}

func benchRequest(size int) HTTPRequest {
	return HTTPRequest{
		Method: "POST", Path: "/api/counter/visits", QueryString: "amount=5&x=y",
		Header: benchHeader(), Body: bytes.Repeat([]byte{'a'}, size),
	}
}

func benchResponse(size int) HTTPResponse {
	return HTTPResponse{
		StatusCode: 200,
		Header:     map[string][]string{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}},
		Body:       bytes.Repeat([]byte{'a'}, size),
	}
}

func BenchmarkHTTPRequestEncode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			r := benchRequest(size)
			buf := r.AppendMsgpack(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = r.AppendMsgpack(buf[:0])
			}
		})
	}
}

func BenchmarkHTTPRequestDecode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			r := benchRequest(size)
			enc := r.AppendMsgpack(nil)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			var out HTTPRequest
			for b.Loop() {
				if err := out.UnmarshalMsgpack(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHTTPResponseEncode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			r := benchResponse(size)
			buf := r.AppendMsgpack(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = r.AppendMsgpack(buf[:0])
			}
		})
	}
}

func BenchmarkHTTPResponseDecode(b *testing.B) {
	for _, size := range benchSizes {
		b.Run("body="+strconv.Itoa(size), func(b *testing.B) {
			r := benchResponse(size)
			enc := r.AppendMsgpack(nil)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			var out HTTPResponse
			for b.Loop() {
				if err := out.UnmarshalMsgpack(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIncrementRequestDecode measures kvcounter's host call as recorded.
func BenchmarkIncrementRequestDecode(b *testing.B) {
	enc := unhex(b, vecIncrementCounter)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var out IncrementRequest
	for b.Loop() {
		if err := out.UnmarshalMsgpack(enc); err != nil {
			b.Fatal(err)
		}
	}
}
