package host

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestReadActorFile: a file reference reads a regular file within the size limit, and anything else (a
// device that never ends, a FIFO nobody writes, a directory, a file over the limit, nothing) is an error
// without reading more than the limit or blocking.
func TestReadActorFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.wasm")
	require.NoError(t, os.WriteFile(small, []byte("\x00asm\x01\x00\x00\x00"), 0o644))
	big := filepath.Join(dir, "big.wasm")
	require.NoError(t, os.WriteFile(big, make([]byte, 2048), 0o644))
	fifo := filepath.Join(dir, "fifo.wasm")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))

	got, err := readActorFile(small, 1024)
	require.NoError(t, err)
	require.Equal(t, "bytes", string(got), "\x00asm\x01\x00\x00\x00")

	for _, path := range []string{"/dev/zero", fifo, dir, big, filepath.Join(dir, "missing.wasm")} {
		_, err := readActorFile(path, 1024)
		require.True(t, err != nil, "%s read without an error", path)
	}
}
