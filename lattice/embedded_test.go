package lattice

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestEmbeddedJetStream(t *testing.T) {
	store := filepath.Join(t.TempDir(), "state", "js")
	log, buf := captureLog()
	e := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: store, ServerName: "embedded-test"}, log)
	require.Equal(t, "ClientURL before Start", e.ClientURL(), "")
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })

	url := e.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || url == "nats://127.0.0.1:-1" {
		t.Fatalf("ClientURL = %q", url)
	}
	nc, err := Connect(t.Context(), ConnConfig{Name: "rpc", URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(t.Context()); err != nil {
		t.Fatalf("JetStream not reachable: %v", err)
	}
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "LATTICEDATA_default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), "LINKDEF_x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// The stream's files are in StoreDir.
	if _, err := os.Stat(filepath.Join(store, "jetstream", "$G", "streams", "KV_LATTICEDATA_default")); err != nil {
		t.Fatalf("JetStream store not in StoreDir: %v", err)
	}
	// The server's log went to slog at debug level, not to stdout.
	logLine(t, buf, "level=DEBUG", "component=nats-server", "Server is ready")
	require.Equal(t, "server name", nc.ConnectedServerName(), "embedded-test")

	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	require.Eventually(t, 10*time.Second, func() bool { return !nc.IsConnected() }, "client to see the server gone")
	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	require.Equal(t, "ClientURL after Shutdown", e.ClientURL(), "")
	if err := e.Start(t.Context()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Start after Shutdown = %v, want ErrShutdown", err)
	}
}

func TestEmbeddedOptions(t *testing.T) {
	e := NewEmbedded(EmbeddedConfig{StoreDir: "/s", JSDomain: "edge"}, nil)
	o := e.options()
	require.Equal(t, "NoSigs", o.NoSigs, true)
	require.Equal(t, "JetStream", o.JetStream, true)
	require.Equal(t, "Host", o.Host, "127.0.0.1")
	require.Equal(t, "Port", o.Port, 4222)
	require.Equal(t, "StoreDir", o.StoreDir, "/s")
	require.Equal(t, "JetStreamDomain", o.JetStreamDomain, "edge")
	require.Equal(t, "HTTPPort", o.HTTPPort, 0)
	require.Equal(t, "Addr", e.Addr(), "127.0.0.1:4222")
}

func TestEmbeddedPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	e := NewEmbedded(EmbeddedConfig{Port: port, StoreDir: t.TempDir()}, nil)
	err = e.Start(t.Context())
	if err == nil {
		t.Fatal("Start succeeded on a taken port")
	}
	require.Equal(t, "error", err.Error(), "lattice: embedded nats-server on 127.0.0.1:"+strconv.Itoa(port)+": address already in use")
	if !errors.Is(err, ErrPortInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("errors.Is(%v, ErrPortInUse and EADDRINUSE) = false", err)
	}
	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown after failed Start: %v", err)
	}
}

// TestListenErrorFromServerLog: when another process binds the port after Start's own check,
// the only trace is nats-server's fatal log line; it still maps to ErrPortInUse.
func TestListenErrorFromServerLog(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		inUse  bool
		wantTx string
	}{
		{"taken", `Error listening on port: 127.0.0.1:4222, "listen tcp 127.0.0.1:4222: bind: address already in use"`, true, "address already in use"},
		{"other", `Can't start JetStream: permission denied`, false, "Can't start JetStream: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := listenError(nil, tt.msg)
			require.Equal(t, "in use", errors.Is(err, ErrPortInUse), tt.inUse)
			require.Equal(t, "text", err.Error(), tt.wantTx)
		})
	}
}

func TestEmbeddedBadConfig(t *testing.T) {
	tests := []struct {
		name string
		c    EmbeddedConfig
		want string
	}{
		{"all interfaces", EmbeddedConfig{Host: "0.0.0.0", StoreDir: "/x"}, `lattice: embedded nats-server on 0.0.0.0:4222: invalid configuration: "0.0.0.0" is not a loopback IP address`},
		{"private address", EmbeddedConfig{Host: "10.1.2.3", StoreDir: "/x"}, `lattice: embedded nats-server on 10.1.2.3:4222: invalid configuration: "10.1.2.3" is not a loopback IP address`},
		{"host name", EmbeddedConfig{Host: "localhost", StoreDir: "/x"}, `lattice: embedded nats-server on localhost:4222: invalid configuration: "localhost" is not a loopback IP address`},
		{"no store", EmbeddedConfig{}, `lattice: embedded nats-server on 127.0.0.1:4222: invalid configuration: no JetStream store directory`},
		{"port", EmbeddedConfig{Port: 70000, StoreDir: "/x"}, `lattice: embedded nats-server on 127.0.0.1:70000: invalid configuration: port 70000 out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewEmbedded(tt.c, nil).Start(t.Context())
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Start = %v, want ErrConfig", err)
			}
			require.Equal(t, "error", err.Error(), tt.want)
		})
	}
}

func TestEmbeddedStoreNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: filepath.Join(file, "js")}, nil).Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "create JetStream store") {
		t.Fatalf("Start = %v, want a store error", err)
	}
}

func TestEmbeddedStartTwice(t *testing.T) {
	e := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: t.TempDir()}, nil)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if err := e.Start(t.Context()); err == nil || !strings.HasSuffix(err.Error(), ": already started") {
		t.Fatalf("second Start = %v", err)
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	e := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: t.TempDir()}, nil)
	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	if err := e.Start(t.Context()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Start after Shutdown = %v", err)
	}
}

func TestDecide(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := busy.Addr().String()
	freeAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))

	tests := []struct {
		name       string
		mode       config.EmbeddedMode
		configured bool
		probe      string
		want       bool
	}{
		{"auto, nothing configured, nothing listening", config.EmbeddedAuto, false, freeAddr, true},
		{"auto, nothing configured, a server listening", config.EmbeddedAuto, false, busyAddr, false},
		{"auto, configured", config.EmbeddedAuto, true, freeAddr, false},
		{"true, configured, listening", config.EmbeddedAlways, true, busyAddr, true},
		{"true", config.EmbeddedAlways, false, freeAddr, true},
		{"false", config.EmbeddedNever, false, freeAddr, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(t.Context(), tt.mode, tt.configured, tt.probe)
			if err != nil {
				t.Fatal(err)
			}
			require.Equal(t, "start", got, tt.want)
		})
	}
	t.Run("unknown mode", func(t *testing.T) {
		_, err := Decide(t.Context(), "sometimes", false, freeAddr)
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("err = %v, want ErrConfig", err)
		}
	})
}

func TestStartEmbedded(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	t.Run("auto starts when alone", func(t *testing.T) {
		port := freePort(t)
		e, err := StartEmbedded(t.Context(), config.EmbeddedAuto, false, EmbeddedConfig{Port: port, StoreDir: t.TempDir()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			t.Fatal("no server started")
		}
		defer e.Shutdown(context.Background())
		require.Equal(t, "ClientURL", e.ClientURL(), "nats://127.0.0.1:"+strconv.Itoa(port))
	})
	t.Run("auto joins what answers", func(t *testing.T) {
		e, err := StartEmbedded(t.Context(), config.EmbeddedAuto, false, EmbeddedConfig{Port: busyPort, StoreDir: t.TempDir()}, nil)
		if err != nil || e != nil {
			t.Fatalf("StartEmbedded = %v, %v; want nil, nil", e, err)
		}
	})
	t.Run("false", func(t *testing.T) {
		e, err := StartEmbedded(t.Context(), config.EmbeddedNever, false, EmbeddedConfig{Port: freePort(t), StoreDir: t.TempDir()}, nil)
		if err != nil || e != nil {
			t.Fatalf("StartEmbedded = %v, %v; want nil, nil", e, err)
		}
	})
	t.Run("true on a taken port fails", func(t *testing.T) {
		_, err := StartEmbedded(t.Context(), config.EmbeddedAlways, false, EmbeddedConfig{Port: busyPort, StoreDir: t.TempDir()}, nil)
		if !errors.Is(err, ErrPortInUse) {
			t.Fatalf("err = %v, want ErrPortInUse", err)
		}
	})
	// The race: the probe found nothing, then another host bound the port before this one.
	t.Run("auto losing the race joins", func(t *testing.T) {
		log, buf := captureLog()
		e := NewEmbedded(EmbeddedConfig{Port: busyPort, StoreDir: t.TempDir()}, log)
		got, err := startOrJoin(t.Context(), config.EmbeddedAuto, e)
		if err != nil || got != nil {
			t.Fatalf("startOrJoin = %v, %v; want nil, nil", got, err)
		}
		logLine(t, buf, "level=INFO", "connecting to it as a client", "url=nats://127.0.0.1:"+strconv.Itoa(busyPort))
	})
	t.Run("true losing the race fails", func(t *testing.T) {
		e := NewEmbedded(EmbeddedConfig{Port: busyPort, StoreDir: t.TempDir()}, nil)
		if _, err := startOrJoin(t.Context(), config.EmbeddedAlways, e); !errors.Is(err, ErrPortInUse) {
			t.Fatalf("err = %v, want ErrPortInUse", err)
		}
	})
}

// TestEmbeddedStartCancelled: a context that is already over stops Start without a hang.
func TestEmbeddedStartCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	e := NewEmbedded(EmbeddedConfig{Port: -1, StoreDir: t.TempDir()}, nil)
	err := e.Start(ctx)
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v, want ErrNotReady and DeadlineExceeded", err)
	}
	require.Equal(t, "ClientURL", e.ClientURL(), "")
	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}
