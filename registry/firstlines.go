package registry

import (
	"math"
	"math/bits"
)

// firstLines maps the hash of every row ScanIndicators has accepted to the
// line it was on: the duplicate check ("the first one stands"). It is an
// open-addressing table with linear probing whose slot holds a hash and its
// line together, so that checking a row costs one cache miss, and that miss
// can be taken early for a whole batch of rows (touch). hashset.Map keeps
// keys and values apart, a second miss a row.
type firstLines struct {
	slots []lineSlot
	n     int
}

// lineSlot is a slot of firstLines; line 0 (no row is on line 0) marks it
// empty.
type lineSlot struct {
	key  rowHash
	line int32
}

// reserve makes room for n rows, so that the table does not grow (and copy
// itself) until it holds more.
func (s *firstLines) reserve(n int) {
	if size := n + n/4; size > len(s.slots) {
		s.resize(size)
	}
}

func (s *firstLines) resize(size int) {
	old := s.slots
	s.slots = make([]lineSlot, max(size, 1024))
	for _, sl := range old {
		if sl.line != 0 {
			i := s.home(sl.key)
			for s.slots[i].line != 0 {
				i = s.step(i)
			}
			s.slots[i] = sl
		}
	}
}

// home is the first slot to look at for k: the hash scaled to the table,
// which need not be a power of two.
func (s *firstLines) home(k rowHash) int {
	hi, _ := bits.Mul64(k[0], uint64(len(s.slots)))
	return int(hi)
}

func (s *firstLines) step(i int) int {
	if i++; i == len(s.slots) {
		return 0
	}
	return i
}

// touch reads the home slot of each key, so that the puts of the same keys
// that follow find it in cache: the reads are independent, and their misses
// overlap.
func (s *firstLines) touch(keys []rowHash) {
	if len(s.slots) == 0 {
		return
	}
	var sink int32
	for _, k := range keys {
		sink += s.slots[s.home(k)].line
	}
	touched = sink
}

// touched keeps touch's reads from being optimized away.
var touched int32

// put records line as the line of k, unless k is there already: it returns
// the line recorded and whether k was there.
func (s *firstLines) put(k rowHash, line int) (int, bool) {
	if 5*(s.n+1) > 4*len(s.slots) {
		s.resize(2 * len(s.slots))
	}
	for i := s.home(k); ; i = s.step(i) {
		sl := &s.slots[i]
		if sl.line == 0 {
			// Lines beyond the 32 bits a slot keeps are not seen in
			// practice; they are remembered as the largest.
			*sl = lineSlot{k, int32(min(max(line, 1), math.MaxInt32))}
			s.n++
			return line, false
		}
		if sl.key == k {
			return int(sl.line), true
		}
	}
}
