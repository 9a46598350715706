package keyvalue

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// FuzzSubject checks the confinement property of the key mapping on arbitrary keys and prefixes:
// a key's subject is its store's subject prefix plus exactly one token that decodes back to the
// key, so two different (prefix, key) pairs never share a subject.
//
// Run with: go test ./capability/keyvalue -run '^$' -fuzz FuzzSubject -fuzztime 15s
func FuzzSubject(f *testing.F) {
	f.Add("a", "..", "b", "*")
	f.Add("", "a.b", "a", "b")
	f.Add("a.b", "c", "a", "b.c")
	f.Add("x", ">", "x", "\x00\xff")
	f.Fuzz(func(t *testing.T, p1, k1, p2, k2 string) {
		s1, s2 := fuzzStore(p1), fuzzStore(p2)
		if s1 == nil || s2 == nil {
			return
		}
		subj1, err1 := s1.subject("fuzz", k1)
		subj2, err2 := s2.subject("fuzz", k2)
		if err1 != nil || err2 != nil {
			return
		}
		for _, c := range []struct {
			s         *Store
			subj, key string
		}{{s1, subj1, k1}, {s2, subj2, k2}} {
			rest, ok := strings.CutPrefix(c.subj, c.s.subjectPrefix)
			if !ok || rest == "" || strings.ContainsAny(rest, ".*> \t\r\n") {
				t.Fatalf("subject %q is not prefix %q plus one plain token", c.subj, c.s.subjectPrefix)
			}
			dec, err := base64.RawURLEncoding.DecodeString(rest)
			if err != nil || string(dec) != c.key {
				t.Fatalf("token %q does not decode to the key %q", rest, c.key)
			}
		}
		if (p1 != p2 || k1 != k2) && subj1 == subj2 {
			t.Fatalf("(%q, %q) and (%q, %q) share the subject %q", p1, k1, p2, k2, subj1)
		}
	})
}

// fuzzStore returns a store without a server for prefix, or nil if New would refuse the prefix.
func fuzzStore(prefix string) *Store {
	if validatePrefix(prefix) != nil {
		return nil
	}
	return &Store{subjectPrefix: subjectPrefix("b", prefix)}
}

// FuzzParseLink: whatever a link's values hold, ParseLink returns a bucket that is well formed, not one of
// the lattice's own and among the allowed ones, and a prefix whose tokens are plain (so the store's subjects
// cannot escape them), or an error matching ErrBucketNotAllowed or ErrInvalidPrefix.
func FuzzParseLink(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"counters", "app1"}, {"kv", "a.b-c_d"}, {"kv", "a..b"}, {"kv", "a b"},
		{"kv", "*"}, {"kv", ">"}, {"kv", "."}, {"", strings.Repeat("a", MaxPrefixLen+1)}, {"LATTICEDATA_default", ""},
		{"tenant_a", "x"}, {"KV_x", ""}, {"a.b", ""}, {"a>", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, bucket, prefix string) {
		buckets := Buckets{Internal: []string{"LATTICEDATA_", "WASMCLOUD_"}, Allowed: []string{"tenant_*", "counters", DefaultBucket}}
		l, err := ParseLink(buckets, map[string]string{LinkBucket: bucket, LinkPrefix: prefix})
		if err != nil {
			if !errors.Is(err, ErrInvalidPrefix) && !errors.Is(err, ErrBucketNotAllowed) {
				t.Fatalf("error %v matches neither ErrInvalidPrefix nor ErrBucketNotAllowed", err)
			}
			return
		}
		if l.Bucket == "" || (bucket != "" && l.Bucket != bucket) || l.Prefix != prefix {
			t.Fatalf("ParseLink(%q, %q) = %+v", bucket, prefix, l)
		}
		if strings.HasPrefix(l.Bucket, "LATTICEDATA_") || strings.HasPrefix(l.Bucket, "WASMCLOUD_") ||
			!(strings.HasPrefix(l.Bucket, "tenant_") || l.Bucket == "counters" || l.Bucket == DefaultBucket) ||
			strings.ContainsAny(l.Bucket, ".*> \t") {
			t.Fatalf("bucket %q accepted", l.Bucket)
		}
		if strings.ContainsAny(prefix, "*> \t\r\n") || strings.Contains(prefix, "..") || strings.HasPrefix(prefix, ".") ||
			strings.HasSuffix(prefix, ".") {
			t.Fatalf("prefix %q accepted", prefix)
		}
	})
}

func TestBuckets(t *testing.T) {
	open := Buckets{Internal: []string{"LATTICEDATA_", "CONFIGDATA_", "WASMCLOUD_"}}
	tenants := Buckets{Internal: open.Internal, Allowed: []string{"tenant_*", "counters"}}
	tests := []struct {
		name    string
		buckets Buckets
		bucket  string
		ok      bool
	}{
		{"any bucket", open, "counters", true},
		{"lattice data", open, "LATTICEDATA_default", false},
		{"another lattice's data", open, "LATTICEDATA_other", false},
		{"configuration data", open, "CONFIGDATA_default", false},
		{"host records", open, "WASMCLOUD_ONCE_default", false},
		{"other case is another bucket", open, "latticedata_default", true},
		{"dot", open, "a.b", false},
		{"wildcard", open, "a*", false},
		{"empty", open, "", false},
		{"too long", open, strings.Repeat("a", MaxBucketLen+1), false},
		{"listed pattern", tenants, "tenant_acme", true},
		{"listed name", tenants, "counters", true},
		{"not listed", tenants, "other", false},
		{"listed but internal", Buckets{Internal: open.Internal, Allowed: []string{"*"}}, "LATTICEDATA_default", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.buckets.Check(tc.bucket)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBucketNotAllowed)
		})
	}
	for _, p := range []string{"tenant_*", "a?", "[ab]x", "counters"} {
		require.NoError(t, ValidPattern(p), "pattern %q", p)
	}
	for _, p := range []string{"", "a.b", "[", "a b", "a/b"} {
		require.ErrorIs(t, ValidPattern(p), ErrBucketNotAllowed, "pattern %q", p)
	}
}
