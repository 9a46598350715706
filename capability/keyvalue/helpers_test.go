package keyvalue

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// runServer starts an in-process nats-server with JetStream storing in dir, on port (-1 for any).
func runServer(tb testing.TB, dir string, port int) *server.Server {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		tb.Fatal("nats-server not ready")
	}
	tb.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

func serverPort(srv *server.Server) int { return srv.Addr().(*net.TCPAddr).Port }

// connect opens a connection that keeps reconnecting, and its JetStream context.
func connect(tb testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// setup starts a server and returns a JetStream context on it.
func setup(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	srv := runServer(tb, tb.TempDir(), -1)
	_, js := connect(tb, srv.ClientURL())
	return js
}

func newStore(tb testing.TB, js jetstream.JetStream, bucket, prefix string) *Store {
	tb.Helper()
	s, err := New(testCtx(tb), js, bucket, prefix)
	if err != nil {
		tb.Fatalf("New(%q, %q): %v", bucket, prefix, err)
	}
	return s
}

// testCtx returns a context that ends with the test, bounded to 30 s.
func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func assertStrings(tb testing.TB, name string, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("%s = %q, want %q", name, got, want)
	}
}

// mustGet returns Get's results, failing the test on error.
func mustGet(tb testing.TB, s *Store, key string) (string, bool) {
	tb.Helper()
	v, ok, err := s.Get(testCtx(tb), key)
	require.NoError(tb, err)
	return v, ok
}

// assertValue checks that key holds want.
func assertValue(tb testing.TB, s *Store, key, want string) {
	tb.Helper()
	v, ok := mustGet(tb, s, key)
	if !ok || v != want {
		tb.Errorf("Get(%q) = %q, %v; want %q, true", key, v, ok, want)
	}
}

// assertAbsent checks that key holds nothing.
func assertAbsent(tb testing.TB, s *Store, key string) {
	tb.Helper()
	v, ok := mustGet(tb, s, key)
	if ok {
		tb.Errorf("Get(%q) = %q, true; want absent", key, v)
	}
}

// bucketKeys lists the JetStream keys of live entries in a bucket, as nats.go's KV API sees them.
func bucketKeys(tb testing.TB, js jetstream.JetStream, bucket string) []string {
	tb.Helper()
	kv, err := js.KeyValue(testCtx(tb), bucket)
	require.NoError(tb, err)
	keys, err := kv.Keys(testCtx(tb))
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	require.NoError(tb, err)
	slices.Sort(keys)
	return keys
}
