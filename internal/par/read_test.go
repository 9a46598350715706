package par

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

func TestReadRefusals(t *testing.T) {
	token := signed(t, testKey(t, nkey.Account, 1), wascap.Claims{}, providerMeta(binaries()))
	claims := file{name: TokenEntry, data: []byte(token)}
	linux := file{name: "x86_64-linux.bin", data: []byte("\x7fELF")}
	good := gz(t, tarOf(t, claims, linux))

	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 in the gzip trailer

	many := []file{claims}
	for i := range 8 {
		many = append(many, file{name: strings.Repeat("x", i+1) + "-linux.bin", data: []byte{1}})
	}

	tests := []struct {
		name  string
		input []byte
		lim   Limits
		want  error
		msg   string
	}{
		{"empty", nil, Limits{}, ErrMalformed, "0 bytes is too short"},
		{"one byte", []byte{0x1f}, Limits{}, ErrMalformed, "too short"},
		{"text", []byte("hello world, this is not an archive at all"), Limits{}, ErrMalformed, "not a tar archive"},
		{"text of a tar block", bytes.Repeat([]byte("not a tar header "), 40), Limits{}, ErrMalformed, "not a tar archive"},
		{"gzipped text", gz(t, []byte(strings.Repeat("text ", 200))), Limits{}, ErrMalformed, "not a tar archive"},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Limits{}, ErrMalformed, "gzip header"},
		{"truncated gzip", good[:len(good)/2], Limits{}, ErrMalformed, "truncated"},
		{"gzip checksum", corrupt, Limits{}, ErrMalformed, "checksum"},
		{"truncated tar", tarOf(t, claims, linux)[:1000], Limits{}, ErrMalformed, "truncated"},
		{"parent path", gz(t, tarOf(t, claims, file{name: "../x86_64-linux.bin", data: []byte{1}})), Limits{}, ErrUnsafePath, `"../x86_64-linux.bin"`},
		{"absolute path", gz(t, tarOf(t, claims, file{name: "/usr/bin/x86_64-linux.bin", data: []byte{1}})), Limits{}, ErrUnsafePath, ""},
		{"subdirectory", gz(t, tarOf(t, file{name: "dir/claims.jwt", data: []byte(token)}, linux)), Limits{}, ErrUnsafePath, ""},
		{"dot slash", gz(t, tarOf(t, file{name: "./claims.jwt", data: []byte(token)}, linux)), Limits{}, ErrUnsafePath, ""},
		{"backslash", gz(t, tarOf(t, claims, file{name: `..\x86_64-linux.bin`, data: []byte{1}})), Limits{}, ErrUnsafePath, ""},
		{"dot dot", gz(t, tarOf(t, claims, file{name: "..", data: []byte{1}})), Limits{}, ErrUnsafePath, ""},
		{"control character", gz(t, tarOf(t, claims, file{name: "x86_64-linux\x1b[2J.bin", data: []byte{1}})), Limits{}, ErrUnsafePath, `\x1b`},
		{"symlink", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeSymlink, linkname: "/bin/sh"})), Limits{}, ErrEntryType, "symbolic link"},
		{"hard link", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeLink, linkname: "claims.jwt"})), Limits{}, ErrEntryType, "hard link"},
		{"directory", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeDir})), Limits{}, ErrEntryType, "directory"},
		{"character device", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeChar})), Limits{}, ErrEntryType, "character device"},
		{"block device", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeBlock})), Limits{}, ErrEntryType, "block device"},
		{"fifo", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", typ: tar.TypeFifo})), Limits{}, ErrEntryType, "FIFO"},
		{"duplicate binary", gz(t, tarOf(t, claims, linux, linux)), Limits{}, ErrDuplicateEntry, `"x86_64-linux.bin"`},
		{"duplicate token", gz(t, tarOf(t, claims, linux, claims)), Limits{}, ErrDuplicateEntry, `"claims.jwt"`},
		{"unknown entry", gz(t, tarOf(t, claims, linux, file{name: "README.md", data: []byte("hi")})), Limits{}, ErrUnknownEntry, `"README.md"`},
		{"token under another extension", gz(t, tarOf(t, file{name: "claims.txt", data: []byte(token)}, linux)), Limits{}, ErrUnknownEntry, ""},
		{"binary named claims", gz(t, tarOf(t, claims, file{name: "claims.bin", data: []byte{1}})), Limits{}, ErrUnknownEntry, ""},
		{"binary named world", gz(t, tarOf(t, claims, file{name: "world.bin", data: []byte{1}})), Limits{}, ErrUnknownEntry, ""},
		{"binary without extension", gz(t, tarOf(t, claims, file{name: "x86_64-linux", data: []byte{1}})), Limits{}, ErrUnknownEntry, ""},
		{"no token", gz(t, tarOf(t, linux)), Limits{}, ErrNoToken, ""},
		{"no binary", gz(t, tarOf(t, claims)), Limits{}, ErrNoBinaries, ""},
		{"empty tar", gz(t, tarOf(t)), Limits{}, ErrNoToken, ""},
		{"token not UTF-8", gz(t, tarOf(t, file{name: TokenEntry, data: []byte{0xff, 0xfe}}, linux)), Limits{}, ErrMalformed, "UTF-8"},
		{"token too large", gz(t, tarOf(t, file{name: TokenEntry, data: make([]byte, wascap.MaxTokenSize+1)}, linux)), Limits{}, ErrTooLarge, "claims.jwt"},
		{"too many entries", gz(t, tarOf(t, many...)), Limits{MaxEntries: 8}, ErrTooManyEntries, "more than 8"},
		{"entry too large", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", data: make([]byte, 1025)})), Limits{MaxEntrySize: 1024}, ErrTooLarge, "1025 bytes, limit 1024"},
		{"total too large", gz(t, tarOf(t, claims, file{name: "x86_64-linux.bin", data: make([]byte, 1000)},
			file{name: "aarch64-linux.bin", data: make([]byte, 1000)})), Limits{MaxTotalSize: 2500}, ErrTooLarge, "in all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadWith(bytes.NewReader(tc.input), ReadOptions{Limits: tc.lim})
			if a != nil {
				t.Fatal("an archive returned with an error")
			}
			require.ErrorIs(t, err, tc.want)
			for _, reason := range readReasons {
				if reason != tc.want && errors.Is(err, reason) {
					t.Fatalf("error %v also matches %v", err, reason)
				}
			}
			if !strings.HasPrefix(err.Error(), "par: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error text %q, want %q", err, tc.msg)
			}
		})
	}

	// The same entries read fine when nothing is wrong with them.
	if _, err := Read(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
}

var readReasons = []error{ErrMalformed, ErrTooLarge, ErrTooManyEntries, ErrUnsafePath, ErrUnknownEntry, ErrEntryType,
	ErrDuplicateEntry, ErrNoToken, ErrNoBinaries}

// A token written with a trailing newline (by hand, with echo) still reads.
func TestTokenTrailingNewline(t *testing.T) {
	bins := binaries()
	token := signed(t, testKey(t, nkey.Account, 1), wascap.Claims{}, providerMeta(bins))
	a := read(t, parOf(t, token+"\r\n", bins))
	if a.Token() != token {
		t.Fatalf("token %q", a.Token())
	}
	if _, err := Verify(a, "x86_64-linux", VerifyOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
}

// failingReader fails after handing out some bytes, as a broken disk or connection would.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestReadIOError(t *testing.T) {
	ioErr := errors.New("disk on fire")
	b := create(t, exampleOptions(t))
	_, err := Read(&failingReader{r: bytes.NewReader(b[:len(b)/2]), err: ioErr})
	if !errors.Is(err, ioErr) || errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "par: read archive: ") {
		t.Fatalf("error %v", err)
	}
	_, err = Read(&failingReader{r: bytes.NewReader(nil), err: ioErr})
	if !errors.Is(err, ioErr) {
		t.Fatalf("error %v", err)
	}
}

// bombHeader returns a gzipped tar whose first binary's header announces size bytes, followed by only a
// little data: a bomb that a reader trusting the header would allocate for.
func bombHeader(t *testing.T, size int64) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "x86_64-linux.bin", Size: size, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	// The header block is written; leave the entry unfinished.
	b.Write(make([]byte, 4096))
	return gz(t, b.Bytes())
}

// zeroBomb returns a small gzip stream holding a valid archive followed, in the same gzip member, by n zero
// bytes: the shape of a decompression bomb that hides in what a tar reader skips.
func zeroBomb(t *testing.T, n int64) []byte {
	t.Helper()
	bins := binaries()
	token := signed(t, testKey(t, nkey.Account, 1), wascap.Claims{}, providerMeta(bins))
	archive := tarOf(t, file{name: TokenEntry, data: []byte(token)}, file{name: "x86_64-linux.bin", data: bins["x86_64-linux"]})
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(archive)
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		zw.Write(zeros[:min(left, int64(len(zeros)))])
	}
	zw.Close()
	return out.Bytes()
}

// Bombs fail with ErrTooLarge, having allocated a small fraction of what they would expand to.
func TestBombs(t *testing.T) {
	tests := []struct {
		name     string
		input    []byte
		lim      Limits
		expanded int64 // what the input claims or decompresses to
		msg      string
	}{
		{"header announces a terabyte", bombHeader(t, 1<<40), Limits{}, 1 << 40, "x86_64-linux.bin\" is 1099511627776 bytes"},
		{"header announces just under the entry limit", bombHeader(t, DefaultLimits.MaxEntrySize), Limits{MaxTotalSize: 1 << 20},
			DefaultLimits.MaxEntrySize, "in all"},
		{"zeros after the archive", zeroBomb(t, 16<<20), Limits{MaxTotalSize: 1 << 16, MaxEntries: 8}, 16 << 20,
			"the decompressed archive exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if int64(len(tc.input)) > tc.expanded/50 {
				t.Fatalf("test bug: a %d-byte input expanding to %d is no bomb", len(tc.input), tc.expanded)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := ReadWith(bytes.NewReader(tc.input), ReadOptions{Limits: tc.lim})
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, ErrTooLarge)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want %q", err, tc.msg)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Fatalf("reading the bomb allocated %d bytes", alloc)
			}
		})
	}
}

// An endless input stops at the input limit: a gzip stream of empty stored deflate blocks makes no output,
// so only the bound on the compressed bytes ends it.
func TestInputCap(t *testing.T) {
	lim := Limits{MaxEntries: 4, MaxEntrySize: 1 << 10, MaxTotalSize: 1 << 10}
	header := gz(t, nil)[:10]
	emptyBlocks := &repeatReader{b: []byte{0x00, 0x00, 0x00, 0xff, 0xff}} // BFINAL=0, stored, LEN 0, NLEN ^0
	_, err := ReadWith(io.MultiReader(bytes.NewReader(header), emptyBlocks), ReadOptions{Limits: lim})
	require.ErrorIs(t, err, ErrTooLarge)
	if !strings.Contains(err.Error(), "the input exceeds") || emptyBlocks.n > 4<<20 {
		t.Fatalf("error %v after %d bytes", err, emptyBlocks.n)
	}

	// Two zero blocks end a plain tar: whatever follows is never read.
	endless := &repeatReader{b: make([]byte, 512)}
	_, err = ReadWith(io.MultiReader(bytes.NewReader(tarOf(t, file{name: TokenEntry, data: []byte("x")})), endless),
		ReadOptions{Limits: lim})
	require.ErrorIs(t, err, ErrNoBinaries)
}

// repeatReader repeats b without end, counting the bytes it hands out.
type repeatReader struct {
	b   []byte
	off int
	n   int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[r.off]
		r.off = (r.off + 1) % len(r.b)
	}
	r.n += int64(len(p))
	return len(p), nil
}

// wasmCloud's writer (tokio-tar's Header::new_gnu, then set_path, set_size and set_cksum) leaves the type
// flag and the mode as NUL bytes: such entries are regular files.
func TestReadWasmCloudHeaders(t *testing.T) {
	plain := gunzip(t, create(t, exampleOptions(t)))
	patched := bytes.Clone(plain)
	for off := 0; off+512 <= len(patched); {
		hdr := patched[off : off+512]
		if bytes.Equal(hdr, make([]byte, 512)) {
			break
		}
		size, err := strconv.ParseInt(strings.TrimRight(string(hdr[124:135]), "\x00 "), 8, 64)
		if err != nil {
			t.Fatal(err)
		}
		clear(hdr[100:108])            // mode
		hdr[156] = 0                   // type flag: NUL, the old regular file
		copy(hdr[148:156], "        ") // checksum, counted as spaces
		var sum int64
		for _, c := range hdr {
			sum += int64(c)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		off += 512 + int(size+511)/512*512
	}
	if patched[156] != 0 || bytes.Equal(patched, plain) {
		t.Fatal("test bug: nothing patched")
	}
	a := read(t, gz(t, patched))
	if _, err := Inspect(a, VerifyOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	if len(a.Targets()) != 3 {
		t.Fatalf("targets %q", a.Targets())
	}
}
