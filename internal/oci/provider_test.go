package oci_test

import (
	"context"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// TestPullProvider: a provider archive pushed as wash pushes it is pulled by its layer media type, with the
// same digest checks; an actor is not a provider, nor a provider an actor, and the size limit is its own.
func TestPullProvider(t *testing.T) {
	archive := []byte("\x1f\x8b not really a gzip stream, the registry does not care")
	reg, c := plainRegistry(t, ocitest.Options{}, oci.Config{})
	ref, digest := reg.PushManifest(t, "wasmcloud/provider:0.1.0", ocitest.ProviderManifest(archive))
	a, err := c.PullProvider(context.Background(), ref)
	require.NoError(t, err)
	sameBytes(t, "archive", a.Module, archive)
	require.Equal(t, "digest", a.Digest, digest)

	_, err = c.Pull(context.Background(), ref)
	require.ErrorIs(t, err, oci.ErrNotActor)
	actorRef, _ := reg.Push(t, "wasmcloud/echo:0.3.4", echo(t))
	_, err = c.PullProvider(context.Background(), actorRef)
	require.ErrorIs(t, err, oci.ErrNotActor)
	require.ErrorContains(t, err, "provider archive")

	reg2, c2 := plainRegistry(t, ocitest.Options{}, oci.Config{ProviderMaxSize: 8})
	ref2, _ := reg2.PushManifest(t, "p:1.0.0", ocitest.ProviderManifest(archive))
	_, err = c2.PullProvider(context.Background(), ref2)
	require.ErrorIs(t, err, oci.ErrTooLarge)
}
