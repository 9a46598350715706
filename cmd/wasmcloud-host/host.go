package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/host"
)

// shutdownTimeout bounds the drain on SIGINT/SIGTERM: invocations in flight, both NATS connections, actors.
const shutdownTimeout = 30 * time.Second

// This is the one file of the command that imports package host: every other command talks to a lattice
// through package client, so it does not link the daemon's own code (TestOnlyUpImportsHost).

// runHost runs the daemon in the foreground until ctx is cancelled (main cancels it on SIGINT or SIGTERM).
func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			_, _ = io.WriteString(stdout, overview)
			_ = config.Usage(stdout)
			return exitOK
		}
		fmt.Fprintln(stderr, errorLine(usagef("up", "unexpected argument %q: the host is configured by WASMCLOUD_* variables", args[0])))
		return exitUsage
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(stderr, "wasmcloud-host: invalid configuration:")
		for _, e := range unjoin(err) {
			fmt.Fprintln(stderr, "  "+errorLine(e))
		}
		return exitFailure
	}
	log := newLogger(stderr, cfg)
	h, err := host.New(cfg, host.Options{Log: log, Version: version})
	if err != nil {
		cfg.Wipe()
		fmt.Fprintln(stderr, errorLine(err))
		return exitFailure
	}
	if err := h.Start(ctx); err != nil {
		fmt.Fprintln(stderr, errorLine(err))
		return exitFailure
	}
	info := h.Info()
	log = log.With("host", info.HostID, "lattice", info.Lattice)
	log.Info("host ready", "cluster_key", info.ClusterKey, "nats_url", info.NATSURL, "embedded_nats", info.Embedded)
	if !cfg.StructuredLogging {
		fmt.Fprintf(stdout, "wasmcloud-host ready: host_id=%s cluster_key=%s lattice=%s nats_url=%s\n",
			info.HostID, info.ClusterKey, info.Lattice, info.NATSURL)
	}
	notifyReady(log, info.Lattice, info.HostID)

	select {
	case <-ctx.Done():
	case <-h.StopRequested():
	}
	notifyStopping(log)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := h.Shutdown(sctx); err != nil {
		log.Error("unclean shutdown", "error", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// newLogger builds the one logger the daemon passes down: JSON under systemd (structured logging), text on a
// terminal.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.StructuredLogging {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
