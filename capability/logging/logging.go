// Package logging is the built-in wasmcloud:builtin:logging provider: an actor's log entries go into the
// host's log, at the level the actor asked for, with the actor's key. It reaches nothing outside the host,
// so it needs no link; the actor's claims must still list the contract.
package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// Write serves one call of the logging contract from the actor actorKey: Logging.WriteLog puts the entry
// into log.
func Write(ctx context.Context, log *slog.Logger, actorKey, op string, payload []byte) ([]byte, error) {
	if op != contract.OpLoggingWriteLog {
		return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
	}
	var e contract.LogEntry
	if err := e.UnmarshalMsgpack(payload); err != nil {
		return nil, err
	}
	log.Log(ctx, Level(e.Level), e.Text, "actor", actorKey, "source", "actor")
	return nil, nil
}

// Level maps the level an actor names (any case) to a slog level; anything unknown is info.
func Level(name string) slog.Level {
	switch strings.ToLower(name) {
	case "debug", "trace":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "critical":
		return slog.LevelError
	}
	return slog.LevelInfo
}
