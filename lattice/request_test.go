package lattice

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

var errForged = errors.New("forged")

// acceptGenuine takes only the reply "genuine".
func acceptGenuine(got *string) func([]byte) error {
	return func(b []byte) error {
		if string(b) != "genuine" {
			return errForged
		}
		*got = string(b)
		return nil
	}
}

// TestRequesterSkipsForgedReplies: forged replies that arrive first are skipped, and the call gets the genuine
// one; without a genuine one the error is the last refusal; with no subscriber at all, ErrNoResponders.
func TestRequesterSkipsForgedReplies(t *testing.T) {
	srv := runServer(t, &server.Options{})
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	forger, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer forger.Close()

	// The forger answers at once, many times; the genuine responder answers after it.
	_, err = forger.Subscribe("actor.one", func(m *nats.Msg) {
		for range 50 {
			_ = m.Respond([]byte("forged"))
		}
	})
	require.NoError(t, err)
	require.NoError(t, forger.Flush())
	_, err = nc.Subscribe("actor.one", func(m *nats.Msg) {
		time.Sleep(20 * time.Millisecond)
		_ = m.Respond([]byte("genuine"))
	})
	require.NoError(t, err)
	_, err = forger.Subscribe("actor.forged-only", func(m *nats.Msg) { _ = m.Respond([]byte("forged")) })
	require.NoError(t, err)
	require.NoError(t, forger.Flush())

	r := NewRequester(nc)
	defer r.Close()
	ctx := context.Background()
	for range 5 {
		var got string
		require.NoError(t, r.Request(ctx, "actor.one", []byte("q"), 5*time.Second, acceptGenuine(&got)))
		require.Equal(t, "reply", got, "genuine")
	}
	var got string
	require.ErrorIs(t, r.Request(ctx, "actor.forged-only", []byte("q"), 500*time.Millisecond, acceptGenuine(&got)), errForged)
	require.ErrorIs(t, r.Request(ctx, "actor.nobody", []byte("q"), 5*time.Second, acceptGenuine(&got)), ErrNoResponders)
}
