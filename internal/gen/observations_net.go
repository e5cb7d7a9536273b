package gen

import (
	"container/heap"
	"net/netip"
	"slices"
)

// Networks of the observation world: mobile carriers' NAT pools, fibre
// ISPs with their leases, and a satellite operator. Times are seconds from
// the start of the calendar (00:00 UTC of its first day).

// mobileNet is a mobile carrier: a NAT pool of public IPv4 addresses, each
// shared at once by many subscribers, a new one for each data session; and
// for a dual-stack carrier, a /64 of its own for each session (3GPP).
type mobileNet struct {
	addrs  []uint32
	v6     bool
	v6id   byte // its IPv6 /40 is 2001:db8:XX00::/40
	weight int  // how many subscribers choose it
}

// session returns the address a device uses at second t of its day: the
// day is cut into sessions of the device's own length, each with its own
// address.
func (m *mobileNet) session(dev uint64, day int32, sec, length int64) (uint32, netip.Addr) {
	slot := uint64(sec / length)
	h := hash3(dev, uint64(day), slot)
	a := m.addrs[h%uint64(len(m.addrs))]
	if !m.v6 {
		return a, netip.Addr{}
	}
	return a, v6addr(m.v6id, uint32(h>>40)&0xffffff, 0, mix64(h))
}

// v6addr builds 2001:db8:XX00::/40 + a 24-bit prefix number (a /64 when sub
// is 0 and the number counts /64s; see callers) + interface id.
func v6addr(id byte, n24 uint32, sub byte, iid uint64) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4] = id
	b[5], b[6] = byte(n24>>16), byte(n24>>8)
	b[7] = byte(n24) | sub
	for i := range 8 {
		b[8+i] = byte(iid >> (56 - 8*i))
	}
	if b[8]|b[9]|b[10]|b[11]|b[12]|b[13]|b[14]|b[15] == 0 {
		b[15] = 1
	}
	return netip.AddrFrom16(b)
}

// isp is a fibre ISP: its ranges, the addresses released and not yet
// leased again, and for a dual-stack one its IPv6 /40.
type isp struct {
	pick   *picker
	v6     bool
	v6id   byte
	next56 uint32 // the next /56 to delegate (of 2^16 in the /40)
	free   freeHeap
	freeAt map[uint32]int64 // released addresses: when they may be leased again
	taken  int              // addresses of its space ever leased
}

// line is a fibre subscription: a compound's or a household's.
type fibre struct {
	isp     *isp
	country int
	comp    int32 // the compound, or -1 for a household
	leases  []lease
	subnets int // LAN /64s the router hands out
}

// lease is an IPv4 address held by a line from start to end (exclusive),
// with the IPv6 /56 delegated with it.
type lease struct {
	start, end int64
	addr       uint32
	p56        uint32
}

// at returns the lease of a line at time t.
func (l *fibre) at(t int64) (int, *lease) {
	i, _ := slices.BinarySearchFunc(l.leases, t, func(x lease, t int64) int {
		switch {
		case x.end <= t:
			return -1
		case x.start > t:
			return 1
		}
		return 0
	})
	if i >= len(l.leases) {
		i = len(l.leases) - 1
	}
	return i, &l.leases[i]
}

// v6 returns a device's privacy address in subnet sub of a lease's /56 on
// day d: a new interface id every day (RFC 8981).
func (l *fibre) v6(ls *lease, sub int, dev uint64, day int32) netip.Addr {
	return v6addr(l.isp.v6id, ls.p56<<8|0, byte(sub), hash3(dev, uint64(day), 0x6d))
}

// prefix56 returns the /56 of a lease.
func (l *fibre) prefix56(ls *lease) netip.Prefix {
	return netip.PrefixFrom(v6addr(l.isp.v6id, ls.p56<<8, 0, 1), 56).Masked()
}

type freeAddr struct {
	at   int64
	addr uint32
}

type freeHeap []freeAddr

func (h freeHeap) Len() int { return len(h) }
func (h freeHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].addr < h[j].addr
}
func (h freeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)   { *h = append(*h, x.(freeAddr)) }
func (h *freeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// terminal is a satellite terminal: a compound's or a rural household's.
// Its public IPv4 address, behind the operator's carrier-grade NAT, is
// shared with other terminals and changes every few days; its IPv6 /56 is
// its own.
type terminal struct {
	comp    int32
	p56     uint32
	changes []satAddr // by start
}

type satAddr struct {
	start int64
	addr  uint32
}

// at returns the public IPv4 address of a terminal at time t.
func (s *terminal) at(t int64) uint32 {
	i, _ := slices.BinarySearchFunc(s.changes, t, func(x satAddr, t int64) int {
		if x.start <= t {
			return -1
		}
		return 1
	})
	return s.changes[max(i-1, 0)].addr
}

// satV6id is the /40 of the satellite operator's IPv6.
const satV6id = 0xfe

func (s *terminal) v6(dev uint64, day int32) netip.Addr {
	return v6addr(satV6id, s.p56<<8, 0, hash3(dev, uint64(day), 0x5a))
}

func (s *terminal) prefix56() netip.Prefix {
	return netip.PrefixFrom(v6addr(satV6id, s.p56<<8, 0, 1), 56).Masked()
}

// household is a home of the towns: its fibre line and satellite
// terminal (either may be missing), and where it is.
type household struct {
	line, sat int32
	home      pt
	town      int32
	remote    bool
}

// addNetworks builds the carriers, ISPs, lines with their leases, and
// satellite terminals, sized for the population.
func (w *world) addNetworks(r *rng) {
	s := w.sp
	// Mobile carriers: a NAT pool each, sized so that an address carries
	// a few to a few tens of the panel's observations a day (a real
	// carrier's address carries far more subscribers, most of them not in
	// the panel). About two in five observations are made on mobile data.
	share := make([]int, len(countries)) // devices of each country
	all := 0
	for i := range w.townDevs {
		share[w.comps[w.townDevs[i].comp].cidx]++
		all++
	}
	for i := range w.devs {
		share[w.comps[w.devs[i].comp].cidx]++
		all++
	}
	w.mobile = make([][]*mobileNet, len(countries))
	v6id := byte(0x80)
	for ci, country := range countries {
		cs := s.carriersOf(country, classMobile)
		total := 0
		for _, c := range cs {
			total += int(min(c.pick.total(), 1<<20))
		}
		perDay := w.good / obsDays * 2 / 5 * share[ci] / max(all, 1)
		for _, c := range cs {
			m := &mobileNet{weight: int(min(c.pick.total(), 1<<20)), v6: r.percent(50), v6id: v6id}
			v6id++
			perAddr := int(r.between(4, 24))
			n := max(4, perDay*m.weight/max(total, 1)/perAddr)
			n = min(n, int(c.pick.total()/4))
			for range n {
				m.addrs = append(m.addrs, w.freeAddr(r, &c.pick))
			}
			w.mobile[ci] = append(w.mobile[ci], m)
		}
	}
	// Fibre ISPs.
	w.isps = make([][]*isp, len(countries))
	id := byte(1)
	for ci, country := range countries {
		for _, c := range s.carriersOf(country, classFixed) {
			w.isps[ci] = append(w.isps[ci], &isp{pick: &c.pick, v6: r.percent(60), v6id: id, freeAt: map[uint32]int64{}})
			id++
		}
	}
	// Lines: each compound's (one to three), and the households'.
	for _, c := range w.comps {
		if len(w.isps[c.cidx]) == 0 {
			continue
		}
		for range 1 + r.intn(3) {
			l := fibre{isp: w.pickISP(c.cidx, r), country: c.cidx, comp: int32(c.idx), subnets: 1}
			if r.percent(30) {
				l.subnets = 2
			}
			c.lines = append(c.lines, int32(len(w.lines)))
			w.lines = append(w.lines, l)
		}
	}
	for i := range w.households {
		h := &w.households[i]
		h.line, h.sat = -1, -1
		c := w.comps[w.towns[h.town].comp]
		if len(w.isps[c.cidx]) > 0 && r.percent(65) {
			h.line = int32(len(w.lines))
			w.lines = append(w.lines, fibre{isp: w.pickISP(c.cidx, r), country: c.cidx, comp: -1, subnets: 1})
		}
	}
	w.leaseAll(r)
	// Satellite terminals: many compounds in Myanmar have one, fewer
	// elsewhere; a few rural households too.
	for _, c := range w.comps {
		p := 15
		if c.country == "MM" {
			p = 45
		}
		if r.percent(p) {
			c.sat = int32(len(w.sats))
			w.sats = append(w.sats, terminal{comp: int32(c.idx)})
		}
	}
	for i := range w.households {
		// Satellite is for where fibre does not reach: a few homes of the
		// towns, more of those far away.
		h := &w.households[i]
		if p := map[bool]int{false: 3, true: 50}[h.remote]; h.line < 0 && r.percent(p) || h.remote && r.percent(p/2) {
			h.line = -1
			h.sat = int32(len(w.sats))
			w.sats = append(w.sats, terminal{comp: -1})
		}
	}
	if len(w.sats) > 0 {
		var p picker
		for _, pk := range []*picker{&s.sharedSAT, &s.otherSAT} {
			for k, si := range pk.spans {
				prev := uint64(0)
				if k > 0 {
					prev = pk.cum[k-1]
				}
				p.add(si, uint32(pk.cum[k]-prev))
			}
		}
		// A dozen terminals behind each public address at a time.
		for range max(2, len(w.sats)/12) {
			w.satPool = append(w.satPool, w.freeAddr(r, &p))
		}
		for i := range w.sats {
			t := &w.sats[i]
			t.p56 = uint32(i)*7 + 3
			for at := int64(-daySecs); at < calSecs+daySecs; at += r.between(daySecs, 10*daySecs) {
				t.changes = append(t.changes, satAddr{at, w.satPool[r.intn(len(w.satPool))]})
			}
		}
	}
}

// pickISP chooses a fibre ISP of a country, the larger ones more often.
func (w *world) pickISP(cidx int, r *rng) *isp {
	ps := w.isps[cidx]
	ws := make([]int, len(ps))
	for i, p := range ps {
		ws[i] = int(min(p.pick.total(), 1<<20))
	}
	return ps[r.weighted(ws)]
}

// freeAddr draws an address from p that no one else in the world has.
func (w *world) freeAddr(r *rng, p *picker) uint32 {
	for {
		_, a := p.pick(r, w.sp.spans)
		if b := a & 0xff; b == 0 || b == 0xff || w.reserved[a] {
			continue
		}
		w.reserved[a] = true
		return a
	}
}

// leaseAll gives every line its leases over the calendar. A compound's
// line is static (one address for the whole calendar) two times in five;
// otherwise, like a household's, it reconnects every few days or weeks and
// gets another address: the earliest released one whose quarantine (a day
// to two months) is over, or a fresh one. A compound's line sometimes gets
// back an address it held before, if it is free: the same address held
// twice, months apart.
func (w *world) leaseAll(r *rng) {
	type start struct {
		at   int64
		line int32
		dur  int64
	}
	byISP := map[*isp][]int32{}
	var order []*isp
	for i := range w.lines {
		l := &w.lines[i]
		if _, ok := byISP[l.isp]; !ok {
			order = append(order, l.isp)
		}
		byISP[l.isp] = append(byISP[l.isp], int32(i))
	}
	for _, p := range order {
		var starts []start
		for _, li := range byISP[p] {
			l := &w.lines[li]
			if l.comp >= 0 && r.percent(40) {
				starts = append(starts, start{-daySecs, li, calSecs + 2*daySecs})
				continue
			}
			lo, hi := int64(2*daySecs), int64(40*daySecs)
			if l.comp >= 0 {
				lo, hi = 5*daySecs, 90*daySecs
			}
			// Leases cover a day more than the calendar on each side: local
			// days begin before midnight UTC.
			for at := int64(-daySecs); at < calSecs+daySecs; {
				d := r.between(lo, hi)
				if at == -daySecs {
					d = r.between(daySecs, hi) // the calendar begins mid-lease
				}
				d = min(d, calSecs+daySecs-at)
				starts = append(starts, start{at, li, d})
				at += d
			}
		}
		slices.SortFunc(starts, func(a, b start) int {
			if a.at != b.at {
				return cmp64(a.at, b.at)
			}
			return cmp64(int64(a.line), int64(b.line))
		})
		var active activeHeap
		stable56 := map[int32]uint32{}
		for _, st := range starts {
			// Release what ended by now.
			for active.Len() > 0 && active[0].end <= st.at {
				a := heap.Pop(&active).(activeLease)
				q := r.between(daySecs, 60*daySecs)
				p.freeAt[a.addr] = a.end + q
				heap.Push(&p.free, freeAddr{a.end + q, a.addr})
			}
			l := &w.lines[st.line]
			var addr uint32
			if l.comp >= 0 && len(l.leases) > 1 && r.percent(25) {
				// An old address of its own, if free again.
				for k := len(l.leases) - 2; k >= 0; k-- {
					old := l.leases[k]
					if at, ok := p.freeAt[old.addr]; ok && at <= st.at && st.at-old.end >= 30*daySecs {
						addr = old.addr
						delete(p.freeAt, addr)
						break
					}
				}
			}
			// A small ISP that has handed out half its space takes back
			// the earliest released address, quarantine or not.
			full := uint64(p.taken)*2 >= p.pick.total()
			for addr == 0 && p.free.Len() > 0 && (p.free[0].at <= st.at || full) {
				f := heap.Pop(&p.free).(freeAddr)
				if at, ok := p.freeAt[f.addr]; ok && at == f.at {
					delete(p.freeAt, f.addr)
					addr = f.addr
				}
			}
			if addr == 0 {
				addr = w.freeAddr(r, p.pick)
				p.taken++
			}
			ls := lease{start: st.at, end: st.at + st.dur, addr: addr}
			if l.comp >= 0 && len(l.leases) > 0 && stable56[st.line] != 0 {
				ls.p56 = stable56[st.line]
			} else {
				// 2^16 /56 in the ISP's /40: they come round again.
				p.next56 = p.next56%0xffff + 1
				ls.p56 = p.next56
				if l.comp >= 0 && r.percent(50) {
					stable56[st.line] = ls.p56 // the delegation survives reconnections
				}
			}
			l.leases = append(l.leases, ls)
			heap.Push(&active, activeLease{ls.end, addr})
		}
	}
}

type activeLease struct {
	end  int64
	addr uint32
}

type activeHeap []activeLease

func (h activeHeap) Len() int { return len(h) }
func (h activeHeap) Less(i, j int) bool {
	if h[i].end != h[j].end {
		return h[i].end < h[j].end
	}
	return h[i].addr < h[j].addr
}
func (h activeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *activeHeap) Push(x any)   { *h = append(*h, x.(activeLease)) }
func (h *activeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
