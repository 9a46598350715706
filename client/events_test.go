package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

func TestDecodeEvent(t *testing.T) {
	good, err := lattice.EncodeEvent("actors_started", "NHOST", map[string]any{"image_ref": "r", "count": 1})
	require.NoError(t, err)
	e, err := DecodeEvent(good)
	require.NoError(t, err)
	require.Equal(t, "name", e.Name, "actors_started")
	require.Equal(t, "source", e.Source, "NHOST")
	require.Equal(t, "image_ref", e.Str("image_ref"), "r")
	require.Equal(t, "missing field", e.Str("nothing"), "")

	tests := []struct {
		name string
		in   string
	}{
		{"not JSON", `nope`},
		{"array", `[]`},
		{"other type", `{"type":"com.example.thing","data":{}}`},
		{"empty name", `{"type":"com.wasmcloud.lattice.","data":{}}`},
		{"data not an object", `{"type":"com.wasmcloud.lattice.x","data":[1]}`},
		{"too large", `{"type":"com.wasmcloud.lattice.x","data":{"a":"` + strings.Repeat("x", MaxEventSize) + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.in))
			require.ErrorIs(t, err, ErrBadEvent)
		})
	}
	e, err = DecodeEvent([]byte(`{"type":"com.wasmcloud.lattice.host_stopped","data":null}`))
	require.NoError(t, err)
	require.Equal(t, "no data", len(e.Fields), 0)
}

func FuzzDecodeEvent(f *testing.F) {
	good, _ := lattice.EncodeEvent("linkdef_set", "NHOST", map[string]any{"actor_id": "M", "values": map[string]string{"a": "b"}})
	f.Add(good)
	f.Add([]byte(`{"type":"com.wasmcloud.lattice.x","data":{"error":1}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not match ErrBadEvent", err)
			}
			return
		}
		if e.Name == "" || e.Fields == nil {
			t.Fatalf("decoded event without name or fields: %+v", e)
		}
		_ = e.Str("error")
	})
}

func TestWaitFor(t *testing.T) {
	srv := runServer(t, nil)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	s, err := SubscribeEvents(nc, "default")
	require.NoError(t, err)
	defer s.Close()
	pub := lattice.NewEventPublisher(nc, "default", "NHOST")
	other := lattice.NewEventPublisher(nc, "default", "NOTHER")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	require.NoError(t, other.Publish("actors_started", map[string]any{"image_ref": "r"}))   // another host
	require.NoError(t, pub.Publish("actors_started", map[string]any{"image_ref": "other"})) // another actor
	require.NoError(t, nc.Publish("wasmbus.evt.default", []byte("garbage")))
	require.NoError(t, pub.Publish("actor_start_failed", map[string]any{"actor_ref": "r", "error": "no such file"}))
	e, err := s.WaitFor(ctx, StartOutcome("NHOST", "r"))
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("WaitFor = %v, want a *FailedError", err)
	}
	require.Equal(t, "failure", fe.Error(), "actor_start_failed on host NHOST: no such file")
	require.Equal(t, "event", e.Name, "actor_start_failed")

	require.NoError(t, pub.Publish("actor_scaled", map[string]any{"public_key": "MKEY", "max_instances": 3}))
	_, err = s.WaitFor(ctx, ScaleOutcome("NHOST", "MKEY"))
	require.NoError(t, err)

	require.NoError(t, pub.Publish("linkdef_set", map[string]any{"actor_id": "MKEY", "contract_id": "c", "link_name": "default"}))
	_, err = s.WaitFor(ctx, LinkOutcome("MKEY", "c", "default"))
	require.NoError(t, err)

	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	_, err = s.WaitFor(short, LinkOutcome("MKEY", "c", "default"))
	require.ErrorIs(t, err, ErrWaitTimeout)

	_, err = SubscribeEvents(nc, "a.b")
	require.ErrorIs(t, err, ErrCtlInvalid)
}
