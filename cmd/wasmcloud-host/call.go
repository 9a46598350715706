package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// errNoClusterSeed: call and bench sign with the cluster seed; an ad hoc key would be trusted by no host.
var errNoClusterSeed = errors.New("signing invocations needs the lattice's cluster seed: set WASMCLOUD_CLUSTER_SEED_FILE (or WASMCLOUD_CLUSTER_SEED)")

const callSynopsis = "call <actor-key|call-alias> <Operation> [--data '<json>' | --data-file F] [--raw]"

func runCall(ctx context.Context, args []string, s streams) error {
	f := newFlags("call", callSynopsis,
		"Send a signed invocation to an actor and print its decoded reply. The JSON document is sent as a\n"+
			"MessagePack map (--raw sends the bytes as they are). NATS, lattice and cluster seed come from the\n"+
			"same WASMCLOUD_* variables as the host.")
	req := requestFlags(f)
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return f.usage("want an actor and an operation, got %d arguments", len(pos))
	}
	payload, err := req.payload(f)
	if err != nil {
		return err
	}
	sc, err := newSignedCaller(ctx, pos[0])
	if err != nil {
		return err
	}
	defer sc.close()
	reply, err := client.Invoke(ctx, sc.nc, sc.cluster, sc.cfg.LatticePrefix, sc.target, pos[1], payload, sc.cfg.RPCTimeout)
	if err != nil {
		return err
	}
	out, err := json.Marshal(replyToJSON(reply))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.stdout, "%s\n", out)
	return err
}

// request holds the flags that give an invocation's payload: --data, --data-file and --raw.
type request struct {
	data, dataFile *string
	raw            *bool
}

func requestFlags(f *flags) request {
	return request{
		data:     f.String("data", "", "the request as JSON (default: an empty map)"),
		dataFile: f.String("data-file", "", "read the request from a file"),
		raw:      f.Bool("raw", false, "send the data bytes unchanged instead of converting JSON to MessagePack"),
	}
}

// payload returns the invocation payload the flags give.
func (r request) payload(f *flags) ([]byte, error) {
	if *r.data != "" && *r.dataFile != "" {
		return nil, f.usage("--data and --data-file exclude each other")
	}
	input := []byte(*r.data)
	if *r.dataFile != "" {
		var err error
		if input, err = os.ReadFile(*r.dataFile); err != nil {
			return nil, err
		}
	}
	if *r.raw {
		return input, nil
	}
	payload, err := jsonToMsgpack(input)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	return payload, nil
}

// signedCaller is what call and bench share: the configuration, the cluster state that signs invocations under
// a caller key of its own, the RPC connection, and the actor the command line named.
type signedCaller struct {
	cfg     config.Config
	cluster *rpc.Cluster
	nc      *nats.Conn
	target  string // the actor's module key
	close   func()
}

// newSignedCaller loads the configuration, connects to the lattice's RPC server, and resolves target, a module
// key or a call alias. The caller's close releases all of it.
func newSignedCaller(ctx context.Context, target string) (_ *signedCaller, err error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(unjoin(err)...))
	}
	var closers []func()
	sc := &signedCaller{cfg: cfg, close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	closers = append(closers, cfg.Wipe)
	defer func() {
		if err != nil {
			sc.close()
		}
	}()
	if !cfg.ClusterSeed.IsSet() {
		return nil, errNoClusterSeed
	}
	caller, err := nkey.Generate(nkey.Server)
	if err != nil {
		return nil, err
	}
	closers = append(closers, caller.Wipe)
	sc.cluster, err = rpc.New(rpc.Config{
		ClusterSeed: cfg.ClusterSeed.Reveal(), Issuers: cfg.ClusterIssuers, HostID: caller.Public().String(), Lattice: cfg.LatticePrefix,
		Validity: cfg.InvocationValidity, Skew: cfg.ClockSkew, ReplayCapacity: 1024,
		RequireSignedResponses: cfg.RequireSignedResponses,
	})
	if err != nil {
		return nil, err
	}
	closers = append(closers, sc.cluster.Wipe)
	// Without NATS credentials, the embedded server of a host started by this user is reached with the user
	// seed in the state directory.
	nc, user, err := lattice.ConnectLocal(ctx, lattice.FromConfig("rpc", cfg.RPC), cfg.StateDir, nil)
	if err != nil {
		return nil, err
	}
	sc.nc = nc
	closers = append(closers, user.Wipe, nc.Close)

	sc.target = target
	if nkey.CheckID(target, nkey.Module) != nil {
		// Lattice state lives in JetStream, which the control connection's credentials reach (the RPC user
		// may be allowed only wasmbus.rpc.>).
		ctl, ctlUser, err := lattice.ConnectLocal(ctx, lattice.FromConfig("ctl", cfg.CTL), cfg.StateDir, nil)
		if err != nil {
			return nil, err
		}
		sc.target, err = client.LookupAlias(ctx, ctl, sc.cluster, cfg.LatticePrefix, cfg.JSDomain, target)
		ctl.Close()
		ctlUser.Wipe()
		if err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// jsonToMsgpack converts a JSON document (empty: an empty map) to MessagePack, integers as integers.
func jsonToMsgpack(doc []byte) ([]byte, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return msgp.AppendMapHeader(nil, 0), nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not JSON: data after the document")
	}
	return msgp.AppendIntf(nil, numbers(v))
}

// numbers replaces json.Number with int64, uint64 or float64 so MessagePack gets the narrowest type.
func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		var u uint64
		if _, err := fmt.Sscan(t.String(), &u); err == nil {
			return u
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = numbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbers(e)
		}
	}
	return v
}

// replyToJSON decodes a MessagePack reply for printing, showing byte strings that hold UTF-8 as text. A reply
// that is not one MessagePack value is shown as text, or base64 when it is not UTF-8.
func replyToJSON(b []byte) any {
	v, rest, err := msgp.ReadIntfBytes(b)
	if err != nil || len(rest) > 0 {
		if utf8.Valid(b) {
			return string(b)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return readable(v)
}

func readable(v any) any {
	switch t := v.(type) {
	case []byte:
		if utf8.Valid(t) {
			return string(t)
		}
	case map[string]any:
		for k, e := range t {
			t[k] = readable(e)
		}
	case []any:
		for i, e := range t {
			t[i] = readable(e)
		}
	}
	return v
}
