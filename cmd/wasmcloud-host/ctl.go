package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// The synopses of the ctl commands, shown both in their group's help and in their own.
const (
	synHosts         = "ctl hosts [--json] [--timeout D]"
	synInventory     = "ctl inventory [HOST_ID] [--json] [--timeout D]"
	synStartActor    = "ctl start actor <ref> [--host HOST_ID] [--count N] [--constraint k=v]... [--skip-wait] [--wait-timeout D]"
	synStopActor     = "ctl stop actor <actor-key> [--host HOST_ID] [--count N] [--skip-wait] [--wait-timeout D]"
	synStartProvider = "ctl start provider <ref> [--link-name N] [--host HOST_ID] [--constraint k=v]..."
	synStopProvider  = "ctl stop provider <provider-key> [--link-name N] [--host HOST_ID]"
	synScaleActor    = "ctl scale actor <actor-key> <N> --host HOST_ID [--ref REF] [--skip-wait] [--wait-timeout D]"
	synLinkPut       = "ctl link put <actor-key> <provider-key> <contract> [--link-name default] [k=v]... [--skip-wait] [--wait-timeout D]"
	synLinkDel       = "ctl link del <actor-key> <contract> [--link-name default]"
	synLinkGet       = "ctl link get [--json] [--timeout D]"
	synClaims        = "ctl claims [--json] [--timeout D]"
)

// ctlGroup is `wasmcloud-host ctl …`: the control interface of wasmCloud 0.x, spoken to every host of the
// lattice (ours and 0.x's alike) over the control connection the host itself would use.
var ctlGroup = group{
	name: "ctl",
	about: "Ask the hosts of a lattice what they run and tell them what to run (the wasmCloud 0.x control\n" +
		"interface). NATS, lattice and control prefix come from the same WASMCLOUD_* variables as the host.",
	subs: []subcommand{
		{"hosts", synHosts, ctlHosts},
		{"inventory", synInventory, ctlInventory},
		{"start", synStartActor, group{name: "ctl start", about: "Start something on a host of the lattice.",
			subs: []subcommand{{"actor", synStartActor, ctlStartActor}, {"provider", synStartProvider, ctlStartProvider}}}.dispatch},
		{"stop", "ctl stop actor|host …", group{name: "ctl stop", about: "Stop something that runs in the lattice.",
			subs: []subcommand{{"actor", synStopActor, ctlStopActor}, {"host", synStopHost, ctlStopHost}, {"provider", synStopProvider, ctlStopProvider}}}.dispatch},
		{"scale", synScaleActor, group{name: "ctl scale", about: "Change the number of instances of something on a host.",
			subs: []subcommand{{"actor", synScaleActor, ctlScaleActor}}}.dispatch},
		{"link", "ctl link put|del|get …", group{name: "ctl link",
			about: "Manage the link definitions that connect actors to capability providers.",
			subs: []subcommand{
				{"put", synLinkPut, ctlLinkPut},
				{"del", synLinkDel, ctlLinkDel},
				{"get", synLinkGet, ctlLinkGet},
			}}.dispatch},
		{"claims", synClaims, ctlClaims},
		{"registries", synRegistriesPut, group{name: "ctl registries", about: "Give the hosts of the lattice registry credentials.",
			subs: []subcommand{{"put", synRegistriesPut, ctlRegistriesPut}}}.dispatch},
		{"get", synGetEvents, group{name: "ctl get", about: "Read what the lattice reports.",
			subs: []subcommand{{"events", synGetEvents, ctlWatch}}}.dispatch},
		{"watch", synWatch, ctlWatch},
		{"revoke", synRevoke, ctlRevoke},
		{"resign", synResign, ctlResign},
	},
}

// ctlDefaultTimeout is the default of --timeout: the wait for each reply and the length of each
// scatter-gather window (ping, auction).
const ctlDefaultTimeout = 2 * time.Second

// ctlCmd is the flag set of one ctl command with the flags every ctl command has.
type ctlCmd struct {
	*flags
	asJSON  *bool
	timeout *time.Duration
}

func newCtlCmd(cmd, synopsis, about string) *ctlCmd {
	f := newFlags(cmd, synopsis, about)
	return &ctlCmd{
		flags:  f,
		asJSON: f.Bool("json", false, "print one JSON document instead of text"),
		timeout: f.Duration("timeout", ctlDefaultTimeout,
			"how long to wait for each reply, and for every host's answer to a ping or an auction"),
	}
}

// open parses args, lets check report what is wrong with the positional arguments and the command's own
// flags, checks --timeout and connects. The caller closes the session.
func (c *ctlCmd) open(ctx context.Context, args []string, s streams, check func(pos []string) error) (*ctlSession, []string, error) {
	pos, err := c.parse(args, s.stdout)
	if err != nil {
		return nil, nil, err
	}
	if err := check(pos); err != nil {
		return nil, nil, err
	}
	if *c.timeout <= 0 {
		return nil, nil, c.usage("--timeout must be positive, got %s", *c.timeout)
	}
	sess, err := dialCtl(ctx, *c.timeout)
	return sess, pos, err
}

// noArgs is the check of a command that takes no positional arguments.
func (c *ctlCmd) noArgs(pos []string) error {
	if len(pos) != 0 {
		return c.usage("unexpected argument %q", pos[0])
	}
	return nil
}

// checkKey reports a key that is not a public key of type typ; what names the argument.
func (c *ctlCmd) checkKey(what, key string, typ nkey.Type) error {
	if err := nkey.CheckID(key, typ); err != nil {
		return c.usage("%s %q: %v", what, key, err)
	}
	return nil
}

// ctlSession is a control connection and a client on it, with what error messages need to say where the
// client looked.
type ctlSession struct {
	client  *client.CtlClient
	nc      *nats.Conn
	cfg     config.Config
	timeout time.Duration
	signer  *control.Signer // nil when no control issuer seed is configured
	user    config.Secret   // the embedded server user's seed, when the connection uses it
}

// dialCtl loads the configuration and connects to the control NATS server.
func dialCtl(ctx context.Context, timeout time.Duration) (*ctlSession, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(unjoin(err)...))
	}
	// Requests that change the lattice are signed when a control issuer seed is configured
	// (WASMCLOUD_CTL_ISSUER_SEED or _FILE); hosts with WASMCLOUD_CTL_ISSUERS set refuse them otherwise.
	var signer *control.Signer
	if cfg.CtlIssuerSeed.IsSet() {
		if signer, err = control.NewSigner(cfg.CtlIssuerSeed.Reveal(), cfg.CtlTokenValidity); err != nil {
			cfg.Wipe()
			return nil, err
		}
	}
	nc, user, err := lattice.ConnectLocal(ctx, lattice.FromConfig("ctl", cfg.CTL), cfg.StateDir, nil)
	if err != nil {
		cfg.Wipe()
		if signer != nil {
			signer.Wipe()
		}
		return nil, err
	}
	return &ctlSession{
		client:  client.NewCtlClient(nc, cfg.CtlTopicPrefix, cfg.LatticePrefix, timeout).SignWith(signer),
		nc:      nc,
		cfg:     cfg,
		timeout: timeout,
		signer:  signer,
		user:    user,
	}, nil
}

func (s *ctlSession) Close() {
	s.nc.Close()
	s.cfg.Wipe()
	s.user.Wipe()
	if s.signer != nil {
		s.signer.Wipe()
	}
}

// errNoHosts is the error of a command that needs at least one host when none answered the ping.
func (s *ctlSession) errNoHosts() error {
	return fmt.Errorf("no host answered within %s in lattice %q (control prefix %s, NATS %s)",
		s.timeout, s.cfg.LatticePrefix, s.cfg.CtlTopicPrefix, s.cfg.CTL.URL())
}

// hosts pings the lattice and fails when nobody answers. Malformed answers are returned as err next to the
// hosts that answered well.
func (s *ctlSession) hosts(ctx context.Context) ([]control.HostInfo, error) {
	hosts, err := s.client.Hosts(ctx)
	if len(hosts) == 0 && err == nil {
		err = s.errNoHosts()
	}
	return hosts, err
}

// inventories asks every host in hosts for its inventory at once and returns those that answered, in the
// order of hosts, with the errors of the others joined.
func (s *ctlSession) inventories(ctx context.Context, hosts []control.HostInfo) ([]control.HostInventory, error) {
	invs := make([]control.HostInventory, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { invs[i], errs[i] = s.client.Inventory(ctx, h.ID) })
	}
	wg.Wait()
	var out []control.HostInventory
	for i := range hosts {
		if errs[i] == nil {
			out = append(out, invs[i])
		}
	}
	return out, errors.Join(errs...)
}

func ctlHosts(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl hosts", synHosts,
		"List every host of the lattice that answers a ping within the timeout: id, uptime, labels and the\n"+
			"cluster issuers it accepts invocations from.")
	sess, _, err := c.open(ctx, args, s, c.noArgs)
	if err != nil {
		return err
	}
	defer sess.Close()
	hosts, err := sess.hosts(ctx)
	return writeSome(s.stdout, *c.asJSON, hosts, err, func(w io.Writer, hosts []control.HostInfo) error {
		tw := newTable(w, "HOST ID", "UPTIME", "LABELS", "CLUSTER ISSUERS")
		for _, h := range hosts {
			tw.row(h.ID, uptime(h.UptimeSeconds), pairs(h.Labels), h.ClusterIssuers)
		}
		return tw.flush()
	})
}

func ctlInventory(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl inventory", synInventory,
		"Show the actors and providers a host runs, or, without HOST_ID, those of every host that answers a\n"+
			"ping. --json prints the host's inventory, or without HOST_ID a list of every host's.")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) > 1 {
			return c.usage("want at most one host id, got %d arguments", len(pos))
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()

	if len(pos) == 1 {
		inv, err := sess.client.Inventory(ctx, pos[0])
		if err != nil {
			return err
		}
		return writeOut(s.stdout, *c.asJSON, inv, func(w io.Writer, inv control.HostInventory) error {
			return writeInventories(w, []control.HostInventory{inv})
		})
	}
	hosts, herr := sess.hosts(ctx)
	invs, ierr := sess.inventories(ctx, hosts)
	return writeSome(s.stdout, *c.asJSON, invs, errors.Join(herr, ierr), writeInventories)
}

func writeInventories(w io.Writer, invs []control.HostInventory) error {
	var b bytes.Buffer // a write to it cannot fail; w is written once, at the end
	for i, inv := range invs {
		if i > 0 {
			b.WriteString("\n")
		}
		title := "Host " + orDash(inv.HostID)
		if inv.FriendlyName != "" {
			title += " (" + printable(inv.FriendlyName) + ")"
		}
		b.WriteString(title + "\n\n")
		if len(inv.Actors) == 0 {
			b.WriteString("No actors.\n")
		} else {
			tw := newTable(&b, "ACTOR ID", "NAME", "IMAGE REF", "INSTANCES")
			for _, a := range sortedBy(inv.Actors, func(a control.ActorDescription) string { return a.ID }) {
				tw.row(a.ID, a.Name, a.ImageRef, strconv.Itoa(len(a.Instances)))
			}
			_ = tw.flush()
		}
		b.WriteString("\n")
		if len(inv.Providers) == 0 {
			b.WriteString("No providers.\n")
			continue
		}
		tw := newTable(&b, "PROVIDER ID", "NAME", "CONTRACT", "LINK NAME", "IMAGE REF")
		for _, p := range sortedBy(inv.Providers, func(p control.ProviderDescription) string { return p.ID + "\x00" + p.LinkName }) {
			tw.row(p.ID, p.Name, p.ContractID, p.LinkName, p.ImageRef)
		}
		_ = tw.flush()
	}
	_, err := w.Write(b.Bytes())
	return err
}

// placement is --host and --constraint of the start commands: a host named, or an auction among the hosts
// whose labels satisfy every constraint.
type placement struct {
	host        *string
	constraints listFlag
	cons        map[string]string // parsed by check
}

func (c *ctlCmd) placementFlags(hostUsage string) *placement {
	p := &placement{host: c.String("host", "", hostUsage)}
	c.Var(&p.constraints, "constraint", "a `k=v` label the host must have (repeatable; not with --host)")
	return p
}

// check parses the constraints and refuses them together with --host.
func (p *placement) check(c *ctlCmd) error {
	var err error
	if p.cons, err = parsePairs(p.constraints); err != nil {
		return c.usage("--constraint: %v", err)
	}
	if *p.host != "" && len(p.cons) > 0 {
		return c.usage("--constraint chooses a host by auction and cannot be combined with --host")
	}
	return nil
}

// startResult is the --json output of ctl start actor.
type startResult struct {
	HostID   string `json:"host_id"`
	ActorRef string `json:"actor_ref"`
	Count    uint16 `json:"count"`
}

func ctlStartActor(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl start actor", synStartActor,
		"Start instances of an actor. <ref> is an OCI reference or, where the host allows it, a file path on\n"+
			"that host. Without --host, an auction picks a host whose labels satisfy every --constraint (the\n"+
			"first to bid). The host acknowledges at once, then reports the start or its failure as a lattice event;\n"+
			"the command waits for that event and exits 1 with the host's reason when the start failed.")
	place := c.placementFlags("the host to start the actor on (default: the winner of an auction)")
	wait := c.waitFlags()
	count := c.Uint("count", 1, "number of instances")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want exactly one actor reference, got %d arguments", len(pos))
		}
		if *count < 1 || *count > 65535 {
			return c.usage("--count must be between 1 and 65535, got %d", *count)
		}
		return place.check(c)
	})
	if err != nil {
		return err
	}
	defer sess.Close()

	ref, target, cons := pos[0], *place.host, place.cons
	if target == "" {
		bids, err := sess.client.AuctionActor(ctx, ref, cons)
		if len(bids) == 0 {
			if err != nil {
				return err
			}
			shown := pairs(cons)
			if shown == "" {
				shown = "(none)"
			}
			return fmt.Errorf("no host satisfies the constraints %s: no bid for %s within %s", shown, printable(ref), sess.timeout)
		}
		// A malformed bid from one host does not matter once another host bid.
		target = bids[0].HostID
	}
	events, err := sess.events(wait)
	if err != nil {
		return err
	}
	defer events.Close()
	if err := sess.client.StartActor(ctx, target, ref, uint16(*count), nil); err != nil {
		return err
	}
	done := fmt.Sprintf("Host %s accepted: start %s of %s", printable(target), instances(uint16(*count)), printable(ref))
	if !*wait.skip {
		if err := wait.await(ctx, events, client.StartOutcome(target, ref)); err != nil {
			return fmt.Errorf("start %s on host %s: %w", printable(ref), printable(target), err)
		}
		done = fmt.Sprintf("Host %s started %s of %s", printable(target), instances(uint16(*count)), printable(ref))
	}
	return writeResult(s.stdout, *c.asJSON, startResult{HostID: target, ActorRef: ref, Count: uint16(*count)}, done)
}

// providerResult is the --json output of ctl start provider, and one host's part in that of ctl stop provider.
type providerResult struct {
	HostID      string `json:"host_id"`
	ProviderRef string `json:"provider_ref"`
	LinkName    string `json:"link_name"`
}

func ctlStartProvider(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl start provider", synStartProvider,
		"Run a capability provider archive. <ref> is an OCI reference or, where the host allows it, a .par.gz\n"+
			"file on that host. Without --host, an auction picks a host whose labels satisfy every --constraint and\n"+
			"that does not run the provider under the link name yet. The host acknowledges at once; a failure to\n"+
			"start is reported as a provider_start_failed event.")
	place := c.placementFlags("the host to run the provider on (default: the winner of an auction)")
	linkName := c.String("link-name", control.DefaultLinkName, "the link name the provider serves")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want exactly one provider reference, got %d arguments", len(pos))
		}
		return place.check(c)
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	ref, target := pos[0], *place.host
	if target == "" {
		bids, err := sess.client.AuctionProvider(ctx, ref, *linkName, place.cons)
		if len(bids) == 0 {
			if err != nil {
				return err
			}
			return fmt.Errorf("no host bid for provider %s (link name %s) within %s", printable(ref), *linkName, sess.timeout)
		}
		target = bids[0].HostID
	}
	if err := sess.client.StartProvider(ctx, target, ref, *linkName, nil); err != nil {
		return err
	}
	return writeResult(s.stdout, *c.asJSON, providerResult{HostID: target, ProviderRef: ref, LinkName: *linkName},
		fmt.Sprintf("Host %s accepted: start provider %s (link name %s)", printable(target), printable(ref), *linkName))
}

func ctlStopProvider(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl stop provider", synStopProvider,
		"Stop a capability provider. Without --host, it is stopped on every host whose inventory lists it under\n"+
			"the link name. --json prints a list with one entry per host.")
	hostID := c.String("host", "", "the host to stop the provider on (default: every host that runs it)")
	linkName := c.String("link-name", control.DefaultLinkName, "the link name the provider serves")
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want exactly one provider key, got %d arguments", len(pos))
		}
		return c.checkKey("provider key", pos[0], nkey.Service)
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	key, targets := pos[0], []string{*hostID}
	if *hostID == "" {
		hosts, herr := sess.hosts(ctx)
		invs, ierr := sess.inventories(ctx, hosts)
		targets = nil
		for _, inv := range invs {
			if slices.ContainsFunc(inv.Providers, func(p control.ProviderDescription) bool { return p.ID == key && p.LinkName == *linkName }) {
				targets = append(targets, inv.HostID)
			}
		}
		if len(targets) == 0 {
			return errors.Join(fmt.Errorf("provider %s (link name %s) is not running on any of the %d hosts that answered", key, *linkName, len(invs)), herr, ierr)
		}
	}
	var done []providerResult
	var errs []error
	for _, h := range targets {
		if err := sess.client.StopProvider(ctx, h, key, *linkName); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, providerResult{HostID: h, ProviderRef: key, LinkName: *linkName})
	}
	return writeSome(s.stdout, *c.asJSON, done, errors.Join(errs...), func(w io.Writer, done []providerResult) error {
		for _, r := range done {
			if _, err := fmt.Fprintf(w, "Host %s accepted: stop provider %s (link name %s)\n", printable(r.HostID), r.ProviderRef, r.LinkName); err != nil {
				return err
			}
		}
		return nil
	})
}

// stopResult is one host's part in the --json output of ctl stop actor.
type stopResult struct {
	HostID  string `json:"host_id"`
	ActorID string `json:"actor_id"`
	Count   uint16 `json:"count"` // 0: every instance
}

func ctlStopActor(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl stop actor", synStopActor,
		"Stop instances of an actor. Without --host, every host is asked for its inventory and the actor is\n"+
			"stopped wherever it runs. --json prints a list with one entry per host.")
	hostID := c.String("host", "", "the host to stop the actor on (default: every host that runs it)")
	count := c.Uint("count", 0, "number of instances to stop on each host (0: all)")
	wait := c.waitFlags()
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want exactly one actor key, got %d arguments", len(pos))
		}
		if err := c.checkKey("actor key", pos[0], nkey.Module); err != nil {
			return err
		}
		if *count > 65535 {
			return c.usage("--count must be at most 65535, got %d", *count)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()

	key, targets := pos[0], []string{*hostID}
	if *hostID == "" {
		if targets, err = sess.whereRuns(ctx, key); err != nil {
			return err
		}
	}
	var done []stopResult
	var errs []error
	for _, h := range targets {
		events, err := sess.events(wait)
		if err != nil {
			return err
		}
		err = sess.client.StopActor(ctx, h, key, uint16(*count))
		if err == nil && !*wait.skip {
			if err = wait.await(ctx, events, client.ScaleOutcome(h, key)); err != nil {
				err = fmt.Errorf("stop %s on host %s: %w", key, printable(h), err)
			}
		}
		events.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, stopResult{HostID: h, ActorID: key, Count: uint16(*count)})
	}
	verb := "stopped"
	if *wait.skip {
		verb = "accepted: stop"
	}
	return writeSome(s.stdout, *c.asJSON, done, errors.Join(errs...), func(w io.Writer, done []stopResult) error {
		for _, r := range done {
			what := "every instance"
			if r.Count > 0 {
				what = instances(r.Count)
			}
			if _, err := fmt.Fprintf(w, "Host %s %s %s of %s\n", printable(r.HostID), verb, what, r.ActorID); err != nil {
				return err
			}
		}
		return nil
	})
}

// whereRuns returns the hosts whose inventory lists the actor key, sorted. Hosts that did not answer do not
// hide the others, but if the actor is found nowhere their errors are part of the error.
func (s *ctlSession) whereRuns(ctx context.Context, key string) ([]string, error) {
	hosts, herr := s.hosts(ctx)
	if len(hosts) == 0 {
		return nil, herr
	}
	invs, ierr := s.inventories(ctx, hosts)
	var found []string
	for _, inv := range invs {
		if slices.ContainsFunc(inv.Actors, func(a control.ActorDescription) bool { return a.ID == key }) {
			found = append(found, inv.HostID)
		}
	}
	if len(found) == 0 {
		err := fmt.Errorf("actor %s is not running on any of the %d hosts that answered", key, len(invs))
		return nil, errors.Join(err, herr, ierr)
	}
	slices.Sort(found)
	return slices.Compact(found), nil
}

// scaleResult is the --json output of ctl scale actor.
type scaleResult struct {
	HostID   string `json:"host_id"`
	ActorID  string `json:"actor_id"`
	ActorRef string `json:"actor_ref"`
	Count    uint16 `json:"count"`
}

func ctlScaleActor(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl scale actor", synScaleActor,
		"Run exactly N instances of an actor on a host. The actor's reference is taken from the host's\n"+
			"inventory; --ref gives it when the host does not run the actor yet.")
	hostID := c.String("host", "", "the host to scale the actor on (required)")
	ref := c.String("ref", "", "the actor's OCI reference or file path (default: from the host's inventory)")
	wait := c.waitFlags()
	var n uint64
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 2 {
			return c.usage("want an actor key and an instance count, got %d arguments", len(pos))
		}
		if err := c.checkKey("actor key", pos[0], nkey.Module); err != nil {
			return err
		}
		var err error
		if n, err = strconv.ParseUint(pos[1], 10, 16); err != nil {
			return c.usage("instance count %q: want a number from 0 to 65535", pos[1])
		}
		if *hostID == "" {
			return c.usage("missing --host")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()

	key, actorRef := pos[0], *ref
	if actorRef == "" {
		inv, err := sess.client.Inventory(ctx, *hostID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(inv.Actors, func(a control.ActorDescription) bool { return a.ID == key })
		if i < 0 {
			return fmt.Errorf("actor %s is not running on host %s: pass --ref to start it there", key, printable(*hostID))
		}
		actorRef = inv.Actors[i].ImageRef
	}
	events, err := sess.events(wait)
	if err != nil {
		return err
	}
	defer events.Close()
	if err := sess.client.ScaleActor(ctx, *hostID, key, actorRef, uint16(n)); err != nil {
		return err
	}
	done := fmt.Sprintf("Host %s accepted: scale %s to %s", printable(*hostID), key, instances(uint16(n)))
	if !*wait.skip {
		if err := wait.await(ctx, events, client.ScaleOutcome(*hostID, key)); err != nil {
			return fmt.Errorf("scale %s on host %s: %w", key, printable(*hostID), err)
		}
		done = fmt.Sprintf("Host %s scaled %s to %s", printable(*hostID), key, instances(uint16(n)))
	}
	return writeResult(s.stdout, *c.asJSON, scaleResult{HostID: *hostID, ActorID: key, ActorRef: actorRef, Count: uint16(n)}, done)
}

// linkNameFlag adds --link-name to c and returns a check that it is not empty.
func (c *ctlCmd) linkNameFlag() (*string, func() error) {
	name := c.String("link-name", control.DefaultLinkName, "the link name")
	return name, func() error {
		if *name == "" {
			return c.usage("--link-name must not be empty")
		}
		return nil
	}
}

func ctlLinkPut(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl link put", synLinkPut,
		"Link an actor to a capability provider for a contract, with configuration values k=v that the\n"+
			"provider receives. --json prints the link definition sent.")
	linkName, checkLinkName := c.linkNameFlag()
	wait := c.waitFlags()
	var values map[string]string
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) < 3 {
			return c.usage("want an actor key, a provider key and a contract, got %d arguments", len(pos))
		}
		if err := c.checkKey("actor key", pos[0], nkey.Module); err != nil {
			return err
		}
		if err := c.checkKey("provider key", pos[1], nkey.Service); err != nil {
			return err
		}
		if err := checkLinkName(); err != nil {
			return err
		}
		var err error
		if values, err = parsePairs(pos[3:]); err != nil {
			return c.usage("%v", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	ld := control.LinkDefinition{ActorID: pos[0], ProviderID: pos[1], ContractID: pos[2], LinkName: *linkName, Values: values}
	events, err := sess.events(wait)
	if err != nil {
		return err
	}
	defer events.Close()
	if err := sess.client.PutLink(ctx, ld); err != nil {
		return err
	}
	if !*wait.skip {
		if err := wait.await(ctx, events, client.LinkOutcome(ld.ActorID, ld.ContractID, ld.LinkName)); err != nil {
			return fmt.Errorf("link %s to %s: %w", ld.ActorID, printable(ld.ContractID), err)
		}
	}
	return writeResult(s.stdout, *c.asJSON, ld, fmt.Sprintf("Linked %s to %s for %s (link name %s)",
		ld.ActorID, ld.ProviderID, printable(ld.ContractID), printable(ld.LinkName)))
}

func ctlLinkDel(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl link del", synLinkDel,
		"Remove the link definition of an actor, a contract and a link name. --json prints the request sent.")
	linkName, checkLinkName := c.linkNameFlag()
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 2 {
			return c.usage("want an actor key and a contract, got %d arguments", len(pos))
		}
		if err := c.checkKey("actor key", pos[0], nkey.Module); err != nil {
			return err
		}
		return checkLinkName()
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.client.DelLink(ctx, pos[0], pos[1], *linkName); err != nil {
		return err
	}
	return writeResult(s.stdout, *c.asJSON, control.RemoveLinkDefinition{ActorID: pos[0], ContractID: pos[1], LinkName: *linkName},
		fmt.Sprintf("Removed the link of %s for %s (link name %s)", pos[0], printable(pos[1]), printable(*linkName)))
}

func ctlLinkGet(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl link get", synLinkGet, "List every link definition of the lattice.")
	sess, _, err := c.open(ctx, args, s, c.noArgs)
	if err != nil {
		return err
	}
	defer sess.Close()
	links, err := sess.client.Links(ctx)
	if err != nil {
		return err
	}
	links = sortedBy(nonNilSlice(links), func(l control.LinkDefinition) string {
		return l.ActorID + "\x00" + l.ContractID + "\x00" + l.LinkName
	})
	return writeOut(s.stdout, *c.asJSON, links, func(w io.Writer, links []control.LinkDefinition) error {
		tw := newTable(w, "ACTOR", "PROVIDER", "CONTRACT", "LINK NAME", "VALUES")
		for _, l := range links {
			tw.row(l.ActorID, l.ProviderID, l.ContractID, l.LinkName, pairs(l.Values))
		}
		return tw.flush()
	})
}

func ctlClaims(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl claims", synClaims,
		"List the claims of every actor and provider the lattice knows: subject, name, issuer, capabilities\n"+
			"and call alias. --json prints them as the host sent them.")
	sess, _, err := c.open(ctx, args, s, c.noArgs)
	if err != nil {
		return err
	}
	defer sess.Close()
	claims, err := sess.client.Claims(ctx)
	if err != nil {
		return err
	}
	claims = sortedBy(nonNilSlice(claims), func(m map[string]string) string { return claimField(m, "sub", "subject") })
	return writeOut(s.stdout, *c.asJSON, claims, func(w io.Writer, claims []map[string]string) error {
		tw := newTable(w, "SUBJECT", "NAME", "ISSUER", "CAPABILITIES", "CALL ALIAS")
		for _, m := range claims {
			tw.row(claimField(m, "sub", "subject"), m["name"], claimField(m, "iss", "issuer"),
				claimField(m, "caps", "capabilities"), m["call_alias"])
		}
		return tw.flush()
	})
}

// claimField returns the first non-empty of m's values under keys: OTP and wasmCloud 0.82 name some claims
// differently.
func claimField(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// writeOut writes v as one indented JSON document when asJSON is set, and as text otherwise.
func writeOut[T any](w io.Writer, asJSON bool, v T, text func(io.Writer, T) error) error {
	if !asJSON {
		return text(w, v)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeOutCompact writes v as one line of JSON.
func writeOutCompact(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeSome writes the list v, unless it is empty, and then returns err: the failures of the hosts that are
// not part of v.
func writeSome[T any](w io.Writer, asJSON bool, v []T, err error, text func(io.Writer, []T) error) error {
	if len(v) > 0 {
		if werr := writeOut(w, asJSON, v, text); werr != nil {
			return werr
		}
	}
	return err
}

// writeResult writes v as JSON when asJSON is set, and line otherwise.
func writeResult[T any](w io.Writer, asJSON bool, v T, line string) error {
	return writeOut(w, asJSON, v, func(w io.Writer, _ T) error {
		_, err := io.WriteString(w, line+"\n")
		return err
	})
}

// table writes aligned columns. Every cell is made printable (a host's reply is untrusted text) and an
// empty cell is shown as "-".
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) table {
	t := table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, strings.Join(header, "\t"))
	return t
}

func (t table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = orDash(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t table) flush() error { return t.tw.Flush() }

// pairs shows a map as k=v pairs sorted by key and joined with commas.
func pairs(m map[string]string) string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ",")
}

// parsePairs parses k=v arguments into a map; the key must not be empty or given twice.
func parsePairs(args []string) (map[string]string, error) {
	m := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want k=v", a)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%q: %s given twice", a, k)
		}
		m[k] = v
	}
	return m, nil
}

// uptime shows a number of seconds as a duration: 1h2m3s.
func uptime(seconds uint64) string {
	const maxSeconds = uint64(1<<63-1) / uint64(time.Second)
	if seconds > maxSeconds {
		return strconv.FormatUint(seconds, 10) + "s"
	}
	return (time.Duration(seconds) * time.Second).String()
}

func instances(n uint16) string {
	if n == 1 {
		return "1 instance"
	}
	return strconv.Itoa(int(n)) + " instances"
}

// sortedBy returns a copy of s sorted by key (stable, so equal keys keep the hosts' order).
func sortedBy[T any](s []T, key func(T) string) []T {
	out := slices.Clone(s)
	slices.SortStableFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

// nonNilSlice returns s, or an empty slice when s is nil, so that --json prints [] rather than null.
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
