package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// The synopses of the ctl commands of this file.
const (
	synStopHost      = "ctl stop host <host-id> [--drain-timeout D]"
	synRegistriesPut = "ctl registries put <registry> [--user U --password-file F | --token-file F]"
	synWatch         = "ctl watch [--json] [--type NAME]... [--host HOST_ID] [--count N] [--for D]"
	synGetEvents     = "ctl get events [--json] [--type NAME]... [--host HOST_ID] [--count N] [--for D]"
)

// ctlDefaultWait is the default of --wait-timeout: how long a command waits for the event that says what
// became of it. Pulling and compiling an actor can take a while.
const ctlDefaultWait = 2 * time.Minute

// waitFlags are --skip-wait and --wait-timeout.
type waitFlags struct {
	skip    *bool
	timeout *time.Duration
}

func (c *ctlCmd) waitFlags() waitFlags {
	return waitFlags{
		skip: c.Bool("skip-wait", false, "return once the host acknowledged, without waiting for the event that says it happened"),
		timeout: c.Duration("wait-timeout", ctlDefaultWait,
			"how long to wait for the event that says the command took effect or failed"),
	}
}

// events subscribes to the lattice's events before a command is sent, so that the event it causes is not
// missed; with --skip-wait it returns a stream that is never read.
func (s *ctlSession) events(w waitFlags) (*client.EventStream, error) {
	if *w.timeout <= 0 {
		return nil, usagef("ctl", "--wait-timeout must be positive, got %s", *w.timeout)
	}
	return client.SubscribeEvents(s.nc, s.cfg.LatticePrefix)
}

// await waits for the event that settles a command, bounded by --wait-timeout.
func (w waitFlags) await(ctx context.Context, events *client.EventStream, match func(client.Event) client.Outcome) error {
	wctx, cancel := context.WithTimeout(ctx, *w.timeout)
	defer cancel()
	_, err := events.WaitFor(wctx, match)
	var failed *client.FailedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &failed):
		return fmt.Errorf("%s: %s", failed.Event, printable(failed.Reason))
	case errors.Is(err, client.ErrWaitTimeout) && ctx.Err() == nil:
		return fmt.Errorf("no event said whether it happened within %s (--wait-timeout); the host accepted it", *w.timeout)
	}
	return err
}

// stopHostResult is the --json output of ctl stop host.
type stopHostResult struct {
	HostID string `json:"host_id"`
}

func ctlStopHost(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl stop host", synStopHost,
		"Tell a host to shut down: it stops taking work, lets what is in flight finish (within --drain-timeout,\n"+
			"or its own default), drains its NATS connections and exits.")
	drain := c.Duration("drain-timeout", 0, "how long the host may take to drain (default: the host's own)")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want exactly one host id, got %d arguments", len(pos))
		}
		if err := c.checkKey("host id", pos[0], nkey.Server); err != nil {
			return err
		}
		if *drain < 0 {
			return c.usage("--drain-timeout must not be negative, got %s", *drain)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.client.StopHost(ctx, pos[0], *drain); err != nil {
		return err
	}
	return writeResult(s.stdout, *c.asJSON, stopHostResult{HostID: pos[0]}, fmt.Sprintf("Host %s accepted: stop", pos[0]))
}

// registriesResult is the --json output of ctl registries put: never the secret.
type registriesResult struct {
	Registry string `json:"registry"`
	User     string `json:"username,omitempty"`
	Secret   string `json:"secret"` // "password", "token" or "none"
}

func ctlRegistriesPut(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl registries put", synRegistriesPut,
		"Give every host of the lattice the credentials of an OCI registry (host[:port]) to pull actors with.\n"+
			"The password or token is read from a file, never from the command line (which other users can see).")
	user := c.String("user", "", "the user name")
	passwordFile := c.String("password-file", "", "a file holding the password (with --user)")
	tokenFile := c.String("token-file", "", "a file holding an access token (instead of --user and --password-file)")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		switch {
		case len(pos) != 1:
			return c.usage("want exactly one registry, got %d arguments", len(pos))
		case *tokenFile != "" && (*user != "" || *passwordFile != ""):
			return c.usage("--token-file excludes --user and --password-file")
		case (*user == "") != (*passwordFile == ""):
			return c.usage("--user and --password-file go together")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	cred := control.RegistryCredential{RegistryType: "oci", Username: *user}
	secret := "none"
	read := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", path, errors.Unwrap(err))
		}
		defer clear(b)
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("%s is empty", path)
		}
		return v, nil
	}
	if *passwordFile != "" {
		if cred.Password, err = read(*passwordFile); err != nil {
			return err
		}
		secret = "password"
	}
	if *tokenFile != "" {
		if cred.Token, err = read(*tokenFile); err != nil {
			return err
		}
		secret = "token"
	}
	if err := sess.client.PutRegistries(ctx, control.RegistryCredentialMap{pos[0]: cred}); err != nil {
		return err
	}
	return writeResult(s.stdout, *c.asJSON, registriesResult{Registry: pos[0], User: *user, Secret: secret},
		fmt.Sprintf("Registry credentials for %s accepted", printable(pos[0])))
}

// eventLine is one event of ctl watch --json: the CloudEvent as the host published it.
func ctlWatch(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl watch", synWatch,
		"Print the lattice's events as they happen, as a table or, with --json, one CloudEvent per line (JSON\n"+
			"lines). It runs until interrupted, --count events were printed or --for has passed.")
	var types listFlag
	c.Var(&types, "type", "print only events of this `name` (actors_started, linkdef_set, …; repeatable)")
	hostID := c.String("host", "", "print only the events of this host")
	count := c.Uint("count", 0, "stop after this many events (0: no limit)")
	forD := c.Duration("for", 0, "stop after this long (0: no limit)")
	sess, _, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 0 {
			return c.usage("unexpected argument %q", pos[0])
		}
		if *forD < 0 {
			return c.usage("--for must not be negative, got %s", *forD)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	events, err := client.SubscribeEvents(sess.nc, sess.cfg.LatticePrefix)
	if err != nil {
		return err
	}
	defer events.Close()
	if *forD > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *forD)
		defer cancel()
	}
	var tw table
	if !*c.asJSON {
		tw = newTable(s.stdout, "TIME", "HOST", "EVENT", "DETAILS")
		_ = tw.flush()
	}
	printed := uint(0)
	for *count == 0 || printed < *count {
		e, err := events.Next(ctx)
		switch {
		case err == nil:
		case errors.Is(err, client.ErrBadEvent):
			fmt.Fprintln(s.stderr, errorLine(err))
			continue
		case ctx.Err() != nil:
			return nil // interrupted, or --for passed
		default:
			return err
		}
		if len(types) > 0 && !slices.Contains(types, e.Name) || *hostID != "" && e.Source != *hostID {
			continue
		}
		printed++
		if *c.asJSON {
			if err := writeJSONLine(s.stdout, e); err != nil {
				return err
			}
			continue
		}
		tw.row(e.Time.UTC().Format(time.RFC3339), e.Source, e.Name, eventDetails(e))
		if err := tw.flush(); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONLine writes the event's CloudEvent as one line of JSON.
func writeJSONLine(w io.Writer, e client.Event) error {
	var b strings.Builder
	if err := writeOutCompact(&b, e.CloudEvent); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// detailKeys are the data fields the table shows, in order, when an event has them.
var detailKeys = []string{"public_key", "actor_id", "image_ref", "actor_ref", "contract_id", "link_name", "provider_id",
	"count", "max_instances", "healthy", "error", "reason"}

// eventDetails shows the interesting fields of an event's data as k=v pairs.
func eventDetails(e client.Event) string {
	var parts []string
	for _, k := range detailKeys {
		if v, ok := e.Fields[k]; ok && v != nil && v != "" {
			parts = append(parts, k+"="+printable(fmt.Sprint(v)))
		}
	}
	return strings.Join(parts, " ")
}
