package derive

import (
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/seams-dev/seams"
)

// This file holds what a derivation remembers between observations. All of
// it is per device and compound, or per address used inside a footprint;
// nothing is kept per observation, so memory grows with the devices and
// addresses seen inside footprints, not with the observations read.

// nsPerDay is the length of a UTC day in nanoseconds.
const nsPerDay = 24 * 60 * 60 * 1e9

// dayOf returns the UTC day of an instant, counted from 1970-01-01.
func dayOf(ns int64) int32 {
	d := ns / nsPerDay
	if ns%nsPerDay < 0 {
		d--
	}
	return int32(d)
}

// daySet is a set of days, kept sorted. Observations of one device come
// mostly in time order, so adding is an append in the common case.
type daySet []int32

func (s *daySet) add(d int32) {
	n := len(*s)
	if n == 0 || d > (*s)[n-1] {
		*s = append(*s, d)
		return
	}
	i, found := slices.BinarySearch(*s, d)
	if !found {
		*s = slices.Insert(*s, i, d)
	}
}

// bestWindow returns the largest number of days of the set that lie within
// one span of w consecutive days.
func (s daySet) bestWindow(w int32) int {
	best, i := 0, 0
	for j := range s {
		for s[j]-s[i] >= w {
			i++
		}
		best = max(best, j-i+1)
	}
	return best
}

// idSet is a small set of device numbers, kept sorted.
type idSet []int32

func (s *idSet) add(id int32) {
	i, found := slices.BinarySearch(*s, id)
	if !found {
		*s = slices.Insert(*s, i, id)
	}
}

func (s idSet) has(id int32) bool {
	_, found := slices.BinarySearch(s, id)
	return found
}

// span is the first and last instant of some observations, and how many.
type span struct {
	first, last int64
	obs         int64
}

func (s *span) add(ns int64) {
	if s.obs == 0 || ns < s.first {
		s.first = ns
	}
	if s.obs == 0 || ns > s.last {
		s.last = ns
	}
	s.obs++
}

// pair is what is known of one device at one compound: its observations
// inside the compound's footprints.
type pair struct {
	comp, dev int32
	span
	days     daySet
	resident bool
}

// addr is an address some device used inside a footprint: a candidate for
// an ip indicator.
type addr struct {
	addr netip.Addr
	// inside are the devices that used it inside any footprint (pass 1).
	inside idSet
	// relevant: some device of inside is resident somewhere, so the
	// address may become an indicator and pass 2 looks at it.
	relevant bool
	// outside holds hashes of the devices that used it outside every
	// footprint and never inside (pass 2), up to limit of them.
	outside hashes
	limit   int
	capped  bool // more outside devices than limit were seen
}

// addOutside counts a device that used the address outside every footprint.
func (a *addr) addOutside(h uint64) {
	if a.outside.n >= a.limit {
		if !a.outside.has(h) {
			a.capped = true
		}
		return
	}
	a.outside.add(h)
}

// hashes is a set of 64-bit hashes: open addressing in a slice, 8 bytes a
// slot and at most three quarters full, a fraction of what a Go map of the
// same keys costs; there is one per candidate address.
type hashes struct {
	slots []uint64 // 0 is empty; a zero hash is stored as 1
	n     int
}

func (s *hashes) len() int { return s.n }

func (s *hashes) has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *hashes) add(h uint64) {
	if h == 0 {
		h = 1
	}
	if 4*(s.n+1) > 3*len(s.slots) {
		old := s.slots
		s.slots = make([]uint64, max(8, 2*len(old)))
		s.n = 0
		for _, x := range old {
			if x != 0 {
				s.add(x)
			}
		}
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

// usage is the use of one address by resident devices inside one
// compound's footprints (pass 2).
type usage struct {
	comp, addr int32
	span
	days daySet
	devs idSet
}

// hashDevice hashes a device identifier, for counting distinct devices
// outside the footprints without remembering them: FNV-1a of TYPE:VALUE,
// fixed, so that runs agree. Two devices are counted as one only if their
// 64-bit hashes collide, about once in 10^8 among a million devices using
// one address.
func hashDevice(d seams.DeviceID) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(d.Type); i++ {
		h ^= uint64(d.Type[i])
		h *= 1099511628211
	}
	h ^= ':'
	h *= 1099511628211
	for i := 0; i < len(d.Value); i++ {
		h ^= uint64(d.Value[i])
		h *= 1099511628211
	}
	return h
}

// sharedThreshold returns the fewest outside devices that put an address
// used by inside devices inside past maxShare, and at least minOutside; or
// -1 when no number can (maxShare 1).
func sharedThreshold(inside int, maxShare float64, minOutside int) int {
	if maxShare >= 1 {
		return -1
	}
	// share = k/(k+inside) > maxShare  <=>  k > maxShare*inside/(1-maxShare)
	k := int(math.Floor(maxShare*float64(inside)/(1-maxShare))) + 1
	for k > 0 && float64(k-1)/float64(k-1+inside) > maxShare {
		k-- // guard against rounding in the division
	}
	for float64(k)/float64(k+inside) <= maxShare {
		k++
	}
	return max(k, minOutside)
}

// interner keeps one copy of each device identifier seen inside a
// footprint and numbers them.
type interner struct {
	ids  map[seams.DeviceID]int32
	devs []seams.DeviceID
}

func (n *interner) lookup(d seams.DeviceID) (int32, bool) {
	id, ok := n.ids[d]
	return id, ok
}

func (n *interner) intern(d seams.DeviceID) int32 {
	if id, ok := n.ids[d]; ok {
		return id
	}
	if n.ids == nil {
		n.ids = make(map[seams.DeviceID]int32)
	}
	id := int32(len(n.devs))
	// d may point into a reader's buffer.
	d = seams.DeviceID{Type: strings.Clone(d.Type), Value: strings.Clone(d.Value)}
	n.ids[d] = id
	n.devs = append(n.devs, d)
	return id
}
