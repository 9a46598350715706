package main

import (
	"log/slog"

	"github.com/wasmcloud-host/wasmcloud-host/host"
)

// notifyReady and notifyStopping tell systemd (Type=notify) about the lifecycle. They are no-ops when the
// service manager did not ask for notifications.
func notifyReady(log *slog.Logger, info host.Info) {}

func notifyStopping(log *slog.Logger) {}
