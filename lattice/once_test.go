package lattice

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// openOnce opens the once-only record of the lattice "default" on srv through a connection of its own, as one
// host does.
func openOnce(t testing.TB, srv *server.Server, cfg OnceConfig) *Once {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	o, err := OpenOnce(context.Background(), nc, "default", "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOnce(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	a, b := openOnce(t, srv, OnceConfig{}), openOnce(t, srv, OnceConfig{})
	ctx := context.Background()
	later := time.Now().Add(time.Minute)

	t.Run("the bucket", func(t *testing.T) {
		require.Equal(t, "bucket", a.Bucket(), "WASMCLOUD_ONCE_default")
		nc, _ := nats.Connect(srv.ClientURL())
		defer nc.Close()
		js, _ := jetstream.New(nc)
		kv, err := js.KeyValue(ctx, a.Bucket())
		require.NoError(t, err)
		st, err := kv.Status(ctx)
		require.NoError(t, err)
		info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
		require.Equal(t, "storage", info.Config.Storage, jetstream.MemoryStorage)
		require.Equal(t, "per-message TTLs", info.Config.AllowMsgTTL, true)
		require.Equal(t, "max bytes", info.Config.MaxBytes, int64(DefaultOnceMaxBytes))
	})
	t.Run("once, whichever host asks", func(t *testing.T) {
		require.NoError(t, a.Claim(ctx, "k1", later))
		require.ErrorIs(t, a.Claim(ctx, "k1", later), ErrAlreadyClaimed)
		require.ErrorIs(t, b.Claim(ctx, "k1", later), ErrAlreadyClaimed)
		require.NoError(t, b.Claim(ctx, "k2", later))
	})
	t.Run("any string is a key", func(t *testing.T) {
		for _, k := range []string{"", "a.b.>", "*", "ctl\x00OABC\x00id with spaces", string(make([]byte, 4096))} {
			require.NoError(t, a.Claim(ctx, k, later), "claim %q", k)
			require.ErrorIs(t, b.Claim(ctx, k, later), ErrAlreadyClaimed)
		}
	})
	t.Run("concurrent claims: exactly one wins", func(t *testing.T) {
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			o := a
			if i%2 == 1 {
				o = b
			}
			wg.Go(func() {
				switch err := o.Claim(ctx, "race", later); {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, ErrAlreadyClaimed):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		require.Equal(t, "winners", won.Load(), int32(1))
	})
	t.Run("a claim ends at its time", func(t *testing.T) {
		require.NoError(t, a.Claim(ctx, "short", time.Now()))
		require.ErrorIs(t, b.Claim(ctx, "short", time.Now()), ErrAlreadyClaimed)
		require.EventuallyNoError(t, 10*time.Second, func() error { return b.Claim(ctx, "short", time.Now()) }, "the key free again")
	})
	t.Run("too long", func(t *testing.T) {
		require.ErrorIs(t, a.Claim(ctx, "long", time.Now().Add(2*DefaultOnceMaxTTL)), ErrClaimTooLong)
		require.NoError(t, a.Claim(ctx, "long", time.Now().Add(DefaultOnceMaxTTL-time.Minute)))
	})
	t.Run("full: refuses, never forgets", func(t *testing.T) {
		small := openOnceLattice(t, srv, "small", OnceConfig{MaxBytes: 4096})
		var err error
		n := 0
		for ; n < 1000 && err == nil; n++ {
			err = small.Claim(ctx, "k"+strconv.Itoa(n), later)
		}
		if err == nil || errors.Is(err, ErrAlreadyClaimed) {
			t.Fatalf("after %d claims: %v, want a full bucket", n, err)
		}
		require.ErrorIs(t, small.Claim(ctx, "k0", later), ErrAlreadyClaimed)
	})
}

func openOnceLattice(t testing.TB, srv *server.Server, lattice string, cfg OnceConfig) *Once {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	o, err := OpenOnce(context.Background(), nc, lattice, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpenOnceWithoutJetStream(t *testing.T) {
	srv := runServer(t, nil)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = OpenOnce(ctx, nc, "default", "", OnceConfig{})
	require.ErrorContains(t, err, "lattice: once-only record WASMCLOUD_ONCE_default")
}

// BenchmarkOnceClaim measures one claim of a fresh key against an in-process server, next to a raw NATS
// request/reply on the same server (BenchmarkOnceBaselineRequest): a claim is one JetStream publish with an
// acknowledgement, so it should cost about one round trip plus the server's store.
func BenchmarkOnceClaim(b *testing.B) {
	srv := runServer(b, &server.Options{JetStream: true})
	o := openOnce(b, srv, OnceConfig{MaxBytes: 1 << 30})
	ctx := context.Background()
	later := time.Now().Add(time.Minute)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := o.Claim(ctx, "bench."+strconv.Itoa(i), later); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOnceBaselineRequest is the baseline of BenchmarkOnceClaim: a raw request/reply with a responder on
// another connection.
func BenchmarkOnceBaselineRequest(b *testing.B) {
	srv := runServer(b, nil)
	responder, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer responder.Close()
	if _, err := responder.Subscribe("bench", func(m *nats.Msg) { _ = m.Respond(nil) }); err != nil {
		b.Fatal(err)
	}
	_ = responder.Flush()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Request("bench", []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
