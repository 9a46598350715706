package require

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a failure and panics with itself instead of stopping the test;
// run recovers that panic, so one test can check that an assertion fails.
type recorder struct {
	testing.TB
	failed  atomic.Bool
	message atomic.Value
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fail(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.fail(fmt.Sprint(args...)) }

func (r *recorder) fail(msg string) {
	r.failed.Store(true)
	r.message.Store(msg)
	panic(r)
}

// run runs an assertion against a recorder and returns whether it failed, and its message.
func run(t *testing.T, assert func(tb testing.TB)) (bool, string) {
	t.Helper()
	r := &recorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil && v != r {
				panic(v)
			}
		}()
		assert(r)
	}()
	msg, _ := r.message.Load().(string)
	return r.failed.Load(), msg
}

func TestAssertions(t *testing.T) {
	errX := errors.New("x")
	tests := []struct {
		name     string
		assert   func(tb testing.TB)
		fails    bool
		contains string
	}{
		{"equal", func(tb testing.TB) { Equal(tb, "n", 1, 1) }, false, ""},
		{"not equal", func(tb testing.TB) { Equal(tb, "n", 1, 2) }, true, "n = 1, want 2"},
		{"deep equal", func(tb testing.TB) { DeepEqual(tb, "s", []int{1}, []int{1}) }, false, ""},
		{"not deep equal", func(tb testing.TB) { DeepEqual(tb, "s", []int{1}, []int{2}) }, true, "s = []int{1}, want []int{2}"},
		{"no error", func(tb testing.TB) { NoError(tb, nil) }, false, ""},
		{"error", func(tb testing.TB) { NoError(tb, errX, "open %s", "f") }, true, "open f: unexpected error: x"},
		{"error is", func(tb testing.TB) { ErrorIs(tb, fmt.Errorf("w: %w", errX), errX) }, false, ""},
		{"error is not", func(tb testing.TB) { ErrorIs(tb, errors.New("y"), errX) }, true, "error = y, want one matching x"},
		{"error contains", func(tb testing.TB) { ErrorContains(tb, errors.New("a b c"), "a", "c") }, false, ""},
		{"error lacks", func(tb testing.TB) { ErrorContains(tb, errors.New("a b"), "c") }, true, `"a b" does not contain "c"`},
		{"no error to contain", func(tb testing.TB) { ErrorContains(tb, nil, "c") }, true, "got no error"},
		{"true", func(tb testing.TB) { True(tb, true) }, false, ""},
		{"not true", func(tb testing.TB) { True(tb, false, "want %d", 3) }, true, "want 3"},
		{"false", func(tb testing.TB) { False(tb, false) }, false, ""},
		{"not false", func(tb testing.TB) { False(tb, true) }, true, "condition is true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			failed, msg := run(t, tc.assert)
			if failed != tc.fails || !strings.Contains(msg, tc.contains) {
				t.Fatalf("failed=%v %q, want failed=%v containing %q", failed, msg, tc.fails, tc.contains)
			}
		})
	}
}

func TestEventually(t *testing.T) {
	var n atomic.Int32
	if failed, msg := run(t, func(tb testing.TB) { Eventually(tb, 10*time.Second, func() bool { return n.Add(1) >= 3 }) }); failed {
		t.Fatalf("failed: %s", msg)
	}
	failed, msg := run(t, func(tb testing.TB) {
		Eventually(tb, 20*time.Millisecond, func() bool { return false }, "the %s", "marker")
	})
	if !failed || !strings.Contains(msg, "waiting for the marker") {
		t.Fatalf("failed=%v %q", failed, msg)
	}
}

func TestEventuallyNoError(t *testing.T) {
	var n atomic.Int32
	cond := func() error {
		if n.Add(1) < 3 {
			return errors.New("only " + fmt.Sprint(n.Load()))
		}
		return nil
	}
	if failed, msg := run(t, func(tb testing.TB) { EventuallyNoError(tb, 10*time.Second, cond) }); failed {
		t.Fatalf("failed: %s", msg)
	}
	failed, msg := run(t, func(tb testing.TB) {
		EventuallyNoError(tb, 20*time.Millisecond, func() error { return errors.New("still down") }, "the server")
	})
	if !failed || !strings.Contains(msg, "waiting for the server: still down") {
		t.Fatalf("failed=%v %q", failed, msg)
	}
}
