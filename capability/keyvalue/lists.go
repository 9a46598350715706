package keyvalue

import (
	"context"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Lists and sets are JSON arrays of strings. A set's array is sorted and has no duplicates, so that
// membership is a binary search and one set has one encoding. An update that empties a list or set
// deletes its key, as Redis does, so that Contains reports false for it.

// readStrings decodes a stored list or set.
func readStrings(e entry) ([]string, error) {
	var list []string
	if err := json.Unmarshal(e.data, &list); err != nil {
		return nil, &detailError{ErrCorrupt, "stored " + e.kind.String() + " is not a JSON array of strings"}
	}
	if e.kind == kindSet {
		for i := 1; i < len(list); i++ {
			if list[i-1] >= list[i] {
				return nil, &detailError{ErrCorrupt, "stored set is not sorted and unique"}
			}
		}
	}
	return list, nil
}

// checkValue refuses a list or set value that JSON cannot hold unchanged.
func checkValue(value string) error {
	if !utf8.ValidString(value) {
		return ErrInvalidValue
	}
	return nil
}

// loadStrings reads the list or set under key for a read-only operation: nil for an absent key.
func (s *Store) loadStrings(ctx context.Context, op, key string, want kind) ([]string, error) {
	subj, err := s.subject(op, key)
	if err != nil {
		return nil, err
	}
	e, err := s.load(ctx, subj)
	if err == nil && e.live && e.kind != want {
		err = wrongKind(e.kind, want)
	}
	if err != nil {
		return nil, opError(op, key, err)
	}
	if !e.live {
		return nil, nil
	}
	list, err := readStrings(e)
	return list, opError(op, key, err)
}

// updateStrings runs a read-modify-write of the list or set under key. change gets the current
// members (nil for an absent key) and returns the new ones, or keep to write nothing; an empty
// result deletes the key.
func (s *Store) updateStrings(ctx context.Context, op, key string, want kind, change func([]string) (next []string, keep bool)) error {
	subj, err := s.subject(op, key)
	if err != nil {
		return err
	}
	err = s.update(ctx, subj, func(e entry) (action, error) {
		var cur []string
		if e.live {
			if e.kind != want {
				return action{}, wrongKind(e.kind, want)
			}
			var err error
			if cur, err = readStrings(e); err != nil {
				return action{}, err
			}
		}
		next, keep := change(cur)
		switch {
		case keep:
			return action{none: true}, nil
		case len(next) == 0 && e.live:
			return action{remove: true}, nil
		case len(next) == 0:
			return action{none: true}, nil
		}
		data, err := json.Marshal(next)
		if err != nil {
			return action{}, err
		}
		return action{kind: want, data: data}, nil
	})
	return opError(op, key, err)
}

// clearKind deletes the list or set under key and reports whether there was one.
func (s *Store) clearKind(ctx context.Context, op, key string, want kind) (bool, error) {
	subj, err := s.subject(op, key)
	if err != nil {
		return false, err
	}
	var existed bool
	err = s.update(ctx, subj, func(e entry) (action, error) {
		existed = e.live
		switch {
		case e.live && e.kind != want:
			return action{}, wrongKind(e.kind, want)
		case !e.live:
			return action{none: true}, nil
		}
		return action{remove: true}, nil
	})
	if err != nil {
		return false, opError(op, key, err)
	}
	return existed, nil
}

// ListAdd appends value to the list named list, creating it if needed, and returns the list's new
// length.
func (s *Store) ListAdd(ctx context.Context, list, value string) (uint32, error) {
	if err := checkValue(value); err != nil {
		return 0, opError("ListAdd", list, err)
	}
	var n int
	err := s.updateStrings(ctx, "ListAdd", list, kindList, func(cur []string) ([]string, bool) {
		next := append(cur, value)
		n = len(next)
		return next, false
	})
	if err != nil {
		return 0, err
	}
	return uint32(n), nil
}

// ListDel removes the first occurrence of value from the list and reports whether it was found.
func (s *Store) ListDel(ctx context.Context, list, value string) (bool, error) {
	var found bool
	err := s.updateStrings(ctx, "ListDel", list, kindList, func(cur []string) ([]string, bool) {
		i := slices.Index(cur, value)
		found = i >= 0
		if !found {
			return nil, true
		}
		return slices.Delete(cur, i, i+1), false
	})
	if err != nil {
		return false, err
	}
	return found, nil
}

// ListClear deletes the list and reports whether it existed.
func (s *Store) ListClear(ctx context.Context, list string) (bool, error) {
	return s.clearKind(ctx, "ListClear", list, kindList)
}

// ListRange returns the values from index start to index stop, both inclusive and 0-based. As in
// Redis's LRANGE, which the contract was modelled on, a negative index counts from the end (-1 is
// the last value), a stop beyond the end means the end, and an empty range or an absent list gives
// an empty result.
func (s *Store) ListRange(ctx context.Context, list string, start, stop int32) ([]string, error) {
	values, err := s.loadStrings(ctx, "ListRange", list, kindList)
	if err != nil {
		return nil, err
	}
	n := int64(len(values))
	from, to := int64(start), int64(stop)
	if from < 0 {
		from = max(from+n, 0)
	}
	if to < 0 {
		to += n
	}
	to = min(to, n-1)
	if from > to {
		return nil, nil
	}
	return values[from : to+1], nil
}

// SetAdd adds value to the set named set, creating it if needed, and returns the number of values
// added: 1, or 0 when it was already a member.
func (s *Store) SetAdd(ctx context.Context, set, value string) (uint32, error) {
	if err := checkValue(value); err != nil {
		return 0, opError("SetAdd", set, err)
	}
	var added uint32
	err := s.updateStrings(ctx, "SetAdd", set, kindSet, func(cur []string) ([]string, bool) {
		i, found := slices.BinarySearch(cur, value)
		if found {
			added = 0
			return nil, true
		}
		added = 1
		return slices.Insert(cur, i, value), false
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// SetDel removes value from the set and returns the number of values removed: 1, or 0 when it was
// not a member.
func (s *Store) SetDel(ctx context.Context, set, value string) (uint32, error) {
	var removed uint32
	err := s.updateStrings(ctx, "SetDel", set, kindSet, func(cur []string) ([]string, bool) {
		i, found := slices.BinarySearch(cur, value)
		if !found {
			removed = 0
			return nil, true
		}
		removed = 1
		return slices.Delete(cur, i, i+1), false
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// SetQuery returns the members of the set in ascending byte order; an absent set has none.
func (s *Store) SetQuery(ctx context.Context, set string) ([]string, error) {
	return s.loadStrings(ctx, "SetQuery", set, kindSet)
}

// SetClear deletes the set and reports whether it existed.
func (s *Store) SetClear(ctx context.Context, set string) (bool, error) {
	return s.clearKind(ctx, "SetClear", set, kindSet)
}

// SetUnion returns the values that are members of at least one of the named sets, in ascending
// byte order. Absent sets count as empty. The sets are read one after another, not as one snapshot.
func (s *Store) SetUnion(ctx context.Context, sets []string) ([]string, error) {
	var out []string
	for _, name := range sets {
		members, err := s.loadStrings(ctx, "SetUnion", name, kindSet)
		if err != nil {
			return nil, err
		}
		out = append(out, members...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// SetIntersection returns the values that are members of every named set, in ascending byte order;
// no sets, or any absent set, give an empty result. The sets are read one after another, not as
// one snapshot.
func (s *Store) SetIntersection(ctx context.Context, sets []string) ([]string, error) {
	var out []string
	for i, name := range sets {
		members, err := s.loadStrings(ctx, "SetIntersection", name, kindSet)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out = members
			continue
		}
		out = slices.DeleteFunc(out, func(v string) bool {
			_, found := slices.BinarySearch(members, v)
			return !found
		})
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
