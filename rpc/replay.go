package rpc

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// replayShards splits the cache so that concurrent verifiers rarely contend on one lock.
const replayShards = 64

// replayKey identifies an accepted invocation: its id (16 bytes; UUIDs are decoded so that the hyphenated and
// simple spellings of one id are one key) and the index of its issuer among the trusted keys. It holds no
// pointers, so the garbage collector never scans the cache's entries.
type replayKey struct {
	id     [16]byte
	issuer uint32
}

// ReplayCache remembers the invocations accepted while their tokens can still be valid. Each entry lives until
// its own deadline (the last instant its token could pass the time checks), so an id is never forgotten while
// a replay of it could be accepted. Memory is bounded by a fixed number of entries; when the cache is full of
// still-valid ids, Add refuses rather than evicts. It is safe for concurrent use.
type ReplayCache struct {
	perShard int
	shards   [replayShards]replayShard
}

type replayShard struct {
	mu sync.Mutex
	// seen maps each remembered key to its deadline in Unix nanoseconds. Guarded by mu.
	seen map[replayKey]int64
	// noSweepBefore is the earliest deadline in seen after the last sweep: no sweep before it can free
	// anything, so a full shard refuses in O(1) instead of rescanning. Guarded by mu.
	noSweepBefore int64
}

// NewReplayCache returns a cache that holds at most capacity entries (rounded up to a multiple of 64).
func NewReplayCache(capacity int) *ReplayCache {
	if capacity < replayShards {
		capacity = replayShards
	}
	c := &ReplayCache{perShard: (capacity + replayShards - 1) / replayShards}
	for i := range c.shards {
		c.shards[i].seen = make(map[replayKey]int64)
	}
	return c
}

// Capacity returns the maximum number of entries.
func (c *ReplayCache) Capacity() int { return c.perShard * replayShards }

// replayKeyFor builds the key for an invocation id. Ids that are not UUIDs are hashed to 16 bytes.
func replayKeyFor(issuer uint32, id string) replayKey {
	k := replayKey{issuer: issuer}
	if u, ok := wire.ParseID(id); ok {
		k.id = u
	} else {
		sum := sha256.Sum256([]byte(id))
		copy(k.id[:], sum[:16])
	}
	return k
}

// shard mixes all of the key into a shard index. Ids are not always random in their leading bytes (wasmCloud
// 0.8x derives them from ULIDs, whose first bytes are a timestamp), so no byte range alone may pick the shard.
func (k *replayKey) shard() int {
	h := binary.LittleEndian.Uint64(k.id[:8]) ^ binary.LittleEndian.Uint64(k.id[8:]) ^ uint64(k.issuer)<<32
	return int((h * 0x9E3779B97F4A7C15) >> (64 - 6)) // Fibonacci hashing into 2^6 = replayShards
}

// Add records key until deadline (Unix nanoseconds). It returns ErrReplayed if the key is already remembered,
// and ErrReplayCacheFull if the key's shard is full of entries whose deadlines have not passed.
func (c *ReplayCache) Add(k replayKey, now, deadline int64) error {
	s := &c.shards[k.shard()]
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.seen[k]; ok {
		if d >= now {
			return ErrReplayed
		}
		delete(s.seen, k) // the old token can no longer pass the time checks, and neither can its replay
	}
	if len(s.seen) >= c.perShard {
		if now < s.noSweepBefore {
			return ErrReplayCacheFull
		}
		s.sweep(now)
		if len(s.seen) >= c.perShard {
			return ErrReplayCacheFull
		}
	}
	s.seen[k] = deadline
	if deadline < s.noSweepBefore {
		s.noSweepBefore = deadline
	}
	return nil
}

// sweep drops entries whose deadline has passed and records the earliest remaining deadline.
func (s *replayShard) sweep(now int64) {
	earliest := int64(1<<63 - 1)
	for k, d := range s.seen {
		if d < now {
			delete(s.seen, k)
		} else if d < earliest {
			earliest = d
		}
	}
	s.noSweepBefore = earliest
}

// Len returns the number of entries held, expired or not.
func (c *ReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.seen)
		s.mu.Unlock()
	}
	return n
}

// ReplayKey spells the lattice-wide replay key of an invocation: its issuer and its id, the id in one spelling
// whatever spelling the invocation used (see replayKeyFor), so that a replay cannot pass as new by
// respelling its id.
func ReplayKey(issuer, id string) string {
	k := replayKeyFor(0, id)
	return issuer + ":" + hex.EncodeToString(k.id[:])
}
