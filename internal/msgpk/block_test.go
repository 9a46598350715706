package msgpk

import "testing"

func TestStringBlock(t *testing.T) {
	src := []byte("hello world")
	a, b, empty := AliasString(src[:5]), AliasString(src[6:]), AliasString(src[:0])
	blk := NewStringBlock(len(a) + len(b))
	a = blk.Copy(a)
	blk.Detach(&b)
	blk.Detach(&empty)
	copy(src, "XXXXXXXXXXX")
	if a != "hello" || b != "world" || empty != "" {
		t.Fatalf("copies = %q, %q, %q after the source changed, want %q, %q, %q", a, b, empty, "hello", "world", "")
	}
	if len(blk) != 10 || cap(blk) != 10 {
		t.Fatalf("block len/cap = %d/%d, want 10/10 (no growth, no room taken by empty strings)", len(blk), cap(blk))
	}
}

func TestStringBlockAllocatesOnce(t *testing.T) {
	src := []byte("abcdef")
	allocs := testing.AllocsPerRun(100, func() {
		s1, s2 := AliasString(src[:3]), AliasString(src[3:])
		blk := NewStringBlock(len(s1) + len(s2))
		blk.Detach(&s1)
		blk.Detach(&s2)
	})
	if allocs != 1 {
		t.Fatalf("allocs = %v, want 1", allocs)
	}
}
