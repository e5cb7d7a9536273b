package xref

// idSet remembers the report ids seen so far, as 128-bit hashes, for the
// duplicate-id rule. It is the one structure of a run that grows with the
// number of reports: 16 bytes a slot, 40-80% full (about 270 MB at 10
// million reports). With 128 bits, the chance that two distinct ids collide
// among a billion reports is about 1e-21: a false "duplicate" is not a
// practical concern, and the hash is far cheaper than keeping every id.
//
// The set is split into 256 shards by the top byte of the hash, each an
// open-addressing table that doubles on its own: growing never holds an old
// and a new copy of the whole set at once, only of one shard.
type idSet struct {
	shards [256]idShard
}

type idShard struct {
	slots [][2]uint64
	n     int
}

func newIDSet() *idSet { return &idSet{} }

// insert adds h and reports whether it was already present.
func (s *idSet) insert(h [2]uint64) bool {
	if h == [2]uint64{} {
		h[1] = 1 // the zero value marks an empty slot
	}
	return s.shards[h[0]>>56].insert(h)
}

func (s *idShard) insert(h [2]uint64) bool {
	if 5*(s.n+1) > 4*len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h[0] & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case [2]uint64{}:
			s.slots[i] = h
			s.n++
			return false
		}
	}
}

func (s *idShard) grow() {
	old := s.slots
	s.slots = make([][2]uint64, max(2*len(old), 64))
	mask := uint64(len(s.slots) - 1)
	for _, h := range old {
		if h == [2]uint64{} {
			continue
		}
		i := h[0] & mask
		for s.slots[i] != [2]uint64{} {
			i = (i + 1) & mask
		}
		s.slots[i] = h
	}
}
