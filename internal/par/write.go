package par

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// CreateOptions describe the archive Write builds and the token it signs.
type CreateOptions struct {
	Issuer  *nkey.KeyPair  // account key pair that signs
	Subject nkey.PublicKey // the provider's service key
	Name    string
	CapID   string // the capability contract, such as wasmcloud:keyvalue
	Vendor  string
	Rev     int32
	Ver     string
	// ConfigSchema is an optional JSON schema of the provider's link values.
	ConfigSchema json.RawMessage
	// Binaries maps each target (see TargetFor) to the provider executable for it.
	Binaries map[string][]byte
	// World is an optional WIT world (world.wasm), which only wasmCloud 1.x tooling reads.
	World     []byte
	IssuedAt  time.Time // zero: now
	Expires   time.Time // zero: never
	NotBefore time.Time // zero: immediately
	// ID is the token's jti; empty: a random one. Archives are byte-for-byte equal for equal options only
	// when ID and IssuedAt are set.
	ID string
}

// Create returns the gzipped archive Write would write.
func Create(o CreateOptions) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, o); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write signs a provider token (wascap_revision 3, the SHA-256 of every binary in target_hashes) and writes a
// gzipped archive in wasmCloud's layout: claims.jwt, then world.wasm if given, then one <target>.bin per
// target in sorted order, as GNU tar entries with zero times and owners. Equal options give equal bytes
// (see CreateOptions.ID). What it writes stays within DefaultLimits, so Read accepts it.
func Write(w io.Writer, o CreateOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	targets := slices.Sorted(maps.Keys(o.Binaries))
	hashes := make(map[string]string, len(targets)+1)
	for _, t := range targets {
		hashes[t] = hexUpperSHA256(o.Binaries[t])
	}
	if o.World != nil {
		hashes[WorldEntry] = hexUpperSHA256(o.World)
	}
	issued := o.IssuedAt
	if issued.IsZero() {
		issued = time.Now()
	}
	claims := wascap.Claims{
		ID:       o.ID,
		Subject:  o.Subject.String(),
		IssuedAt: issued.Unix(),
		Revision: wascap.Revision,
	}
	if !o.Expires.IsZero() {
		claims.Expires = o.Expires.Unix()
	}
	if !o.NotBefore.IsZero() {
		claims.NotBefore = o.NotBefore.Unix()
	}
	name := o.Name
	schema := o.ConfigSchema
	if bytes.Equal(bytes.TrimSpace(schema), []byte("null")) {
		schema = nil
	}
	meta := wascap.Provider{
		Name:         &name,
		CapID:        o.CapID,
		Vendor:       o.Vendor,
		Rev:          o.Rev,
		Ver:          o.Ver,
		TargetHashes: hashes,
		ConfigSchema: schema,
	}
	token, err := wascap.Sign(claims, meta, o.Issuer)
	if err != nil {
		return fmt.Errorf("par: sign: %w", err)
	}

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression) // as wasmCloud writes it
	if err != nil {
		return fmt.Errorf("par: write: %w", err)
	}
	tw := tar.NewWriter(zw)
	add := func(name string, mode int64, data []byte) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Size:     int64(len(data)),
			Mode:     mode,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatGNU,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	err = add(TokenEntry, 0o644, []byte(token))
	if err == nil && o.World != nil {
		err = add(WorldEntry, 0o644, o.World)
	}
	for _, t := range targets {
		if err != nil {
			break
		}
		err = add(t+BinarySuffix, 0o755, o.Binaries[t])
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return fmt.Errorf("par: write: %w", err)
	}
	return nil
}

func (o *CreateOptions) check() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("par: create: "+format, args...)
	}
	switch {
	case o.Issuer == nil || o.Issuer.Wiped() || o.Issuer.Type() != nkey.Account:
		return fail("the issuer must be an account key pair")
	case o.Subject.IsZero() || o.Subject.Type() != nkey.Service:
		return fail("the subject must be a service key")
	case o.Name == "":
		return fail("a name is required")
	case o.CapID == "":
		return fail("a capability contract (capid) is required")
	case o.Vendor == "":
		return fail("a vendor is required")
	case len(o.Binaries) == 0:
		return fail("at least one binary is required")
	case len(o.Binaries)+2 > DefaultLimits.MaxEntries:
		return fail("%d binaries, limit %d", len(o.Binaries), DefaultLimits.MaxEntries-2)
	case !o.Expires.IsZero() && !o.NotBefore.IsZero() && !o.Expires.After(o.NotBefore):
		return fail("expiry must be after not-before")
	case o.ConfigSchema != nil && !json.Valid(o.ConfigSchema):
		return fail("the config schema is not valid JSON")
	}
	total := int64(len(o.World))
	if o.World != nil && len(o.World) == 0 {
		return fail("the WIT world is empty")
	}
	for t, b := range o.Binaries {
		if !ValidTarget(t) {
			return fail("invalid target name %s: want letters, digits, '_' and '-', such as x86_64-linux", quote(t))
		}
		if len(b) == 0 {
			return fail("the binary for %s is empty", t)
		}
		if int64(len(b)) > DefaultLimits.MaxEntrySize {
			return fail("the binary for %s is %d bytes, limit %d", t, len(b), DefaultLimits.MaxEntrySize)
		}
		total += int64(len(b))
	}
	if total > DefaultLimits.MaxTotalSize || int64(len(o.World)) > DefaultLimits.MaxEntrySize {
		return fail("%w: %d bytes in all, limit %d", ErrTooLarge, total, DefaultLimits.MaxTotalSize)
	}
	return nil
}

func hexUpperSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
