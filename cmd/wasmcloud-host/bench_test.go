package main

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestBenchUsageErrors(t *testing.T) {
	const key = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"
	big := strings.Repeat("x", 900*1024+1)
	testUsageErrors(t, []usageCase{
		{"bench without operation", []string{"bench", key}, "want an actor and an operation, got 1 arguments"},
		{"bench zero concurrency", []string{"bench", key, "Op", "-c", "0"}, "-c must be 1..100000, got 0"},
		{"bench huge concurrency", []string{"bench", key, "Op", "-c", "100001"}, "-c must be 1..100000, got 100001"},
		{"bench zero duration", []string{"bench", key, "Op", "-d", "0s"}, "-d must be positive and at most 1h0m0s, got 0s"},
		{"bench long duration", []string{"bench", key, "Op", "-d", "2h"}, "-d must be positive and at most 1h0m0s, got 2h0m0s"},
		{"bench data and data file", []string{"bench", key, "Op", "--data", "{}", "--data-file", "f"}, "--data and --data-file exclude each other"},
		{"bench payload too large", []string{"bench", key, "Op", "--raw", "--data", big}, "the payload is 921601 bytes; bench measures payloads up to 921600"},
	})
}

// TestLatencies checks the bench histogram: every duration lands in a bucket whose middle is within 1% of it,
// and quantiles are taken by rank.
func TestLatencies(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 191, 192, 1000, 12345, 999_999, 1 << 40, math.MaxInt64, math.MaxUint64} {
		i := latencyBucket(v)
		require.True(t, i >= 0 && i < latencyBuckets, "bucket %d of %d out of range", i, v)
		if mid := latencyValue(i); math.Abs(float64(mid)-float64(v)) > 0.01*float64(v) {
			t.Errorf("%d ns lands in bucket %d, whose middle is %d", v, i, mid)
		}
	}
	for i := 1; i < latencyBuckets; i++ {
		require.True(t, latencyValue(i) > latencyValue(i-1), "bucket %d is not above bucket %d", i, i-1)
	}

	var a, b latencies
	require.Equal(t, "empty", a.quantile(0.5), time.Duration(0))
	for i := 1; i <= 99; i++ {
		a.record(time.Duration(i) * time.Millisecond)
	}
	b.record(time.Second)
	b.record(-time.Second) // a clock step: counted as zero
	a.merge(&b)
	for _, tc := range []struct {
		name string
		q    float64
		want time.Duration
	}{
		{"min", 0, 0},
		{"p50", 0.50, 50 * time.Millisecond}, // rank 51 of 101: 0, 1 ms … 99 ms, 1 s
		{"p99", 0.99, 99 * time.Millisecond}, // rank 100
		{"max", 1, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := a.quantile(tc.q)
			if math.Abs(float64(got-tc.want)) > 0.01*float64(tc.want) {
				t.Errorf("quantile(%v) = %s, want %s within 1%%", tc.q, got, tc.want)
			}
		})
	}
}

func TestThreeDigits(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
	}{
		{0, 0},
		{999, 999},
		{1004, 1000},
		{4_014_000, 4_010_000},
		{123_456_789, 123_000_000},
		{2*time.Second + 345*time.Millisecond, 2*time.Second + 350*time.Millisecond},
	} {
		t.Run(tc.in.String(), func(t *testing.T) { require.Equal(t, "threeDigits", threeDigits(tc.in), tc.want) })
	}
}

func TestBenchReport(t *testing.T) {
	run := func(ok, failed int, elapsed, latency time.Duration, err error) benchResult {
		r := benchResult{ok: ok, failed: failed, elapsed: elapsed, firstErr: err}
		for range ok {
			r.latency.record(latency)
		}
		return r
	}
	var out bytes.Buffer
	err := benchReport(&out, run(500, 2, time.Second, 4*time.Millisecond, errors.New("rpc: timeout\nsecond line")),
		run(2000, 0, time.Second, time.Millisecond, nil))
	require.NoError(t, err)
	want := "" +
		"signed             500 calls/s  p50 4.01ms    p99 4.01ms    (500 ok, 2 failed in 1s)\n" +
		"             first failure: rpc: timeout; second line\n" +
		"raw NATS          2000 requests/s  p50 1ms       p99 1ms       (2000 ok, 0 failed in 1s)\n" +
		"signed/raw   25.0% of the raw rate; p50 4.00×, p99 4.00× the raw latency\n"
	require.Equal(t, "report", out.String(), want)

	out.Reset()
	err = benchReport(&out, run(0, 3, time.Second, 0, errors.New("no responders")), run(10, 0, time.Second, time.Millisecond, nil))
	require.ErrorContains(t, err, "a run had no successful call")
}
