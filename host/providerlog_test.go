package host

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// lineLog records what logProviderOutput logs.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	dropped int64
}

func (l *lineLog) Info(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, msg)
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "dropped_lines" {
			l.dropped += args[i+1].(int64)
		}
	}
}

// TestProviderOutputBudget: a provider that writes without end gets its first lines logged and the rest
// counted, not logged; every line is either logged or counted; an over-long line is cut.
func TestProviderOutputBudget(t *testing.T) {
	const n = 20_000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	var log lineLog
	logProviderOutput(strings.NewReader(b.String()), &log)
	logged := 0
	for _, l := range log.lines {
		if strings.HasPrefix(l, "line ") {
			logged++
		}
	}
	require.True(t, logged >= providerLogBurst && logged < n/2, "%d of %d lines logged", logged, n)
	require.Equal(t, "lines logged or counted", int64(logged)+log.dropped, int64(n))
	require.Equal(t, "first line", log.lines[0], "line 0")

	var long lineLog
	logProviderOutput(strings.NewReader(strings.Repeat("x", 3*maxProviderLogLine)+"\nafter\n"), &long)
	require.Equal(t, "lines of an over-long line", len(long.lines), 2)
	require.Equal(t, "cut line", len(long.lines[0]), maxProviderLogLine)
	require.Equal(t, "line after it", long.lines[1], "after")
}
