// Package require holds the few assertions the tests share, in the habit of wazero's
// internal/testing/require: each fails the test at once with a message that says what was compared, so a
// test reads as a list of facts. Eventually is the one poll helper: tests poll, they do not sleep. It is
// imported only from _test.go files.
package require

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// PollInterval is how often Eventually checks its condition.
const PollInterval = 5 * time.Millisecond

// Equal fails the test unless got == want; what names the value.
func Equal[T comparable](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if got != want {
		tb.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// DeepEqual fails the test unless reflect.DeepEqual(got, want); what names the value.
func DeepEqual[T any](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// NoError fails the test if err is not nil.
func NoError(tb testing.TB, err error, msgf ...any) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%sunexpected error: %v", prefix(msgf), err)
	}
}

// ErrorIs fails the test unless errors.Is(err, target).
func ErrorIs(tb testing.TB, err, target error, msgf ...any) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("%serror = %v, want one matching %v", prefix(msgf), err, target)
	}
}

// ErrorContains fails the test unless err is not nil and its text contains every part.
func ErrorContains(tb testing.TB, err error, parts ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			tb.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

// True fails the test unless cond holds; msgf (a format and its arguments) says what was expected.
func True(tb testing.TB, cond bool, msgf ...any) {
	tb.Helper()
	if !cond {
		tb.Fatal(message(msgf, "condition is false"))
	}
}

// False fails the test if cond holds.
func False(tb testing.TB, cond bool, msgf ...any) {
	tb.Helper()
	if cond {
		tb.Fatal(message(msgf, "condition is true"))
	}
}

// Eventually polls cond every PollInterval until it holds, and fails the test if it still does not after
// timeout; msgf (a format and its arguments) names what was waited for.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, msgf ...any) {
	tb.Helper()
	if err := poll(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		tb.Fatalf("timed out after %v waiting for %s", timeout, message(msgf, "the condition"))
	}
}

// EventuallyNoError is Eventually for a condition that says why it does not hold yet: it polls until cond
// returns nil, and the failure reports cond's last error.
func EventuallyNoError(tb testing.TB, timeout time.Duration, cond func() error, msgf ...any) {
	tb.Helper()
	if err := poll(timeout, cond); err != nil {
		tb.Fatalf("timed out after %v waiting for %s: %v", timeout, message(msgf, "the condition"), err)
	}
}

var errNotYet = errors.New("not yet")

// poll is the one poll loop: it calls cond every PollInterval until it returns nil or timeout passes, and
// returns cond's last error.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(PollInterval)
	}
}

// message formats msgf, or returns def when there is none.
func message(msgf []any, def string) string {
	if len(msgf) == 0 {
		return def
	}
	if format, ok := msgf[0].(string); ok {
		return fmt.Sprintf(format, msgf[1:]...)
	}
	return fmt.Sprint(msgf...)
}

// prefix is message followed by ": ", or "" when there is no message.
func prefix(msgf []any) string {
	if len(msgf) == 0 {
		return ""
	}
	return message(msgf, "") + ": "
}
