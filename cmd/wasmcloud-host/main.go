// Command wasmcloud-host runs a host compatible with wasmCloud 0.x and carries the key and claims tools
// that operating one needs (`keys gen`, `claims inspect`, `claims sign`), so a deployment ships one binary
// and users never need a second tool to sign the actors the host will run.
//
// main only connects the process to run: it owns the signals and the exit status, and everything else
// lives in run, which tests call with buffers instead of a terminal.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first SIGINT or SIGTERM cancels ctx: the host drains and exits. A second one exits at once, so an
	// operator (or a service manager) never needs SIGKILL to stop a host whose drain is stuck.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "wasmcloud-host: second signal: exiting without finishing the shutdown")
		os.Exit(exitFailure)
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
