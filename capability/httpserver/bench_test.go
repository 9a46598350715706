package httpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// benchSizes are the request (and echoed response) body sizes.
var benchSizes = []struct {
	name string
	size int
}{
	{"small", 64},
	{"64KiB", 64 << 10},
}

// echoActor is the trivial Handler: it answers with the request body.
func echoActor(_ context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
	return &contract.HTTPResponse{StatusCode: 200, Body: req.Body}, nil
}

// bareEcho is the same echo written directly on net/http, the baseline.
func bareEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// BenchmarkLoopback measures requests per second from one keep-alive client over loopback, through
// the Server with a trivial actor and through a bare net/http server, in the same run. Compare the
// req/s of the two servers for each size.
func BenchmarkLoopback(b *testing.B) {
	for _, sz := range benchSizes {
		body := bytes.Repeat([]byte("x"), sz.size)
		b.Run(sz.name+"/server=httpserver", func(b *testing.B) {
			s := New(Config{}, nil)
			b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
			if err := s.Bind("127.0.0.1:0", "MBENCH", echoActor); err != nil {
				b.Fatal(err)
			}
			runLoopback(b, "http://"+s.Addr("127.0.0.1:0")+"/echo", body)
		})
		b.Run(sz.name+"/server=nethttp", func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(bareEcho)}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					b.Error(err)
				}
			}()
			b.Cleanup(func() {
				_ = srv.Shutdown(context.Background())
				<-done
			})
			runLoopback(b, "http://"+ln.Addr().String()+"/echo", body)
		})
	}
}

func runLoopback(b *testing.B, url string, body []byte) {
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || n != int64(len(body)) {
			b.Fatalf("status %d, %d bytes, error %v", resp.StatusCode, n, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkServeHTTP measures the server side alone, without sockets: the mapping of one request
// to the actor and back, against the bare net/http echo on the same recorder.
func BenchmarkServeHTTP(b *testing.B) {
	for _, sz := range benchSizes {
		body := bytes.Repeat([]byte("x"), sz.size)
		cfg := Config{}.withDefaults()
		bind := &binding{cfg: &cfg, log: slog.New(slog.DiscardHandler), owner: "MBENCH"}
		h := Handler(echoActor)
		bind.target.Store(&h)
		for _, impl := range []struct {
			name string
			h    http.Handler
		}{{"httpserver", bind}, {"nethttp", http.HandlerFunc(bareEcho)}} {
			b.Run(fmt.Sprintf("%s/server=%s", sz.name, impl.name), func(b *testing.B) {
				req := httptest.NewRequest("POST", "/echo", nil)
				rd := bytes.NewReader(body)
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					rd.Reset(body)
					req.Body = io.NopCloser(rd)
					req.ContentLength = int64(len(body))
					w := httptest.NewRecorder()
					impl.h.ServeHTTP(w, req)
					if w.Code != 200 || w.Body.Len() != len(body) {
						b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
					}
				}
			})
		}
	}
}
