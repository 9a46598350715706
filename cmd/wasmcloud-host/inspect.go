package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
)

// claimsInspect verifies a module's token the way the host does (no clock skew) and shows its claims. A
// refused module still shows whatever its token claims, next to the reason, and exits with exitFailure.
func claimsInspect(_ context.Context, args []string, s streams) error {
	f := newFlags("claims inspect", "claims inspect <file.wasm> [--json]",
		"Verify the token embedded in an actor module (signature, module hash, time bounds, structure) and\n"+
			"print its claims. Exits 0 when the module is validly signed, 1 when it is not.")
	asJSON := f.Bool("json", false, "print the claims as one JSON document")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usage("want exactly one module file")
	}
	path := pos[0]
	wasm, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read module: %w", err)
	}
	claims, verr := actor.Inspect(path, wasm, actor.VerifyOptions{})
	if *asJSON {
		err = writeClaimsJSON(s.stdout, claims, verr)
	} else {
		err = writeClaimsTable(s.stdout, claims, verr)
	}
	if verr != nil {
		return verr
	}
	return err
}

// claimsDoc is the --json form of claims inspect. Every claim is null when the module carries no token
// that could be decoded; times are RFC 3339 in UTC, null when absent.
type claimsDoc struct {
	Issuer         *string  `json:"issuer"`
	Subject        *string  `json:"subject"`
	Name           *string  `json:"name"`
	Hash           *string  `json:"hash"`
	Caps           []string `json:"caps"`
	Tags           []string `json:"tags"`
	Rev            *int32   `json:"rev"`
	Ver            *string  `json:"ver"`
	CallAlias      *string  `json:"call_alias"`
	IssuedAt       *string  `json:"issued_at"`
	Expires        *string  `json:"expires"`
	NotBefore      *string  `json:"not_before"`
	WascapRevision *int     `json:"wascap_revision"`
	Valid          bool     `json:"valid"`
	Error          string   `json:"error,omitempty"`
}

func newClaimsDoc(c *actor.Claims, verr error) claimsDoc {
	d := claimsDoc{Valid: verr == nil}
	if verr != nil {
		d.Error = verr.Error()
	}
	if c == nil {
		return d
	}
	d.Issuer, d.Subject, d.Name, d.Hash = &c.Issuer, &c.Subject, &c.Name, &c.Hash
	d.Caps, d.Tags = nonNil(c.Caps), nonNil(c.Tags)
	d.Rev, d.Ver, d.CallAlias = &c.Rev, &c.Ver, &c.CallAlias
	d.IssuedAt, d.Expires, d.NotBefore = jsonTime(c.IssuedAt), jsonTime(c.Expires), jsonTime(c.NotBefore)
	d.WascapRevision = &c.WascapRevision
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func writeClaimsJSON(w io.Writer, c *actor.Claims, verr error) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(newClaimsDoc(c, verr)); err != nil {
		return fmt.Errorf("write claims: %w", err)
	}
	return nil
}

// writeClaimsTable prints the claims as aligned rows. Claim values come from a token that may be hostile,
// so each is shown with its control characters escaped.
func writeClaimsTable(w io.Writer, c *actor.Claims, verr error) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	if c != nil {
		row("Account", orDash(c.Issuer))
		row("Module", orDash(c.Subject))
		row("Name", orDash(c.Name))
		row("Hash", orDash(c.Hash))
		row("Capabilities", list(c.Caps))
		row("Tags", list(c.Tags))
		row("Version", fmt.Sprintf("%s (%d)", orDash(c.Ver), c.Rev))
		row("Call Alias", orDash(c.CallAlias))
		row("Issued", timeOr(c.IssuedAt, "-"))
		row("Expires", timeOr(c.Expires, "never"))
		row("Not Before", timeOr(c.NotBefore, "immediately"))
		row("wascap revision", strconv.Itoa(c.WascapRevision))
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return printable(s)
}

// list joins values with commas; an empty value is shown as "" so that it is not lost.
func list(vals []string) string {
	if len(vals) == 0 {
		return "none"
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if v == "" || strings.ContainsAny(v, ", ") {
			out[i] = strconv.Quote(v)
		} else {
			out[i] = printable(v)
		}
	}
	return strings.Join(out, ", ")
}

func timeOr(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format(time.RFC3339)
}
