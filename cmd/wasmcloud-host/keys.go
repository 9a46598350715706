package main

import (
	"context"
	"fmt"
	"os"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// keyTypes lists the type names keys gen accepts, in the order the user contract lists them.
const keyTypes = "account, module, service, server, operator, cluster, user (or the aliases actor, provider, host)"

const seedReminder = "Keep the seed secret: anyone who has it can sign as this key.\n"

// keysGen prints a new key pair. The seed is assembled in a byte slice that is wiped once written, rather
// than in strings (which cannot be wiped) or fmt's pooled buffers.
func keysGen(_ context.Context, args []string, s streams) error {
	f := newFlags("keys gen", "keys gen <type> [--json] [--seed-file FILE]",
		"Generate a new key pair and print its public key and seed. Types: "+keyTypes+".\n"+
			"With --seed-file the seed goes into a new file readable only by you, and only the public key is printed.")
	asJSON := f.Bool("json", false, `print {"public_key": "…", "seed": "…"} instead of text`)
	seedFile := f.String("seed-file", "", "write the seed to this new file (mode 0600) instead of printing it")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usage("want exactly one key type: %s", keyTypes)
	}
	typ, err := nkey.ParseType(pos[0])
	if err != nil {
		return f.usage("unknown key type %q: want %s", pos[0], keyTypes)
	}
	kp, err := nkey.Generate(typ)
	if err != nil {
		return fmt.Errorf("generate %s key: %w", typ, err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return fmt.Errorf("encode %s seed: %w", typ, err)
	}
	defer clear(seed)
	pub := kp.Public().String()
	if *seedFile != "" {
		return writeSeedFile(*seedFile, seed, pub, *asJSON, s)
	}

	out := make([]byte, 0, 256) // large enough that append never copies the seed elsewhere
	defer func() { clear(out[:cap(out)]) }()
	if *asJSON {
		// Keys and seeds are base32, so they need no JSON escaping.
		out = append(out, `{"public_key":"`...)
		out = append(out, pub...)
		out = append(out, `","seed":"`...)
		out = append(out, seed...)
		out = append(out, "\"}\n"...)
	} else {
		out = append(out, "Public Key: "...)
		out = append(out, pub...)
		out = append(out, "\nSeed: "...)
		out = append(out, seed...)
		out = append(out, '\n')
		out = append(out, seedReminder...)
	}
	if _, err := s.stdout.Write(out); err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	return nil
}

// writeSeedFile stores the seed in a file that must not exist yet (O_EXCL, mode 0600) and prints the public
// key, so the seed never passes through a terminal or a shell variable.
func writeSeedFile(path string, seed []byte, pub string, asJSON bool, s streams) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("--seed-file: %w", err)
	}
	_, err = f.Write(append(seed, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("--seed-file: %w", err)
	}
	if asJSON {
		_, err = fmt.Fprintf(s.stdout, "{\"public_key\":%q,\"seed_file\":%q}\n", pub, path)
	} else {
		_, err = fmt.Fprintf(s.stdout, "Public Key: %s\nSeed written to %s (mode 0600)\n", pub, path)
	}
	return err
}
