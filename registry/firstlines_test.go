package registry

import (
	"math/rand/v2"
	"testing"
)

// TestFirstLines holds firstLines to a Go map, through growth from empty and
// from a reservation, on keys that repeat.
func TestFirstLines(t *testing.T) {
	for _, reserve := range []int{0, 100, 50_000} {
		rng := rand.New(rand.NewPCG(uint64(reserve), 9))
		var s firstLines
		s.reserve(reserve)
		want := map[rowHash]int{}
		var batch []rowHash
		for line := 2; line < 40_000; line++ {
			// Keys from a small space, so that a third or so repeat.
			k := rowHash{rng.Uint64N(30_000) * 0x9E3779B97F4A7C15, 7}
			if batch = append(batch, k); len(batch) == 64 {
				s.touch(batch)
				batch = batch[:0]
			}
			first, dup := s.put(k, line)
			w, wdup := want[k]
			if !wdup {
				want[k], w = line, line
			}
			if dup != wdup || first != w {
				t.Fatalf("reserve %d: put(%x, %d) = %d, %v; want %d, %v", reserve, k, line, first, dup, w, wdup)
			}
		}
		if s.n != len(want) {
			t.Fatalf("reserve %d: %d keys, want %d", reserve, s.n, len(want))
		}
	}
}
