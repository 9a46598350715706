package keyvalue

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

func TestNewCreatesBucket(t *testing.T) {
	js := setup(t)
	s := newStore(t, js, "caps", "app")
	kv, err := js.KeyValue(testCtx(t), "caps")
	require.NoError(t, err)
	st, err := kv.Status(testCtx(t))
	require.NoError(t, err)
	require.Equal(t, "history", st.History(), int64(1))
	require.Equal(t, "limit marker TTL", st.LimitMarkerTTL(), markerTTL)
	require.Equal(t, "per-key TTL", s.perKeyTTL, true)
	require.Equal(t, "rollup", s.rollup, false)
	require.Equal(t, "subject prefix", s.subjectPrefix, "$KV.caps.app.")

	// A second store on the existing bucket, and one without a prefix.
	require.Equal(t, "subject prefix", newStore(t, js, "caps", "other.app").subjectPrefix, "$KV.caps.other.app.")
	require.Equal(t, "subject prefix", newStore(t, js, "caps", "").subjectPrefix, "$KV.caps.")
}

func TestNewRefuses(t *testing.T) {
	js := setup(t)
	tests := []struct {
		name   string
		bucket string
		prefix string
		want   error
	}{
		{name: "prefix with a wildcard", bucket: "b", prefix: "a.*", want: ErrInvalidPrefix},
		{name: "prefix with a full wildcard", bucket: "b", prefix: ">", want: ErrInvalidPrefix},
		{name: "prefix with an empty token", bucket: "b", prefix: "a..b", want: ErrInvalidPrefix},
		{name: "prefix with a leading dot", bucket: "b", prefix: ".a", want: ErrInvalidPrefix},
		{name: "prefix with a trailing dot", bucket: "b", prefix: "a.", want: ErrInvalidPrefix},
		{name: "prefix with a space", bucket: "b", prefix: "a b", want: ErrInvalidPrefix},
		{name: "prefix with a colon", bucket: "b", prefix: "tenant:1", want: ErrInvalidPrefix},
		{name: "prefix too long", bucket: "b", prefix: strings.Repeat("a", MaxPrefixLen+1), want: ErrInvalidPrefix},
		{name: "invalid bucket name", bucket: "a.b", prefix: "", want: jetstream.ErrInvalidBucketName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(testCtx(t), js, tt.bucket, tt.prefix)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestStrings(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)

	assertAbsent(t, s, "k")
	ok, err := s.Contains(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Contains before Set", ok, false)

	require.NoError(t, s.Set(ctx, "k", "v1", 0))
	assertValue(t, s, "k", "v1")
	ok, err = s.Contains(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Contains after Set", ok, true)

	require.NoError(t, s.Set(ctx, "k", "v2", 0))
	assertValue(t, s, "k", "v2")

	require.NoError(t, s.Set(ctx, "empty", "", 0))
	assertValue(t, s, "empty", "")

	binary := string([]byte{0, 0xff, 0xfe, '\n'})
	require.NoError(t, s.Set(ctx, "bin", binary, 0))
	assertValue(t, s, "bin", binary)

	deleted, err := s.Del(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Del of a present key", deleted, true)
	assertAbsent(t, s, "k")
	deleted, err = s.Del(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "Del of a deleted key", deleted, false)
	deleted, err = s.Del(ctx, "never")
	require.NoError(t, err)
	require.Equal(t, "Del of a key never set", deleted, false)

	// Set after Del, and Set replacing a list.
	require.NoError(t, s.Set(ctx, "k", "v3", 0))
	assertValue(t, s, "k", "v3")
	_, err = s.ListAdd(ctx, "l", "x")
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "l", "now a string", 0))
	assertValue(t, s, "l", "now a string")
}

func TestIncrement(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)
	steps := []struct {
		name  string
		delta int32
		want  int32
	}{
		{"absent counts as 0", 1, 1},
		{"add", 41, 42},
		{"subtract", -50, -8},
		{"zero", 0, -8},
		{"largest delta", 1<<31 - 1, 1<<31 - 1 - 8},
		{"to the maximum", 8, 1<<31 - 1},
	}
	for _, st := range steps {
		v, err := s.Increment(ctx, "counter::", st.delta)
		require.NoError(t, err)
		require.Equal(t, st.name, v, st.want)
	}
	assertValue(t, s, "counter::", "2147483647")

	_, err := s.Increment(ctx, "counter::", 1)
	require.ErrorIs(t, err, ErrOverflow)
	assertValue(t, s, "counter::", "2147483647")

	// A value set as text is a counter if it parses.
	require.NoError(t, s.Set(ctx, "n", "-7", 0))
	v, err := s.Increment(ctx, "n", 10)
	require.NoError(t, err)
	require.Equal(t, "increment of a Set value", v, int32(3))

	for _, bad := range []string{"abc", "", "1.5", " 1", "4294967296"} {
		require.NoError(t, s.Set(ctx, "bad", bad, 0))
		_, err := s.Increment(ctx, "bad", 1)
		require.ErrorIs(t, err, ErrNotInteger)
		assertValue(t, s, "bad", bad)
	}
}

// TestIncrementConcurrent runs increments from 8 goroutines on one key: every increment must land
// exactly once, so the results are exactly 1..N.
func TestIncrementConcurrent(t *testing.T) {
	js := setup(t)
	const (
		workers = 8
		each    = 40
	)
	results := make([][]int32, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		// Each goroutine has its own Store on the same bucket and prefix, like several hosts would.
		s := newStore(t, js, "kv", "app")
		wg.Go(func() {
			for range each {
				v, err := s.Increment(context.Background(), "hits", 1)
				if err != nil {
					errs <- err
					return
				}
				results[w] = append(results[w], v)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("increment: %v", err)
	}
	var all []int32
	for _, r := range results {
		if !slices.IsSorted(r) {
			t.Errorf("one goroutine saw its results go backwards: %v", r)
		}
		all = append(all, r...)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != int32(i+1) {
			t.Fatalf("results sorted = %v…, want 1..%d each once", all[:min(len(all), i+2)], workers*each)
		}
	}
	require.Equal(t, "results", len(all), workers*each)
	assertValue(t, newStore(t, js, "kv", "app"), "hits", strconv.Itoa(workers*each))
}

func TestLists(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)

	for i, v := range []string{"a", "b", "c", "b", "d"} {
		n, err := s.ListAdd(ctx, "l", v)
		require.NoError(t, err)
		require.Equal(t, "ListAdd length", n, uint32(i+1))
	}
	ranges := []struct {
		name        string
		start, stop int32
		want        []string
	}{
		{"all", 0, -1, []string{"a", "b", "c", "b", "d"}},
		{"one", 1, 1, []string{"b"}},
		{"stop beyond the end", 3, 100, []string{"b", "d"}},
		{"last two", -2, -1, []string{"b", "d"}},
		{"start before the beginning", -100, 0, []string{"a"}},
		{"start after stop", 2, 1, nil},
		{"start beyond the end", 5, 10, nil},
		{"stop before the beginning", 0, -100, nil},
	}
	for _, r := range ranges {
		t.Run("range/"+r.name, func(t *testing.T) {
			got, err := s.ListRange(ctx, "l", r.start, r.stop)
			require.NoError(t, err)
			assertStrings(t, "ListRange", got, r.want)
		})
	}

	found, err := s.ListDel(ctx, "l", "b")
	require.NoError(t, err)
	require.Equal(t, "ListDel found", found, true)
	got, err := s.ListRange(ctx, "l", 0, -1)
	require.NoError(t, err)
	assertStrings(t, "after ListDel (first occurrence only)", got, []string{"a", "c", "b", "d"})
	found, err = s.ListDel(ctx, "l", "zzz")
	require.NoError(t, err)
	require.Equal(t, "ListDel of a missing value", found, false)

	got, err = s.ListRange(ctx, "absent", 0, -1)
	require.NoError(t, err)
	assertStrings(t, "ListRange of an absent list", got, nil)

	cleared, err := s.ListClear(ctx, "l")
	require.NoError(t, err)
	require.Equal(t, "ListClear", cleared, true)
	cleared, err = s.ListClear(ctx, "l")
	require.NoError(t, err)
	require.Equal(t, "ListClear again", cleared, false)

	// Emptying a list deletes it.
	_, err = s.ListAdd(ctx, "one", "x")
	require.NoError(t, err)
	found, err = s.ListDel(ctx, "one", "x")
	require.NoError(t, err)
	require.Equal(t, "ListDel of the last value", found, true)
	ok, err := s.Contains(ctx, "one")
	require.NoError(t, err)
	require.Equal(t, "Contains of an emptied list", ok, false)

	// Values are kept exactly, JSON metacharacters included.
	odd := `"quoted" \ <tag> & ` + "\u2028\t"
	_, err = s.ListAdd(ctx, "odd", odd)
	require.NoError(t, err)
	got, err = s.ListRange(ctx, "odd", 0, 0)
	require.NoError(t, err)
	assertStrings(t, "odd value", got, []string{odd})
}

func TestSets(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)

	for _, c := range []struct {
		set, value string
		want       uint32
	}{
		{"s1", "b", 1}, {"s1", "a", 1}, {"s1", "c", 1}, {"s1", "a", 0},
		{"s2", "c", 1}, {"s2", "d", 1}, {"s2", "b", 1},
		{"s3", "z", 1},
	} {
		n, err := s.SetAdd(ctx, c.set, c.value)
		require.NoError(t, err)
		require.Equal(t, "SetAdd "+c.set+" "+c.value, n, c.want)
	}
	members, err := s.SetQuery(ctx, "s1")
	require.NoError(t, err)
	assertStrings(t, "SetQuery", members, []string{"a", "b", "c"})

	union, err := s.SetUnion(ctx, []string{"s1", "s2", "absent"})
	require.NoError(t, err)
	assertStrings(t, "SetUnion", union, []string{"a", "b", "c", "d"})
	inter, err := s.SetIntersection(ctx, []string{"s1", "s2"})
	require.NoError(t, err)
	assertStrings(t, "SetIntersection", inter, []string{"b", "c"})
	inter, err = s.SetIntersection(ctx, []string{"s1", "s3"})
	require.NoError(t, err)
	assertStrings(t, "disjoint SetIntersection", inter, nil)
	inter, err = s.SetIntersection(ctx, []string{"s1", "absent"})
	require.NoError(t, err)
	assertStrings(t, "SetIntersection with an absent set", inter, nil)
	inter, err = s.SetIntersection(ctx, nil)
	require.NoError(t, err)
	assertStrings(t, "SetIntersection of no sets", inter, nil)

	n, err := s.SetDel(ctx, "s1", "b")
	require.NoError(t, err)
	require.Equal(t, "SetDel of a member", n, uint32(1))
	n, err = s.SetDel(ctx, "s1", "b")
	require.NoError(t, err)
	require.Equal(t, "SetDel of a non-member", n, uint32(0))
	members, err = s.SetQuery(ctx, "s1")
	require.NoError(t, err)
	assertStrings(t, "SetQuery after SetDel", members, []string{"a", "c"})

	members, err = s.SetQuery(ctx, "absent")
	require.NoError(t, err)
	assertStrings(t, "SetQuery of an absent set", members, nil)

	cleared, err := s.SetClear(ctx, "s2")
	require.NoError(t, err)
	require.Equal(t, "SetClear", cleared, true)
	cleared, err = s.SetClear(ctx, "s2")
	require.NoError(t, err)
	require.Equal(t, "SetClear again", cleared, false)

	n, err = s.SetDel(ctx, "s3", "z")
	require.NoError(t, err)
	require.Equal(t, "SetDel of the last member", n, uint32(1))
	ok, err := s.Contains(ctx, "s3")
	require.NoError(t, err)
	require.Equal(t, "Contains of an emptied set", ok, false)
}

// TestKinds checks that each key holds one kind of value and that operations for another kind are
// refused without changing it.
func TestKinds(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)
	require.NoError(t, s.Set(ctx, "str", "v", 0))
	_, err := s.ListAdd(ctx, "list", "v")
	require.NoError(t, err)
	_, err = s.SetAdd(ctx, "set", "v")
	require.NoError(t, err)

	tests := []struct {
		name string
		op   func() error
	}{
		{"Get of a list", func() error { _, _, err := s.Get(ctx, "list"); return err }},
		{"Increment of a set", func() error { _, err := s.Increment(ctx, "set", 1); return err }},
		{"ListAdd to a string", func() error { _, err := s.ListAdd(ctx, "str", "x"); return err }},
		{"ListAdd to a set", func() error { _, err := s.ListAdd(ctx, "set", "x"); return err }},
		{"ListRange of a set", func() error { _, err := s.ListRange(ctx, "set", 0, -1); return err }},
		{"ListDel from a string", func() error { _, err := s.ListDel(ctx, "str", "v"); return err }},
		{"ListClear of a set", func() error { _, err := s.ListClear(ctx, "set"); return err }},
		{"SetAdd to a list", func() error { _, err := s.SetAdd(ctx, "list", "x"); return err }},
		{"SetDel from a string", func() error { _, err := s.SetDel(ctx, "str", "v"); return err }},
		{"SetQuery of a list", func() error { _, err := s.SetQuery(ctx, "list"); return err }},
		{"SetUnion with a list", func() error { _, err := s.SetUnion(ctx, []string{"set", "list"}); return err }},
		{"SetIntersection with a string", func() error { _, err := s.SetIntersection(ctx, []string{"str", "set"}); return err }},
		{"SetClear of a string", func() error { _, err := s.SetClear(ctx, "str"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.op(), ErrWrongKind)
		})
	}
	assertValue(t, s, "str", "v")
	got, err := s.ListRange(ctx, "list", 0, -1)
	require.NoError(t, err)
	assertStrings(t, "list", got, []string{"v"})
	got, err = s.SetQuery(ctx, "set")
	require.NoError(t, err)
	assertStrings(t, "set", got, []string{"v"})

	// Contains and Del work on every kind.
	for _, key := range []string{"str", "list", "set"} {
		ok, err := s.Contains(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "Contains "+key, ok, true)
		deleted, err := s.Del(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "Del "+key, deleted, true)
	}
}

// TestKeyLimits checks the key checks on every operation.
func TestKeyLimits(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)
	ops := map[string]func(key string) error{
		"Get":             func(k string) error { _, _, err := s.Get(ctx, k); return err },
		"Set":             func(k string) error { return s.Set(ctx, k, "v", 0) },
		"Del":             func(k string) error { _, err := s.Del(ctx, k); return err },
		"Contains":        func(k string) error { _, err := s.Contains(ctx, k); return err },
		"Increment":       func(k string) error { _, err := s.Increment(ctx, k, 1); return err },
		"ListAdd":         func(k string) error { _, err := s.ListAdd(ctx, k, "v"); return err },
		"ListDel":         func(k string) error { _, err := s.ListDel(ctx, k, "v"); return err },
		"ListClear":       func(k string) error { _, err := s.ListClear(ctx, k); return err },
		"ListRange":       func(k string) error { _, err := s.ListRange(ctx, k, 0, -1); return err },
		"SetAdd":          func(k string) error { _, err := s.SetAdd(ctx, k, "v"); return err },
		"SetDel":          func(k string) error { _, err := s.SetDel(ctx, k, "v"); return err },
		"SetQuery":        func(k string) error { _, err := s.SetQuery(ctx, k); return err },
		"SetClear":        func(k string) error { _, err := s.SetClear(ctx, k); return err },
		"SetUnion":        func(k string) error { _, err := s.SetUnion(ctx, []string{"ok", k}); return err },
		"SetIntersection": func(k string) error { _, err := s.SetIntersection(ctx, []string{"ok", k}); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op("")
			require.ErrorIs(t, err, ErrEmptyKey)
			var oe *OpError
			if !errors.As(err, &oe) || oe.Op != name {
				t.Errorf("error %v is not an *OpError for %s", err, name)
			}
			require.ErrorIs(t, op(strings.Repeat("k", MaxKeyLen+1)), ErrKeyTooLong)
			// The longest key, distinct per operation since they create different kinds.
			require.NoError(t, op(name+strings.Repeat("k", MaxKeyLen-len(name))))
		})
	}
}

func TestInvalidValues(t *testing.T) {
	s := newStore(t, setup(t), "kv", "app")
	ctx := testCtx(t)
	bad := string([]byte{'a', 0xff})
	_, err := s.ListAdd(ctx, "l", bad)
	require.ErrorIs(t, err, ErrInvalidValue)
	_, err = s.SetAdd(ctx, "s", bad)
	require.ErrorIs(t, err, ErrInvalidValue)
	ok, err := s.Contains(ctx, "l")
	require.NoError(t, err)
	require.Equal(t, "list created by a refused ListAdd", ok, false)
}

// TestPrefixIsolation sends hostile keys through stores with different prefixes on one bucket:
// none may read or write another's entries, and every entry must sit under its store's prefix.
func TestPrefixIsolation(t *testing.T) {
	js := setup(t)
	prefixes := []string{"a", "b", "", "a.b", "a.b.c", "YQ"}
	stores := make(map[string]*Store)
	for _, p := range prefixes {
		stores[p] = newStore(t, js, "shared", p)
	}
	hostile := []struct {
		name string
		key  string
	}{
		{"dot", "."},
		{"dot dot", ".."},
		{"parent path", "../b/secret"},
		{"star", "*"},
		{"full wildcard", ">"},
		{"dotted wildcard", "a.>"},
		{"space", " "},
		{"spaces and tabs", "a b\tc"},
		{"newline", "k\r\nPUB x 1"},
		{"other prefix's token", "b"},
		{"looks like another store's key", "b.secret"},
		{"base64 of a prefix", "YQ"},
		{"an encoded key", base64.RawURLEncoding.EncodeToString([]byte("secret"))},
		{"subject of the bucket", "$KV.shared.b.c2VjcmV0"},
		{"JetStream API subject", "$JS.API.STREAM.DELETE.KV_shared"},
		{"NUL byte", "\x00"},
		{"invalid UTF-8", "\xff\xfe\xfd"},
		{"unicode", "ключ🔑"},
		{"longest key", strings.Repeat(".", MaxKeyLen)},
		{"secret", "secret"},
	}
	ctx := testCtx(t)
	// Every store writes every key with a value naming itself.
	for _, p := range prefixes {
		for _, h := range hostile {
			require.NoError(t, stores[p].Set(ctx, h.key, "from "+p, 0))
		}
	}
	for _, p := range prefixes {
		for _, h := range hostile {
			t.Run(strconv.Quote(p)+"/"+h.name, func(t *testing.T) {
				assertValue(t, stores[p], h.key, "from "+p)
			})
		}
	}

	// Deleting through one store leaves the others' entries alone.
	for _, h := range hostile {
		deleted, err := stores["a"].Del(ctx, h.key)
		require.NoError(t, err)
		require.Equal(t, "Del "+h.name, deleted, true)
	}
	for _, p := range prefixes {
		for _, h := range hostile {
			if p == "a" {
				assertAbsent(t, stores[p], h.key)
				continue
			}
			assertValue(t, stores[p], h.key, "from "+p)
		}
	}

	// A key never written through a store is absent there even when other stores hold it.
	_, ok := mustGet(t, stores["b"], "only-in-a")
	require.Equal(t, "precondition", ok, false)
	require.NoError(t, stores["a"].Set(ctx, "only-in-a", "x", 0))
	for _, p := range prefixes {
		if p != "a" {
			assertAbsent(t, stores[p], "only-in-a")
		}
	}

	// Every entry in the bucket is the store's prefix tokens plus exactly one base64url token.
	keys := bucketKeys(t, js, "shared")
	want := len(hostile)*(len(prefixes)-1) + 1
	require.Equal(t, "entries in the bucket", len(keys), want)
	for _, k := range keys {
		tokens := strings.Split(k, ".")
		last := tokens[len(tokens)-1]
		prefix := strings.Join(tokens[:len(tokens)-1], ".")
		if _, ok := stores[prefix]; !ok {
			t.Errorf("bucket key %q is under no store's prefix", k)
		}
		key, err := base64.RawURLEncoding.DecodeString(last)
		if err != nil || len(key) == 0 {
			t.Errorf("bucket key %q does not end in one base64url token", k)
		}
	}
}

// TestExpiry checks both halves of expiry: the deadline enforced on read (with a clock moved
// forward) and the per-message TTL that makes the server remove the value.
func TestExpiry(t *testing.T) {
	t.Run("enforced on read", func(t *testing.T) {
		s := newStore(t, setup(t), "kv", "app")
		ctx := testCtx(t)
		base := time.Now()
		s.now = func() time.Time { return base }
		require.NoError(t, s.Set(ctx, "k", "v", 3600))
		assertValue(t, s, "k", "v")
		s.now = func() time.Time { return base.Add(3599 * time.Second) }
		assertValue(t, s, "k", "v")
		s.now = func() time.Time { return base.Add(3600 * time.Second) }
		assertAbsent(t, s, "k")
		ok, err := s.Contains(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "Contains after expiry", ok, false)
		// Increment starts again from 0, and the new value does not expire.
		v, err := s.Increment(ctx, "k", 5)
		require.NoError(t, err)
		require.Equal(t, "Increment after expiry", v, int32(5))
		s.now = func() time.Time { return base.Add(1000 * time.Hour) }
		assertValue(t, s, "k", "5")
	})

	t.Run("server TTL", func(t *testing.T) {
		js := setup(t)
		s := newStore(t, js, "kv", "app")
		ctx := testCtx(t)
		require.NoError(t, s.Set(ctx, "short", "v", 1))
		subj, err := s.subject("test", "short")
		require.NoError(t, err)
		m, err := s.stream.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		require.Equal(t, "Nats-TTL header", m.Header.Get(jetstream.MsgTTLHeader), "1s")
		// The value disappears for the store and, without any read-time check, for the server.
		require.EventuallyNoError(t, 10*time.Second, func() error {
			if _, ok := mustGet(t, s, "short"); ok {
				return errors.New("still present")
			}
			return nil
		}, "value expired")

		require.EventuallyNoError(t, 10*time.Second, func() error {
			m, err := s.stream.GetLastMsgForSubject(ctx, subj)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if m.Header.Get(jetstream.MarkerReasonHeader) == "" {
				return errors.New("the value message is still stored")
			}
			return nil
		}, "server removed the message")

	})

	t.Run("bucket without per-message TTL", func(t *testing.T) {
		js := setup(t)
		ctx := testCtx(t)
		_, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "old", History: 1})
		require.NoError(t, err)
		s := newStore(t, js, "old", "app")
		require.Equal(t, "per-key TTL", s.perKeyTTL, false)
		base := time.Now()
		s.now = func() time.Time { return base }
		require.NoError(t, s.Set(ctx, "k", "v", 10))
		subj, err := s.subject("test", "k")
		require.NoError(t, err)
		m, err := s.stream.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		require.Equal(t, "Nats-TTL header", m.Header.Get(jetstream.MsgTTLHeader), "")
		require.Equal(t, "expiry header", m.Header.Get(hdrExpires), strconv.FormatInt(base.Add(10*time.Second).UnixNano(), 10))
		s.now = func() time.Time { return base.Add(10 * time.Second) }
		assertAbsent(t, s, "k")
		// The expired value is still stored until Del removes it.
		_, err = s.stream.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		deleted, err := s.Del(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "Del of an expired key", deleted, false)
		m, err = s.stream.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		require.Equal(t, "marker after Del", m.Header.Get(hdrKVOperation), "PURGE")
	})

	t.Run("Increment keeps the expiry", func(t *testing.T) {
		s := newStore(t, setup(t), "kv", "app")
		ctx := testCtx(t)
		base := time.Now()
		s.now = func() time.Time { return base }
		require.NoError(t, s.Set(ctx, "c", "1", 100))
		s.now = func() time.Time { return base.Add(40 * time.Second) }
		v, err := s.Increment(ctx, "c", 1)
		require.NoError(t, err)
		require.Equal(t, "Increment", v, int32(2))
		subj, err := s.subject("test", "c")
		require.NoError(t, err)
		m, err := s.stream.GetLastMsgForSubject(ctx, subj)
		require.NoError(t, err)
		require.Equal(t, "expiry header", m.Header.Get(hdrExpires), strconv.FormatInt(base.Add(100*time.Second).UnixNano(), 10))
		require.Equal(t, "Nats-TTL header", m.Header.Get(jetstream.MsgTTLHeader), "1m0s")
		s.now = func() time.Time { return base.Add(100 * time.Second) }
		assertAbsent(t, s, "c")
	})
}

// TestPersistence restarts the server on the same store directory and port: the client reconnects
// and the same Store, and a new one, read back what was written before.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	srv := runServer(t, dir, -1)
	port := serverPort(srv)
	nc, js := connect(t, srv.ClientURL())
	s := newStore(t, js, "kv", "app")
	ctx := testCtx(t)
	require.NoError(t, s.Set(ctx, "k", "v", 0))
	_, err := s.Increment(ctx, "n", 7)
	require.NoError(t, err)
	_, err = s.ListAdd(ctx, "l", "x")
	require.NoError(t, err)
	_, err = s.SetAdd(ctx, "s", "y")
	require.NoError(t, err)

	srv.Shutdown()
	srv.WaitForShutdown()
	require.EventuallyNoError(t, 10*time.Second, func() error {
		if nc.IsConnected() {
			return errors.New("still connected")
		}
		return nil
	}, "client noticed the shutdown")

	srv2 := runServer(t, dir, port)
	require.EventuallyNoError(t, 10*time.Second, func() error {
		if !nc.IsConnected() {
			return errors.New("status " + nc.Status().String())
		}
		return nil
	}, "client reconnected")

	// JetStream may take a moment to serve the recovered stream.
	require.EventuallyNoError(t, 10*time.Second, func() error {
		_, _, err := s.Get(ctx, "k")
		return err
	}, "value readable after the restart")

	assertValue(t, s, "k", "v")
	v, err := s.Increment(ctx, "n", 1)
	require.NoError(t, err)
	require.Equal(t, "counter after the restart", v, int32(8))

	_, js2 := connect(t, srv2.ClientURL())
	s2 := newStore(t, js2, "kv", "app")
	assertValue(t, s2, "k", "v")
	assertValue(t, s2, "n", "8")
	got, err := s2.ListRange(ctx, "l", 0, -1)
	require.NoError(t, err)
	assertStrings(t, "list", got, []string{"x"})
	got, err = s2.SetQuery(ctx, "s")
	require.NoError(t, err)
	assertStrings(t, "set", got, []string{"y"})
}

// TestErrors checks error texts, corrupt entries and cancelled contexts.
func TestErrors(t *testing.T) {
	js := setup(t)
	s := newStore(t, js, "kv", "app")
	ctx := testCtx(t)

	require.NoError(t, s.Set(ctx, "word", "abc", 0))
	_, err := s.Increment(ctx, "word", 1)
	require.Equal(t, "error text", err.Error(), `keyvalue: Increment "word": stored value is not a decimal integer in the i32 range`)
	_, err = s.ListAdd(ctx, "word", "x")
	require.Equal(t, "error text", err.Error(), `keyvalue: ListAdd "word": key holds a string, not a list`)
	_, _, err = s.Get(ctx, strings.Repeat("x", 600))
	require.Equal(t, "error text", err.Error(), `keyvalue: Get "`+strings.Repeat("x", 64)+`…": key of 600 bytes, at most 512 allowed`)
	_, err = s.Del(ctx, "")
	require.Equal(t, "error text", err.Error(), `keyvalue: Del "": empty key`)
	_, err = New(testCtx(t), js, "kv", "a b")
	require.Equal(t, "error text", err.Error(), `keyvalue: invalid prefix: "a b" contains ' '`)

	// Entries not written by this package.
	corrupt := []struct {
		name   string
		key    string
		data   string
		header map[string]string
		op     func(key string) error
	}{
		{"list that is not JSON", "l", "[not json", map[string]string{hdrKind: "list"}, func(k string) error { _, err := s.ListRange(ctx, k, 0, -1); return err }},
		{"list of numbers", "l2", "[1,2]", map[string]string{hdrKind: "list"}, func(k string) error { _, err := s.ListAdd(ctx, k, "x"); return err }},
		{"unsorted set", "s", `["b","a"]`, map[string]string{hdrKind: "set"}, func(k string) error { _, err := s.SetQuery(ctx, k); return err }},
		{"unknown kind", "u", "x", map[string]string{hdrKind: "hash"}, func(k string) error { _, _, err := s.Get(ctx, k); return err }},
		{"unreadable expiry", "e", "x", map[string]string{hdrExpires: "soon"}, func(k string) error { _, err := s.Contains(ctx, k); return err }},
	}
	for _, c := range corrupt {
		t.Run(c.name, func(t *testing.T) {
			subj, err := s.subject("test", c.key)
			require.NoError(t, err)
			msg := &nats.Msg{Subject: subj, Data: []byte(c.data), Header: nats.Header{}}
			for k, v := range c.header {
				msg.Header.Set(k, v)
			}
			_, err = js.PublishMsg(ctx, msg)
			require.NoError(t, err)
			require.ErrorIs(t, c.op(c.key), ErrCorrupt)
		})
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = s.Get(cancelled, "word")
	require.ErrorIs(t, err, context.Canceled)
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "Get" || oe.Key != "word" {
		t.Errorf("error %v is not an *OpError for Get \"word\"", err)
	}
}
