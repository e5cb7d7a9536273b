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
	starts4 []uint32
	nodes4  []int32 // prefix index of the interval, or -1
	bucket4 []uint32
	starts6 []u128
	nodes6  []int32
	parent  []int32 // for each prefix, the index of the enclosing prefix or -1
}

// u128 is an IPv6 address (or an IPv4 one in the low 32 bits) as an integer.
type u128 struct{ hi, lo uint64 }

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

// next returns u+1 and whether it overflowed past the largest value.
func (u u128) next() (u128, bool) {
	lo := u.lo + 1
	hi := u.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, true
		}
	}
	return u128{hi, lo}, false
}

func key6(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func key4(a netip.Addr) uint32 {
	b := a.As4() // As4 returns an array: no allocation, and it inlines
	return binary.BigEndian.Uint32(b[:])
}

// bounds returns the first and last address of p as integers in its family:
// for IPv4 the address is in the low 32 bits.
func bounds(p netip.Prefix) (first, last u128) {
	if p.Addr().Is4() {
		f := uint64(key4(p.Addr()))
		span := uint64(1)<<(32-p.Bits()) - 1
		return u128{0, f}, u128{0, f | span}
	}
	f := key6(p.Addr())
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

// buildTable builds the table of prefixes ps, which must be distinct and
// masked. Node ids are indexes into ps.
func buildTable(ps []netip.Prefix) table {
	t := table{parent: make([]int32, len(ps))}
	var v4, v6 []int32
	for i, p := range ps {
		if p.Addr().Is4() {
			v4 = append(v4, int32(i))
		} else {
			v6 = append(v6, int32(i))
		}
	}
	s4, n4 := sweep(ps, v4, t.parent, u128{0, 1<<32 - 1})
	t.starts4 = make([]uint32, len(s4))
	for i, s := range s4 {
		t.starts4[i] = uint32(s.lo)
	}
	t.nodes4 = n4
	t.starts6, t.nodes6 = sweep(ps, v6, t.parent, u128{^uint64(0), ^uint64(0)})

	// bucket4[h] is the interval containing h<<16; the intervals that can
	// contain an address of the /16 h are bucket4[h]..bucket4[h+1].
	t.bucket4 = make([]uint32, 1<<16+1)
	j := 0
	for h := range 1 << 16 {
		a := uint32(h) << 16
		for j+1 < len(t.starts4) && t.starts4[j+1] <= a {
			j++
		}
		t.bucket4[h] = uint32(j)
	}
	t.bucket4[1<<16] = uint32(len(t.starts4) - 1)
	return t
}

// sweep computes the elementary intervals of the prefixes ids (all of one
// family, whose largest address is top) and fills parent for them. The first
// interval starts at zero.
func sweep(ps []netip.Prefix, ids []int32, parent []int32, top u128) ([]u128, []int32) {
	type item struct {
		first, last u128
		id          int32
	}
	items := make([]item, len(ids))
	for i, id := range ids {
		f, l := bounds(ps[id])
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
			nx, _ := t.last.next()
			emit(nx, enclosing())
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
		return t.lookup4(key4(a))
	}
	return t.lookup6(key6(a))
}

func (t *table) lookup4(k uint32) int32 {
	h := k >> 16
	lo, hi := int(t.bucket4[h]), int(t.bucket4[h+1])
	// Find the last start <= k in starts4[lo..hi]; starts4[lo] <= k holds.
	for lo < hi {
		m := int(uint(lo+hi+1) >> 1)
		if t.starts4[m] <= k {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return t.nodes4[lo]
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
	return 4*len(t.starts4) + 4*len(t.nodes4) + 4*len(t.bucket4) + 16*len(t.starts6) + 4*len(t.nodes6) + 4*len(t.parent)
}
