package match

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// A table answers "which is the innermost prefix containing this address?"
// for a fixed set of prefixes, and "which prefix encloses that one?" by a
// parent array. Prefixes are laminar (two are either nested or disjoint), so
// the address space splits into at most 2n+1 elementary intervals, each
// covered by one innermost prefix (or none). We store the intervals' start
// addresses sorted, with the innermost prefix of each: a lookup is a binary
// search. For IPv4 a bucket array indexed by the top 16 bits narrows the
// search to the intervals of one /16 first, so a lookup touches the bucket,
// a few cache lines of starts, and the node: random lookups are bound by
// memory latency, and this keeps the number of misses small.
//
// The table is frozen: built once from a slice of prefixes and never edited.
type table struct {
	// iv4 holds the IPv4 intervals: start << 32 | uint32(node), sorted, so
	// that the node found is in the cache line the search last read.
	iv4     []uint64
	bucket4 []uint32
	starts6 []u128
	nodes6  []int32
	parent  []int32 // for each prefix, the index of the enclosing prefix or -1
}

// u128 is an IPv6 address (or an IPv4 one in the low 32 bits) as an integer.
type u128 struct{ hi, lo uint64 }

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

// next returns u+1 (wrapping past the largest value).
func (u u128) next() u128 {
	lo := u.lo + 1
	hi := u.hi
	if lo == 0 {
		hi++
	}
	return u128{hi, lo}
}

func key6Of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func key4Of(a netip.Addr) uint32 {
	b := a.As4() // As4 returns an array: no allocation, and it inlines
	return binary.BigEndian.Uint32(b[:])
}

// bounds returns the first and last address of p as integers in its family:
// for IPv4 the address is in the low 32 bits.
func bounds(p netip.Prefix) (first, last u128) {
	if p.Addr().Is4() {
		f := uint64(key4Of(p.Addr()))
		span := uint64(1)<<(32-p.Bits()) - 1
		return u128{0, f}, u128{0, f | span}
	}
	f := key6Of(p.Addr())
	bits := p.Bits()
	var mhi, mlo uint64 // host mask
	switch {
	case bits == 0:
		mhi, mlo = ^uint64(0), ^uint64(0)
	case bits < 64:
		mhi, mlo = ^uint64(0)>>bits, ^uint64(0)
	case bits < 128:
		mlo = ^uint64(0) >> (bits - 64)
	}
	return f, u128{f.hi | mhi, f.lo | mlo}
}

// addrOf6 is the inverse of key6Of.
func addrOf6(u u128) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

// buildTable builds the table of n prefixes, prefix i given by at(i). The
// prefixes must be distinct and masked. Node ids are their indexes.
func buildTable(n int, at func(int) netip.Prefix) table {
	t := table{parent: make([]int32, n)}
	var v4, v6 []int32
	for i := range n {
		if at(i).Addr().Is4() {
			v4 = append(v4, int32(i))
		} else {
			v6 = append(v6, int32(i))
		}
	}
	s4, n4 := sweep(at, v4, t.parent, u128{0, 1<<32 - 1})
	t.iv4 = make([]uint64, len(s4))
	for i, s := range s4 {
		t.iv4[i] = s.lo<<32 | uint64(uint32(n4[i]))
	}
	t.starts6, t.nodes6 = sweep(at, v6, t.parent, u128{^uint64(0), ^uint64(0)})

	// bucket4[h] is the interval containing h<<16; the intervals that can
	// contain an address of the /16 h are bucket4[h]..bucket4[h+1].
	t.bucket4 = make([]uint32, 1<<16+1)
	j := 0
	for h := range 1 << 16 {
		a := uint32(h) << 16
		for j+1 < len(t.iv4) && uint32(t.iv4[j+1]>>32) <= a {
			j++
		}
		t.bucket4[h] = uint32(j)
	}
	t.bucket4[1<<16] = uint32(len(t.iv4) - 1)
	return t
}

// sweep computes the elementary intervals of the prefixes ids (all of one
// family, whose largest address is top) and fills parent for them. The first
// interval starts at zero.
func sweep(at func(int) netip.Prefix, ids []int32, parent []int32, top u128) ([]u128, []int32) {
	type item struct {
		first, last u128
		id          int32
	}
	items := make([]item, len(ids))
	for i, id := range ids {
		f, l := bounds(at(int(id)))
		items[i] = item{f, l, id}
	}
	// Containing prefixes sort before the prefixes they contain.
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.first.less(b.first):
			return -1
		case b.first.less(a.first):
			return 1
		case b.last.less(a.last):
			return -1
		case a.last.less(b.last):
			return 1
		}
		return 0
	})
	starts := make([]u128, 0, 2*len(items)+1)
	nodes := make([]int32, 0, 2*len(items)+1)
	emit := func(s u128, n int32) {
		last := len(starts) - 1
		if last >= 0 && starts[last] == s {
			nodes[last] = n
			if last > 0 && nodes[last-1] == n {
				starts, nodes = starts[:last], nodes[:last]
			}
			return
		}
		if last >= 0 && nodes[last] == n {
			return
		}
		starts = append(starts, s)
		nodes = append(nodes, n)
	}
	emit(u128{}, -1)
	var stack []item
	enclosing := func() int32 {
		if len(stack) == 0 {
			return -1
		}
		return stack[len(stack)-1].id
	}
	pop := func() {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t.last != top { // a prefix ending at the top leaves nothing after it
			emit(t.last.next(), enclosing())
		}
	}
	for _, it := range items {
		for len(stack) > 0 && stack[len(stack)-1].last.less(it.first) {
			pop()
		}
		parent[it.id] = enclosing()
		emit(it.first, it.id)
		stack = append(stack, it)
	}
	for len(stack) > 0 {
		pop()
	}
	return starts, nodes
}

// lookup returns the innermost prefix containing a, or -1.
func (t *table) lookup(a netip.Addr) int32 {
	if a.Is4() {
		return t.lookup4(key4Of(a))
	}
	return t.lookup6(key6Of(a))
}

func (t *table) lookup4(k uint32) int32 {
	h := k >> 16
	lo, hi := int(t.bucket4[h]), int(t.bucket4[h+1])
	// Find the last start <= k in iv4[lo..hi]; iv4[lo]'s start <= k holds.
	for lo < hi {
		m := int(uint(lo+hi+1) >> 1)
		if uint32(t.iv4[m]>>32) <= k {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return int32(uint32(t.iv4[lo]))
}

func (t *table) lookup6(k u128) int32 {
	lo, hi := 0, len(t.starts6)-1
	for lo < hi {
		m := int(uint(lo+hi+1) >> 1)
		if !k.less(t.starts6[m]) {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return t.nodes6[lo]
}

// bytes returns the memory held by the table's arrays.
func (t *table) bytes() int {
	return 8*len(t.iv4) + 4*len(t.bucket4) + 16*len(t.starts6) + 4*len(t.nodes6) + 4*len(t.parent)
}

// lanes is how many IPv4 lookups lookupMany4 interleaves. A lookup is a
// chain of dependent loads, each likely a cache miss; the loads of different
// lookups are independent, so stepping many searches together keeps many
// misses in flight at once instead of waiting on one at a time.
const lanes = 16

// lookupMany4 sets out[i] to the innermost prefix containing the IPv4 key
// keys[i], as lookup4 would, for many keys at once. pending is scratch
// space, returned for reuse.
func (t *table) lookupMany4(keys []uint32, out []int32, pending []uint32) []uint32 {
	iv, bucket := t.iv4, t.bucket4
	// Most addresses fall in a /16 that one interval covers: answer those
	// at once, and queue the others for the interleaved search.
	pending = pending[:0]
	for i, k := range keys {
		h := k >> 16
		if lo := bucket[h]; lo == bucket[h+1] {
			out[i] = int32(uint32(iv[lo]))
		} else {
			pending = append(pending, uint32(i))
		}
	}
	for base := 0; base < len(pending); base += lanes {
		idx := pending[base:min(base+lanes, len(pending))]
		var lo, n, k [lanes]uint32
		var longest uint32
		for j, i := range idx {
			k[j] = keys[i]
			h := k[j] >> 16
			lo[j] = bucket[h]
			n[j] = bucket[h+1] - lo[j] + 1
			longest = max(longest, n[j])
		}
		// Every lane takes the same number of steps, and a step has no
		// branch on the data (the compiler turns the select into a
		// conditional move): a mispredicted branch would throw away the
		// loads in flight.
		for ; longest > 1; longest -= longest / 2 {
			for j := range idx {
				half := n[j] / 2
				var step uint32
				if uint32(iv[lo[j]+half]>>32) <= k[j] {
					step = half
				}
				lo[j] += step
				n[j] -= half
			}
		}
		for j, i := range idx {
			out[i] = int32(uint32(iv[lo[j]]))
		}
	}
	return pending
}
