package par

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// Entry names of the archive layout.
const (
	TokenEntry   = "claims.jwt" // the signed token
	WorldEntry   = "world.wasm" // a WIT world (wasmCloud 1.x), hashed under this same key in target_hashes
	BinarySuffix = ".bin"       // a binary's entry is its target name followed by this suffix
)

// Limits bound what Read accepts. A zero field takes DefaultLimits' value.
type Limits struct {
	MaxEntries   int   // entries in the archive
	MaxEntrySize int64 // uncompressed bytes of one entry
	MaxTotalSize int64 // uncompressed bytes of all entries together
}

// DefaultLimits fit real provider archives, whose binaries are tens of megabytes each for half a dozen
// platforms, with room to spare.
var DefaultLimits = Limits{
	MaxEntries:   64,
	MaxEntrySize: 256 << 20,
	MaxTotalSize: 1 << 30,
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultLimits.MaxEntries
	}
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = DefaultLimits.MaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultLimits.MaxTotalSize
	}
	return l
}

// streamCap bounds the bytes read from the input and, for a gzipped archive, decompressed from it: the
// entries plus room for tar headers, padding and a trailer.
func (l Limits) streamCap() int64 {
	return l.MaxTotalSize + int64(l.MaxEntries)*4096 + 2<<20
}

// ReadOptions tune ReadWith. The zero value applies DefaultLimits and keeps every binary.
type ReadOptions struct {
	Limits Limits
	// Keep selects the targets whose binaries stay in memory; the others are hashed as they stream past and
	// dropped, so their hashes can still be checked. Nil keeps every binary.
	Keep func(target string) bool
}

// KeepTarget returns a ReadOptions.Keep that keeps only the binary of target: what a host that is about to
// run the provider needs.
func KeepTarget(target string) func(string) bool {
	return func(t string) bool { return t == target }
}

// KeepNone is a ReadOptions.Keep that keeps no binary: enough to inspect an archive.
func KeepNone(string) bool { return false }

// Archive is a decoded provider archive. Its token has not been verified: call Verify.
type Archive struct {
	token      string
	binaries   map[string]*entry // by target
	world      *entry
	compressed bool
}

type entry struct {
	size int64
	hash string // upper-case hex SHA-256, as target_hashes holds it
	data []byte // nil when not kept
}

// Token returns the contents of claims.jwt, without trailing white space.
func (a *Archive) Token() string { return a.token }

// Compressed reports whether the archive was gzipped.
func (a *Archive) Compressed() bool { return a.compressed }

// Targets returns the targets the archive holds a binary for, sorted.
func (a *Archive) Targets() []string {
	ts := make([]string, 0, len(a.binaries))
	for t := range a.binaries {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// Binary returns the binary for target, or false when the archive has none or Read did not keep it. The
// bytes are shared: callers must not modify them.
func (a *Archive) Binary(target string) ([]byte, bool) {
	e, ok := a.binaries[target]
	if !ok || e.data == nil {
		return nil, false
	}
	return e.data, true
}

// Hash returns the upper-case hex SHA-256 of the binary for target (or of the WIT world, for WorldEntry) as
// read, whether or not its bytes were kept.
func (a *Archive) Hash(target string) (string, bool) {
	if e := a.lookup(target); e != nil {
		return e.hash, true
	}
	return "", false
}

// Size returns the size in bytes of the binary for target (or of the WIT world, for WorldEntry).
func (a *Archive) Size(target string) (int64, bool) {
	if e := a.lookup(target); e != nil {
		return e.size, true
	}
	return 0, false
}

// World returns the WIT world (world.wasm), or false when the archive has none.
func (a *Archive) World() ([]byte, bool) {
	if a.world == nil {
		return nil, false
	}
	return a.world.data, true
}

func (a *Archive) lookup(target string) *entry {
	if target == WorldEntry {
		return a.world
	}
	return a.binaries[target]
}

// Read decodes a provider archive, plain or gzipped, with DefaultLimits, keeping every binary in memory.
func Read(r io.Reader) (*Archive, error) { return ReadWith(r, ReadOptions{}) }

// ReadWith decodes a provider archive, plain or gzipped. It refuses, with an error matching one of the
// reasons in errors.go, anything beyond the limits, entries that are not flat regular files named
// claims.jwt, world.wasm or <target>.bin, duplicates, and an archive without a token or a binary. Sizes
// announced in tar headers are checked before an entry is read, and memory grows only with bytes actually
// read, so a gzip or tar bomb fails at the first entry that exceeds a limit. A gzipped archive is read to
// the end of its gzip member, so that its checksum is verified.
func ReadWith(r io.Reader, o ReadOptions) (*Archive, error) {
	lim := o.Limits.withDefaults()
	keep := o.Keep
	if keep == nil {
		keep = func(string) bool { return true }
	}
	limit := lim.streamCap()
	src := &capReader{r: r, left: limit + limit/64}
	br := bufio.NewReader(src)
	magic, err := br.Peek(2)
	if err != nil {
		if src.err != nil {
			return nil, fmt.Errorf("par: read archive: %w", src.err)
		}
		return nil, fmt.Errorf("%w: %d bytes is too short for an archive", ErrMalformed, len(magic))
	}
	a := &Archive{binaries: make(map[string]*entry)}
	var stream io.Reader = br
	var dec *capReader
	if magic[0] == 0x1f && magic[1] == 0x8b {
		a.compressed = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, readErr(src, nil, fmt.Errorf("%w: gzip header", ErrMalformed), err)
		}
		zr.Multistream(false) // wasmCloud reads the first gzip member only
		dec = &capReader{r: zr, left: limit}
		stream = dec
	}
	tr := tar.NewReader(stream)
	var total int64
	seen := make(map[string]bool)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil { // only under GODEBUG=tarinsecurepath=0
			if err := checkName(hdr.Name); err != nil {
				return nil, err
			}
			err = nil
		}
		if err != nil {
			what := "tar header"
			if n == 0 {
				what = "not a tar archive, plain or gzipped"
				err = nil // a broken first header says nothing more than that
			}
			return nil, readErr(src, dec, fmt.Errorf("%w: %s", ErrMalformed, what), err)
		}
		if n >= lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyEntries, lim.MaxEntries)
		}
		name := hdr.Name
		if err := checkName(name); err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg { // archive/tar reports wasmCloud's NUL type flag as TypeReg
			return nil, fmt.Errorf("%w: %s is %s", ErrEntryType, quote(name), typeName(hdr.Typeflag))
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateEntry, quote(name))
		}
		seen[name] = true
		target, isBinary := strings.CutSuffix(name, BinarySuffix)
		switch {
		case name == TokenEntry, name == WorldEntry:
		case isBinary && ValidTarget(target):
		default:
			return nil, fmt.Errorf("%w: %s (want %s, %s or <target>%s)", ErrUnknownEntry, quote(name), TokenEntry, WorldEntry, BinarySuffix)
		}
		max := lim.MaxEntrySize
		if name == TokenEntry {
			max = wascap.MaxTokenSize
		}
		switch {
		case hdr.Size < 0:
			return nil, fmt.Errorf("%w: %s has a negative size", ErrMalformed, quote(name))
		case hdr.Size > max:
			return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, quote(name), hdr.Size, max)
		case hdr.Size > lim.MaxTotalSize-total:
			return nil, fmt.Errorf("%w: entries exceed %d bytes in all", ErrTooLarge, lim.MaxTotalSize)
		}
		total += hdr.Size
		kept := name == TokenEntry || name == WorldEntry || keep(target)
		e, err := readEntry(tr, hdr.Size, kept)
		if err != nil {
			return nil, readErr(src, dec, fmt.Errorf("%w: entry %s", ErrMalformed, quote(name)), err)
		}
		switch {
		case name == TokenEntry:
			if !utf8.Valid(e.data) {
				return nil, fmt.Errorf("%w: %s is not UTF-8 text", ErrMalformed, TokenEntry)
			}
			a.token = string(bytes.TrimRight(e.data, " \t\r\n"))
		case name == WorldEntry:
			a.world = e
		default:
			a.binaries[target] = e
		}
	}
	if dec != nil {
		// The rest of the gzip member (tar padding) is read so that a corrupt archive fails its checksum.
		if _, err := io.Copy(io.Discard, dec); err != nil {
			return nil, readErr(src, dec, fmt.Errorf("%w: gzip stream", ErrMalformed), err)
		}
	}
	if !seen[TokenEntry] {
		return nil, ErrNoToken
	}
	if len(a.binaries) == 0 {
		return nil, ErrNoBinaries
	}
	return a, nil
}

// readEntry hashes the current entry's size bytes and keeps them when asked. The buffer grows with the bytes
// read, never from the size the header announced.
func readEntry(r io.Reader, size int64, keep bool) (*entry, error) {
	h := sha256.New()
	var buf *bytes.Buffer
	var w io.Writer = h
	if keep {
		buf = new(bytes.Buffer)
		buf.Grow(int(min(size, 64<<10)))
		w = io.MultiWriter(h, buf)
	}
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	e := &entry{size: size, hash: strings.ToUpper(hex.EncodeToString(h.Sum(nil)))}
	if keep {
		e.data = buf.Bytes()
		if e.data == nil {
			e.data = []byte{}
		}
	}
	return e, nil
}

// readErr classifies an error met while reading: a failure of the caller's reader is returned as such, a
// limit reached as ErrTooLarge, and anything else (bad gzip, bad tar, truncation) as malformed.
func readErr(src, dec *capReader, malformed, err error) error {
	switch {
	case src.err != nil:
		return fmt.Errorf("par: read archive: %w", src.err)
	case src.capped:
		return fmt.Errorf("%w: the input exceeds %d bytes", ErrTooLarge, src.limit())
	case dec != nil && dec.capped:
		return fmt.Errorf("%w: the decompressed archive exceeds %d bytes", ErrTooLarge, dec.limit())
	case dec != nil && dec.err != nil:
		if errors.Is(dec.err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated gzip stream", ErrMalformed)
		}
		return fmt.Errorf("%w: corrupt gzip stream: %v", ErrMalformed, dec.err)
	}
	switch {
	case err == nil:
		return malformed
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated", malformed)
	}
	return fmt.Errorf("%w: %v", malformed, err)
}

// errCapped is returned by a capReader past its limit; readErr reports it as ErrTooLarge.
var errCapped = errors.New("par: read limit reached")

// capReader fails once more than its limit has been read, and records why it failed, so that readErr can
// tell the caller's I/O errors and reached limits from malformed input.
type capReader struct {
	r      io.Reader
	left   int64
	read   int64
	err    error // the first error other than EOF of r
	capped bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.capped = true
		return 0, errCapped
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.read += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *capReader) limit() int64 { return c.read + c.left }

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if len(name) > 2*MaxTargetLen {
		return fmt.Errorf("%w: %s is %d bytes long", ErrUnsafePath, quote(name[:2*MaxTargetLen]+"…"), len(name))
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\:`) {
		return fmt.Errorf("%w: %s", ErrUnsafePath, quote(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return fmt.Errorf("%w: %s", ErrUnsafePath, quote(name))
		}
	}
	return nil
}

// quote quotes a name from the archive for an error message, escaping what a terminal would interpret.
func quote(s string) string { return strconv.Quote(s) }

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeDir:
		return "a directory"
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a FIFO"
	case tar.TypeGNUSparse:
		return "a sparse file"
	}
	return fmt.Sprintf("of type %q", t)
}
