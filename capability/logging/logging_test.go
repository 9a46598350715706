package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name, level string
		want        string
	}{
		{"debug", "debug", "DEBUG"},
		{"trace is debug", "TRACE", "DEBUG"},
		{"warning", "warning", "WARN"},
		{"critical is error", "critical", "ERROR"},
		{"unknown is info", "loud", "INFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			entry := contract.LogEntry{Level: tc.level, Text: "hello"}
			if _, err := Write(context.Background(), log, "MABC", contract.OpLoggingWriteLog, entry.AppendMsgpack(nil)); err != nil {
				t.Fatal(err)
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if line["level"] != tc.want || line["msg"] != "hello" || line["actor"] != "MABC" || line["source"] != "actor" {
				t.Fatalf("log line %v", line)
			}
		})
	}
	if _, err := Write(context.Background(), slog.New(slog.DiscardHandler), "MABC", "Logging.Nope", nil); !errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("unknown operation: %v", err)
	}
}
