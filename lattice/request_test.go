package lattice

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

var errForged = errors.New("forged")

// checkFuncs is a ReplyCheck made of two functions.
type checkFuncs struct {
	plausible func([]byte) bool
	accept    func([]byte) error
}

func (c checkFuncs) Plausible(b []byte) bool { return c.plausible(b) }
func (c checkFuncs) Accept(b []byte) error   { return c.accept(b) }

// acceptGenuine takes only the reply "genuine", and finds every reply plausible.
func acceptGenuine(got *string) ReplyCheck {
	return checkFuncs{plausible: func([]byte) bool { return true }, accept: func(b []byte) error {
		if string(b) != "genuine" {
			return errForged
		}
		*got = string(b)
		return nil
	}}
}

// genuineOnly is acceptGenuine that finds only "genuine" plausible, as rpc.Reply finds only replies that
// claim a trusted signer plausible.
func genuineOnly(got *string) ReplyCheck {
	c := acceptGenuine(got).(checkFuncs)
	c.plausible = func(b []byte) bool { return string(b) == "genuine" }
	return c
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
	require.ErrorIs(t, r.Request(ctx, "actor.nobody", []byte("q"), time.Second, acceptGenuine(&got)), ErrNoResponders)
}

// TestRedteamRequesterDropsGenuineAfterForgeries: while the caller checks one reply, the Requester keeps at
// most replyBuffer more and drops the rest, whoever sent them. A forger who answers with replyBuffer+1
// replies before the genuine one (easy: it reads the request as soon as the responder does, and a check
// takes longer than a delivery) makes the Requester drop the genuine reply, and the call fails with the
// forger's refusal. Deterministic version of integration's TestRedteamReplyFlood: the first check is held
// until a second request's reply, sent by the forger after the genuine one on the same connection, has
// passed through the same inbox subscription (so the genuine one has been handled by then).
func TestRedteamRequesterDropsGenuineAfterForgeries(t *testing.T) {
	srv := runServer(t, &server.Options{})
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	forger, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer forger.Close()
	replies := make(chan string, 2)
	for _, s := range []string{"actor.flood", "actor.marker"} {
		_, err = forger.Subscribe(s, func(m *nats.Msg) { replies <- m.Reply })
		require.NoError(t, err)
	}
	require.NoError(t, forger.Flush())

	r := NewRequester(nc)
	defer r.Close()
	release := make(chan struct{})
	var got string
	var seen, held atomic.Int32
	floodDone := make(chan error, 1)
	go func() {
		g := genuineOnly(&got).(checkFuncs)
		floodDone <- r.Request(t.Context(), "actor.flood", []byte("q"), 2*time.Second, checkFuncs{plausible: func(b []byte) bool {
			return seen.Add(1) == 1 || g.plausible(b) // the first reply is held below, whatever it is
		}, accept: func(b []byte) error {
			if held.Add(1) == 1 {
				<-release // the caller is busy with this reply while the others arrive
			}
			return g.accept(b)
		}})
	}()
	replyA := <-replies
	markerDone := make(chan error, 1)
	go func() {
		markerDone <- r.Request(t.Context(), "actor.marker", []byte("q"), 5*time.Second, checkFuncs{
			plausible: func([]byte) bool { return true },
			accept:    func([]byte) error { close(release); return nil },
		})
	}()
	replyB := <-replies

	for range 10 * replyBuffer {
		require.NoError(t, forger.Publish(replyA, []byte("forged")))
	}
	require.NoError(t, forger.Publish(replyA, []byte("genuine")))
	require.NoError(t, forger.Publish(replyB, []byte("marker")))
	require.NoError(t, forger.Flush())

	require.NoError(t, <-markerDone)
	require.NoError(t, <-floodDone, "the genuine reply after %d forgeries", 10*replyBuffer)
	require.Equal(t, "reply", got, "genuine")
}
