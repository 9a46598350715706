package main

import (
	"log/slog"

	"github.com/wasmcloud-host/wasmcloud-host/internal/sdnotify"
)

// notifyReady and notifyStopping tell systemd (Type=notify) about the lifecycle. They do nothing when the
// service manager did not ask for notifications; a failure to notify is logged, never fatal.
func notifyReady(log *slog.Logger, lattice, hostID string) {
	if err := sdnotify.Ready("serving lattice " + lattice + " as " + hostID); err != nil {
		log.Warn("could not notify systemd", "error", err)
	}
}

func notifyStopping(log *slog.Logger) {
	if err := sdnotify.Stopping(); err != nil {
		log.Warn("could not notify systemd", "error", err)
	}
}

// notifyReloading tells systemd a reload began; notifyReady ends it.
func notifyReloading(log *slog.Logger) {
	if err := sdnotify.Reloading(); err != nil {
		log.Warn("could not notify systemd", "error", err)
	}
}
