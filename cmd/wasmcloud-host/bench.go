package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/client"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

const benchSynopsis = "bench <actor-key|call-alias> <Operation> [--data '<json>' | --data-file F] [--raw] [-c 64] [-d 10s]"

// Bounds of the bench flags.
const (
	benchMaxConcurrency = 100_000
	benchMaxDuration    = time.Hour
)

func runBench(ctx context.Context, args []string, s streams) error {
	f := newFlags("bench", benchSynopsis,
		"Measure the lattice: signed invocations of an actor, then raw NATS request/reply of the same bytes\n"+
			"(a signed invocation's size out, a signed response's size back) to a plain responder this command\n"+
			"subscribes on a private inbox subject, each for the same duration with the same number of calls in\n"+
			"flight. Prints both rates, their ratio and the p50/p99 latencies. The payload flags are call's; NATS,\n"+
			"lattice and cluster seed come from the same WASMCLOUD_* variables as the host.")
	req := requestFlags(f)
	concurrency := f.Int("c", 64, "calls in flight")
	duration := f.Duration("d", 10*time.Second, "how long each of the two runs lasts")
	pos, err := f.parse(args, s.stdout)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 2:
		return f.usage("want an actor and an operation, got %d arguments", len(pos))
	case *concurrency < 1 || *concurrency > benchMaxConcurrency:
		return f.usage("-c must be 1..%d, got %d", benchMaxConcurrency, *concurrency)
	case *duration <= 0 || *duration > benchMaxDuration:
		return f.usage("-d must be positive and at most %s, got %s", benchMaxDuration, *duration)
	}
	payload, err := req.payload(f)
	if err != nil {
		return err
	}
	if len(payload) > lattice.ChunkThreshold {
		return f.usage("the payload is %d bytes; bench measures payloads up to %d, which travel in one message", len(payload), lattice.ChunkThreshold)
	}

	sc, err := newSignedCaller(ctx, pos[0])
	if err != nil {
		return err
	}
	defer sc.close()
	operation, timeout := pos[1], sc.cfg.RPCTimeout
	caller := client.NewCaller(sc.nc, sc.cluster, sc.cfg.LatticePrefix)
	defer caller.Close()
	reply, err := caller.Invoke(ctx, sc.target, operation, payload, timeout)
	if err != nil {
		return fmt.Errorf("the first call of %s %s failed: %w", sc.target, operation, err)
	}

	// The raw baseline carries the bytes a signed call does: a signed invocation out, and back a signed response
	// with the reply the actor gave.
	inv := &wire.Invocation{Origin: wire.Entity{PublicKey: sc.cluster.HostID()}, Target: wire.Entity{PublicKey: sc.target},
		Operation: operation, Msg: payload}
	if err := sc.cluster.Sign(inv); err != nil {
		return err
	}
	resp := &wire.Response{Msg: reply}
	if err := sc.cluster.SignResponse(resp, inv.ID); err != nil {
		return err
	}
	rawRequest, rawReply := inv.AppendMsgpack(nil), resp.AppendMsgpack(nil)
	subject, stopResponder, err := startResponder(ctx, sc, rawReply)
	if err != nil {
		return err
	}
	defer stopResponder()
	raw := lattice.NewRequester(sc.nc)
	defer raw.Close()

	fmt.Fprintf(s.stdout, "bench: %s %s, %d in flight, %s per run; %d bytes out, %d back\n",
		sc.target, operation, *concurrency, *duration, len(rawRequest), len(rawReply))
	signed := benchRun(ctx, *concurrency, *duration, timeout, func(ctx context.Context) error {
		_, err := caller.Invoke(ctx, sc.target, operation, payload, timeout)
		return err
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	plain := benchRun(ctx, *concurrency, *duration, timeout, func(ctx context.Context) error {
		return raw.Request(ctx, subject, rawRequest, timeout, anyReply{})
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return benchReport(s.stdout, signed, plain)
}

// startResponder subscribes, on a connection of its own, a plain responder that answers every request on a
// new inbox subject with reply, and returns the subject.
func startResponder(ctx context.Context, sc *signedCaller, reply []byte) (subject string, stop func(), err error) {
	nc, user, err := lattice.ConnectLocal(ctx, lattice.FromConfig("rpc", sc.cfg.RPC), sc.cfg.StateDir, nil)
	if err != nil {
		return "", nil, fmt.Errorf("raw NATS responder: %w", err)
	}
	stop = func() {
		nc.Close()
		user.Wipe()
	}
	subject = nc.NewInbox()
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(reply) }); err != nil {
		stop()
		return "", nil, fmt.Errorf("raw NATS responder: subscribe %s: %w", subject, err)
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		stop()
		return "", nil, fmt.Errorf("raw NATS responder: %w", err)
	}
	return subject, stop, nil
}

// anyReply takes the first reply to a raw request.
type anyReply struct{}

func (anyReply) Plausible([]byte) bool { return true }
func (anyReply) Accept([]byte) error   { return nil }

// benchResult is what one run measured.
type benchResult struct {
	ok, failed int
	elapsed    time.Duration // from the first call to the end of the last
	firstErr   error
	latency    latencies // of the calls that succeeded
}

func (r benchResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// benchRun calls call from concurrency goroutines, each starting a new call as soon as its last one ended,
// until d has passed; the calls in flight then finish (each within timeout).
func benchRun(ctx context.Context, concurrency int, d, timeout time.Duration, call func(context.Context) error) benchResult {
	start := time.Now()
	end := start.Add(d)
	results := make([]benchResult, concurrency)
	var wg sync.WaitGroup
	for i := range results {
		r := &results[i]
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, timeout)
				err := call(cctx)
				cancel()
				if err != nil {
					r.failed++
					if r.firstErr == nil {
						r.firstErr = err
					}
					continue
				}
				r.ok++
				r.latency.record(time.Since(t))
			}
		})
	}
	wg.Wait()
	total := benchResult{elapsed: time.Since(start)}
	for i := range results {
		r := &results[i]
		total.ok += r.ok
		total.failed += r.failed
		if total.firstErr == nil {
			total.firstErr = r.firstErr
		}
		total.latency.merge(&r.latency)
	}
	return total
}

// benchReport prints the two runs and how they compare. It fails when either run had no successful call.
func benchReport(w io.Writer, signed, raw benchResult) error {
	line := func(name, unit string, r benchResult) {
		fmt.Fprintf(w, "%-12s %9.0f %s/s  p50 %-9s p99 %-9s (%d ok, %d failed in %s)\n", name, r.rate(), unit,
			threeDigits(r.latency.quantile(0.50)), threeDigits(r.latency.quantile(0.99)), r.ok, r.failed, r.elapsed.Round(time.Millisecond))
		if r.firstErr != nil {
			fmt.Fprintf(w, "%-12s first failure: %s\n", "", errorText(r.firstErr))
		}
	}
	line("signed", "calls", signed)
	line("raw NATS", "requests", raw)
	if signed.ok == 0 || raw.ok == 0 {
		return errors.New("a run had no successful call: no ratio to give")
	}
	ratio := func(a, b time.Duration) string { return fmt.Sprintf("%.2f×", a.Seconds()/b.Seconds()) }
	_, err := fmt.Fprintf(w, "%-12s %.1f%% of the raw rate; p50 %s, p99 %s the raw latency\n", "signed/raw",
		100*signed.rate()/raw.rate(), ratio(signed.latency.quantile(0.5), raw.latency.quantile(0.5)),
		ratio(signed.latency.quantile(0.99), raw.latency.quantile(0.99)))
	return err
}

// threeDigits rounds d to three significant digits, about the precision of the latency histogram.
func threeDigits(d time.Duration) time.Duration {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit)
}

// errorText is err as one line, as run prints errors, without the program's name.
func errorText(err error) string { return strings.TrimPrefix(errorLine(err), "wasmcloud-host: ") }

// latencies is a histogram of durations with buckets about 1.5% wide: exact below 128 ns, then 64 buckets
// per power of two. It takes constant memory however long a run lasts.
type latencies struct {
	counts [latencyBuckets]uint64
	n      uint64
}

const (
	latencySubBits = 6 // 64 buckets per power of two
	latencyBuckets = (64 - latencySubBits + 1) << latencySubBits
)

// latencyBucket returns the bucket of v nanoseconds.
func latencyBucket(v uint64) int {
	if v < 2<<latencySubBits {
		return int(v)
	}
	shift := bits.Len64(v) - latencySubBits - 1 // v>>shift is in [64, 128)
	return shift<<latencySubBits + int(v>>shift)
}

// latencyValue returns the middle of bucket i, in nanoseconds.
func latencyValue(i int) uint64 {
	if i < 2<<latencySubBits {
		return uint64(i)
	}
	shift := i>>latencySubBits - 1
	low := uint64(i-shift<<latencySubBits) << shift
	return low + (uint64(1)<<shift)/2
}

func (l *latencies) record(d time.Duration) {
	l.counts[latencyBucket(uint64(max(d, 0)))]++
	l.n++
}

func (l *latencies) merge(o *latencies) {
	for i, c := range o.counts {
		l.counts[i] += c
	}
	l.n += o.n
}

// quantile returns the duration below which a fraction q of the recorded ones lie (0 when none was).
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(q*float64(l.n) + 0.5)
	rank = min(max(rank, 1), l.n)
	var seen uint64
	for i, c := range l.counts {
		if seen += c; seen >= rank {
			return time.Duration(latencyValue(i))
		}
	}
	return 0 // not reached: the counts add up to n
}
