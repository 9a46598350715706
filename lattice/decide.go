package lattice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// probeTimeout bounds the dial that looks for a server on the default address. Loopback answers
// (or refuses) in microseconds; the bound only matters when a firewall drops packets.
const probeTimeout = 250 * time.Millisecond

// Decide applies WASMCLOUD_NATS_EMBEDDED: EmbeddedAlways starts an embedded server, EmbeddedNever
// does not, and EmbeddedAuto starts one only when natsConfigured is false (no RPC or CTL host or
// port was set) and nothing accepts a TCP connection on probeAddr ("127.0.0.1:4222"), so that the
// first host started on a machine serves the ones started after it.
func Decide(ctx context.Context, mode config.EmbeddedMode, natsConfigured bool, probeAddr string) (bool, error) {
	switch mode {
	case config.EmbeddedAlways:
		return true, nil
	case config.EmbeddedNever:
		return false, nil
	case config.EmbeddedAuto:
		if natsConfigured {
			return false, nil
		}
		return !answers(ctx, probeAddr), nil
	}
	return false, fmt.Errorf("lattice: %w: embedded-NATS mode %q (want auto, true or false)", ErrConfig, string(mode))
}

// answers reports whether something accepts a TCP connection on addr.
func answers(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: probeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// StartEmbedded runs Decide with the address of c as the probe and, when it says so, starts an
// embedded server. It returns nil and no error when the host should connect as a client instead:
// mode false; auto with NATS configured or a server already answering; or auto when another host
// bound the address between the probe and the start (it won the race, and this host joins it).
// With mode true a taken address is an error.
func StartEmbedded(ctx context.Context, mode config.EmbeddedMode, natsConfigured bool, c EmbeddedConfig, log *slog.Logger) (*Embedded, error) {
	e := NewEmbedded(c, log)
	start, err := Decide(ctx, mode, natsConfigured, e.Addr())
	if err != nil || !start {
		return nil, err
	}
	return startOrJoin(ctx, mode, e)
}

// startOrJoin starts e; in auto mode, losing the address to another process means "join it".
func startOrJoin(ctx context.Context, mode config.EmbeddedMode, e *Embedded) (*Embedded, error) {
	err := e.Start(ctx)
	switch {
	case err == nil:
		return e, nil
	case mode == config.EmbeddedAuto && errors.Is(err, ErrPortInUse):
		e.log.Info("another process took the embedded nats-server address first; connecting to it as a client", attrURL, "nats://"+e.Addr())
		_ = e.Shutdown(ctx)
		return nil, nil
	}
	return nil, err
}
