package lattice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/natstest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// loadRecorder is a recorder that is also told when the copy is loaded, and of deleted links.
type loadRecorder struct {
	recorder
	mu      sync.Mutex
	loads   []bool
	deleted []string
}

func (r *loadRecorder) DataLoaded(_ context.Context, loaded bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loads = append(r.loads, loaded)
}

func (r *loadRecorder) LinkChanged(ctx context.Context, l control.LinkDefinition, set bool) {
	r.recorder.LinkChanged(ctx, l, set)
	if !set {
		r.mu.Lock()
		r.deleted = append(r.deleted, l.ActorID)
		r.mu.Unlock()
	}
}

func (r *loadRecorder) loadHistory() []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.loads)
}

func (r *loadRecorder) setLinks() int {
	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	return len(r.links)
}

// TestDataRetriesUntilJetStream starts a Data on a server without JetStream: Start fails, the Data retries,
// and once JetStream is enabled it loads the bucket, tells the observer, and stores links.
func TestDataRetriesUntilJetStream(t *testing.T) {
	srv := runServer(t, &server.Options{})
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	obs := &loadRecorder{}
	d := NewData("default", "", nil, obs, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := d.Start(ctx, nc); err == nil {
		t.Fatal("Start succeeded without JetStream")
	}
	defer d.Stop(context.Background())
	require.False(t, d.Loaded(), "loaded without JetStream")
	_, err = d.PutLink(ctx, control.LinkDefinition{ActorID: echoKey, ProviderID: "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		ContractID: "wasmcloud:keyvalue", LinkName: "default"})
	require.ErrorIs(t, err, ErrNoData)

	require.NoError(t, srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}))
	require.Eventually(t, 30*time.Second, d.Loaded, "the Data to load the bucket once JetStream is there")
	require.DeepEqual(t, "load history", obs.loadHistory(), []bool{true})
	l := control.LinkDefinition{ActorID: echoKey, ProviderID: "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{"bucket": "b"}}
	_, err = d.PutLink(ctx, l)
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, func() bool { return obs.setLinks() == 1 }, "the link to be applied")
}

// TestDataResync reads the bucket again: unchanged links are not reported again, and links that
// disappeared while the Data was not watching are reported as deleted.
func TestDataResync(t *testing.T) {
	obs := &loadRecorder{}
	d, nc := startData(t, obs)
	ctx := t.Context()
	l := control.LinkDefinition{ActorID: echoKey, ProviderID: "VAMPSNGKTNNUY5FVT2JJHCLVTLVFHDOTFCIGM32VHIMTPY2YTCH6NESC",
		ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{"bucket": "b"}}
	_, err := d.PutLink(ctx, l)
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, func() bool { return obs.setLinks() == 1 }, "the link to be applied")

	// A link the Data holds but the bucket no longer has, as if its deletion had been missed.
	gone := control.LinkDefinition{ActorID: "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E", ProviderID: l.ProviderID,
		ContractID: l.ContractID, LinkName: "default"}
	d.mu.Lock()
	d.links[LinkKey(gone.ActorID, gone.ContractID, gone.LinkName)] = gone
	d.mu.Unlock()

	d.Resync()
	require.Eventually(t, 10*time.Second, func() bool {
		h := obs.loadHistory()
		return len(h) == 3 && d.Loaded()
	}, "the bucket to be read again")
	require.DeepEqual(t, "load history", obs.loadHistory(), []bool{true, false, true})
	require.Equal(t, "links reported as set", obs.setLinks(), 1)
	obs.mu.Lock()
	require.DeepEqual(t, "links reported as deleted", obs.deleted, []string{gone.ActorID})
	obs.mu.Unlock()
	require.Equal(t, "links held", len(d.Links()), 1)
	_ = nc
}

// TestReplication creates buckets with a Replication on a single server and on a three-node cluster.
func TestReplication(t *testing.T) {
	single := runServer(t, &server.Options{JetStream: true})
	cluster := natstest.RunCluster(t, "lattice", 3)
	connect := func(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
		nc, err := nats.Connect(url)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		return nc, js
	}
	tests := []struct {
		name    string
		url     string
		rep     Replication
		want    int
		wantErr bool
	}{
		{name: "auto on a single server", url: single.ClientURL(), want: 1},
		{name: "auto on a cluster", url: cluster.URL(0), want: 3},
		{name: "one on a cluster", url: cluster.URL(1), rep: Replication{Replicas: 1}, want: 1},
		{name: "three on a single server", url: single.ClientURL(), rep: Replication{Replicas: 3}, wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, js := connect(t, tt.url)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			bucket := fmt.Sprintf("rep%d", i)
			_, err := Replicated(js, nc, tt.rep).CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket})
			if tt.wantErr {
				if err == nil {
					t.Fatal("created")
				}
				return
			}
			require.NoError(t, err)
			s, err := js.Stream(ctx, "KV_"+bucket)
			require.NoError(t, err)
			require.Equal(t, "replicas", s.CachedInfo().Config.Replicas, tt.want)
			obs, err := Replicated(js, nc, tt.rep).CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "obj" + bucket})
			require.NoError(t, err)
			st, err := obs.Status(ctx)
			require.NoError(t, err)
			require.Equal(t, "object store replicas", st.Replicas(), tt.want)
		})
	}

	t.Run("under-replicated buckets are found", func(t *testing.T) {
		nc, js := connect(t, cluster.URL(2))
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		for _, c := range []jetstream.KeyValueConfig{
			{Bucket: DataBucket("lat"), Replicas: 1},
			{Bucket: "counters", Description: KeyValueDescription, Replicas: 1},
			{Bucket: "other", Replicas: 1},
			{Bucket: "replicated", Description: KeyValueDescription, Replicas: 3},
		} {
			_, err := js.CreateKeyValue(ctx, c)
			require.NoError(t, err)
		}
		found, err := FindUnderReplicated(ctx, js, nc, Replication{}, "lat")
		require.NoError(t, err)
		slices.SortFunc(found, func(a, b UnderReplicated) int { return compare(a.Bucket, b.Bucket) })
		require.DeepEqual(t, "under-replicated", found, []UnderReplicated{
			{Bucket: DataBucket("lat"), Stream: "KV_" + DataBucket("lat"), Have: 1, Want: 2},
			{Bucket: "counters", Stream: "KV_counters", Have: 1, Want: 2},
		})
		found, err = FindUnderReplicated(ctx, js, nc, Replication{Replicas: 5}, "lat")
		require.NoError(t, err)
		require.Equal(t, "below five", len(found), 3)
	})
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestConnectRetries starts the server only after Connect began: with RetryConnect, Connect waits for it.
func TestConnectRetries(t *testing.T) {
	port := freePort(t)
	log, buf := captureLog()
	done := make(chan error, 1)
	go func() {
		nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: fmt.Sprintf("nats://127.0.0.1:%d", port), RetryConnect: true,
			ReconnectWait: 10 * time.Millisecond, MaxReconnectWait: 50 * time.Millisecond}, log)
		if err == nil {
			nc.Close()
		}
		done <- err
	}()
	logLine(t, buf, `msg="no NATS server reachable; retrying"`, "connection=rpc")
	runServer(t, &server.Options{Port: port})
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Connect did not return after the server started")
	}

	// A refused credential is not retried.
	srv := runServer(t, &server.Options{Username: "u", Password: "p"})
	_, err := Connect(t.Context(), ConnConfig{Name: "ctl", URL: srv.ClientURL(), RetryConnect: true}, nil)
	if err == nil || !IsAuthError(err) {
		t.Fatalf("Connect = %v, want an authorization failure at once", err)
	}
}

// connEvents records a ConnObserver's calls.
type connEvents struct {
	mu     sync.Mutex
	events []string
}

func (c *connEvents) add(s string) { c.mu.Lock(); c.events = append(c.events, s); c.mu.Unlock() }
func (c *connEvents) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.events, s)
}
func (c *connEvents) Disconnected(name string, _ error) { c.add("disconnected " + name) }
func (c *connEvents) Reconnected(name, _ string)        { c.add("reconnected " + name) }
func (c *connEvents) Closed(name string, err error) {
	c.add(fmt.Sprintf("closed %s %v", name, err != nil))
}
func (c *connEvents) Error(name string, err error) {
	if IsAuthError(err) {
		c.add("auth " + name)
	}
}

// TestConnObserver: the observer hears of a disconnect, a reconnect and a close; a server that closes the
// connection for good (maximum control line exceeded) ends it with an error.
func TestConnObserver(t *testing.T) {
	port := freePort(t)
	srv := runServer(t, &server.Options{Port: port, MaxControlLine: 1024})
	ev := &connEvents{}
	nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: srv.ClientURL(), Observer: ev,
		ReconnectWait: 5 * time.Millisecond, MaxReconnectWait: 20 * time.Millisecond}, nil)
	require.NoError(t, err)
	defer nc.Close()
	srv.Shutdown()
	srv.WaitForShutdown()
	require.Eventually(t, 10*time.Second, func() bool { return ev.has("disconnected rpc") }, "disconnected")
	runServer(t, &server.Options{Port: port, MaxControlLine: 1024})
	require.Eventually(t, 10*time.Second, func() bool { return ev.has("reconnected rpc") }, "reconnected")

	// A subject longer than the server's control line: the server closes the connection.
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'a'
	}
	_ = nc.Publish(string(long), nil)
	_ = nc.Flush()
	require.Eventually(t, 20*time.Second, func() bool { return ev.has("closed rpc true") }, "the connection closed by the server, with an error")
	require.True(t, nc.IsClosed(), "closed for good")
}

func TestIsAuthError(t *testing.T) {
	require.True(t, IsAuthError(nats.ErrAuthorization), "ErrAuthorization")
	require.True(t, IsAuthError(fmt.Errorf("x: %w", nats.ErrAuthExpired)), "wrapped ErrAuthExpired")
	require.True(t, IsAuthError(errors.New("nats: Authorization Violation")), "text")
	require.False(t, IsAuthError(nats.ErrNoServers), "ErrNoServers")
	require.False(t, IsAuthError(nil), "nil")
}
