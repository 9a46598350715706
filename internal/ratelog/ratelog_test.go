package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newLogger(b *bytes.Buffer, c *clock) *slog.Logger {
	next := slog.NewTextHandler(b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return slog.New(New(next, Config{Messages: []string{"refused invocation"}, Burst: 2, Interval: time.Second, Now: c.now}))
}

func TestLimits(t *testing.T) {
	var b bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	log := newLogger(&b, c).With("host", "N1")
	for range 10 {
		log.Warn("refused invocation", "reason", "replay")
		log.Info("other message")
	}
	c.add(time.Second)
	log.Warn("refused invocation", "reason", "signature")
	got := b.String()
	require.Equal(t, "refused lines", strings.Count(got, "refused invocation"), 3)
	require.Equal(t, "other lines", strings.Count(got, "other message"), 10)
	if !strings.Contains(got, `level=WARN msg="refused invocation" host=N1 reason=signature suppressed=8`) {
		t.Fatalf("the first line of the next window does not say how many were suppressed:\n%s", got)
	}
}

func TestDerivedHandlersShareLimits(t *testing.T) {
	var b bytes.Buffer
	c := &clock{t: time.Unix(1000, 0)}
	log := newLogger(&b, c)
	a, g := log.With("actor", "A"), log.WithGroup("g")
	for range 5 {
		a.Warn("refused invocation")
		g.Warn("refused invocation")
	}
	require.Equal(t, "refused lines", strings.Count(b.String(), "refused invocation"), 2)
}

func TestConcurrent(t *testing.T) {
	var mu sync.Mutex
	var b bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&lockedWriter{mu: &mu, b: &b}, nil), Config{Messages: []string{"m"}, Burst: 5, Interval: time.Hour}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				log.Warn("m")
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "lines", strings.Count(b.String(), "msg=m"), 5)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func BenchmarkLimited(b *testing.B) {
	log := slog.New(New(slog.DiscardHandler, Config{Messages: []string{"refused invocation"}, Burst: 10}))
	b.ReportAllocs()
	for b.Loop() {
		log.Warn("refused invocation", "reason", "replay")
	}
}
