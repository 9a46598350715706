package lifecycle

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestGroup(t *testing.T) {
	var g Group
	var ran atomic.Int32
	release := make(chan struct{})
	for range 3 {
		if !g.Go(func() { <-release; ran.Add(1) }) {
			t.Fatal("Go refused before Close")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx); !errors.Is(err, ErrStillRunning) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context = %v", err)
	}
	if g.Go(func() { ran.Add(100) }) {
		t.Fatal("Go ran f after Wait began")
	}
	close(release)
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := ran.Load(); n != 3 {
		t.Fatalf("%d goroutines ran, want 3", n)
	}
}

func TestCloseRefuses(t *testing.T) {
	var g Group
	g.Close()
	g.Close()
	if g.Go(func() { t.Error("ran after Close") }) {
		t.Fatal("Go reported true after Close")
	}
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
