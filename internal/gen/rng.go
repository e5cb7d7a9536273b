package gen

import (
	"math/bits"
	"math/rand/v2"
)

// rng is a PCG generator with the few draws the generator needs. It calls
// the concrete rand.PCG rather than a rand.Rand so that the hot path pays no
// interface call per draw, and it draws integers only: floating-point
// arithmetic may be fused differently on other architectures, and the same
// seed must give the same bytes everywhere.
type rng struct{ pcg rand.PCG }

func newRNG(seed, stream uint64) *rng {
	r := new(rng)
	r.pcg.Seed(seed, stream)
	return r
}

func (r *rng) uint64() uint64 { return r.pcg.Uint64() }

// intn returns a number in [0, n) by Lemire's multiply-shift; the bias, at
// most n/2^64, is far below anything a data set could show.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.pcg.Uint64(), uint64(n))
	return int(hi)
}

func (r *rng) int64n(n int64) int64 {
	hi, _ := bits.Mul64(r.pcg.Uint64(), uint64(n))
	return int64(hi)
}

// between returns a number in the closed interval [lo, hi].
func (r *rng) between(lo, hi int64) int64 { return lo + r.int64n(hi-lo+1) }

// percent reports true with probability p/100.
func (r *rng) percent(p int) bool { return r.intn(100) < p }

// permille reports true with probability p/1000.
func (r *rng) permille(p int) bool { return r.intn(1000) < p }

// weighted returns an index of w with probability proportional to its weight.
func (r *rng) weighted(w []int) int {
	t := 0
	for _, x := range w {
		t += x
	}
	x := r.intn(t)
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}
