// Package match holds the index of a registry and the matcher that turns a
// report into findings. It is pure logic on seams types: no I/O, no
// goroutines. The hot path is Matcher.Match, called once per report.
package match

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/seams-dev/seams"
)

// Index is a frozen, read-only index of a registry: the compounds, their
// indicators and the shared address space. It is safe for concurrent use by
// any number of Matchers.
type Index struct {
	compounds []seams.Compound
	inds      []seams.Indicator

	// Every distinct address (ip indicators, as full-length prefixes) and
	// prefix (cidr indicators) is a node of one table, so one lookup answers
	// both the exact-address and the containing-prefix question: the node
	// found is the innermost, and its parents are the enclosing prefixes.
	addrs   table
	nodes   []node
	entries []entry // grouped by node, in indicator order within a node

	devices map[string]span // device indicator value (type:value) -> entries

	shared      table
	sharedNames []netip.Prefix
}

// node is one distinct address or prefix of the registry.
type node struct {
	span
	exact bool // a full-length prefix: an ip indicator's address
}

type span struct{ off, n uint32 }

// entry is one indicator under a node, with its window in Unix nanoseconds
// (math.MinInt64 / math.MaxInt64 for an open side). It is what the hot loop
// reads, so it is kept small and free of pointers.
type entry struct {
	first, last int64
	ind         int32 // index into inds
	compound    int32 // index into compounds
}

// NewIndex builds the index of a registry. Every indicator must name a
// compound of compounds. 100.64.0.0/10 is always part of the shared space,
// whether shared lists it or not. The index keeps compounds and inds.
func NewIndex(compounds []seams.Compound, inds []seams.Indicator, shared []netip.Prefix) (*Index, error) {
	x := &Index{compounds: compounds, inds: inds, devices: make(map[string]span)}
	byID := make(map[string]int32, len(compounds))
	for i, c := range compounds {
		if _, dup := byID[c.ID]; dup {
			return nil, fmt.Errorf("index: duplicate compound id %q", c.ID)
		}
		byID[c.ID] = int32(i)
	}

	type keyed struct {
		p   netip.Prefix
		dev string
		ind int32
	}
	var addrKeys, devKeys []keyed
	for i := range inds {
		in := &inds[i]
		if _, ok := byID[in.Compound]; !ok {
			return nil, fmt.Errorf("index: indicator %s %s names unknown compound %q", in.Kind, in.Value, in.Compound)
		}
		switch in.Kind {
		case seams.KindIP:
			addrKeys = append(addrKeys, keyed{p: netip.PrefixFrom(in.Addr, in.Addr.BitLen()), ind: int32(i)})
		case seams.KindCIDR:
			addrKeys = append(addrKeys, keyed{p: in.Prefix, ind: int32(i)})
		case seams.KindDevice:
			devKeys = append(devKeys, keyed{dev: in.Value, ind: int32(i)})
		default:
			return nil, fmt.Errorf("index: indicator %q has unknown kind %d", in.Value, in.Kind)
		}
	}
	entryOf := func(ind int32) entry {
		in := &inds[ind]
		e := entry{first: math.MinInt64, last: math.MaxInt64, ind: ind, compound: byID[in.Compound]}
		if !in.Window.First.IsZero() {
			e.first = in.Window.First.UnixNano()
		}
		if !in.Window.Last.IsZero() {
			e.last = in.Window.Last.UnixNano()
		}
		return e
	}

	// Group by key, keeping indicator order inside a group (a stable sort
	// on the key alone would do; comparing ind as well makes it explicit).
	slices.SortFunc(addrKeys, func(a, b keyed) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.p.Bits(), b.p.Bits()); c != 0 {
			return c
		}
		return cmp.Compare(a.ind, b.ind)
	})
	x.entries = make([]entry, 0, len(addrKeys))
	var prefixes []netip.Prefix
	for i, k := range addrKeys {
		if i == 0 || k.p != addrKeys[i-1].p {
			prefixes = append(prefixes, k.p)
			x.nodes = append(x.nodes, node{span: span{off: uint32(len(x.entries))}, exact: k.p.IsSingleIP()})
		}
		x.nodes[len(x.nodes)-1].n++
		x.entries = append(x.entries, entryOf(k.ind))
	}
	x.addrs = buildTable(prefixes)

	// Device entries follow the address entries in the same array.
	slices.SortFunc(devKeys, func(a, b keyed) int {
		if c := cmp.Compare(a.dev, b.dev); c != 0 {
			return c
		}
		return cmp.Compare(a.ind, b.ind)
	})
	for i, k := range devKeys {
		if i == 0 || k.dev != devKeys[i-1].dev {
			x.devices[k.dev] = span{off: uint32(len(x.entries))}
		}
		s := x.devices[k.dev]
		s.n++
		x.devices[k.dev] = s
		x.entries = append(x.entries, entryOf(k.ind))
	}

	x.sharedNames = append([]netip.Prefix{seams.CarrierNAT}, shared...)
	slices.SortFunc(x.sharedNames, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	})
	x.sharedNames = slices.Compact(x.sharedNames)
	x.shared = buildTable(x.sharedNames)
	return x, nil
}

// Compounds returns the compounds of the index, in the order given.
func (x *Index) Compounds() []seams.Compound { return x.compounds }

// Indicators returns the indicators of the index, in the order given.
func (x *Index) Indicators() []seams.Indicator { return x.inds }

// SharedPrefixes returns the distinct prefixes of the shared space, sorted,
// including 100.64.0.0/10.
func (x *Index) SharedPrefixes() []netip.Prefix { return x.sharedNames }

// Shared returns the innermost shared-space prefix containing addr, or false.
func (x *Index) Shared(addr netip.Addr) (netip.Prefix, bool) {
	if n := x.shared.lookup(addr); n >= 0 {
		return x.sharedNames[n], true
	}
	return netip.Prefix{}, false
}

// Bytes estimates the memory the index holds beyond the indicators
// themselves: tables, nodes, entries and the device map.
func (x *Index) Bytes() int {
	const entrySize, nodeSize, mapSlot = 24, 12, 40
	return x.addrs.bytes() + x.shared.bytes() + nodeSize*len(x.nodes) + entrySize*len(x.entries) + mapSlot*len(x.devices)
}
