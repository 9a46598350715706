package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/par"
)

// errOutIsBinary: -o names one of the --binary inputs, which writing the archive would replace.
var errOutIsBinary = errors.New("the output is one of the input binaries")

var parGroup = group{
	name:  "par",
	about: "Create and inspect provider archives (PAR): a capability provider's binaries and their signed claims.",
	subs: []subcommand{
		{"create", "par create --capid <contract> --vendor <vendor> --name <name> --binary <file> [--arch <target>]...\n" +
			"                            --issuer <SA…|@file> -o <out.par.gz> [flags]", parCreate},
		{"inspect", "par inspect <file.par.gz> [--json]", parInspect},
	},
}

const parCreateAbout = `Write a gzipped provider archive as wasmCloud's tooling does (wash par create): one binary per
target, named "<arch>-<os>" as wasmCloud names platforms (x86_64-linux, aarch64-linux, x86_64-macos,
aarch64-macos, x86_64-windows, …), and a claims token signed by the account, holding each binary's SHA-256.
--binary and --arch pair up in order; a single --binary without --arch is for this platform. --issuer takes
an account seed (SA…) or @file. --subject takes the provider's service seed (SV…), its public key (V…,
enough to sign) or @file; without it a new service key is generated and only its public key is printed:
pass it as --subject to sign later versions as the same provider. Durations use Go's syntax (90m, 720h) or
whole days (30d); both are counted from now.`

// parCreateOpts are the parsed flags of par create.
type parCreateOpts struct {
	out, issuer, subject, name, capid, vendor, ver, schema string
	binaries, arches                                       listFlag
	rev                                                    int32
	expiresIn, notBefore                                   time.Duration
}

// parCreate builds and signs a provider archive. Seeds are wiped once parsed, the issuer's key pair after
// signing, and no error repeats a value given for --issuer or --subject.
func parCreate(_ context.Context, args []string, s streams) error {
	var o parCreateOpts
	f := newFlags("par create", "par create --capid <contract> --vendor <vendor> --name <name>\n"+
		"         --binary <file> [--arch <target>] [--binary <file> --arch <target>]...\n"+
		"         --issuer <SA…|@file> [--subject <SV…|V…|@file>] -o <out.par.gz>\n"+
		"         [--rev N] [--ver V] [--schema <file.json>] [--expires-in <duration>] [--not-before <duration>]",
		parCreateAbout)
	f.StringVar(&o.out, "o", "", "output `file` (required), such as provider.par.gz")
	f.StringVar(&o.capid, "capid", "", "capability `contract` the provider implements, such as wasmcloud:keyvalue (required)")
	f.StringVar(&o.vendor, "vendor", "", "`vendor` of the provider (required)")
	f.StringVar(&o.name, "name", "", "provider `name` (required)")
	f.Var(&o.binaries, "binary", "provider executable `file` (repeatable, one per target)")
	f.Var(&o.arches, "arch", "`target` of the binary given at the same position, such as x86_64-linux (repeatable)")
	f.StringVar(&o.issuer, "issuer", "", "account seed (SA…) or @file holding it (required)")
	f.StringVar(&o.subject, "subject", "", "service seed (SV…), service public key (V…) or @file; default: a new key")
	f.Func("rev", "revision `number` (int32)", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return errors.New("want a 32-bit integer")
		}
		o.rev = int32(n)
		return nil
	})
	f.StringVar(&o.ver, "ver", "", "human-readable `version`, such as 0.1.0")
	f.StringVar(&o.schema, "schema", "", "JSON `file` holding a schema of the provider's link values")
	f.Func("expires-in", "token expires this `duration` from now (default: never)", func(v string) (err error) {
		o.expiresIn, err = parseDuration(v)
		return err
	})
	f.Func("not-before", "token becomes valid this `duration` from now (default: immediately)", func(v string) (err error) {
		o.notBefore, err = parseDuration(v)
		return err
	})
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return f.usage("unexpected argument %q: binaries are given with --binary", pos[0])
	case o.out == "":
		return f.usage("missing -o <out.par.gz>")
	case o.issuer == "":
		return f.usage("missing --issuer <SA…|@file>")
	case o.capid == "":
		return f.usage("missing --capid <contract>")
	case o.vendor == "":
		return f.usage("missing --vendor <vendor>")
	case o.name == "":
		return f.usage("missing --name <name>")
	case len(o.binaries) == 0:
		return f.usage("missing --binary <file>")
	}
	targets, err := pairTargets(o.binaries, o.arches)
	if err != nil {
		return f.usage("%v", err)
	}

	bins := make(map[string][]byte, len(targets))
	for i, path := range o.binaries {
		if err := checkNotBinary(path, o.out); err != nil {
			return err
		}
		b, err := readBinary(path)
		if err != nil {
			return err
		}
		bins[targets[i]] = b
	}
	var schema json.RawMessage
	if o.schema != "" {
		if schema, err = readSchema(o.schema); err != nil {
			return err
		}
	}
	issuer, err := readIssuer(o.issuer)
	if err != nil {
		return fmt.Errorf("--issuer: %w", err)
	}
	defer issuer.Wipe()
	subject, generated, err := readServiceSubject(o.subject)
	if err != nil {
		return fmt.Errorf("--subject: %w", err)
	}

	now := time.Now()
	opts := par.CreateOptions{
		Issuer:       issuer,
		Subject:      subject,
		Name:         o.name,
		CapID:        o.capid,
		Vendor:       o.vendor,
		Rev:          o.rev,
		Ver:          o.ver,
		ConfigSchema: schema,
		Binaries:     bins,
		IssuedAt:     now,
	}
	if o.expiresIn > 0 {
		opts.Expires = now.Add(o.expiresIn)
	}
	if o.notBefore > 0 {
		opts.NotBefore = now.Add(o.notBefore)
	}
	archive, err := par.Create(opts)
	issuer.Wipe()
	if err != nil {
		return err
	}
	// Check the result as a host will, at the first moment the token is valid, before writing it.
	verifyAt := now
	if !opts.NotBefore.IsZero() {
		verifyAt = opts.NotBefore
	}
	a, err := par.ReadWith(bytes.NewReader(archive), par.ReadOptions{Keep: par.KeepNone})
	if err == nil {
		_, err = par.Inspect(a, par.VerifyOptions{Now: verifyAt})
	}
	if err != nil {
		return fmt.Errorf("par create: the archive does not verify: %w", err)
	}
	if err := writeFileAtomic(o.out, archive); err != nil {
		return err
	}
	msg := fmt.Sprintf("created %s: provider %s, contract %s, targets %s\n", o.out, subject, o.capid, strings.Join(a.Targets(), ", "))
	if generated {
		msg += "The provider key " + subject.String() + " is new: pass it as --subject to sign later versions as the same provider.\n"
	}
	_, err = io.WriteString(s.stdout, msg)
	return err
}

// pairTargets returns the target of each --binary: the --arch at the same position, or this platform's
// target for a single --binary given without --arch.
func pairTargets(binaries, arches []string) ([]string, error) {
	if len(arches) == 0 && len(binaries) == 1 {
		native, err := par.NativeTarget()
		if err != nil {
			return nil, fmt.Errorf("%v: give --arch", err)
		}
		return []string{native}, nil
	}
	if len(arches) != len(binaries) {
		return nil, fmt.Errorf("%d --binary and %d --arch: give one --arch per --binary, in the same order", len(binaries), len(arches))
	}
	for i, a := range arches {
		if !par.ValidTarget(a) {
			return nil, fmt.Errorf("--arch %q: want <arch>-<os> such as x86_64-linux (letters, digits, '_' and '-')", a)
		}
		if slices.Contains(arches[:i], a) {
			return nil, fmt.Errorf("--arch %s is given twice", a)
		}
	}
	return arches, nil
}

// checkNotBinary refuses an output that names one of the input binaries, by its path or another.
func checkNotBinary(bin, out string) error {
	if filepath.Clean(bin) == filepath.Clean(out) {
		return fmt.Errorf("-o %s: %w", out, errOutIsBinary)
	}
	oi, err := os.Stat(out)
	if err != nil {
		return nil
	}
	if bi, err := os.Stat(bin); err == nil && os.SameFile(bi, oi) {
		return fmt.Errorf("-o %s: %w", out, errOutIsBinary)
	}
	return nil
}

// readBinary reads a provider executable, refusing one larger than an archive entry may be before reading it.
func readBinary(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read binary %s: not a regular file", path)
	}
	if st.Size() > par.DefaultLimits.MaxEntrySize {
		return nil, fmt.Errorf("read binary %s: %d bytes, limit %d", path, st.Size(), par.DefaultLimits.MaxEntrySize)
	}
	b, err := io.ReadAll(io.LimitReader(f, par.DefaultLimits.MaxEntrySize+1))
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	if int64(len(b)) > par.DefaultLimits.MaxEntrySize {
		return nil, fmt.Errorf("read binary %s: larger than %d bytes", path, par.DefaultLimits.MaxEntrySize)
	}
	return b, nil
}

// maxSchemaSize bounds --schema: the schema goes into the token, which is at most wascap.MaxTokenSize.
const maxSchemaSize = 32 << 10

func readSchema(path string) (json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--schema: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSchemaSize+1))
	if err != nil {
		return nil, fmt.Errorf("--schema: %w", err)
	}
	if len(b) > maxSchemaSize {
		return nil, fmt.Errorf("--schema %s: larger than %d bytes", path, maxSchemaSize)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("--schema %s: not valid JSON", path)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return nil, fmt.Errorf("--schema %s: %w", path, err)
	}
	return compact.Bytes(), nil
}

// readServiceSubject parses the --subject value: a service seed, a service public key or @path of a file
// holding either. Only the public key is kept; an empty value generates a new service key, whose seed is
// dropped (a provider's seed signs nothing in wasmCloud 0.x).
func readServiceSubject(v string) (pub nkey.PublicKey, generated bool, err error) {
	if v == "" {
		kp, err := nkey.Generate(nkey.Service)
		if err != nil {
			return nkey.PublicKey{}, false, fmt.Errorf("generate service key: %w", err)
		}
		defer kp.Wipe()
		return kp.Public(), true, nil
	}
	b, err := secretBytes(v)
	if err != nil {
		return nkey.PublicKey{}, false, err
	}
	defer clear(b)
	if len(b) > 0 && b[0] == 'S' {
		kp, err := nkey.ParseSeedOf(b, nkey.Service)
		if err != nil {
			return nkey.PublicKey{}, false, err
		}
		defer kp.Wipe()
		return kp.Public(), false, nil
	}
	pub, err = nkey.ParsePublicOf(string(b), nkey.Service)
	if err != nil {
		return nkey.PublicKey{}, false, fmt.Errorf("want a service seed (SV…), public key (V…) or @file: %w", err)
	}
	return pub, false, nil
}

// parInspect verifies a provider archive the way a host does (no clock skew), for every target in it, and
// shows its claims. A refused archive still shows whatever its token claims and each binary's hash, next
// to the reason, and exits with exitFailure.
func parInspect(_ context.Context, args []string, s streams) error {
	f := newFlags("par inspect", "par inspect <file.par.gz> [--json]",
		"Verify a provider archive (token structure, signature, time bounds, and each binary against its\n"+
			"signed hash) and print its claims. Exits 0 when the archive is validly signed, 1 when it is not.")
	asJSON := f.Bool("json", false, "print the claims as one JSON document")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usage("want exactly one archive file")
	}
	path := pos[0]
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	defer file.Close()
	var report *par.Report
	a, verr := par.ReadWith(file, par.ReadOptions{Keep: par.KeepNone})
	if verr == nil {
		report, verr = par.Inspect(a, par.VerifyOptions{})
	}
	if verr != nil {
		verr = fmt.Errorf("%s: %w", path, verr)
	}
	if *asJSON {
		err = writeParJSON(s.stdout, report, verr)
	} else {
		err = writeParTable(s.stdout, report, verr)
	}
	if verr != nil {
		return verr
	}
	return err
}

// parDoc is the --json form of par inspect. Every claim is null when the archive holds no token that could
// be decoded, and targets is null when the archive could not be read; times are RFC 3339 in UTC, null when
// absent.
type parDoc struct {
	Issuer         *string         `json:"issuer"`
	Subject        *string         `json:"subject"`
	Name           *string         `json:"name"`
	CapID          *string         `json:"capid"`
	Vendor         *string         `json:"vendor"`
	Rev            *int32          `json:"rev"`
	Ver            *string         `json:"ver"`
	Targets        []parTargetDoc  `json:"targets"`
	ConfigSchema   json.RawMessage `json:"config_schema"`
	IssuedAt       *string         `json:"issued_at"`
	Expires        *string         `json:"expires"`
	NotBefore      *string         `json:"not_before"`
	WascapRevision *int            `json:"wascap_revision"`
	Valid          bool            `json:"valid"`
	Error          string          `json:"error,omitempty"`
}

// parTargetDoc is one target of par inspect --json: its signed hash, the hash and size of its binary in the
// archive (null when either is missing), and whether they match.
type parTargetDoc struct {
	Target      string  `json:"target"`
	Hash        *string `json:"hash"`
	ArchiveHash *string `json:"archive_hash"`
	Size        *int64  `json:"size"`
	Matches     bool    `json:"matches"`
}

func newParDoc(r *par.Report, verr error) parDoc {
	d := parDoc{Valid: verr == nil}
	if verr != nil {
		d.Error = verr.Error()
	}
	if r == nil {
		return d
	}
	d.Targets = []parTargetDoc{}
	for _, t := range r.Targets {
		td := parTargetDoc{Target: t.Target, Matches: t.OK()}
		if t.SignedHash != "" {
			td.Hash = &t.SignedHash
		}
		if t.Hash != "" {
			td.ArchiveHash, td.Size = &t.Hash, &t.Size
		}
		d.Targets = append(d.Targets, td)
	}
	c := r.Claims
	if c == nil {
		return d
	}
	d.Issuer, d.Subject, d.Name, d.CapID, d.Vendor = &c.Issuer, &c.Subject, &c.Name, &c.CapID, &c.Vendor
	d.Rev, d.Ver = &c.Rev, &c.Ver
	if len(c.ConfigSchema) > 0 && json.Valid(c.ConfigSchema) {
		d.ConfigSchema = c.ConfigSchema
	}
	d.IssuedAt, d.Expires, d.NotBefore = jsonTime(c.IssuedAt), jsonTime(c.Expires), jsonTime(c.NotBefore)
	d.WascapRevision = &c.WascapRevision
	return d
}

func writeParJSON(w io.Writer, r *par.Report, verr error) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newParDoc(r, verr)); err != nil {
		return fmt.Errorf("write claims: %w", err)
	}
	return nil
}

// maxSchemaShown bounds the config schema shown in the table; --json shows all of it.
const maxSchemaShown = 100

// writeParTable prints the claims and targets as aligned rows. Values come from a token and an archive that
// may be hostile, so each is shown with its control characters escaped.
func writeParTable(w io.Writer, r *par.Report, verr error) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	if r != nil && r.Claims != nil {
		c := r.Claims
		row("Account", orDash(c.Issuer))
		row("Provider", orDash(c.Subject))
		row("Name", orDash(c.Name))
		row("Contract", orDash(c.CapID))
		row("Vendor", orDash(c.Vendor))
		row("Version", fmt.Sprintf("%s (%d)", orDash(c.Ver), c.Rev))
		row("Issued", timeOr(c.IssuedAt, "-"))
		row("Expires", timeOr(c.Expires, "never"))
		row("Not Before", timeOr(c.NotBefore, "immediately"))
		row("wascap revision", strconv.Itoa(c.WascapRevision))
		schema := "none"
		if len(c.ConfigSchema) > 0 {
			schema = string(c.ConfigSchema)
			if len(schema) > maxSchemaShown {
				schema = strings.ToValidUTF8(schema[:maxSchemaShown], "") + "… (see --json)"
			}
		}
		row("Config Schema", printable(schema))
	}
	if r != nil {
		for _, t := range r.Targets {
			hash, status := t.SignedHash, "ok"
			switch {
			case t.Hash == "":
				status = "missing from the archive"
			case t.SignedHash == "":
				hash, status = t.Hash, "not signed"
			case !t.OK():
				status = "MISMATCH: the archive's binary hashes to " + t.Hash
			}
			fmt.Fprintf(tw, "Target\t%s\t%s\t%s\n", printable(t.Target), printable(hash), status)
		}
	}
	if verr == nil {
		row("Valid", "yes")
	} else {
		row("Valid", "no — "+printable(verr.Error()))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write claims: %w", err)
	}
	return nil
}
