package keyvalue

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Operations return them wrapped in an *OpError; test for them with errors.Is.
var (
	// ErrEmptyKey means an actor sent an empty key (or list or set name).
	ErrEmptyKey = errors.New("keyvalue: empty key")
	// ErrKeyTooLong means a key is longer than MaxKeyLen bytes.
	ErrKeyTooLong = errors.New("keyvalue: key too long")
	// ErrBucketNotAllowed means a link names a bucket that is malformed, one of the lattice's own, or
	// outside the buckets the operator allows (see Buckets).
	ErrBucketNotAllowed = errors.New("keyvalue: bucket not allowed")
	// ErrInvalidPrefix means the prefix given to New is not empty and not a sequence of tokens made
	// of letters, digits, '-' and '_', separated by single dots.
	ErrInvalidPrefix = errors.New("keyvalue: invalid prefix")
	// ErrWrongKind means an operation for one kind of value (string, list or set) met a key that
	// holds another, for example ListAdd on a key set with Set.
	ErrWrongKind = errors.New("keyvalue: key holds another kind of value")
	// ErrNotInteger means Increment met a value that is not a decimal integer in the i32 range.
	ErrNotInteger = errors.New("keyvalue: value is not an integer")
	// ErrOverflow means an increment would leave the i32 range.
	ErrOverflow = errors.New("keyvalue: increment overflows i32")
	// ErrInvalidValue means a list or set value is not valid UTF-8; lists and sets are stored as
	// JSON, which cannot hold it unchanged.
	ErrInvalidValue = errors.New("keyvalue: list or set value is not valid UTF-8")
	// ErrConflict means an update lost the compare-and-swap race MaxAttempts times in a row.
	ErrConflict = errors.New("keyvalue: too many concurrent updates")
	// ErrCorrupt means a stored entry is not in the format this package writes (a list or set that
	// is not a JSON array of strings, or an unreadable expiry).
	ErrCorrupt = errors.New("keyvalue: stored entry is corrupt")
)

// OpError reports a failed operation: which one, on which actor key (or list or set name), and why.
// Err wraps one of the package's sentinels or an error from JetStream.
type OpError struct {
	// Op is the operation as the keyvalue contract names it, for example "Increment".
	Op string
	// Key is the key as the actor sent it (before it is mapped into the bucket).
	Key string
	Err error
}

// maxQuotedKey is how much of a key an error message shows.
const maxQuotedKey = 64

// Error returns "keyvalue: <op> <quoted key>: <reason>", the key cut to 64 bytes.
func (e *OpError) Error() string {
	key := e.Key
	if len(key) > maxQuotedKey {
		key = key[:maxQuotedKey] + "…"
	}
	return "keyvalue: " + e.Op + " " + strconv.Quote(key) + ": " + strings.TrimPrefix(e.Err.Error(), "keyvalue: ")
}

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }

// detailError attaches a specific description to a sentinel without repeating the sentinel's text.
type detailError struct {
	sentinel error
	detail   string
}

func (e *detailError) Error() string { return e.detail }
func (e *detailError) Unwrap() error { return e.sentinel }

// ErrUnknownOperation is returned by Provider.Call for an operation the keyvalue contract does not define.
var ErrUnknownOperation = errors.New("keyvalue: unknown operation")
