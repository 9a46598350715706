package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// Exit statuses. Scripts tell a bad command line (exitUsage) from a command that ran and failed
// (exitFailure, which includes "this module is not validly signed").
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

var (
	// errHelpShown is returned once a command has printed its help on request; run exits 0 without a
	// message.
	errHelpShown = errors.New("wasmcloud-host: help shown")

	// errIssuerIsPublic: --issuer named a public key, but signing needs the account's seed.
	errIssuerIsPublic = errors.New("want an account seed (SA…), got a public key: signing needs the seed")

	// errSameFile: -o names the input file through another path (a symbolic or hard link), which would
	// replace the input although the user did not name it as the output.
	errSameFile = errors.New("the output is the input file under another name; pass the input path itself as -o to sign in place")
)

// usageError is a malformed command line: run prints it with a pointer to the command's help and exits
// with exitUsage.
type usageError struct {
	cmd string // the command whose help to point to, "" for the top level
	msg string
}

func (e *usageError) Error() string {
	help := "wasmcloud-host --help"
	if e.cmd != "" {
		help = "wasmcloud-host " + e.cmd + " --help"
	}
	if e.cmd == "" {
		return fmt.Sprintf("%s (see '%s')", e.msg, help)
	}
	return fmt.Sprintf("%s: %s (see '%s')", e.cmd, e.msg, help)
}

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// errorLine turns an error into the single line run prints on stderr. It is the last line of defence for
// the rule that no seed is ever printed in an error: commands are written not to echo seeds, and this
// removes anything shaped like one that slipped through anyway. Line breaks become "; " and other
// control characters are escaped, since errors can quote text taken from untrusted tokens.
func errorLine(err error) string {
	s := nkey.RedactSeeds(err.Error())
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "; ")
	return "wasmcloud-host: " + printable(s)
}

// printable escapes the runes of s that a terminal would not show as themselves (control characters,
// invalid UTF-8), so a hostile name in a token cannot move the cursor or change colours.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, n := utf8.DecodeRuneInString(s[i:])
		w = n
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}
