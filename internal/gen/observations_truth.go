package gen

import (
	"net/netip"
	"slices"
)

// observed keeps what the observations written showed, for the ground
// truth and for planting reports: which of a compound's addresses members
// were seen using inside, when, by how many; which carrier and satellite
// addresses members used inside; and when each member was seen inside.
type observed struct {
	lines   map[uint64]*useStat // line<<32 | lease: IPv4 use
	line6   map[uint64]*useStat // line<<40 | lease<<8 | subnet: IPv6 use of the /64
	sat6    map[int32]*useStat  // terminal: IPv6 use of its /64
	shared  map[uint32]*useStat // carrier (why 1) or satellite (why 2) IPv4 used inside by members
	members map[uint64]*useStat // device<<16 | compound: seen inside
}

// useStat is who used something inside a compound, and when.
type useStat struct {
	comp        int32
	why         uint8
	devs        []int32
	days        []int32
	first, last int64 // seconds of the calendar (UTC)
	// times samples the uses evenly: every stride-th is kept, and when 64
	// are kept, every other one goes and the stride doubles.
	times  []int64
	n      int
	stride int
}

func (u *useStat) add(dev int32, day int32, t int64, _ bool) {
	if i, found := slices.BinarySearch(u.devs, dev); !found {
		u.devs = slices.Insert(u.devs, i, dev)
	}
	if i, found := slices.BinarySearch(u.days, day); !found {
		u.days = slices.Insert(u.days, i, day)
	}
	u.first, u.last = min(u.first, t), max(u.last, t)
	if u.stride == 0 {
		u.stride = 1
	}
	if u.n%u.stride == 0 {
		u.times = append(u.times, t)
		if len(u.times) == 64 {
			for i := range 32 {
				u.times[i] = u.times[2*i]
			}
			u.times = u.times[:32]
			u.stride *= 2
		}
	}
	u.n++
}

func (o *observed) init(w *world) {
	o.lines, o.line6, o.sat6 = map[uint64]*useStat{}, map[uint64]*useStat{}, map[int32]*useStat{}
	o.shared, o.members = map[uint32]*useStat{}, map[uint64]*useStat{}
}

func stat[K comparable](m map[K]*useStat, k K, comp int32) *useStat {
	u := m[k]
	if u == nil {
		u = &useStat{comp: comp, first: 1<<62 - 1, last: -1 << 62}
		m[k] = u
	}
	return u
}

// member reports whether an observation is a member's inside its own
// compound of the day.
func member(d *device, p *plan, sg *seg) bool {
	return (d.kind == kResident || d.kind == kWorker) && sg.inside == p.comp && sg.inside >= 0
}

// noteInside notes a member seen inside its compound.
func (o *observed) noteInside(d *device, idx uint64, p *plan, sg *seg, day int32, utc int64) {
	if !member(d, p, sg) {
		return
	}
	u := stat(o.members, idx<<16|uint64(p.comp), p.comp)
	u.add(int32(idx), day, utc, false)
}

func (o *observed) noteMobile(w *world, d *device, idx uint64, p *plan, sg *seg, day int32, utc int64, a4 uint32, ip netip.Addr) {
	if !member(d, p, sg) || !ip.Is4() {
		return
	}
	u := stat(o.shared, a4, p.comp)
	u.why = 1
	u.add(int32(idx), day, utc, true)
}

func (o *observed) noteLine(w *world, d *device, idx uint64, p *plan, sg *seg, day int32, utc int64, li int32, lease, sub int, ip netip.Addr) {
	if !member(d, p, sg) || w.lines[li].comp != p.comp {
		return
	}
	if ip.Is4() {
		stat(o.lines, uint64(li)<<32|uint64(lease), p.comp).add(int32(idx), day, utc, false)
		return
	}
	stat(o.line6, uint64(li)<<40|uint64(lease)<<8|uint64(sub), p.comp).add(int32(idx), day, utc, false)
}

func (o *observed) noteSat(w *world, d *device, idx uint64, p *plan, sg *seg, day int32, utc int64, ti int32, a4 uint32, ip netip.Addr) {
	if !member(d, p, sg) {
		return
	}
	if ip.Is4() {
		u := stat(o.shared, a4, p.comp)
		u.why = 2
		u.add(int32(idx), day, utc, true)
		return
	}
	stat(o.sat6, ti, p.comp).add(int32(idx), day, utc, false)
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[K uint64 | uint32 | int32, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
