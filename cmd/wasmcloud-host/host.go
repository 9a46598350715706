package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/host"
	"github.com/wasmcloud-host/wasmcloud-host/internal/sdnotify"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
)

// watchdog pings systemd's watchdog (WatchdogSec=) at a third of its interval, each time only after the host
// proved it works (Check: its NATS connections are not closed and its control subscription answers). A host
// that is wedged stops pinging, and systemd restarts it. It returns when ctx ends, at once without a watchdog.
func watchdog(ctx context.Context, log *slog.Logger, h *host.Host) {
	interval, ok := sdnotify.WatchdogInterval()
	if !ok {
		return
	}
	every := interval / 3
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.Check(ctx, every); err != nil {
			if !failing && ctx.Err() == nil {
				log.Error("health check failed; not pinging the systemd watchdog", "error", err)
			}
			failing = true
			continue
		}
		if failing {
			log.Info("health check passes again")
			failing = false
		}
		if err := sdnotify.Watchdog(); err != nil {
			log.Warn("could not notify systemd", "error", err)
		}
	}
}

// checkWatchdog refuses a watchdog interval too short for the checks to run in (the ping goes out every
// third of it, and a check waits up to that long for its answer).
func checkWatchdog() error {
	if d, ok := sdnotify.WatchdogInterval(); ok && d < 3*time.Second {
		return fmt.Errorf("WatchdogSec=%s is too short: want at least 3s", d)
	}
	return nil
}

// shutdownTimeout bounds the drain on SIGINT/SIGTERM: invocations in flight, both NATS connections, actors.
// If the drain has not returned shutdownGrace later, the daemon exits anyway: systemd's TimeoutStopSec (45 s)
// must never have to SIGKILL it.
const (
	shutdownTimeout = 30 * time.Second
	shutdownGrace   = 5 * time.Second
)

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
	if err == nil {
		err = checkWatchdog()
	}
	if err != nil {
		fmt.Fprintln(stderr, "wasmcloud-host: invalid configuration:")
		for _, e := range unjoin(err) {
			fmt.Fprintln(stderr, "  "+errorLine(e))
		}
		return exitFailure
	}
	log := newLogger(stderr, cfg)
	h, err := host.New(cfg, host.Options{Log: log, Version: version, Metrics: metrics.New()})
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
	wctx, stopWatchdog := context.WithCancel(ctx)
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		watchdog(wctx, log, h)
	}()
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	reloadDone := make(chan struct{})
	go func() {
		defer close(reloadDone)
		for {
			select {
			case <-wctx.Done():
				return
			case <-hups:
				notifyReloading(log)
				reload(wctx, log, h)
				notifyReady(log, info.Lattice, info.HostID)
			}
		}
	}()

	code := exitOK
	select {
	case <-ctx.Done():
	case <-h.StopRequested():
	case <-h.Failed():
		// Logged by the host; the service manager restarts it (Restart=on-failure).
		code = exitFailure
	}
	signal.Stop(hups)
	stopWatchdog()
	<-watchdogDone
	<-reloadDone
	notifyStopping(log)
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Shutdown(sctx) }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("unclean shutdown", "error", err)
			return exitFailure
		}
	case <-time.After(shutdownTimeout + shutdownGrace):
		log.Error("shutdown did not finish; exiting without it", "timeout", (shutdownTimeout + shutdownGrace).String())
		return exitFailure
	}
	if code != exitOK {
		log.Error("stopped after a failure", "error", h.Err())
		return code
	}
	log.Info("stopped")
	return exitOK
}

// reload applies SIGHUP (systemctl reload): the configuration is read again from the environment and the
// files it names, exactly as at start, and what can change without a restart takes effect (see
// host.Reload). A configuration that does not load or apply leaves the running one in force: the daemon logs
// why and keeps serving. The environment of a running process does not change, so what an operator changes
// this way lives in the files the WASMCLOUD_*_FILE variables name: the issuer lists, the cluster seed, the
// revocations, the cosign keys and trusted root.
func reload(ctx context.Context, log *slog.Logger, h *host.Host) {
	cfg, err := config.Load()
	if err != nil {
		var reasons []string
		for _, e := range unjoin(err) {
			reasons = append(reasons, e.Error())
		}
		log.Error("reload refused: invalid configuration; the running one stays in force", "error", strings.Join(reasons, "; "))
		return
	}
	changed, needRestart, err := h.Reload(ctx, cfg)
	if err != nil {
		log.Error("reload refused; the running configuration stays in force", "error", err)
		return
	}
	for _, c := range changed {
		log.Info("reloaded", "changed", c)
	}
	if len(changed) == 0 {
		log.Info("reloaded: nothing changed")
	}
	for _, r := range needRestart {
		log.Warn("reload: this setting changed but takes effect only after a restart", "setting", r)
	}
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
