package sdnotify

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"golang.org/x/sys/unix"
)

// notifications are the calls under test and the exact datagram each must send.
var notifications = []struct {
	name string
	call func() error
	want string
}{
	{"ready without status", func() error { return Ready("") }, "READY=1"},
	{"ready with status", func() error { return Ready("host NABC… ready on lattice default") }, "READY=1\nSTATUS=host NABC… ready on lattice default"},
	{"stopping", Stopping, "STOPPING=1"},
	{"status", func() error { return Status("draining 3 invocations") }, "STATUS=draining 3 invocations"},
	{"empty status clears it", func() error { return Status("") }, "STATUS="},
	{"watchdog", Watchdog, "WATCHDOG=1"},
}

func TestNotifyPathSocket(t *testing.T) {
	for _, tc := range notifications {
		t.Run(tc.name, func(t *testing.T) {
			conn := listenPath(t)
			require.NoError(t, tc.call())
			assertDatagram(t, conn, tc.want)
		})
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	for _, tc := range notifications {
		t.Run(tc.name, func(t *testing.T) {
			conn := listenAbstract(t)
			require.NoError(t, tc.call())
			assertDatagram(t, conn, tc.want)
		})
	}
}

// TestSequence sends the notifications of a host's life in order, one datagram each.
func TestSequence(t *testing.T) {
	conn := listenPath(t)
	require.NoError(t, Status("connecting to nats://127.0.0.1:4222"))
	require.NoError(t, Ready("ready"))
	require.NoError(t, Stopping())
	for _, want := range []string{"STATUS=connecting to nats://127.0.0.1:4222", "READY=1\nSTATUS=ready", "STOPPING=1"} {
		assertDatagram(t, conn, want)
	}
}

// TestReloading: a reload is announced with the monotonic clock systemd compares against the reload it
// asked for, and ended with READY=1.
func TestReloading(t *testing.T) {
	conn := listenPath(t)
	var before unix.Timespec
	require.NoError(t, unix.ClockGettime(unix.CLOCK_MONOTONIC, &before))
	require.NoError(t, Reloading())
	got := receive(t, conn)
	head, usec, ok := strings.Cut(got, "\nMONOTONIC_USEC=")
	require.True(t, ok, "datagram %q has no MONOTONIC_USEC", got)
	require.Equal(t, "first line", head, "RELOADING=1")
	n, err := strconv.ParseInt(usec, 10, 64)
	require.NoError(t, err)
	require.True(t, n >= before.Nano()/1000, "MONOTONIC_USEC=%d is before the call (%d)", n, before.Nano()/1000)
}

func TestUnsetIsNoOp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value *string // nil: unset
	}{
		{name: "unset"},
		{name: "empty", value: new(string)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envSocket, "") // restores the variable after the test
			if tc.value == nil {
				if err := os.Unsetenv(envSocket); err != nil {
					t.Fatal(err)
				}
			} else {
				t.Setenv(envSocket, *tc.value)
			}
			for _, n := range notifications {
				if err := n.call(); err != nil {
					t.Errorf("%s: error %v, want nil", n.name, err)
				}
			}
		})
	}
}

func TestUnreachableSocket(t *testing.T) {
	dir := socketDir(t)

	// A socket file whose listener has gone away (a stale file left by a crash).
	stale := filepath.Join(dir, "stale.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stale, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	_ = conn.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Skipf("the closed socket left no file behind to test with: %v", err)
	}

	tests := []struct {
		name   string
		socket string
		target error
	}{
		{"missing file", filepath.Join(dir, "missing.sock"), fs.ErrNotExist},
		{"stale file", stale, syscall.ECONNREFUSED},
	}
	if runtime.GOOS == "linux" {
		tests = append(tests,
			struct {
				name   string
				socket string
				target error
			}{"directory, not a socket", dir, syscall.ECONNREFUSED},
			struct {
				name   string
				socket string
				target error
			}{"abstract name nobody listens on", "@" + uniqueName(t), syscall.ECONNREFUSED},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envSocket, tc.socket)
			err := Ready("ready")
			if err == nil {
				t.Fatal("Ready returned nil for an unreachable socket")
			}
			require.ErrorIs(t, err, tc.target)
			require.ErrorContains(t, err, "sdnotify: send READY=1 to "+tc.socket+": ")
		})
	}
}

func TestUnsupportedAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		socket string
	}{
		{"relative path", "run/notify.sock"},
		{"bare at sign", "@"},
		{"vsock", "vsock:2:1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envSocket, tc.socket)
			for _, n := range notifications {
				err := n.call()
				require.ErrorIs(t, err, ErrSocketAddress)
				require.ErrorContains(t, err, strconv.Quote(tc.socket))
			}
		})
	}
}

// TestStatusTextRefused checks that a status that could smuggle in another assignment is refused
// and that nothing is sent: the next datagram the socket receives is the one sent after it.
func TestStatusTextRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func() error
		at   string
	}{
		{"status with newline", func() error { return Status("ok\nREADY=1") }, "at byte 2"},
		{"status with NUL", func() error { return Status("ok\x00") }, "at byte 2"},
		{"ready status with newline", func() error { return Ready("up\nSTOPPING=1") }, "at byte 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := listenPath(t)
			err := tc.call()
			require.ErrorIs(t, err, ErrStatusText)
			require.ErrorContains(t, err, tc.at)
			require.NoError(t, Watchdog())
			assertDatagram(t, conn, "WATCHDOG=1")
		})
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name   string
		usec   string // "": unset
		pid    string // "": unset
		want   time.Duration
		wantOK bool
	}{
		{name: "unset"},
		{name: "interval without pid", usec: "30000000", want: 30 * time.Second, wantOK: true},
		{name: "interval for this process", usec: "1500000", pid: self, want: 1500 * time.Millisecond, wantOK: true},
		{name: "interval for another process", usec: "1500000", pid: strconv.Itoa(os.Getpid() + 1)},
		{name: "pid not a number", usec: "1500000", pid: "me"},
		{name: "zero", usec: "0"},
		{name: "negative", usec: "-5"},
		{name: "not a number", usec: "30s"},
		{name: "overflows a Duration", usec: "9223372036854775807"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setOrUnset(t, envWatchdogUS, tc.usec)
			setOrUnset(t, envWatchdogPID, tc.pid)
			got, ok := WatchdogInterval()
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("WatchdogInterval() = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// setOrUnset sets key to value for the test, or unsets it when value is empty; either way the
// original value is restored afterwards.
func setOrUnset(t *testing.T, key, value string) {
	t.Helper()
	t.Setenv(key, value)
	if value == "" {
		if err := os.Unsetenv(key); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkReady(b *testing.B) {
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // drain, so the sender never blocks on a full receive queue
		defer close(done)
		buf := make([]byte, 256)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Setenv(envSocket, name)
	b.ReportAllocs()
	for b.Loop() {
		if err := Ready("ready"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = conn.Close()
	<-done
}
