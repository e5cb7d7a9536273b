package xref

import (
	"math/rand/v2"
	"testing"
)

// TestIDSet checks the set against a map on many random hashes, with
// repeats, zero, and hashes crowded into one shard.
func TestIDSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newIDSet()
	ref := map[[2]uint64]bool{}
	var seen [][2]uint64
	for i := range 200_000 {
		var h [2]uint64
		switch {
		case i%7 == 0 && len(seen) > 0:
			h = seen[rng.IntN(len(seen))]
		case i%11 == 0:
			h = [2]uint64{0x42 << 56, rng.Uint64()} // one shard
		case i == 5:
			h = [2]uint64{}
		default:
			h = [2]uint64{rng.Uint64(), rng.Uint64()}
		}
		key := h
		if key == [2]uint64{} {
			key[1] = 1
		}
		if got, want := s.insert(h), ref[key]; got != want {
			t.Fatalf("insert #%d %x: present = %v, want %v", i, h, got, want)
		}
		ref[key] = true
		seen = append(seen, h)
	}
}
