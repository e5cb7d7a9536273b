package derive

import (
	"net/netip"
	"slices"
)

// This file decides what becomes of the addresses members used inside
// their compounds: indicators, window by window, shared, or neither.

// addrUse is one observation of a member using an address inside its
// compound.
type addrUse struct {
	comp, addr int32
	t          int64
	dev        int32
	day        int32 // local day at the compound
	file       uint16
}

// addrWindow is an address (an IPv4 address, an IPv6 /64 or /56) of a
// compound over one lease window, with its support and the users counted
// against it.
type addrWindow struct {
	comp, addr  int32
	prefix      netip.Prefix // the address as a /32, or the IPv6 prefix
	first, last int64
	devices     int // members using it inside
	days        int // their local days
	obs         int64
	files       []uint16
	// Users during the window, widened by the share margin.
	in, out int
	more    bool // counts are at least these
	share   float64
	merged  int // for a /56: the /64 it stands for
	// continued: too little support of its own, kept because another
	// window of the address at the compound has it.
	continued bool
}

// sharedAddr is an address the shared test put in shared space.
type sharedAddr struct {
	addr        int32
	prefix      netip.Prefix
	in, out     int
	more        bool
	share       float64
	first, last int64 // the window that decided it
	comps       []compUse
}

// compUse is how many members of a compound used a shared address inside.
type compUse struct{ comp, devices int32 }

type addressResult struct {
	windows []addrWindow // indicators
	shared  []sharedAddr
}

// decideAddresses splits the members' use of each address at each
// compound into lease windows and decides each window: shared when
// outside devices dominate it, an indicator when enough members used it
// on enough days and outside use is small, otherwise neither (counted).
func (d *deriver) decideAddresses() {
	ix := newUseIndex(d.memberUses())
	windows, shared := d.decideWindows(ix)
	windows = d.keepSupported(windows)
	// An address shared in one window is shared space for xref in all of
	// them: its indicator windows go (shared space wins, so that no report
	// is tied by an address others were using).
	for _, w := range windows {
		if _, ok := shared[w.addr]; ok {
			d.sum.Addresses.DroppedShared++
			continue
		}
		d.result.windows = append(d.result.windows, w)
	}
	d.result.windows = d.mergeDelegations(d.result.windows)
}

// memberUses returns every use of an address by a member inside its own
// compound, by compound, address, time and device.
func (d *deriver) memberUses() []addrUse {
	var uses []addrUse
	for _, m := range d.members {
		ci := d.candOf[m.dev]
		for _, e := range d.events[ci] {
			// A member's fix at a shared coordinate inside its own
			// compound places no one, but its address was used there.
			if (e.place == m.comp || e.place == spotInside(m.comp)) && e.addr >= 0 {
				uses = append(uses, addrUse{comp: m.comp, addr: e.addr, t: e.t, dev: m.dev, day: d.localDay(m.comp, e.t), file: e.file})
			}
		}
	}
	slices.SortFunc(uses, func(a, b addrUse) int {
		switch {
		case a.comp != b.comp:
			return cmp64(int64(a.comp), int64(b.comp))
		case a.addr != b.addr:
			return cmp64(int64(a.addr), int64(b.addr))
		case a.t != b.t:
			return cmp64(a.t, b.t)
		}
		return cmp64(int64(a.dev), int64(b.dev))
	})
	return uses
}

// useIndex holds the members' uses by compound and address (uses), and
// the same uses by address and time (byAddr), to find an address used
// inside another compound in the same days: members of two compounds do
// not share a fibre line; they share carrier and satellite NAT.
type useIndex struct {
	uses   []addrUse
	byAddr []int32
}

func newUseIndex(uses []addrUse) *useIndex {
	byAddr := make([]int32, len(uses))
	for i := range byAddr {
		byAddr[i] = int32(i)
	}
	slices.SortFunc(byAddr, func(a, b int32) int {
		x, y := &uses[a], &uses[b]
		if x.addr != y.addr {
			return cmp64(int64(x.addr), int64(y.addr))
		}
		return cmp64(x.t, y.t)
	})
	return &useIndex{uses: uses, byAddr: byAddr}
}

// usedAt returns the members of compound c that used address ai inside
// it, any time.
func (ix *useIndex) usedAt(c, ai int32) idSet {
	uses := ix.uses
	i, _ := slices.BinarySearchFunc(uses, [2]int32{c, ai}, func(u addrUse, k [2]int32) int {
		if u.comp != k[0] {
			return cmp64(int64(u.comp), int64(k[0]))
		}
		return cmp64(int64(u.addr), int64(k[1]))
	})
	var out idSet
	for ; i < len(uses) && uses[i].comp == c && uses[i].addr == ai; i++ {
		out.add(uses[i].dev)
	}
	return out
}

// others counts the members of compounds other than c, not in own, that
// used address ai inside theirs between from and to.
func (ix *useIndex) others(c, ai int32, from, to int64, own idSet) int {
	uses := ix.uses
	lo, _ := slices.BinarySearchFunc(ix.byAddr, [2]int64{int64(ai), from}, func(k int32, x [2]int64) int {
		u := &uses[k]
		if int64(u.addr) != x[0] {
			return cmp64(int64(u.addr), x[0])
		}
		return cmp64(u.t, x[1])
	})
	var devs idSet
	for _, k := range ix.byAddr[lo:] {
		u := &uses[k]
		if u.addr != ai || u.t > to {
			break
		}
		if u.comp != c && !own.has(u.dev) {
			devs.add(u.dev)
		}
	}
	return len(devs)
}

// decideWindows splits the uses into lease windows (uses of an address at
// a compound no more than LeaseGap apart) and decides each: shared space
// (added to the result; the map gives each shared address its index), too
// contested (counted), or an indicator window, continued when it lacks the
// support alone.
func (d *deriver) decideWindows(ix *useIndex) ([]addrWindow, map[int32]int) {
	o := d.o
	uses := ix.uses
	insideAll := map[int32]*hashes{}
	insideOf := func(ai int32) *hashes {
		if h, ok := insideAll[ai]; ok {
			return h
		}
		h := new(hashes)
		for _, dev := range d.addrs[ai].inside {
			h.add(hashDevice(d.devs.devs[dev]))
		}
		insideAll[ai] = h
		return h
	}
	margin := int32(o.ShareMargin / day)
	gap := int64(o.LeaseGap)
	shared := map[int32]int{} // address -> index in result.shared
	var windows []addrWindow
	for i := 0; i < len(uses); {
		j := i + 1
		for j < len(uses) && uses[j].comp == uses[i].comp && uses[j].addr == uses[i].addr && uses[j].t-uses[j-1].t <= gap {
			j++
		}
		w := d.window(uses[i:j])
		ai := w.addr
		w.in, w.out, w.more = d.usesBetween(ai, dayOf(w.first)-margin, dayOf(w.last)+margin, insideOf(ai))
		// Members of other compounds using it inside theirs meanwhile are
		// outside users too.
		if n := ix.others(w.comp, ai, w.first-int64(o.ShareMargin), w.last+int64(o.ShareMargin), ix.usedAt(w.comp, ai)); n > 0 {
			w.in, w.out = max(w.in-n, w.devices), w.out+n
		}
		if w.in+w.out > 0 {
			w.share = float64(w.out) / float64(w.in+w.out)
		}
		switch {
		case w.out >= o.MinOutsideDevices && w.share > o.MaxOutsideShare:
			k, ok := shared[ai]
			if !ok {
				k = len(d.result.shared)
				shared[ai] = k
				d.result.shared = append(d.result.shared, sharedAddr{addr: ai, prefix: w.prefix, in: w.in, out: w.out,
					more: w.more, share: w.share, first: w.first, last: w.last})
			}
			s := &d.result.shared[k]
			s.addUse(w.comp, int32(w.devices))
		case w.share > o.MaxCompetingShare:
			d.sum.Addresses.Contested++
		case w.devices < o.MinAddrDevices || w.days < o.MinAddrDays:
			w.continued = true // kept if another window of it has the support
			windows = append(windows, w)
		default:
			windows = append(windows, w)
		}
		i = j
	}
	return windows, shared
}

// keepSupported keeps the windows with the support, and those without it
// of an address that has it at the same compound in another window: the
// compound's line seen again by fewer of its members, with no one else on
// it.
func (d *deriver) keepSupported(windows []addrWindow) []addrWindow {
	as := &d.sum.Addresses
	supported := map[[2]int32]bool{}
	for _, w := range windows {
		if !w.continued {
			supported[[2]int32{w.comp, w.addr}] = true
		}
	}
	kept := windows[:0]
	for _, w := range windows {
		switch {
		case !w.continued:
		case supported[[2]int32{w.comp, w.addr}]:
			as.Continued++
		default:
			as.Unsupported++
			continue
		}
		kept = append(kept, w)
	}
	return kept
}

// addUse notes the members of a compound that used a shared address.
func (s *sharedAddr) addUse(comp, devices int32) {
	for i := range s.comps {
		if s.comps[i].comp == comp {
			s.comps[i].devices = max(s.comps[i].devices, devices)
			return
		}
	}
	s.comps = append(s.comps, compUse{comp, devices})
}

// window sums up one lease window of uses of one address at one compound.
func (d *deriver) window(us []addrUse) addrWindow {
	w := addrWindow{comp: us[0].comp, addr: us[0].addr, first: us[0].t, last: us[len(us)-1].t, obs: int64(len(us))}
	k := d.addrs[w.addr].key
	bits := 32
	if k.Is6() {
		bits = 64
	}
	w.prefix = netip.PrefixFrom(k, bits)
	var devs idSet
	var days daySet
	for _, u := range us {
		devs.add(u.dev)
		days.add(u.day)
		if i, found := slices.BinarySearch(w.files, u.file); !found {
			w.files = slices.Insert(w.files, i, u.file)
		}
	}
	w.devices, w.days = len(devs), len(days)
	return w
}

// mergeDelegations replaces IPv6 /64 windows of one compound by their /56
// when two or more /64 of that /56 are indicators with windows no more
// than a lease gap apart: a delegated prefix whose subnets (or whose
// successive /64 on reconnection) the compound's devices show.
func (d *deriver) mergeDelegations(ws []addrWindow) []addrWindow {
	type key struct {
		comp int32
		p56  netip.Prefix
	}
	groups := map[key][]int{}
	var order []key
	for i, w := range ws {
		if !w.prefix.Addr().Is6() {
			continue
		}
		p, _ := w.prefix.Addr().Prefix(56)
		k := key{w.comp, p}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	drop := make([]bool, len(ws))
	var out []addrWindow
	gap := int64(d.o.LeaseGap)
	for _, k := range order {
		idx := groups[k]
		slices.SortFunc(idx, func(a, b int) int { return cmp64(ws[a].first, ws[b].first) })
		for i := 0; i < len(idx); {
			j, last := i+1, ws[idx[i]].last
			for j < len(idx) && ws[idx[j]].first-last <= gap {
				last = max(last, ws[idx[j]].last)
				j++
			}
			distinct := map[netip.Prefix]bool{}
			for _, x := range idx[i:j] {
				distinct[ws[x].prefix] = true
			}
			if len(distinct) >= 2 {
				m := addrWindow{comp: k.comp, addr: -1, prefix: k.p56, first: ws[idx[i]].first, last: last, merged: len(distinct)}
				var files []uint16
				for _, x := range idx[i:j] {
					w := &ws[x]
					drop[x] = true
					m.devices += w.devices
					m.days = max(m.days, w.days)
					m.obs += w.obs
					m.in += w.in
					m.out += w.out
					m.more = m.more || w.more
					files = append(files, w.files...)
				}
				slices.Sort(files)
				m.files = slices.Compact(files)
				if m.in+m.out > 0 {
					m.share = float64(m.out) / float64(m.in+m.out)
				}
				out = append(out, m)
				d.sum.Addresses.Delegations++
			}
			i = j
		}
	}
	for i, w := range ws {
		if !drop[i] {
			out = append(out, w)
		}
	}
	return out
}
