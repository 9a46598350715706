package main

import (
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

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// ctlGroup is `wasmcloud-host ctl …`: the control interface of wasmCloud 0.x, spoken to every host of the
// lattice (ours and 0.x's alike) over the control connection the host itself would use.
var ctlGroup = group{
	name: "ctl",
	about: "Ask the hosts of a lattice what they run and tell them what to run (the wasmCloud 0.x control\n" +
		"interface). NATS, lattice and control prefix come from the same WASMCLOUD_* variables as the host.",
	subs: []subcommand{
		{"hosts", "ctl hosts [--json] [--timeout D]", ctlHosts},
		{"inventory", "ctl inventory [HOST_ID] [--json] [--timeout D]", ctlInventory},
		{"start", "ctl start actor <ref> [--host HOST_ID] [--count N] [--constraint k=v]...", ctlStart},
		{"stop", "ctl stop actor <actor-key> [--host HOST_ID] [--count N]", ctlStop},
		{"scale", "ctl scale actor <actor-key> <N> --host HOST_ID [--ref REF]", ctlScale},
		{"link", "ctl link put|del|get …", ctlLink},
		{"claims", "ctl claims [--json] [--timeout D]", ctlClaims},
	},
}

var ctlStartGroup = group{
	name:  "ctl start",
	about: "Start something on a host of the lattice.",
	subs: []subcommand{
		{"actor", "ctl start actor <ref> [--host HOST_ID] [--count N] [--constraint k=v]...", ctlStartActor},
	},
}

var ctlStopGroup = group{
	name:  "ctl stop",
	about: "Stop something that runs in the lattice.",
	subs: []subcommand{
		{"actor", "ctl stop actor <actor-key> [--host HOST_ID] [--count N]", ctlStopActor},
	},
}

var ctlScaleGroup = group{
	name:  "ctl scale",
	about: "Change the number of instances of something on a host.",
	subs: []subcommand{
		{"actor", "ctl scale actor <actor-key> <N> --host HOST_ID [--ref REF]", ctlScaleActor},
	},
}

var ctlLinkGroup = group{
	name:  "ctl link",
	about: "Manage the link definitions that connect actors to capability providers.",
	subs: []subcommand{
		{"put", "ctl link put <actor-key> <provider-key> <contract> [--link-name default] [k=v]...", ctlLinkPut},
		{"del", "ctl link del <actor-key> <contract> [--link-name default]", ctlLinkDel},
		{"get", "ctl link get [--json] [--timeout D]", ctlLinkGet},
	},
}

func ctlStart(ctx context.Context, args []string, s streams) error {
	return ctlStartGroup.dispatch(ctx, args, s)
}

func ctlStop(ctx context.Context, args []string, s streams) error {
	return ctlStopGroup.dispatch(ctx, args, s)
}

func ctlScale(ctx context.Context, args []string, s streams) error {
	return ctlScaleGroup.dispatch(ctx, args, s)
}

func ctlLink(ctx context.Context, args []string, s streams) error {
	return ctlLinkGroup.dispatch(ctx, args, s)
}

// ctlDefaultTimeout is the default of --timeout: the wait for each reply and the length of each
// scatter-gather window (ping, auction).
const ctlDefaultTimeout = 2 * time.Second

// ctlCommon are the flags every ctl command has.
type ctlCommon struct {
	asJSON  *bool
	timeout *time.Duration
}

func addCtlFlags(f *flags) ctlCommon {
	return ctlCommon{
		asJSON: f.Bool("json", false, "print one JSON document instead of text"),
		timeout: f.Duration("timeout", ctlDefaultTimeout,
			"how long to wait for each reply, and for every host's answer to a ping or an auction"),
	}
}

// check reports a --timeout that cannot work.
func (c ctlCommon) check(f *flags) error {
	if *c.timeout <= 0 {
		return f.usage("--timeout must be positive, got %s", *c.timeout)
	}
	return nil
}

// ctlSession is a control connection and a client on it, with what error messages need to say where the
// client looked.
type ctlSession struct {
	client  *lattice.CtlClient
	nc      *nats.Conn
	cfg     config.Config
	timeout time.Duration
}

// dialCtl loads the configuration and connects to the control NATS server.
func dialCtl(ctx context.Context, timeout time.Duration) (*ctlSession, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(unjoin(err)...))
	}
	nc, err := lattice.Connect(ctx, lattice.FromConfig("ctl", cfg.CTL), nil)
	if err != nil {
		cfg.Wipe()
		return nil, err
	}
	return &ctlSession{
		client:  lattice.NewCtlClient(nc, cfg.CtlTopicPrefix, cfg.LatticePrefix, timeout),
		nc:      nc,
		cfg:     cfg,
		timeout: timeout,
	}, nil
}

func (s *ctlSession) Close() {
	s.nc.Close()
	s.cfg.Wipe()
}

// errNoHosts is the error of a command that needs at least one host when none answered the ping.
func (s *ctlSession) errNoHosts() error {
	return fmt.Errorf("no host answered within %s in lattice %q (control prefix %s, NATS %s)",
		s.timeout, s.cfg.LatticePrefix, s.cfg.CtlTopicPrefix, s.cfg.CTL.URL())
}

// hosts pings the lattice and fails when nobody answers. Malformed answers are returned as err next to the
// hosts that answered well.
func (s *ctlSession) hosts(ctx context.Context) ([]wire.HostInfo, error) {
	hosts, err := s.client.Hosts(ctx)
	if len(hosts) == 0 && err == nil {
		err = s.errNoHosts()
	}
	return hosts, err
}

// inventories asks every host in hosts for its inventory at once and returns those that answered, in the
// order of hosts, with the errors of the others joined.
func (s *ctlSession) inventories(ctx context.Context, hosts []wire.HostInfo) ([]wire.HostInventory, error) {
	invs := make([]wire.HostInventory, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { invs[i], errs[i] = s.client.Inventory(ctx, h.ID) })
	}
	wg.Wait()
	var out []wire.HostInventory
	for i := range hosts {
		if errs[i] == nil {
			out = append(out, invs[i])
		}
	}
	return out, errors.Join(errs...)
}

func ctlHosts(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl hosts", "ctl hosts [--json] [--timeout D]",
		"List every host of the lattice that answers a ping within the timeout: id, uptime, labels and the\n"+
			"cluster issuers it accepts invocations from.")
	c := addCtlFlags(f)
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return f.usage("unexpected argument %q", pos[0])
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()
	hosts, err := sess.hosts(ctx)
	if len(hosts) > 0 {
		if werr := writeOut(s.stdout, *c.asJSON, hosts, writeHostsTable); werr != nil {
			return werr
		}
	}
	return err
}

func writeHostsTable(w io.Writer, hosts []wire.HostInfo) error {
	tw := newTable(w, "HOST ID", "UPTIME", "LABELS", "CLUSTER ISSUERS")
	for _, h := range hosts {
		tw.row(h.ID, uptime(h.UptimeSeconds), pairs(h.Labels), h.ClusterIssuers)
	}
	return tw.flush()
}

func ctlInventory(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl inventory", "ctl inventory [HOST_ID] [--json] [--timeout D]",
		"Show the actors and providers a host runs, or, without HOST_ID, those of every host that answers a\n"+
			"ping. --json prints the host's inventory, or without HOST_ID a list of every host's.")
	c := addCtlFlags(f)
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return f.usage("want at most one host id, got %d arguments", len(pos))
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()

	if len(pos) == 1 {
		inv, err := sess.client.Inventory(ctx, pos[0])
		if err != nil {
			return err
		}
		return writeOut(s.stdout, *c.asJSON, inv, func(w io.Writer, inv wire.HostInventory) error {
			return writeInventories(w, []wire.HostInventory{inv})
		})
	}
	hosts, herr := sess.hosts(ctx)
	invs, ierr := sess.inventories(ctx, hosts)
	if len(invs) > 0 {
		if err := writeOut(s.stdout, *c.asJSON, invs, writeInventories); err != nil {
			return err
		}
	}
	return errors.Join(herr, ierr)
}

func writeInventories(w io.Writer, invs []wire.HostInventory) error {
	for i, inv := range invs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		title := "Host " + orDash(inv.HostID)
		if inv.FriendlyName != "" {
			title += " (" + printable(inv.FriendlyName) + ")"
		}
		if _, err := fmt.Fprintf(w, "%s\n\n", title); err != nil {
			return err
		}
		if len(inv.Actors) == 0 {
			if _, err := io.WriteString(w, "No actors.\n"); err != nil {
				return err
			}
		} else {
			tw := newTable(w, "ACTOR ID", "NAME", "IMAGE REF", "INSTANCES")
			for _, a := range sortedBy(inv.Actors, func(a wire.ActorDescription) string { return a.ID }) {
				tw.row(a.ID, a.Name, a.ImageRef, strconv.Itoa(len(a.Instances)))
			}
			if err := tw.flush(); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
		if len(inv.Providers) == 0 {
			if _, err := io.WriteString(w, "No providers.\n"); err != nil {
				return err
			}
			continue
		}
		tw := newTable(w, "PROVIDER ID", "NAME", "CONTRACT", "LINK NAME", "IMAGE REF")
		for _, p := range sortedBy(inv.Providers, func(p wire.ProviderDescription) string { return p.ID + "\x00" + p.LinkName }) {
			tw.row(p.ID, p.Name, p.ContractID, p.LinkName, p.ImageRef)
		}
		if err := tw.flush(); err != nil {
			return err
		}
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
	f := newFlags("ctl start actor", "ctl start actor <ref> [--host HOST_ID] [--count N] [--constraint k=v]...",
		"Start instances of an actor. <ref> is an OCI reference or, where the host allows it, a file path on\n"+
			"that host. Without --host, an auction picks a host whose labels satisfy every --constraint (the\n"+
			"first to bid). The host acknowledges at once; a failure to start is reported as a lattice event.")
	c := addCtlFlags(f)
	hostID := f.String("host", "", "the host to start the actor on (default: the winner of an auction)")
	count := f.Uint("count", 1, "number of instances")
	var constraints listFlag
	f.Var(&constraints, "constraint", "a `k=v` label the host must have (repeatable; not with --host)")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usage("want exactly one actor reference, got %d arguments", len(pos))
	}
	if *count < 1 || *count > 65535 {
		return f.usage("--count must be between 1 and 65535, got %d", *count)
	}
	cons, err := parsePairs(constraints)
	if err != nil {
		return f.usage("--constraint: %v", err)
	}
	if *hostID != "" && len(cons) > 0 {
		return f.usage("--constraint chooses a host by auction and cannot be combined with --host")
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()

	ref, target := pos[0], *hostID
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
	if err := sess.client.StartActor(ctx, target, ref, uint16(*count), nil); err != nil {
		return err
	}
	res := startResult{HostID: target, ActorRef: ref, Count: uint16(*count)}
	return writeOut(s.stdout, *c.asJSON, res, func(w io.Writer, r startResult) error {
		_, err := fmt.Fprintf(w, "Host %s accepted: start %s of %s\n", printable(r.HostID), instances(r.Count), printable(r.ActorRef))
		return err
	})
}

// stopResult is one host's part in the --json output of ctl stop actor.
type stopResult struct {
	HostID  string `json:"host_id"`
	ActorID string `json:"actor_id"`
	Count   uint16 `json:"count"` // 0: every instance
}

func ctlStopActor(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl stop actor", "ctl stop actor <actor-key> [--host HOST_ID] [--count N]",
		"Stop instances of an actor. Without --host, every host is asked for its inventory and the actor is\n"+
			"stopped wherever it runs. --json prints a list with one entry per host.")
	c := addCtlFlags(f)
	hostID := f.String("host", "", "the host to stop the actor on (default: every host that runs it)")
	count := f.Uint("count", 0, "number of instances to stop on each host (0: all)")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return f.usage("want exactly one actor key, got %d arguments", len(pos))
	}
	key := pos[0]
	if err := nkey.CheckID(key, nkey.Module); err != nil {
		return f.usage("actor key %q: %v", key, err)
	}
	if *count > 65535 {
		return f.usage("--count must be at most 65535, got %d", *count)
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()

	targets := []string{*hostID}
	if *hostID == "" {
		if targets, err = sess.whereRuns(ctx, key); err != nil {
			return err
		}
	}
	var done []stopResult
	var errs []error
	for _, h := range targets {
		if err := sess.client.StopActor(ctx, h, key, uint16(*count)); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, stopResult{HostID: h, ActorID: key, Count: uint16(*count)})
	}
	if len(done) > 0 {
		err := writeOut(s.stdout, *c.asJSON, done, func(w io.Writer, done []stopResult) error {
			for _, r := range done {
				what := "every instance"
				if r.Count > 0 {
					what = instances(r.Count)
				}
				if _, err := fmt.Fprintf(w, "Host %s accepted: stop %s of %s\n", printable(r.HostID), what, r.ActorID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return errors.Join(errs...)
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
		if slices.ContainsFunc(inv.Actors, func(a wire.ActorDescription) bool { return a.ID == key }) {
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
	f := newFlags("ctl scale actor", "ctl scale actor <actor-key> <N> --host HOST_ID [--ref REF]",
		"Run exactly N instances of an actor on a host. The actor's reference is taken from the host's\n"+
			"inventory; --ref gives it when the host does not run the actor yet.")
	c := addCtlFlags(f)
	hostID := f.String("host", "", "the host to scale the actor on (required)")
	ref := f.String("ref", "", "the actor's OCI reference or file path (default: from the host's inventory)")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return f.usage("want an actor key and an instance count, got %d arguments", len(pos))
	}
	key := pos[0]
	if err := nkey.CheckID(key, nkey.Module); err != nil {
		return f.usage("actor key %q: %v", key, err)
	}
	n, err := strconv.ParseUint(pos[1], 10, 16)
	if err != nil {
		return f.usage("instance count %q: want a number from 0 to 65535", pos[1])
	}
	if *hostID == "" {
		return f.usage("missing --host")
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()

	actorRef := *ref
	if actorRef == "" {
		inv, err := sess.client.Inventory(ctx, *hostID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(inv.Actors, func(a wire.ActorDescription) bool { return a.ID == key })
		if i < 0 {
			return fmt.Errorf("actor %s is not running on host %s: pass --ref to start it there", key, printable(*hostID))
		}
		actorRef = inv.Actors[i].ImageRef
	}
	if err := sess.client.ScaleActor(ctx, *hostID, key, actorRef, uint16(n)); err != nil {
		return err
	}
	res := scaleResult{HostID: *hostID, ActorID: key, ActorRef: actorRef, Count: uint16(n)}
	return writeOut(s.stdout, *c.asJSON, res, func(w io.Writer, r scaleResult) error {
		_, err := fmt.Fprintf(w, "Host %s accepted: scale %s to %s\n", printable(r.HostID), r.ActorID, instances(r.Count))
		return err
	})
}

func ctlLinkPut(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl link put", "ctl link put <actor-key> <provider-key> <contract> [--link-name default] [k=v]...",
		"Link an actor to a capability provider for a contract, with configuration values k=v that the\n"+
			"provider receives. --json prints the link definition sent.")
	c := addCtlFlags(f)
	linkName := f.String("link-name", lattice.DefaultLinkName, "the link name")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return f.usage("want an actor key, a provider key and a contract, got %d arguments", len(pos))
	}
	if err := nkey.CheckID(pos[0], nkey.Module); err != nil {
		return f.usage("actor key %q: %v", pos[0], err)
	}
	if err := nkey.CheckID(pos[1], nkey.Service); err != nil {
		return f.usage("provider key %q: %v", pos[1], err)
	}
	if *linkName == "" {
		return f.usage("--link-name must not be empty")
	}
	values, err := parsePairs(pos[3:])
	if err != nil {
		return f.usage("%v", err)
	}
	if err := c.check(f); err != nil {
		return err
	}
	ld := wire.LinkDefinition{ActorID: pos[0], ProviderID: pos[1], ContractID: pos[2], LinkName: *linkName, Values: values}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.client.PutLink(ctx, ld); err != nil {
		return err
	}
	return writeOut(s.stdout, *c.asJSON, ld, func(w io.Writer, ld wire.LinkDefinition) error {
		_, err := fmt.Fprintf(w, "Linked %s to %s for %s (link name %s)\n",
			ld.ActorID, ld.ProviderID, printable(ld.ContractID), printable(ld.LinkName))
		return err
	})
}

func ctlLinkDel(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl link del", "ctl link del <actor-key> <contract> [--link-name default]",
		"Remove the link definition of an actor, a contract and a link name. --json prints the request sent.")
	c := addCtlFlags(f)
	linkName := f.String("link-name", lattice.DefaultLinkName, "the link name")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return f.usage("want an actor key and a contract, got %d arguments", len(pos))
	}
	if err := nkey.CheckID(pos[0], nkey.Module); err != nil {
		return f.usage("actor key %q: %v", pos[0], err)
	}
	if *linkName == "" {
		return f.usage("--link-name must not be empty")
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.client.DelLink(ctx, pos[0], pos[1], *linkName); err != nil {
		return err
	}
	del := wire.RemoveLinkDefinition{ActorID: pos[0], ContractID: pos[1], LinkName: *linkName}
	return writeOut(s.stdout, *c.asJSON, del, func(w io.Writer, d wire.RemoveLinkDefinition) error {
		_, err := fmt.Fprintf(w, "Removed the link of %s for %s (link name %s)\n",
			d.ActorID, printable(d.ContractID), printable(d.LinkName))
		return err
	})
}

func ctlLinkGet(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl link get", "ctl link get [--json] [--timeout D]",
		"List every link definition of the lattice.")
	c := addCtlFlags(f)
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return f.usage("unexpected argument %q", pos[0])
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
	if err != nil {
		return err
	}
	defer sess.Close()
	links, err := sess.client.Links(ctx)
	if err != nil {
		return err
	}
	links = sortedBy(nonNilSlice(links), func(l wire.LinkDefinition) string {
		return l.ActorID + "\x00" + l.ContractID + "\x00" + l.LinkName
	})
	return writeOut(s.stdout, *c.asJSON, links, func(w io.Writer, links []wire.LinkDefinition) error {
		tw := newTable(w, "ACTOR", "PROVIDER", "CONTRACT", "LINK NAME", "VALUES")
		for _, l := range links {
			tw.row(l.ActorID, l.ProviderID, l.ContractID, l.LinkName, pairs(l.Values))
		}
		return tw.flush()
	})
}

func ctlClaims(ctx context.Context, args []string, s streams) error {
	f := newFlags("ctl claims", "ctl claims [--json] [--timeout D]",
		"List the claims of every actor and provider the lattice knows: subject, name, issuer, capabilities\n"+
			"and call alias. --json prints them as the host sent them.")
	c := addCtlFlags(f)
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return f.usage("unexpected argument %q", pos[0])
	}
	if err := c.check(f); err != nil {
		return err
	}
	sess, err := dialCtl(ctx, *c.timeout)
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
