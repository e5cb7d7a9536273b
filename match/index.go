// Package match holds the index of a registry and the matcher that turns a
// report into findings. It is pure logic on seams types: no I/O, no
// goroutines. The hot path is Matcher.Match, called once per report.
package match

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/seams-dev/seams"
)

// Index is a frozen, read-only index of a registry: the compounds, their
// indicators and the shared address space. It is safe for concurrent use by
// any number of Matchers. Build one with a Builder, or NewIndex.
//
// An index does not keep the seams.Indicator values it was built from: it
// keeps a compact record of each (about 56 bytes, without pointers, so the
// garbage collector never scans them) and rebuilds an Indicator only when
// one appears as evidence.
type Index struct {
	compounds []seams.Compound

	// Every distinct address (ip indicators, as full-length prefixes) and
	// prefix (cidr indicators) is a node of one table, so one lookup answers
	// both the exact-address and the containing-prefix question: the node
	// found is the innermost, and its parents are the enclosing prefixes.
	addrs table
	nodes []node
	v6    []netip.Addr // the addresses of IPv6 nodes

	metas   []meta          // grouped by node, then by device; read order within a group
	devices map[string]span // device (type:value) -> metas
	devKeys []string        // device of each device group, by meta.ref

	sources []string // distinct sources, by meta.source
	files   []string // distinct files, by meta.file
	asnOf   map[uint32]uint32
	// driftOf holds the drift bounds of indicators that have one (flag
	// ownDrift) other than zero, by ord: bounds are rare but for zero
	// (seams derive writes it on every address it observed), which needs
	// no entry, so a meta stays 48 bytes.
	driftOf map[uint32]time.Duration

	shared      table
	sharedNames []netip.Prefix
	sharedWhy   []string // why each is shared

	counts Counts
}

// Counts says how many indicators of each kind an index holds.
type Counts struct {
	IP, CIDR, Device, ASN int
}

// node is one distinct address or prefix of the registry.
type node struct {
	span
	addr  uint32 // the IPv4 address, or the index in v6 of an IPv6 one
	bits  uint8
	exact bool // a full-length prefix: an ip indicator's address
	is6   bool
}

type span struct{ off, n uint32 }

// meta is what the index keeps of one indicator. The matcher reads first,
// last and compound for every candidate; the rest is provenance, read only
// to rebuild the indicator for evidence.
type meta struct {
	first, last int64 // window in Unix nanoseconds; MinInt64/MaxInt64 when open
	conf        float64
	ord         uint32 // the order in which the indicator was added
	line        uint32
	compound    int32
	ref         int32 // node of an ip or cidr indicator; device group of a device
	source      uint32
	file        uint16
	kind        seams.Kind
	flags       uint8
}

const (
	hasConf uint8 = 1 << iota
	openFirst
	openLast
	ownDrift // the indicator bounds rule ip-drift itself (driftOf; zero when absent)
)

// Builder collects indicators, one at a time, into an Index.
type Builder struct {
	compounds []seams.Compound
	byID      map[string]int32
	metas     blocks[meta] // in the order added
	keys4     blocks[key4]
	keys6     blocks[key6]
	devs      blocks[devKey]
	sources   map[string]uint32
	files     map[string]uint16
	idx       Index
	shared    []netip.Prefix
	sharedWhy []string
	asnOf     map[uint32]uint32 // ord -> AS number, of asn indicators
	driftOf   map[uint32]time.Duration

	// The compound, source and file of the last indicator added: the
	// next one usually has the same, and needs no map lookup.
	last struct {
		compound, source, file string
		c                      int32
		s                      uint32
		f                      uint16
		cOK, sOK, fOK          bool
	}
}

type key4 struct {
	k   uint64 // address << 8 | prefix length
	ord uint32
}

type key6 struct {
	hi, lo uint64
	bits   uint8
	ord    uint32
}

var devSeed = maphash.MakeSeed()

type devKey struct {
	h   uint64 // hash of v, so that sorting compares integers first
	v   string
	ord uint32
}

// blocks is an append-only sequence kept in fixed-size blocks: appending
// never copies what is already there, as growing one slice of millions of
// records would, several times over.
type blocks[T any] struct {
	b [][]T
	n int
}

const blockBits = 16

func (s *blocks[T]) add(v T) {
	if s.n&(1<<blockBits-1) == 0 {
		s.b = append(s.b, make([]T, 0, 1<<blockBits))
	}
	s.b[len(s.b)-1] = append(s.b[len(s.b)-1], v)
	s.n++
}

func (s *blocks[T]) at(i uint32) *T { return &s.b[i>>blockBits][i&(1<<blockBits-1)] }

// flat returns the elements as one slice and empties s.
func (s *blocks[T]) flat() []T {
	out := make([]T, 0, s.n)
	for _, b := range s.b {
		out = append(out, b...)
	}
	*s = blocks[T]{}
	return out
}

// NewBuilder starts an index of the given compounds, whose ids must be
// distinct. The builder keeps compounds.
func NewBuilder(compounds []seams.Compound) (*Builder, error) {
	b := &Builder{compounds: compounds, byID: make(map[string]int32, len(compounds)),
		sources: map[string]uint32{}, files: map[string]uint16{}}
	for i, c := range compounds {
		if _, dup := b.byID[c.ID]; dup {
			return nil, fmt.Errorf("index: duplicate compound id %q", c.ID)
		}
		b.byID[c.ID] = int32(i)
	}
	return b, nil
}

// Add adds one indicator. It copies what the index needs, so in may be
// reused after Add returns. It refuses an indicator of an unknown compound
// or kind, and an asn indicator, which needs AddASN; other validation is
// the reader's.
func (b *Builder) Add(in *seams.Indicator) error {
	if in.Kind == seams.KindASN {
		return fmt.Errorf("index: asn indicator %s needs the networks of its AS (AddASN)", in.Value)
	}
	return b.add(in, nil)
}

// AddASN adds an asn indicator: an event at an address of one of the
// networks its AS announces (as an ASN database gives them) is evidence,
// rule asn, when inside the window. The networks may nest: an address in
// several of them is one piece of evidence.
func (b *Builder) AddASN(in *seams.Indicator, networks []netip.Prefix) error {
	if in.Kind != seams.KindASN {
		return fmt.Errorf("index: AddASN of a %s indicator", in.Kind)
	}
	if b.asnOf == nil {
		b.asnOf = map[uint32]uint32{}
	}
	b.asnOf[uint32(b.metas.n)] = in.ASN
	b.idx.counts.ASN++
	return b.add(in, networks)
}

func (b *Builder) add(in *seams.Indicator, networks []netip.Prefix) error {
	l := &b.last
	if !l.cOK || in.Compound != l.compound {
		c, ok := b.byID[in.Compound]
		if !ok {
			return fmt.Errorf("index: indicator %s %s names unknown compound %q", in.Kind, in.Value, in.Compound)
		}
		l.compound, l.c, l.cOK = in.Compound, c, true
	}
	if b.metas.n == math.MaxUint32 {
		return fmt.Errorf("index: more than %d indicators", math.MaxUint32)
	}
	if !l.sOK || in.Source != l.source {
		l.source, l.s, l.sOK = in.Source, intern(b.sources, in.Source), true
	}
	if !l.fOK || in.File != l.file {
		f, ok := b.files[in.File]
		if !ok {
			if len(b.files) == math.MaxUint16 {
				return fmt.Errorf("index: indicators from more than %d files", math.MaxUint16)
			}
			f = uint16(len(b.files))
			b.files[in.File] = f
		}
		l.file, l.f, l.fOK = in.File, f, true
	}
	ord := uint32(b.metas.n)
	m := meta{first: math.MinInt64, last: math.MaxInt64, ord: ord, line: uint32(max(min(in.Line, math.MaxUint32), 0)),
		compound: l.c, kind: in.Kind, conf: in.Confidence}
	if in.Window.First.IsZero() {
		m.flags |= openFirst
	} else {
		m.first = in.Window.First.UnixNano()
	}
	if in.Window.Last.IsZero() {
		m.flags |= openLast
	} else {
		m.last = in.Window.Last.UnixNano()
	}
	if in.HasConfidence {
		m.flags |= hasConf
	}
	if in.HasDrift {
		if in.Drift < 0 {
			return fmt.Errorf("index: indicator %s %q has a negative drift bound %s", in.Kind, in.Value, in.Drift)
		}
		m.flags |= ownDrift
		if in.Drift > 0 {
			if b.driftOf == nil {
				b.driftOf = map[uint32]time.Duration{}
			}
			b.driftOf[ord] = in.Drift
		}
	}
	m.source, m.file = l.s, l.f

	var ps []netip.Prefix
	switch in.Kind {
	case seams.KindIP:
		ps = []netip.Prefix{netip.PrefixFrom(in.Addr, in.Addr.BitLen())}
	case seams.KindCIDR:
		ps = []netip.Prefix{in.Prefix}
	case seams.KindASN:
		ps = networks
	case seams.KindDevice:
		if in.Value == "" {
			return fmt.Errorf("index: device indicator without a value")
		}
		b.devs.add(devKey{maphash.String(devSeed, in.Value), in.Value, ord})
	default:
		return fmt.Errorf("index: indicator %q has unknown kind %d", in.Value, in.Kind)
	}
	for _, p := range ps {
		if !p.IsValid() || p.Masked() != p {
			return fmt.Errorf("index: indicator %s %q: %s is not a valid masked prefix", in.Kind, in.Value, p)
		}
		if p.Addr().Is4() {
			b.keys4.add(key4{uint64(key4Of(p.Addr()))<<8 | uint64(p.Bits()), ord})
		} else {
			k := key6Of(p.Addr())
			b.keys6.add(key6{k.hi, k.lo, uint8(p.Bits()), ord})
		}
	}
	b.metas.add(m)
	return nil
}

func intern(m map[string]uint32, s string) uint32 {
	i, ok := m[s]
	if !ok {
		i = uint32(len(m))
		m[s] = i
	}
	return i
}

// AddShared adds prefixes to the shared space. 100.64.0.0/10 is always in it.
func (b *Builder) AddShared(ps ...netip.Prefix) { b.AddSharedWhy("", ps...) }

// AddSharedWhy adds prefixes to the shared space, saying why they are
// there ("listed in shared.txt", "AS14593 SpaceX Starlink, listed in
// shared-asn"): evidence at an address in them carries the reason. Of a
// prefix added twice, the first reason stands.
func (b *Builder) AddSharedWhy(why string, ps ...netip.Prefix) {
	b.shared = append(b.shared, ps...)
	for range ps {
		b.sharedWhy = append(b.sharedWhy, why)
	}
}

// CarrierNATWhy is why 100.64.0.0/10 is shared.
const CarrierNATWhy = "carrier-grade NAT (RFC 6598), always shared"

// Build freezes the index. The Builder must not be used afterwards.
func (b *Builder) Build() (*Index, error) {
	x := &b.idx
	x.compounds = b.compounds
	x.asnOf = b.asnOf
	x.driftOf = b.driftOf
	x.devices = make(map[string]span, b.devs.n)
	metas := make([]meta, 0, b.metas.n)

	// Group the address indicators into nodes: one per distinct prefix,
	// indicators in the order added within a node. Keys were added in
	// that order, so a stable sort by prefix is enough.
	keys4 := b.keys4.flat()
	sortKeys4(keys4)
	nodes := 0
	for i, k := range keys4 {
		if i == 0 || k.k != keys4[i-1].k {
			nodes++
		}
	}
	keys6 := b.keys6.flat()
	x.nodes = make([]node, 0, nodes+len(keys6))
	for base := 0; base < len(keys4); base += gatherAhead {
		ks := keys4[base:min(base+gatherAhead, len(keys4))]
		// The indicators of a run of keys are all over b.metas: read one
		// word of each first, so that their cache misses overlap rather
		// than come one at a time.
		var sink int64
		for _, k := range ks {
			m := b.metas.at(k.ord)
			sink += m.first + int64(m.flags) // a meta may span two cache lines
		}
		gathered = sink
		for i, k := range ks {
			if base+i == 0 || k.k != keys4[base+i-1].k {
				bits := uint8(k.k)
				x.nodes = append(x.nodes, node{span: span{off: uint32(len(metas))}, addr: uint32(k.k >> 8), bits: bits, exact: bits == 32})
			}
			metas = x.appendMeta(metas, *b.metas.at(k.ord), int32(len(x.nodes)-1))
		}
	}
	keys4 = nil
	slices.SortFunc(keys6, func(a, c key6) int {
		switch {
		case a.hi != c.hi:
			return cmp.Compare(a.hi, c.hi)
		case a.lo != c.lo:
			return cmp.Compare(a.lo, c.lo)
		case a.bits != c.bits:
			return cmp.Compare(a.bits, c.bits)
		}
		return cmp.Compare(a.ord, c.ord)
	})
	for i, k := range keys6 {
		if i == 0 || k.hi != keys6[i-1].hi || k.lo != keys6[i-1].lo || k.bits != keys6[i-1].bits {
			x.nodes = append(x.nodes, node{span: span{off: uint32(len(metas))}, addr: uint32(len(x.v6)), bits: k.bits, exact: k.bits == 128, is6: true})
			x.v6 = append(x.v6, addrOf6(u128{k.hi, k.lo}))
		}
		metas = x.appendMeta(metas, *b.metas.at(k.ord), int32(len(x.nodes)-1))
	}
	x.addrs = buildTable(len(x.nodes), x.prefix)

	// Device indicators follow, grouped by device.
	devs := b.devs.flat()
	sortDevs(devs)
	for i := 0; i < len(devs); {
		// The indicators of one device.
		v, off := devs[i].v, len(metas)
		x.devKeys = append(x.devKeys, v)
		for ; i < len(devs) && devs[i].v == v; i++ {
			metas = append(metas, *b.metas.at(devs[i].ord))
			metas[len(metas)-1].ref = int32(len(x.devKeys) - 1)
			x.counts.Device++
		}
		x.devices[v] = span{off: uint32(off), n: uint32(len(metas) - off)}
	}
	b.metas = blocks[meta]{}
	x.metas = metas

	x.sources = make([]string, len(b.sources))
	for s, i := range b.sources {
		x.sources[i] = s
	}
	x.files = make([]string, len(b.files))
	for f, i := range b.files {
		x.files[i] = f
	}

	type sharedPrefix struct {
		p   netip.Prefix
		why string
	}
	sh := []sharedPrefix{{seams.CarrierNAT, CarrierNATWhy}}
	for i, p := range b.shared {
		sh = append(sh, sharedPrefix{p, b.sharedWhy[i]})
	}
	slices.SortStableFunc(sh, func(a, b sharedPrefix) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	sh = slices.CompactFunc(sh, func(a, b sharedPrefix) bool { return a.p == b.p })
	x.sharedNames, x.sharedWhy = make([]netip.Prefix, len(sh)), make([]string, len(sh))
	for i := range sh {
		x.sharedNames[i], x.sharedWhy[i] = sh[i].p, sh[i].why
	}
	x.shared = buildTable(len(x.sharedNames), func(i int) netip.Prefix { return x.sharedNames[i] })
	return x, nil
}

// gatherAhead is how many indicators Build reads ahead of copying them.
const gatherAhead = 32

// gathered keeps Build's reads ahead from being optimized away.
var gathered int64

// sortKeys4 sorts keys by k, keeping the order of equal keys: a radix sort
// by byte, least significant first, of the 40 bits a key uses. On a million
// keys it is several times faster than a comparison sort.
func sortKeys4(keys []key4) {
	if len(keys) < 1<<10 {
		slices.SortStableFunc(keys, func(a, c key4) int { return cmp.Compare(a.k, c.k) })
		return
	}
	const digits = 5 // k is an IPv4 address << 8 | a prefix length
	var count [digits][256]int
	for _, k := range keys {
		for d := range digits {
			count[d][byte(k.k>>(8*d))]++
		}
	}
	src, dst := keys, make([]key4, len(keys))
	for d := range digits {
		c := &count[d]
		if c[byte(src[0].k>>(8*d))] == len(src) {
			continue // every key has this byte: nothing to move
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, k := range src {
			i := &c[byte(k.k>>(8*d))]
			dst[*i] = k
			*i++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// sortDevs sorts devices by hash, then value, keeping the order of equal
// ones (the order added): a radix sort by hash, as sortKeys4, then a sort
// by value of the rare runs of one hash.
func sortDevs(devs []devKey) {
	byValue := func(a, c devKey) int { return cmp.Compare(a.v, c.v) }
	if len(devs) < 1<<10 {
		slices.SortStableFunc(devs, func(a, c devKey) int {
			if a.h != c.h {
				return cmp.Compare(a.h, c.h)
			}
			return byValue(a, c)
		})
		return
	}
	const digits = 8
	var count [digits][256]int
	for _, d := range devs {
		for i := range digits {
			count[i][byte(d.h>>(8*i))]++
		}
	}
	src, dst := devs, make([]devKey, len(devs))
	for i := range digits {
		c := &count[i]
		if c[byte(src[0].h>>(8*i))] == len(src) {
			continue
		}
		sum := 0
		for j, n := range c {
			c[j] = sum
			sum += n
		}
		for _, d := range src {
			j := &c[byte(d.h>>(8*i))]
			dst[*j] = d
			*j++
		}
		src, dst = dst, src
	}
	if &src[0] != &devs[0] {
		copy(devs, src)
	}
	for i := 0; i < len(devs); {
		j := i + 1
		for j < len(devs) && devs[j].h == devs[i].h {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(devs[i:j], byValue)
		}
		i = j
	}
}

// appendMeta appends m as an indicator of node n, counting it.
func (x *Index) appendMeta(metas []meta, m meta, n int32) []meta {
	m.ref = n
	x.nodes[n].n++
	if m.kind == seams.KindASN {
		// Counted once by AddASN: it has a record per network.
	} else if x.nodes[n].exact {
		x.counts.IP++
	} else {
		x.counts.CIDR++
	}
	return append(metas, m)
}

// prefix returns the prefix of node i.
func (x *Index) prefix(i int) netip.Prefix {
	nd := &x.nodes[i]
	if nd.is6 {
		return netip.PrefixFrom(x.v6[nd.addr], int(nd.bits))
	}
	a := nd.addr
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), int(nd.bits))
}

// NewIndex builds the index of a registry in one call. Every indicator must
// name a compound of compounds. 100.64.0.0/10 is always part of the shared
// space, whether shared lists it or not.
func NewIndex(compounds []seams.Compound, inds []seams.Indicator, shared []netip.Prefix) (*Index, error) {
	b, err := NewBuilder(compounds)
	if err != nil {
		return nil, err
	}
	for i := range inds {
		if err := b.Add(&inds[i]); err != nil {
			return nil, err
		}
	}
	b.AddShared(shared...)
	return b.Build()
}

// Compounds returns the compounds of the index, in the order given.
func (x *Index) Compounds() []seams.Compound { return x.compounds }

// Counts returns how many indicators of each kind the index holds.
func (x *Index) Counts() Counts { return x.counts }

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

// SharedWhy returns why the shared prefix p (one of SharedPrefixes) is
// shared, as its list said; "" if no reason was given.
func (x *Index) SharedWhy(p netip.Prefix) string {
	if i, ok := slices.BinarySearchFunc(x.sharedNames, p, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	}); ok {
		return x.sharedWhy[i]
	}
	return ""
}

// Indicator rebuilds indicator i (an index into the index's records) into
// dst. value, when not empty, is used as the indicator's text instead of
// formatting it anew (the matcher caches it).
func (x *Index) indicator(i int32, dst *seams.Indicator, value string) {
	m := &x.metas[i]
	*dst = seams.Indicator{
		Compound:      x.compounds[m.compound].ID,
		Kind:          m.kind,
		Confidence:    m.conf,
		HasConfidence: m.flags&hasConf != 0,
		Drift:         x.driftOf[m.ord],
		HasDrift:      m.flags&ownDrift != 0,
		Source:        x.sources[m.source],
		File:          x.files[m.file],
		Line:          int(m.line),
	}
	if m.flags&openFirst == 0 {
		dst.Window.First = time.Unix(0, m.first).UTC()
	}
	if m.flags&openLast == 0 {
		dst.Window.Last = time.Unix(0, m.last).UTC()
	}
	switch m.kind {
	case seams.KindIP:
		dst.Addr = x.prefix(int(m.ref)).Addr()
		dst.Value = value
		if value == "" {
			dst.Value = dst.Addr.String()
		}
	case seams.KindCIDR:
		dst.Prefix = x.prefix(int(m.ref))
		dst.Value = value
		if value == "" {
			dst.Value = dst.Prefix.String()
		}
	case seams.KindDevice:
		dst.Value = x.devKeys[m.ref]
		dst.Device, _ = seams.ParseDeviceID(dst.Value)
	case seams.KindASN:
		dst.ASN = x.asnOf[m.ord]
		dst.Value = value
		if value == "" {
			dst.Value = seams.FormatASN(dst.ASN)
		}
	}
}

// Records returns how many indicator records the index holds: the refs of
// evidence (seams.Evidence.Ref) are 0 to Records()-1.
func (x *Index) Records() int { return len(x.metas) }

// Indicator returns the indicator of record ref.
func (x *Index) Indicator(ref int32) seams.Indicator {
	var in seams.Indicator
	x.indicator(ref, &in, "")
	return in
}

// Kind returns the kind of the indicator of record ref.
func (x *Index) Kind(ref int32) seams.Kind { return x.metas[ref].kind }

// Line returns the line of the indicator of record ref, as Indicator
// does, without building the indicator: a store's run maps every record
// to its indicator version by it.
func (x *Index) Line(ref int32) int { return int(x.metas[ref].line) }

// Bytes estimates the memory the index holds: tables, nodes, indicator
// records and the device map.
func (x *Index) Bytes() int {
	const metaSize, nodeSize, mapSlot = 56, 20, 48
	n := x.addrs.bytes() + x.shared.bytes() + nodeSize*len(x.nodes) + 16*len(x.v6) + metaSize*len(x.metas) + mapSlot*len(x.devices)
	for _, k := range x.devKeys {
		n += 16 + len(k)
	}
	return n
}
