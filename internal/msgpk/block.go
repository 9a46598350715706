package msgpk

import "unsafe"

// StringBlock holds copies of the strings of one decoded value in a single allocation, so that a
// decoded message costs one allocation for all its strings instead of one each.
type StringBlock []byte

// NewStringBlock returns a block that holds exactly n bytes. It never grows, so the strings cut
// from it stay valid; copying more than n bytes into it in all is a bug of the caller.
func NewStringBlock(n int) StringBlock { return make(StringBlock, 0, n) }

// Copy returns a copy of s, which may alias the input, held in the block. An empty s is returned
// as "" and takes no room.
func (blk *StringBlock) Copy(s string) string {
	if len(s) == 0 {
		return ""
	}
	start := len(*blk)
	*blk = append(*blk, s...)
	return unsafe.String(&(*blk)[start], len(s))
}

// Detach replaces *s, which may alias the input, with a copy held in the block.
func (blk *StringBlock) Detach(s *string) { *s = blk.Copy(*s) }
