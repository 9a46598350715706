package keyvalue

import (
	"context"
	"math"
	"strconv"
	"time"
)

// opError wraps err, if any, in an *OpError for op and key.
func opError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Key: key, Err: err}
}

// Get returns the value stored under key and whether there is one (an expired value counts as
// none). A key that holds a list or set is refused with ErrWrongKind.
func (s *Store) Get(ctx context.Context, key string) (value string, exists bool, err error) {
	subj, err := s.subject("Get", key)
	if err != nil {
		return "", false, err
	}
	e, err := s.load(ctx, subj)
	if err != nil {
		return "", false, opError("Get", key, err)
	}
	if !e.live {
		return "", false, nil
	}
	if e.kind != kindString {
		return "", false, opError("Get", key, wrongKind(e.kind, kindString))
	}
	return string(e.data), true, nil
}

// Set stores value under key, replacing whatever the key held (of any kind). When expires is not
// zero the value expires that many seconds from now; otherwise it never does.
func (s *Store) Set(ctx context.Context, key, value string, expires uint32) error {
	subj, err := s.subject("Set", key)
	if err != nil {
		return err
	}
	o := writeOpts{kind: kindString}
	if expires != 0 {
		o.expires = s.now().Add(time.Duration(expires) * time.Second).UnixNano()
	}
	return opError("Set", key, s.write(ctx, subj, []byte(value), o))
}

// Del deletes key, whatever kind of value it holds, and reports whether it held one.
func (s *Store) Del(ctx context.Context, key string) (bool, error) {
	subj, err := s.subject("Del", key)
	if err != nil {
		return false, err
	}
	var existed bool
	err = s.update(ctx, subj, func(e entry) (action, error) {
		existed = e.live
		if !e.live && !e.expired {
			return action{none: true}, nil // no entry, or already a delete marker
		}
		// An expired value is deleted like a live one, so that it stops taking space.
		return action{remove: true}, nil
	})
	return existed, opError("Del", key, err)
}

// Contains reports whether key holds a value of any kind (an expired value counts as none).
func (s *Store) Contains(ctx context.Context, key string) (bool, error) {
	subj, err := s.subject("Contains", key)
	if err != nil {
		return false, err
	}
	e, err := s.load(ctx, subj)
	if err != nil {
		return false, opError("Contains", key, err)
	}
	return e.live, nil
}

// Increment adds delta to the integer stored under key, an absent key counting as 0, and returns
// the new value. The value is stored as decimal text (so Get returns "42"), and an expiry set on the
// key is kept. The read-modify-write is atomic: concurrent increments are never lost. A value that
// is not a decimal integer in the i32 range is refused with ErrNotInteger, a result outside that
// range with ErrOverflow.
func (s *Store) Increment(ctx context.Context, key string, delta int32) (int32, error) {
	subj, err := s.subject("Increment", key)
	if err != nil {
		return 0, err
	}
	var result int32
	err = s.update(ctx, subj, func(e entry) (action, error) {
		var cur int64
		if e.live {
			if e.kind != kindString {
				return action{}, wrongKind(e.kind, kindString)
			}
			v, err := strconv.ParseInt(string(e.data), 10, 32)
			if err != nil {
				return action{}, &detailError{ErrNotInteger, "stored value is not a decimal integer in the i32 range"}
			}
			cur = v
		}
		next := cur + int64(delta)
		if next < math.MinInt32 || next > math.MaxInt32 {
			return action{}, &detailError{ErrOverflow, strconv.FormatInt(cur, 10) + " + " + strconv.Itoa(int(delta)) + " overflows i32"}
		}
		result = int32(next)
		return action{kind: kindString, data: strconv.AppendInt(nil, next, 10), expires: e.expires}, nil
	})
	if err != nil {
		return 0, opError("Increment", key, err)
	}
	return result, nil
}

// wrongKind describes a key that holds have where want was expected.
func wrongKind(have, want kind) error {
	return &detailError{ErrWrongKind, "key holds a " + have.String() + ", not a " + want.String()}
}
