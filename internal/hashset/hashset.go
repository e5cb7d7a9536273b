// Package hashset holds sets and maps keyed by 128-bit hashes, for the
// places where seams must remember millions of things it has seen (report
// ids, registry rows) and a Go map of the things themselves would cost too
// much. Keys are hashes already, so a slot is found from the key's own bits:
// one probe into a flat array, usually one cache miss.
//
// Two distinct things are taken for one only if their 128-bit hashes
// collide: about 1 in 10^21 among a billion keys.
package hashset

import "iter"

// Key is a 128-bit hash. The zero key marks an empty slot; Set and Map turn
// a zero key into another fixed value, a collision as unlikely as any.
type Key [2]uint64

func fix(k Key) Key {
	if k == (Key{}) {
		k[1] = 1
	}
	return k
}

// Set is a set of keys, split into 256 shards by the top byte of the key so
// that growing copies one shard at a time, never the whole set.
type Set struct {
	shards [256]shard[struct{}]
}

// Insert adds k and reports whether it was already present.
func (s *Set) Insert(k Key) bool {
	k = fix(k)
	_, found := s.shards[k[0]>>56].put(k, struct{}{})
	return found
}

// InsertMany inserts keys in order, setting present[i] to whether keys[i]
// was already in the set (or earlier in keys). It first reads the slot of
// every key: those reads are independent, so their cache misses overlap,
// and the inserts that follow find their slots in cache. On a set much
// larger than the cache this is several times faster than Insert in a loop.
func (s *Set) InsertMany(keys []Key, present []bool) {
	// In groups, so that the lines the reads bring in are still in cache
	// when the inserts come.
	const group = 64
	for len(keys) > 0 {
		g := min(len(keys), group)
		s.Touch(keys[:g])
		for i, k := range keys[:g] {
			present[i] = s.Insert(k)
		}
		keys, present = keys[g:], present[g:]
	}
}

var touched uint64

// Touch reads the slot of each key, so that inserts of the same keys that
// follow find them in cache (see InsertMany).
func (s *Set) Touch(keys []Key) {
	var sink uint64
	for _, k := range keys {
		sh := &s.shards[k[0]>>56]
		if len(sh.keys) > 0 {
			sink += sh.keys[k[0]&uint64(len(sh.keys)-1)][0]
		}
	}
	touched = sink // keeps the reads from being optimized away
}

// Reserve makes room for about n keys in all, so that the set does not grow
// (and copy itself) until it holds more.
func (s *Set) Reserve(n int) {
	per := n/len(s.shards) + 1
	size := 64
	for 4*size < 5*per { // at most 80% full
		size *= 2
	}
	for i := range s.shards {
		sh := &s.shards[i]
		for len(sh.keys) < size {
			sh.grow()
		}
	}
}

// Len returns the number of keys.
func (s *Set) Len() int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].n
	}
	return n
}

// Map maps keys to values of type V, sharded like Set.
type Map[V any] struct {
	shards [256]shard[V]
}

// Reserve makes room for about n keys in all, as Set.Reserve.
func (m *Map[V]) Reserve(n int) {
	per := n/len(m.shards) + 1
	size := 64
	for 4*size < 5*per {
		size *= 2
	}
	for i := range m.shards {
		sh := &m.shards[i]
		for len(sh.keys) < size {
			sh.grow()
		}
	}
}

// Touch reads the slot of each key, so that puts of the same keys that
// follow find them in cache: the reads are independent and their cache
// misses overlap (see Set.InsertMany).
func (m *Map[V]) Touch(keys func(yield func(Key) bool)) {
	var sink uint64
	for k := range keys {
		sh := &m.shards[fix(k)[0]>>56]
		if len(sh.keys) > 0 {
			sink += sh.keys[k[0]&uint64(len(sh.keys)-1)][0]
		}
	}
	touched = sink
}

// PutIfAbsent stores v under k unless k is present; it returns the value
// now stored and whether k was present.
func (m *Map[V]) PutIfAbsent(k Key, v V) (V, bool) {
	k = fix(k)
	return m.shards[k[0]>>56].put(k, v)
}

// shard is an open-addressing table with linear probing, at most 80% full.
type shard[V any] struct {
	keys []Key
	vals []V
	n    int
}

// put finds k; if absent it stores v. It returns the stored value and
// whether k was there.
func (s *shard[V]) put(k Key, v V) (V, bool) {
	if 5*(s.n+1) > 4*len(s.keys) {
		s.grow()
	}
	mask := uint64(len(s.keys) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case k:
			return s.vals[i], true
		case Key{}:
			s.keys[i], s.vals[i] = k, v
			s.n++
			return v, false
		}
	}
}

func (s *shard[V]) grow() {
	oldK, oldV := s.keys, s.vals
	n := max(2*len(oldK), 64)
	s.keys, s.vals = make([]Key, n), make([]V, n)
	mask := uint64(n - 1)
	for j, k := range oldK {
		if k == (Key{}) {
			continue
		}
		i := k[0] & mask
		for s.keys[i] != (Key{}) {
			i = (i + 1) & mask
		}
		s.keys[i], s.vals[i] = k, oldV[j]
	}
}

// Bytes returns the memory the set's tables take, in bytes.
func (s *Set) Bytes() int {
	n := 0
	for i := range s.shards {
		n += len(s.shards[i].keys) * 16
	}
	return n
}

// InsertWithin is Insert, unless inserting k would grow the set's tables
// beyond maxBytes in all: k is then left out and ok is false. It reports
// whether k was already present.
func (s *Set) InsertWithin(k Key, maxBytes int) (present, ok bool) {
	k = fix(k)
	sh := &s.shards[k[0]>>56]
	if 5*(sh.n+1) > 4*len(sh.keys) {
		// Inserting would grow this shard; only a key already there can
		// go in without it.
		if sh.has(k) {
			return true, true
		}
		if s.Bytes()+max(len(sh.keys), 64)*16 > maxBytes {
			return false, false
		}
	}
	_, found := sh.put(k, struct{}{})
	return found, true
}

// ReserveWithin is Reserve, but never makes the tables larger than maxBytes
// in all.
func (s *Set) ReserveWithin(n, maxBytes int) {
	per := n/len(s.shards) + 1
	size := 64
	for 4*size < 5*per && 2*size*16*len(s.shards) <= maxBytes {
		size *= 2
	}
	for i := range s.shards {
		sh := &s.shards[i]
		for len(sh.keys) < size {
			sh.grow()
		}
	}
}

// All yields every key of the set, in no particular order.
func (s *Set) All() iter.Seq[Key] {
	return func(yield func(Key) bool) {
		for i := range s.shards {
			for _, k := range s.shards[i].keys {
				if k != (Key{}) && !yield(k) {
					return
				}
			}
		}
	}
}

// has reports whether k (already fixed) is in the shard.
func (s *shard[V]) has(k Key) bool {
	if len(s.keys) == 0 {
		return false
	}
	mask := uint64(len(s.keys) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case k:
			return true
		case Key{}:
			return false
		}
	}
}
