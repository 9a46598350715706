package lattice

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestChunkStoreRefusesOversizedObjects(t *testing.T) {
	s := runServer(t, &server.Options{JetStream: true})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store := NewChunkStore(nc, "default", "")
	ctx := context.Background()
	if err := store.Put(ctx, "small", []byte("x")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		object  string
		length  uint64
		wantErr string
	}{
		{name: "announced length above the limit", object: "small", length: MaxChunked + 1, wantErr: "exceeds the limit"},
		{name: "missing object", object: "missing", length: 1, wantErr: "read chunked payload missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.Take(ctx, tc.object, tc.length); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	got, err := store.Take(ctx, "small", 1)
	if err != nil || string(got) != "x" {
		t.Fatalf("take small: %q, %v", got, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.GetInfo(ctx, "small"); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Fatalf("object small: %v; want it deleted", err)
	}
}
