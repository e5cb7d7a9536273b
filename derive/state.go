package derive

import (
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/seams-dev/seams"
)

// This file holds what a derivation remembers between observations: per
// device and compound seen inside (pass 1), per address used inside, the
// observations of candidate devices and who used candidate addresses on
// each day of their periods (pass 2). Nothing is kept for a device never
// seen inside a footprint.

// nsPerDay is the length of a day in nanoseconds.
const nsPerDay = 24 * 60 * 60 * 1e9

// dayOf returns the day of an instant (nanoseconds since 1970 in some time
// scale: UTC, or a compound's local time), counted from 1970-01-01.
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

// pair is one device seen inside one compound's footprints (pass 1).
type pair struct {
	comp, dev int32
}

// addrKey is an address as derive keeps it: an IPv4 address, or the /64
// an IPv6 address lies in (privacy addresses rotate inside it; a site gets
// a /64 at least).
type addrKey = netip.Addr

// keyOf returns the key of an address.
func keyOf(ip netip.Addr) addrKey {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// addr is an address some device used inside a footprint: a candidate for
// an indicator.
type addr struct {
	key addrKey
	// inside are the devices that used it inside any footprint (pass 1),
	// and days the UTC days they did.
	inside idSet
	days   daySet
	// relevant: a candidate device used it inside, so it may become an
	// indicator and pass 2 counts who used it, on the days of periods.
	relevant bool
	periods  []period
}

// period is a run of UTC days, inclusive, on which pass 2 counts who used
// an address.
type period struct{ first, last int32 }

// tracks reports whether day d lies in one of the periods.
func (a *addr) tracks(d int32) bool {
	i, _ := slices.BinarySearchFunc(a.periods, d, func(p period, d int32) int {
		switch {
		case p.last < d:
			return -1
		case p.first > d:
			return 1
		}
		return 0
	})
	return i < len(a.periods) && a.periods[i].first <= d && d <= a.periods[i].last
}

// dayUse is who used one relevant address on one UTC day: the devices,
// by hash, seen using it inside a footprint and outside every footprint.
type dayUse struct {
	in, out bottomK
}

// keepHashes is how many device hashes a bottomK keeps: enough to decide
// the shared test in all but the busiest addresses, which are plainly
// shared, and few enough that a carrier address used by thousands costs a
// few hundred bytes a day.
const keepHashes = 32

// bottomK keeps the keepHashes smallest of a set of device hashes, and
// whether there were more: what it holds does not depend on the order the
// hashes came in, so neither do the counts made from it.
type bottomK struct {
	h    []uint64
	more bool
}

func (b *bottomK) add(h uint64) {
	i, found := slices.BinarySearch(b.h, h)
	if found {
		return
	}
	if len(b.h) < keepHashes {
		b.h = slices.Insert(b.h, i, h)
		return
	}
	b.more = true
	if i < len(b.h) {
		b.h = slices.Insert(b.h[:len(b.h)-1], i, h)
	}
}

// Places of an event besides a compound.
const placeElsewhere = -1 // outside every footprint, the whole circle
const placeUnknown = -2   // at a shared coordinate: discounted
const placeVague = -4     // too coarse or across an edge: nowhere in particular

// event is one observation of a candidate device, as pass 2 keeps it: 24
// bytes.
type event struct {
	t     int64  // Unix nanoseconds
	spot  uint32 // hash of the exact coordinate
	place int32  // the compound it was inside, placeElsewhere, placeVague; or, once decided, placeUnknown, placeStray or spotInside(c)
	addr  int32  // the address used inside, or -1
	file  uint16 // the observation file
}

// spotInside is the place of a fix inside compound c at a shared
// coordinate: it places no one, but a member's address was used there.
func spotInside(c int32) int32 { return spotBase - c }

const spotBase = -16

// ignored reports whether a place is none for stays and shares: a shared
// coordinate, a stray, a vague fix.
func ignored(p int32) bool {
	return p == placeUnknown || p == placeStray || p == placeVague || p <= spotBase
}

func compareEvents(a, b event) int {
	switch {
	case a.t != b.t:
		return cmp64(a.t, b.t)
	case a.place != b.place:
		return cmp64(int64(a.place), int64(b.place))
	case a.addr != b.addr:
		return cmp64(int64(a.addr), int64(b.addr))
	case a.spot != b.spot:
		return cmp64(int64(a.spot), int64(b.spot))
	}
	return cmp64(int64(a.file), int64(b.file))
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// spotOf hashes a coordinate exactly as given: the same float64 latitude
// and longitude give the same hash. 32 bits: two coordinates share a hash
// about once in four billion, and five devices' at once, never.
func spotOf(lat, lon float64) uint32 {
	h := mix(math.Float64bits(lat+0) ^ 0x9e3779b97f4a7c15)
	return uint32(mix(h^math.Float64bits(lon+0)) >> 32)
}

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// hashes is a set of 64-bit hashes: open addressing in a slice, 8 bytes a
// slot and at most three quarters full.
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

// hashDevice hashes a device identifier, for counting distinct devices
// without remembering them: FNV-1a of TYPE:VALUE, fixed, so that runs
// agree. hashDeviceText gives the same hash of the text.
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

// hashDeviceText is hashDevice of the device whose TYPE:VALUE text is b.
func hashDeviceText(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
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
