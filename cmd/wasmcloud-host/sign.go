package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

const signAbout = `Write a signed copy of an actor module: a wascap token (revision 3) in a wasmcloud_jwt section,
replacing any token the module already carries. --issuer takes an account seed (SA…) or @file, a file
holding one. --subject takes the actor's module seed (SM…), its public key (M…, enough to sign) or @file;
without it a new module key is generated and only its public key is printed. Durations use Go's syntax
(90m, 720h) or whole days (30d); both are counted from now.`

// signOpts are the parsed flags of claims sign.
type signOpts struct {
	out, issuer, subject, name, ver, callAlias string
	caps, tags                                 listFlag
	rev                                        int32
	expiresIn, notBefore                       time.Duration
}

// claimsSign signs a module. Seeds are read into byte slices that are wiped once parsed, key pairs are
// wiped after signing, and no error repeats a value given for --issuer or --subject.
func claimsSign(_ context.Context, args []string, s streams) error {
	var o signOpts
	f := newFlags("claims sign", "claims sign <in.wasm> -o <out.wasm> --issuer <SA…|@file> [--subject <SM…|M…|@file>] --name <name>\n"+
		"         [--cap <contract>]... [--tag <t>]... [--rev N] [--ver V] [--call-alias A]\n"+
		"         [--expires-in <duration>] [--not-before <duration>]", signAbout)
	f.StringVar(&o.out, "o", "", "output `file` (required; may equal the input to sign in place)")
	f.StringVar(&o.issuer, "issuer", "", "account seed (SA…) or @file holding it (required)")
	f.StringVar(&o.subject, "subject", "", "module seed (SM…), module public key (M…) or @file; default: a new key")
	f.StringVar(&o.name, "name", "", "actor `name` (required)")
	f.Var(&o.caps, "cap", "capability `contract` the actor may use, such as wasmcloud:httpserver (repeatable)")
	f.Var(&o.tags, "tag", "`tag` (repeatable)")
	f.Func("rev", "revision `number` (int32)", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return errors.New("want a 32-bit integer")
		}
		o.rev = int32(n)
		return nil
	})
	f.StringVar(&o.ver, "ver", "", "human-readable `version`, such as 0.1.0")
	f.StringVar(&o.callAlias, "call-alias", "", "call `alias` other actors may use instead of the module key")
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
	case len(pos) != 1:
		return f.usage("want exactly one input module")
	case o.out == "":
		return f.usage("missing -o <out.wasm>")
	case o.issuer == "":
		return f.usage("missing --issuer <SA…|@file>")
	case o.name == "":
		return f.usage("missing --name <name>")
	}
	in := pos[0]

	wasm, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read module: %w", err)
	}
	if err := checkNotAlias(in, o.out); err != nil {
		return err
	}
	issuer, err := readIssuer(o.issuer)
	if err != nil {
		return fmt.Errorf("--issuer: %w", err)
	}
	defer issuer.Wipe()
	subject, err := readSubject(o.subject)
	if err != nil {
		return fmt.Errorf("--subject: %w", err)
	}

	now := time.Now()
	opts := actor.SignOptions{
		Issuer:    issuer,
		Subject:   subject,
		Name:      o.name,
		Caps:      o.caps,
		Tags:      o.tags,
		Rev:       o.rev,
		Ver:       o.ver,
		CallAlias: o.callAlias,
		IssuedAt:  now,
	}
	if o.expiresIn > 0 {
		opts.Expires = now.Add(o.expiresIn)
	}
	if o.notBefore > 0 {
		opts.NotBefore = now.Add(o.notBefore)
	}
	signed, err := actor.Sign(wasm, opts)
	issuer.Wipe()
	if err != nil {
		return fmt.Errorf("sign %s: %w", in, err)
	}
	// Check the result as the host will, at the first moment the token is valid, before writing it.
	verifyAt := now
	if !opts.NotBefore.IsZero() {
		verifyAt = opts.NotBefore
	}
	claims, err := actor.Verify(o.out, signed, actor.VerifyOptions{Now: verifyAt})
	if err != nil {
		return fmt.Errorf("sign %s: the signed module does not verify: %w", in, err)
	}
	if err := writeFileAtomic(o.out, signed); err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.stdout, "signed %s -> %s: module %s, hash %s\n", in, o.out, claims.Subject, claims.Hash)
	return err
}

// readIssuer parses the --issuer value: an account seed, or @path of a file holding one.
func readIssuer(v string) (*nkey.KeyPair, error) {
	seed, err := secretBytes(v)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	if len(seed) > 0 && seed[0] != 'S' && nkey.CheckID(string(seed)) == nil {
		return nil, errIssuerIsPublic
	}
	return nkey.ParseSeedOf(seed, nkey.Account)
}

// readSubject parses the --subject value: a module seed, a module public key or @path of a file holding
// either. Only the public key is kept; an empty value generates a new module key, whose seed is dropped.
func readSubject(v string) (nkey.PublicKey, error) {
	if v == "" {
		kp, err := nkey.Generate(nkey.Module)
		if err != nil {
			return nkey.PublicKey{}, fmt.Errorf("generate module key: %w", err)
		}
		defer kp.Wipe()
		return kp.Public(), nil
	}
	b, err := secretBytes(v)
	if err != nil {
		return nkey.PublicKey{}, err
	}
	defer clear(b)
	if len(b) > 0 && b[0] == 'S' {
		kp, err := nkey.ParseSeedOf(b, nkey.Module)
		if err != nil {
			return nkey.PublicKey{}, err
		}
		defer kp.Wipe()
		return kp.Public(), nil
	}
	pub, err := nkey.ParsePublicOf(string(b), nkey.Module)
	if err != nil {
		return nkey.PublicKey{}, fmt.Errorf("want a module seed (SM…), public key (M…) or @file: %w", err)
	}
	return pub, nil
}

// secretBytes returns a copy of a key given on the command line, or read from the file named after an '@',
// without surrounding white space. The caller wipes the result.
func secretBytes(v string) ([]byte, error) {
	path, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	if path == "" {
		return nil, errors.New("@ must be followed by a file name")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	key := bytes.Clone(bytes.TrimSpace(raw))
	clear(raw)
	return key, nil
}

// checkNotAlias refuses an output path that names the input file other than by the input's own path (a
// symbolic or hard link to it): signing in place must be asked for by giving the input path as -o.
func checkNotAlias(in, out string) error {
	if filepath.Clean(in) == filepath.Clean(out) {
		return nil
	}
	oi, err := os.Stat(out)
	if err != nil {
		return nil // nothing there yet, or nothing we could replace by mistake
	}
	ii, err := os.Stat(in)
	if err != nil {
		return fmt.Errorf("stat input: %w", err)
	}
	if os.SameFile(ii, oi) {
		return fmt.Errorf("-o %s: %w", out, errSameFile)
	}
	return nil
}

// writeFileAtomic writes data to path with mode 0644 through a temporary file in the same directory and
// a rename, so that path holds either its old contents or the whole new module, never part of one.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// parseDuration accepts Go's duration syntax (90m, 1h30m) and whole days (30d). The duration must be
// positive.
func parseDuration(v string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, errors.New("too many days")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, errors.New("want a duration such as 90m, 720h or 30d")
		}
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}
