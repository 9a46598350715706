package keyvalue

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
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

// FuzzParseLink: whatever a link's values hold, ParseLink returns a bucket and a prefix whose tokens are
// plain (so the store's subjects cannot escape them), or an error matching ErrInvalidPrefix.
func FuzzParseLink(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"counters", "app1"}, {"kv", "a.b-c_d"}, {"kv", "a..b"}, {"kv", "a b"},
		{"kv", "*"}, {"kv", ">"}, {"kv", "."}, {"", strings.Repeat("a", MaxPrefixLen+1)}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, bucket, prefix string) {
		l, err := ParseLink(map[string]string{LinkBucket: bucket, LinkPrefix: prefix})
		if err != nil {
			if !errors.Is(err, ErrInvalidPrefix) {
				t.Fatalf("error %v does not match ErrInvalidPrefix", err)
			}
			return
		}
		if l.Bucket == "" || (bucket != "" && l.Bucket != bucket) || l.Prefix != prefix {
			t.Fatalf("ParseLink(%q, %q) = %+v", bucket, prefix, l)
		}
		if strings.ContainsAny(prefix, "*> \t\r\n") || strings.Contains(prefix, "..") || strings.HasPrefix(prefix, ".") ||
			strings.HasSuffix(prefix, ".") {
			t.Fatalf("prefix %q accepted", prefix)
		}
	})
}
