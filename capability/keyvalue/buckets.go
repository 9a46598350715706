package keyvalue

import (
	"fmt"
	"path"
	"strings"
)

// MaxBucketLen bounds a bucket name; JetStream stream names ("KV_" + bucket) are bounded too.
const MaxBucketLen = 128

// Buckets is the policy on which JetStream key-value buckets a link may name. The buckets the lattice's hosts
// use themselves (lattice data, internal records) are never reachable: with write access to one, an actor
// could rewrite links or claims for the whole lattice. An operator may further restrict links to a list of
// names or patterns.
type Buckets struct {
	// Internal are the name prefixes of the lattice's own buckets (LATTICEDATA_, …).
	Internal []string
	// Allowed lists the bucket names, or path.Match patterns such as "tenant_*", a link may name. Empty: any
	// bucket that is not internal.
	Allowed []string
	// Limits bound the buckets the provider creates (not those that exist already).
	Limits BucketLimits
}

// Check refuses a bucket name that is malformed, belongs to the lattice, or is outside Allowed. The error
// matches ErrBucketNotAllowed and names the bucket.
func (b Buckets) Check(bucket string) error {
	if err := validBucket(bucket); err != nil {
		return err
	}
	for _, p := range b.Internal {
		if strings.HasPrefix(bucket, p) {
			return fmt.Errorf("%w: %q is one of the lattice's own buckets", ErrBucketNotAllowed, bucket)
		}
	}
	if len(b.Allowed) == 0 {
		return nil
	}
	for _, pattern := range b.Allowed {
		if ok, _ := path.Match(pattern, bucket); ok {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is not among the buckets this host allows (%s)", ErrBucketNotAllowed, bucket, strings.Join(b.Allowed, ", "))
}

// ValidPattern reports whether p is a usable entry of Allowed: a bucket name, or a path.Match pattern over
// bucket-name characters.
func ValidPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil || p == "" || len(p) > MaxBucketLen {
		return fmt.Errorf("%w: %q is not a bucket name or pattern", ErrBucketNotAllowed, p)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !bucketChar(c) && c != '*' && c != '?' && c != '[' && c != ']' && c != '^' {
			return fmt.Errorf("%w: %q is not a bucket name or pattern", ErrBucketNotAllowed, p)
		}
	}
	return nil
}

// validBucket checks a bucket name as JetStream would: letters, digits, '-' and '_'.
func validBucket(bucket string) error {
	if bucket == "" || len(bucket) > MaxBucketLen {
		return fmt.Errorf("%w: bucket name %q must have 1 to %d characters", ErrBucketNotAllowed, bucket, MaxBucketLen)
	}
	for i := 0; i < len(bucket); i++ {
		if !bucketChar(bucket[i]) {
			return fmt.Errorf("%w: bucket name %q contains %q", ErrBucketNotAllowed, bucket, bucket[i])
		}
	}
	return nil
}

func bucketChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
