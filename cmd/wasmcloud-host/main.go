// Command wasmcloud-host runs a host compatible with wasmCloud 0.x and carries the key and claims tools
// that operating one needs (`keys gen`, `claims inspect`, `claims sign`), so a deployment ships one binary
// and users never need a second tool to sign the actors the host will run.
//
// main only connects the process to run: it owns the signals and the exit status, and everything else
// lives in run, which tests call with buffers instead of a terminal.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
