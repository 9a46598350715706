package keyvalue

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkKV compares the store's operations with the raw JetStream KV calls they are built on,
// in one run against one in-process server. Increment is a read and a conditional write, so about
// two raw round trips; ops/s is reported for each.
func BenchmarkKV(b *testing.B) {
	js := setup(b)
	ctx := context.Background()
	s := newStore(b, js, "bench", "app")
	kv, err := js.KeyValue(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	value := []byte("12345")

	b.Run("Increment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Increment(ctx, "counter", 1); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("RawPut", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.Put(ctx, "raw", value); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("Set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Set(ctx, "value", "12345", 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Get(ctx, "value"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("RawGet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kv.Get(ctx, "raw"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("ListAdd", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			// A fresh list every 64 values, so that the JSON stays small.
			if _, err := s.ListAdd(ctx, "list"+strconv.Itoa(i/64), "v"); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
