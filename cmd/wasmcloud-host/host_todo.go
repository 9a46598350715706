package main

import (
	"context"
	"fmt"
	"io"
)

// runHost runs the host daemon until ctx is cancelled. This placeholder stands in until the host is wired;
// the file that defines the real runHost replaces this one.
func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "wasmcloud-host: the host daemon is not built yet")
	return exitFailure
}
