package sdnotify

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// maxSocketPath is the longest socket path every supported kernel accepts (sun_path is 108 bytes on
// Linux and 104 on the BSDs, including the terminating NUL).
const maxSocketPath = 103

// socketDir returns an empty directory whose paths are short enough for a unix socket: t.TempDir()
// when it is, otherwise a directory directly under the system's temporary directory.
func socketDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir)+len("/notify.sock") <= maxSocketPath {
		return dir
	}
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatalf("make a short temporary directory: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// listenPath listens for datagrams on a socket file in a fresh directory, points NOTIFY_SOCKET at it
// and returns the listening end.
func listenPath(t *testing.T) *net.UnixConn {
	t.Helper()
	return listen(t, filepath.Join(socketDir(t), "notify.sock"))
}

// listenAbstract does what listenPath does with a unique name in the abstract namespace (Linux).
func listenAbstract(t *testing.T) *net.UnixConn {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("abstract unix sockets exist only on Linux")
	}
	return listen(t, "@"+uniqueName(t))
}

func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", name, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	t.Setenv(envSocket, name)
	return conn
}

// uniqueName returns a name no other test run uses.
func uniqueName(t *testing.T) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "wasmcloud-host-sdnotify-test-" + hex.EncodeToString(b[:])
}

// receive reads the next datagram, failing the test if none arrives within a generous deadline.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("set read deadline: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification received: %v", err)
	}
	return string(buf[:n])
}

// assertDatagram checks that the next datagram on conn is exactly want.
func assertDatagram(t *testing.T, conn *net.UnixConn, want string) {
	t.Helper()
	if got := receive(t, conn); got != want {
		t.Errorf("datagram = %q, want %q", got, want)
	}
}
