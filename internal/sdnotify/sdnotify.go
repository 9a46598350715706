// Package sdnotify tells systemd what state the host is in, through the sd_notify protocol: one
// datagram of newline-separated VARIABLE=value assignments sent to the unix socket that systemd
// names in $NOTIFY_SOCKET.
//
// The host runs as a Type=notify service, so systemd orders dependent units after the moment the
// host is really ready (connected to NATS, actors started) rather than after the process was
// forked, and shows the host's own status line in `systemctl status`. The protocol is small enough
// that a few dozen lines of the standard library do it; a dependency on a systemd binding or on
// libsystemd would cost more than it saves.
//
// Every function is a no-op that returns nil when NOTIFY_SOCKET is unset or empty (the host was
// not started by systemd, or by a unit of another type), so callers need no special case. The
// variable is read on every call. Each notification opens, uses and closes its own socket, so the
// functions are safe for concurrent use; they are called a handful of times in a host's life.
package sdnotify

import (
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The environment variables systemd sets for a notify service.
const (
	envSocket      = "NOTIFY_SOCKET"
	envWatchdogUS  = "WATCHDOG_USEC"
	envWatchdogPID = "WATCHDOG_PID"
)

// Ready tells systemd that start-up is complete: "READY=1", followed by "STATUS=status" when status
// is not empty. It returns ErrStatusText, without sending anything, when status contains a newline
// or a NUL byte.
func Ready(status string) error {
	if status == "" {
		return send("READY=1")
	}
	if err := checkStatus(status); err != nil {
		return err
	}
	return send("READY=1\nSTATUS=" + status)
}

// Stopping tells systemd that the service is beginning its shutdown: "STOPPING=1". The host sends
// it first when it stops, before it drains, so that systemd reports the unit as deactivating.
func Stopping() error { return send("STOPPING=1") }

// Status sets the free-form status line systemd shows for the unit: "STATUS=s". It returns
// ErrStatusText, without sending anything, when s contains a newline or a NUL byte.
func Status(s string) error {
	if err := checkStatus(s); err != nil {
		return err
	}
	return send("STATUS=" + s)
}

// Reloading tells systemd the service is reloading its configuration: "RELOADING=1" with the
// CLOCK_MONOTONIC time in microseconds (MONOTONIC_USEC=, which systemd matches against the reload it
// asked for). Send Ready when the reload is over, whether it succeeded or not.
func Reloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sdnotify: monotonic clock: %w", err)
	}
	return send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10))
}

// Watchdog tells systemd the service is alive: "WATCHDOG=1". It matters only when the unit sets
// WatchdogSec=; see WatchdogInterval for how often to call it.
func Watchdog() error { return send("WATCHDOG=1") }

// WatchdogInterval returns the watchdog timeout systemd expects this process to honour, and false
// when there is none: WATCHDOG_USEC unset, not a positive integer, or WATCHDOG_PID set to another
// process's id. Callers should send Watchdog at least twice per interval.
func WatchdogInterval() (time.Duration, bool) {
	us, err := strconv.ParseInt(os.Getenv(envWatchdogUS), 10, 64)
	if err != nil || us <= 0 || us > math.MaxInt64/int64(time.Microsecond) {
		return 0, false
	}
	if p, ok := os.LookupEnv(envWatchdogPID); ok {
		if pid, err := strconv.Atoi(p); err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(us) * time.Microsecond, true
}

func checkStatus(s string) error {
	if i := strings.IndexAny(s, "\n\x00"); i >= 0 {
		return fmt.Errorf("%w (at byte %d)", ErrStatusText, i)
	}
	return nil
}

// send delivers one notification datagram to $NOTIFY_SOCKET, or does nothing when it is unset.
func send(state string) error {
	addr, ok := socketAddr()
	if !ok {
		return nil
	}
	if addr == nil {
		return fmt.Errorf("%w: %q", ErrSocketAddress, os.Getenv(envSocket))
	}
	field, _, _ := strings.Cut(state, "\n") // names the notification in errors
	// An address starting with '@' names a socket in the abstract namespace; the net package
	// turns the '@' into the leading NUL byte the kernel expects.
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sdnotify: send %s to %s: %w", field, addr.Name, err)
	}
	defer conn.Close()
	n, err := conn.Write([]byte(state))
	if err == nil && n != len(state) {
		err = fmt.Errorf("wrote %d of %d bytes", n, len(state))
	}
	if err != nil {
		return fmt.Errorf("sdnotify: send %s to %s: %w", field, addr.Name, err)
	}
	return nil
}

// socketAddr reads NOTIFY_SOCKET. It returns ok=false when the variable is unset or empty, and a
// nil address when the value is not one this package can use.
func socketAddr() (*net.UnixAddr, bool) {
	v := os.Getenv(envSocket)
	switch {
	case v == "":
		return nil, false
	case v[0] == '/', v[0] == '@' && len(v) > 1:
		return &net.UnixAddr{Name: v, Net: "unixgram"}, true
	default:
		return nil, true
	}
}
