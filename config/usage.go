package config

import (
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
)

// Usage writes every variable with its default and a one-line meaning, aligned in columns, for
// `wasmcloud-host --help`. It prints the defaults as written, not as resolved on this machine, so
// the text is the same everywhere.
func Usage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Environment (wasmCloud 0.x names; an empty value counts as unset; booleans take true/false, 1/0, yes/no, y/n, enabled/disabled):")
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	var s spec
	walk(&s, func(name string, tag reflect.StructTag, _ field) {
		def := tag.Get("def")
		if def == "" {
			def = tag.Get("show")
		}
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, def, tag.Get("help"))
	})
	fmt.Fprintf(tw, "  %s*\t%s\t%s\n", labelPrefix, "-", "each becomes a host label: HOST_REGION=eu -> region=eu")
	return tw.Flush()
}
