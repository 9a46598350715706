package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/capability/messaging"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/metrics"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

func TestRefusalReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want metrics.Reason
	}{
		{"signature", fmt.Errorf("verify invocation x: %w", rpc.ErrSignature), metrics.ReasonSignature},
		{"issuer", rpc.ErrUntrustedIssuer, metrics.ReasonIssuer},
		{"expired", rpc.ErrExpired, metrics.ReasonExpired},
		{"not yet valid", rpc.ErrNotYetValid, metrics.ReasonNotYetValid},
		{"target", rpc.ErrTargetMismatch, metrics.ReasonTarget},
		{"origin", rpc.ErrOriginMismatch, metrics.ReasonTarget},
		{"wrong actor", ErrWrongTarget, metrics.ReasonTarget},
		{"hash", rpc.ErrHashMismatch, metrics.ReasonHash},
		{"token subject", rpc.ErrSubjectMismatch, metrics.ReasonTokenSubject},
		{"host id", rpc.ErrHostID, metrics.ReasonHostID},
		{"replay", rpc.ErrReplayed, metrics.ReasonReplay},
		{"replay cache full", rpc.ErrReplayCacheFull, metrics.ReasonReplayFull},
		{"replay record unavailable", rpc.ErrReplayRecord, metrics.ReasonReplayRecord},
		{"bucket", keyvalue.ErrBucketNotAllowed, metrics.ReasonBucket},
		{"malformed", rpc.ErrDecode, metrics.ReasonMalformed},
		{"token", rpc.ErrToken, metrics.ReasonMalformed},
		{"capability not claimed by the target", ErrMissingCapability, metrics.ReasonClaim},
		{"capability not claimed by the caller", capability.ErrCapabilityNotClaimed, metrics.ReasonClaim},
		{"no link", capability.ErrNoProvider, metrics.ReasonLink},
		{"subject", messaging.ErrSubjectNotAllowed, metrics.ReasonSubject},
		{"policy", &policy.Error{Kind: policy.ErrDenied, Action: policy.ActionPerformInvocation}, metrics.ReasonPolicy},
		{"policy unavailable", &policy.Error{Kind: policy.ErrUnavailable, Action: policy.ActionPutLink}, metrics.ReasonPolicy},
		{"anything else", errors.New("boom"), metrics.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, "reason", refusalReason(tt.err), tt.want)
		})
	}
}

func TestTransient(t *testing.T) {
	require.True(t, transient(&oci.RefError{Kind: oci.ErrFetch}), "a fetch failure passes")
	require.True(t, transient(fmt.Errorf("pull: %w", context.DeadlineExceeded)), "a timeout passes")
	require.False(t, transient(&oci.RefError{Kind: oci.ErrDigestMismatch}), "a digest mismatch does not")
	require.False(t, transient(errors.New("hash does not match")), "a bad module does not")
}

func TestBackoffDelay(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 20: 5 * time.Minute} {
		d := backoffDelay(attempt, time.Second, 5*time.Minute)
		if d < base || d > base+base/4 {
			t.Errorf("attempt %d: %s, want %s to %s", attempt, d, base, base+base/4)
		}
	}
}

// TestStartActorsDoNotStopTheHost starts a host whose start actors include a missing file: Start succeeds,
// the host serves echo, Ready lists the failure, and Check passes.
func TestStartActorsDoNotStopTheHost(t *testing.T) {
	s := runNATS(t)
	missing := filepath.Join(t.TempDir(), "missing.wasm")
	h := startHost(t, s, clusterSeed(t), "WASMCLOUD_START_ACTORS="+missing+","+testutil.Path("actors/echo.wasm"))
	if h.running(echoKeyForTest) == nil {
		t.Fatal("echo does not run")
	}
	ready, report := h.Ready()
	r := report.(readiness)
	require.True(t, r.Connected && r.DataLoaded && r.Settled, "connected, loaded and settled: %+v", r)
	require.True(t, ready, "ready")
	require.Equal(t, "missing state", r.StartActors[0].State, stateFailed)
	require.Equal(t, "echo state", r.StartActors[1].State, stateRunning)
	require.NoError(t, h.Check(t.Context(), 5*time.Second))
	require.Equal(t, "start actors failed metric", h.Metrics() != nil, true)
}

const echoKeyForTest = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

// TestScaleRaisesConcurrency: after a scale to 100 instances, 100 invocations of the actor may run at once
// (the inventory said 100 while calls were capped at 64).
func TestScaleRaisesConcurrency(t *testing.T) {
	s := runNATS(t)
	h := startHost(t, s, clusterSeed(t), "WASMCLOUD_START_ACTORS="+testutil.Path("actors/echo.wasm"))
	ra := h.running(echoKeyForTest)
	require.Equal(t, "slots of one instance", cap(*ra.slots.Load()), maxConcurrentPerActor)
	require.NoError(t, h.ScaleActor(t.Context(), echoKeyForTest, 100))
	require.Equal(t, "slots of 100 instances", cap(*ra.slots.Load()), 100)
	_, n := ra.snapshot()
	require.Equal(t, "instances", n, 100)
}
