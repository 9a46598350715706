package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// BenchmarkHTTPEcho measures requests per second over loopback HTTP to echo.wasm behind the built-in HTTP
// server (request mapping, a local invocation with every check but a token's, the actor in wazero, the
// response mapping), next to a bare net/http handler that writes the same bytes, in the same run and with the
// same client. Each pair runs serially (one keep-alive connection) and with b.RunParallel; the echo.wasm side
// reports its cost as a multiple of the bare handler's ("x-nethttp").
func BenchmarkHTTPEcho(b *testing.B) {
	s := runNATS(b)
	h := startHost(b, s, clusterSeed(b))
	ctx := context.Background()
	if _, err := h.StartActorBytes(ctx, "echo.wasm", testutil.Actor(b, "echo.wasm")); err != nil {
		b.Fatal(err)
	}
	// One instance per processor, so that parallel requests are not queued behind a single module.
	if err := h.ScaleActor(ctx, echoKey, runtime.GOMAXPROCS(0)); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	link(b, h, echoKey, capability.BuiltinHTTPServer, contract.ContractHTTPServer, map[string]string{"address": addr})
	const target = "/echo?x=1"
	actorURL := "http://" + addr + target
	want := firstAnswer(b, actorURL)

	bareURL := "http://" + bareServer(b, want) + target
	for _, mode := range []string{"serial", "parallel"} {
		parallel := mode == "parallel"
		var baseline float64 // ns/op of the bare handler in this mode
		b.Run(mode+"/server=nethttp", func(b *testing.B) {
			baseline = loopback(b, bareURL, want, parallel)
		})
		b.Run(mode+"/server=echo.wasm", func(b *testing.B) {
			if ns := loopback(b, actorURL, want, parallel); baseline > 0 {
				b.ReportMetric(ns/baseline, "x-nethttp")
			}
		})
	}
}

// firstAnswer polls GET url until the actor answers 200 (the listener appears once the link is applied), and
// returns the body: what every later request must get back.
func firstAnswer(b *testing.B, url string) []byte {
	b.Helper()
	var body []byte
	require.EventuallyNoError(b, 10*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode == http.StatusOK {
			return nil
		}
		return errors.Join(err, errors.New(resp.Status))
	}, "GET %s", url)
	if !bytes.Contains(body, []byte(`"path":"/echo"`)) || !bytes.Contains(body, []byte(`"query_string":"x=1"`)) {
		b.Fatalf("echo answered %q", body)
	}
	return body
}

// bareServer serves body for every request from a plain net/http handler on a loopback port, with the
// headers the built-in server sends for echo's answer (a Content-Length, no Content-Type), and returns its
// address.
func bareServer(b *testing.B, body []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	length := []string{strconv.Itoa(len(body))}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header()["Content-Length"] = length
		w.Header()["Content-Type"] = nil
		_, _ = w.Write(body)
	})}
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
	return ln.Addr().String()
}

// loopback sends b.N GETs to url on kept-alive connections, checks every answer is want, reports req/s, and
// returns ns/op.
func loopback(b *testing.B, url string, want []byte, parallel bool) float64 {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func(buf *bytes.Buffer) error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf.Reset()
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(buf.Bytes(), want) {
			return errors.New("answer " + resp.Status + " " + strconv.Quote(buf.String()))
		}
		return nil
	}
	b.SetBytes(int64(len(want)))
	b.ReportAllocs()
	if parallel {
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var buf bytes.Buffer
			for pb.Next() {
				if err := get(&buf); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		var buf bytes.Buffer
		for b.Loop() {
			if err := get(&buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

// BenchmarkKVIncrement measures KeyValue.Increment through the capability gate and the built-in key-value
// provider (with a stored link: the claims and link checks, payload decoding, the confined store, a read and
// a compare-and-swap write in JetStream,
// the reply encoding) next to raw JetStream KV calls on the same server in the same run: a Put (one round
// trip, the floor) and a Get followed by an Update (the two round trips an increment needs at least). The
// provider side reports its cost as a multiple of the raw Put ("x-put") and of the raw Get+Update
// ("x-get-update").
func BenchmarkKVIncrement(b *testing.B) {
	s := runNATS(b)
	h := startHost(b, s, clusterSeed(b))
	ctx := context.Background()
	const bucket = "bench_kv"
	link(b, h, kvcounterKey, capability.BuiltinKeyValue, contract.ContractKeyValue, map[string]string{keyvalue.LinkBucket: bucket, keyvalue.LinkPrefix: "app"})
	caller := capability.Caller{Key: kvcounterKey, Caps: []string{contract.ContractKeyValue}}
	payload := (&contract.IncrementRequest{Key: "counter", Value: 1}).AppendMsgpack(nil)
	// The first call creates the bucket, which the raw baselines then use too.
	var count int32
	increment := func(b *testing.B) {
		out, err := h.caps.Call(ctx, caller, "default", contract.ContractKeyValue, contract.OpKeyValueIncrement, payload)
		if err != nil {
			b.Fatal(err)
		}
		count++
		if v, err := contract.UnmarshalI32(out); err != nil || v != count {
			b.Fatalf("Increment = %d, %v; want %d", v, err, count)
		}
	}
	increment(b)

	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		b.Fatal(err)
	}
	value := []byte("12345")
	if _, err := kv.Put(ctx, "raw", value); err != nil {
		b.Fatal(err)
	}

	var put, getUpdate float64 // ns/op of the baselines
	b.Run("baseline=jetstream-put", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.Put(ctx, "raw", value); err != nil {
				b.Fatal(err)
			}
		}
		put = reportOps(b)
	})
	b.Run("baseline=jetstream-get-update", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := kv.Get(ctx, "raw")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kv.Update(ctx, "raw", value, e.Revision()); err != nil {
				b.Fatal(err)
			}
		}
		getUpdate = reportOps(b)
	})
	b.Run("provider=builtin-increment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			increment(b)
		}
		ns := reportOps(b)
		if put > 0 && getUpdate > 0 {
			b.ReportMetric(ns/put, "x-put")
			b.ReportMetric(ns/getUpdate, "x-get-update")
		}
	})
}

// reportOps reports ops/s and returns ns/op.
func reportOps(b *testing.B) float64 {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}
