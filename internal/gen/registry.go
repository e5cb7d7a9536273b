package gen

import (
	"bufio"
	"cmp"
	"slices"
	"strconv"
)

type kind uint8

const (
	kindIP kind = iota + 1
	kindCIDR
	kindDevice
)

// window is an indicator's window in Unix nanoseconds, closed on each side
// that is set, with the format each edge is written in.
type window struct {
	first, last       int64
	hasFirst, hasLast bool
	firstFmt, lastFmt timeFormat
}

func (w *window) contains(t int64) bool {
	return (!w.hasFirst || t >= w.first) && (!w.hasLast || t <= w.last)
}

// distance is how far t lies outside the window; zero inside.
func (w *window) distance(t int64) int64 {
	switch {
	case w.hasFirst && t < w.first:
		return w.first - t
	case w.hasLast && t > w.last:
		return t - w.last
	}
	return 0
}

// devKey is a device identifier: an IMEI (lo holds its 15 digits) or an
// advertising id (hi:lo, a UUID).
type devKey struct {
	typ    devType
	hi, lo uint64
}

type devType uint8

const (
	devIMEI devType = iota + 1
	devIDFA         // Apple's advertising id, upper-case UUID
	devAAID         // Android's advertising id, lower-case UUID
)

var devTypeNames = [...]string{devIMEI: "imei", devIDFA: "idfa", devAAID: "aaid"}
var devTypeUpper = [...]string{devIMEI: "IMEI", devIDFA: "IDFA", devAAID: "AAID"}

func cmpDev(a, b devKey) int {
	if c := cmp.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func appendDevValue(b []byte, d devKey) []byte {
	switch d.typ {
	case devIMEI:
		return appendDigits(b, d.lo, 15)
	case devIDFA:
		return appendUUID(b, d.hi, d.lo, true)
	}
	return appendUUID(b, d.hi, d.lo, false)
}

// TAC prefixes (reporting bodies) real IMEIs start with: 35 (BABT), 86 (TAF,
// China), 01 (PTCRB).
var imeiPrefixes = []uint64{35, 86, 1}

func newDevKey(r *rng) devKey {
	switch r.weighted([]int{60, 20, 20}) {
	case 0:
		body := imeiPrefixes[r.weighted([]int{50, 40, 10})]*1e12 + uint64(r.int64n(1e12))
		return devKey{typ: devIMEI, lo: body*10 + luhn(body, 14)}
	case 1:
		return uuid4(r, devIDFA)
	}
	return uuid4(r, devAAID)
}

func uuid4(r *rng, t devType) devKey {
	hi, lo := r.uint64(), r.uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(3<<62) | (2 << 62) // RFC 4122 variant
	return devKey{typ: t, hi: hi, lo: lo}
}

// spelling is how an indicator's value is written when the contract allows
// several spellings of one value.
type spelling uint8

const (
	spellPlain  spelling = iota
	spellMapped          // ip as ::ffff:a.b.c.d
	spellFull            // ip as kind cidr, a.b.c.d/32
	spellUpper           // device type in upper case
)

type indicator struct {
	win   window
	dev   devKey
	addr  uint32 // ip, or the first address of a cidr
	comp  int32
	kind  kind
	bits  uint8 // cidr
	spell spelling
	conf  uint8
	src   uint8
}

var confidences = []string{"", "high", "medium", "low", "0.95", "0.9", "0.8", "0.75", "0.7", "0.6", "0.5", "0.4"}
var confidenceWeights = []int{5, 25, 20, 10, 4, 6, 6, 5, 5, 4, 3, 2}
var sources = []string{"partner-a", "partner-b", "partner-c", "osint-synthetic", "hotline-synthetic"}
var sourceWeights = []int{35, 25, 15, 15, 10}

// registry is the generated compounds and indicators, and an index of them
// to work out the findings a report must produce.
type registry struct {
	space     *space
	compounds []*compound
	inds      []indicator
	rank      []int32 // rank[i]: compound i's position in id order
	// Indicators sorted for lookup.
	byAddr  []int32 // ip indicators by address
	byCIDR  []int32 // cidr indicators by first address, then length
	byDev   []int32 // device indicators by device
	devices map[devKey]struct{}
	// Indicators to plant reports on.
	plainIPs, sharedIPs, closedIPs, closedDevs []int32
	cidrBits                                   []uint8 // prefix lengths in use
}

// Calendar of the data: indicator windows fall in 2022-2025, reports are
// received in 2023-2025.
var (
	dayFirst    = daysFromCivil(2022, 1, 1)
	dayLastOpen = daysFromCivil(2025, 10, 31) // latest first day of a window
	dayLast     = daysFromCivil(2025, 12, 24) // last day of a window
	nsFirst     = dayFirst * nsDay
	nsLast      = (daysFromCivil(2025, 12, 31)+1)*nsDay - 1
	nsReceived  = daysFromCivil(2023, 1, 1) * nsDay
)

func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// Kinds of indicator, in percent.
const (
	pctDevice = 16
	pctCIDR   = 4
)

// Prefix lengths of cidr indicators and how often each is drawn.
var cidrLengths = []uint8{29, 28, 27, 26, 25, 24}
var cidrWeights = []int{35, 25, 15, 10, 5, 10}

// newRegistry generates the compounds and n indicators shared among them by
// weight.
func newRegistry(s *space, nCompounds, n int, r *rng) *registry {
	g := &registry{space: s, compounds: newCompounds(nCompounds, s, r), devices: map[devKey]struct{}{}}
	// Largest remainder: each compound gets its share of n by weight.
	total := 0
	for _, c := range g.compounds {
		total += c.weight
	}
	counts := make([]int, len(g.compounds))
	rem := make([]int, len(g.compounds))
	given := 0
	for i, c := range g.compounds {
		counts[i] = n * c.weight / total
		rem[i] = n * c.weight % total
		given += counts[i]
	}
	order := make([]int, len(counts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, i := range order[:n-given] {
		counts[i]++
	}
	// Compounds draw in turn, in random order weighted by what each has
	// left, so that when a large registry fills its carriers' space they
	// all share what is left rather than the first ones taking it all.
	g.inds = make([]indicator, 0, n)
	for left := n; left > 0; {
		x, ci := r.intn(left), 0
		for x >= counts[ci] {
			x -= counts[ci]
			ci++
		}
		added := g.addIndicator(int32(ci), g.compounds[ci], counts[ci], r)
		counts[ci] -= added
		left -= added
	}
	g.shareAcrossCompounds(r)
	// The file lists each compound's indicators together, as a registry
	// exported compound by compound would.
	g.inds = groupByCompound(g.inds, len(g.compounds))
	for _, c := range g.compounds {
		c.ips, c.cidrs, c.devices = nil, nil, nil // indexes into the order before sorting
	}
	g.index()
	return g
}

// groupByCompound orders indicators by compound, keeping their order within
// each (a counting sort: stable, and linear for a million rows).
func groupByCompound(inds []indicator, compounds int) []indicator {
	start := make([]int, compounds+1)
	for i := range inds {
		start[inds[i].comp+1]++
	}
	for c := 1; c <= compounds; c++ {
		start[c] += start[c-1]
	}
	out := make([]indicator, len(inds))
	for i := range inds {
		c := inds[i].comp
		out[start[c]] = inds[i]
		start[c]++
	}
	return out
}

// addIndicator adds one indicator to compound c (two when it places an ip
// inside a new cidr and left allows) and returns how many it added.
func (g *registry) addIndicator(ci int32, c *compound, left int, r *rng) int {
	ind := indicator{comp: ci, conf: uint8(r.weighted(confidenceWeights)), src: uint8(r.weighted(sourceWeights))}
	k := r.intn(100)
	switch {
	case k < pctCIDR:
		if len(c.cidrs) > 0 && r.percent(5) && g.reuse(&ind, c.cidrs, r) {
			break
		}
		if start, bits, ok := g.newCIDR(c, r); ok {
			ind.kind, ind.addr, ind.bits, ind.win = kindCIDR, start, bits, g.newWindow(c, r)
			g.push(c, ind)
			if left > 1 && r.percent(10) {
				// An address of the compound listed inside one of its own
				// prefixes: both fire on an event in both windows.
				ip := ind
				ip.kind, ip.bits = kindIP, 0
				ip.addr = start + 1 + uint32(r.intn(1<<(32-bits)-2))
				ip.win = g.newWindow(c, r)
				g.push(c, ip)
				return 2
			}
			return 1
		}
		fallthrough // no room for a prefix: an address will do
	case k < 100-pctDevice:
		if len(c.ips) > 0 && r.percent(5) && g.reuse(&ind, c.ips, r) {
			break
		}
		if a, ok := g.newAddr(c, r); ok {
			ind.kind, ind.addr, ind.win = kindIP, a, g.newWindow(c, r)
			switch x := r.intn(1000); {
			case x < 5:
				ind.spell = spellMapped
			case x < 15:
				ind.spell = spellFull
			}
			break
		}
		// The compound's lines are full (a registry of a million indicators
		// on a few carriers): one of its addresses is seen again, in another
		// window if there is room, else in any window, as when two sources
		// report one address.
		if len(c.ips) > 0 {
			if !g.reuse(&ind, c.ips, r) {
				src := g.inds[c.ips[r.intn(len(c.ips))]]
				src.win, src.conf, src.src = g.newWindow(c, r), ind.conf, ind.src
				ind = src
			}
			break
		}
		fallthrough
	default:
		if len(c.devices) > 0 && r.percent(3) && g.reuse(&ind, c.devices, r) {
			break
		}
		ind.kind, ind.dev, ind.win = kindDevice, g.newDevice(r), g.newWindow(c, r)
		if r.percent(1) {
			ind.spell = spellUpper
		}
	}
	g.push(c, ind)
	return 1
}

func (g *registry) push(c *compound, ind indicator) {
	i := int32(len(g.inds))
	g.inds = append(g.inds, ind)
	switch ind.kind {
	case kindIP:
		c.ips = append(c.ips, i)
	case kindCIDR:
		c.cidrs = append(c.cidrs, i)
	case kindDevice:
		c.devices = append(c.devices, i)
	}
}

// reuse makes ind a copy of one of the compound's indicators (from) seen
// again in a later or earlier window. It fails if the window it picked
// leaves no room.
func (g *registry) reuse(ind *indicator, from []int32, r *rng) bool {
	src := g.inds[from[r.intn(len(from))]]
	w, ok := windowBeside(&src.win, r)
	if !ok {
		return false
	}
	src.win, src.conf, src.src = w, ind.conf, ind.src
	*ind = src
	return true
}

func (g *registry) newDevice(r *rng) devKey {
	for {
		d := newDevKey(r)
		if _, dup := g.devices[d]; !dup {
			g.devices[d] = struct{}{}
			return d
		}
	}
}

// newAddr draws a fresh address from one of the compound's lines, mostly in
// a /24 block it already uses.
func (g *registry) newAddr(c *compound, r *rng) (uint32, bool) {
	s := g.space
	for try := 0; try < 16; try++ {
		ln := &c.lines[r.weighted(c.lineWeights)]
		var b block
		if len(ln.blocks) > 0 && r.percent(75) {
			b = ln.blocks[r.intn(len(ln.blocks))]
		} else {
			si, a := ln.pick.pick(r, s.spans)
			sp := &s.spans[si]
			b = block{span: si, lo: max(a&^0xff, sp.start), hi: min(a|0xff, sp.end)}
			ln.blocks = append(ln.blocks, b)
		}
		sp := &s.spans[b.span]
		if sp.taken >= sp.budget() {
			continue
		}
		a := b.lo + uint32(r.int64n(int64(b.hi-b.lo)+1))
		if o := a & 0xff; o == 0 || o == 0xff {
			continue
		}
		if i := s.index(b.span, a); !s.isTaken(i) {
			s.take(i)
			sp.taken++
			return a, true
		}
	}
	return 0, false
}

// newCIDR draws a fresh prefix, /24 to /29, from one of the compound's lines.
func (g *registry) newCIDR(c *compound, r *rng) (uint32, uint8, bool) {
	s := g.space
	bits := cidrLengths[r.weighted(cidrWeights)]
next:
	for try := 0; try < 16; try++ {
		if try >= 8 && bits < 29 {
			bits++
		}
		ln := &c.lines[r.weighted(c.lineWeights)]
		si, a := ln.pick.pick(r, s.spans)
		sp := &s.spans[si]
		size := uint32(1) << (32 - bits)
		start := a &^ (size - 1)
		if start < sp.start || start+size-1 > sp.end || sp.taken+size > sp.budget() {
			continue
		}
		lo := s.index(si, start)
		for i := lo; i < lo+size; i++ {
			if s.isTaken(i) {
				continue next
			}
		}
		for i := lo; i < lo+size; i++ {
			s.take(i)
		}
		sp.taken += size
		return start, bits, true
	}
	return 0, 0, false
}

// Window lengths in days, from a couple of weeks to most of a year.
var windowLengths = [][2]int64{{14, 30}, {31, 90}, {91, 180}, {181, 360}}
var windowLengthWeights = []int{30, 35, 25, 10}

// newWindow draws a window in 2022-2025: mostly closed, some open-ended,
// written as dates, UTC times or the compound's local time.
func (g *registry) newWindow(c *compound, r *rng) window {
	start := r.between(dayFirst, dayLastOpen)
	l := windowLengths[r.weighted(windowLengthWeights)]
	w := makeWindow(start, min(start+r.between(l[0], l[1]), dayLast), c.local, r)
	switch x := r.intn(100); {
	case x < 1:
		w.hasFirst, w.hasLast = false, false
	case x < 3:
		w.hasFirst = false
	case x < 8:
		w.hasLast = false // still seen when the registry was written
	}
	return w
}

// makeWindow returns a closed window from day first to day last.
func makeWindow(first, last int64, local timeFormat, r *rng) window {
	w := window{hasFirst: true, hasLast: true}
	switch r.weighted([]int{50, 35, 15}) {
	case 0:
		w.first, w.last = first*nsDay, (last+1)*nsDay-1 // a date as last_seen is the whole day
		w.firstFmt, w.lastFmt = tfDate, tfDate
		return w
	case 1:
		w.firstFmt, w.lastFmt = tfSec, tfSec
	default:
		w.firstFmt, w.lastFmt = local, local
	}
	w.first = first*nsDay + r.int64n(86400)*1e9
	w.last = last*nsDay + r.int64n(86400)*1e9
	return w
}

// windowBeside returns a closed window that does not overlap w: after it if
// there is room before the end of 2025, else before it.
func windowBeside(w *window, r *rng) (window, bool) {
	gap, length := r.between(30, 240), r.between(14, 180)
	if w.hasLast {
		if start := w.last/nsDay + gap; start+14 <= dayLast {
			return makeWindow(start, min(start+length, dayLast), w.lastFmt.orUTC(), r), true
		}
	}
	if w.hasFirst {
		if end := w.first/nsDay - gap; end-14 >= dayFirst {
			return makeWindow(max(end-length, dayFirst), end, w.firstFmt.orUTC(), r), true
		}
	}
	return window{}, false
}

func (f timeFormat) orUTC() timeFormat {
	if f == tfDate {
		return tfSec
	}
	return f
}

// shareAcrossCompounds gives a few addresses and devices to a second
// compound in a window that does not overlap the first's: a carrier
// re-assigning an address, a phone moved from one compound to another.
func (g *registry) shareAcrossCompounds(r *rng) {
	var ips, devs []int32
	for i := range g.inds {
		switch g.inds[i].kind {
		case kindIP:
			ips = append(ips, int32(i))
		case kindDevice:
			devs = append(devs, int32(i))
		}
	}
	for _, set := range []struct {
		list []int32
		n    int
	}{{ips, 2 + len(ips)/250}, {devs, 1 + len(devs)/500}} {
		if len(set.list) < 2 || len(g.compounds) < 2 {
			continue
		}
		for n, tries := 0, 0; n < set.n && tries < 20*set.n; tries++ {
			a := &g.inds[set.list[r.intn(len(set.list))]]
			b := &g.inds[set.list[r.intn(len(set.list))]]
			if a.comp == b.comp {
				continue
			}
			w, ok := windowBeside(&a.win, r)
			if !ok {
				continue
			}
			b.addr, b.dev, b.spell, b.win = a.addr, a.dev, spellPlain, w
			n++
		}
	}
}

// index sorts the indicators for lookup and lists those to plant on.
func (g *registry) index() {
	g.rank = make([]int32, len(g.compounds))
	ids := make([]int32, len(g.compounds))
	for i := range ids {
		ids[i] = int32(i)
	}
	slices.SortFunc(ids, func(a, b int32) int { return cmp.Compare(g.compounds[a].id, g.compounds[b].id) })
	for r, i := range ids {
		g.rank[i] = int32(r)
	}
	seenBits := map[uint8]bool{}
	for i := range g.inds {
		ind := &g.inds[i]
		switch ind.kind {
		case kindIP:
			g.byAddr = append(g.byAddr, int32(i))
			if g.space.inShared(ind.addr) {
				g.sharedIPs = append(g.sharedIPs, int32(i))
			} else {
				g.plainIPs = append(g.plainIPs, int32(i))
			}
			if ind.win.hasFirst || ind.win.hasLast {
				g.closedIPs = append(g.closedIPs, int32(i))
			}
		case kindCIDR:
			g.byCIDR = append(g.byCIDR, int32(i))
			if !seenBits[ind.bits] {
				seenBits[ind.bits] = true
				g.cidrBits = append(g.cidrBits, ind.bits)
			}
		case kindDevice:
			g.byDev = append(g.byDev, int32(i))
			if ind.win.hasFirst || ind.win.hasLast {
				g.closedDevs = append(g.closedDevs, int32(i))
			}
		}
	}
	slices.Sort(g.cidrBits)
	slices.SortFunc(g.byAddr, func(a, b int32) int {
		return cmp.Or(cmp.Compare(g.inds[a].addr, g.inds[b].addr), cmp.Compare(a, b))
	})
	slices.SortFunc(g.byCIDR, func(a, b int32) int {
		return cmp.Or(cmp.Compare(g.inds[a].addr, g.inds[b].addr), cmp.Compare(g.inds[a].bits, g.inds[b].bits), cmp.Compare(a, b))
	})
	slices.SortFunc(g.byDev, func(a, b int32) int { return cmp.Or(cmpDev(g.inds[a].dev, g.inds[b].dev), cmp.Compare(a, b)) })
}

// withAddr returns the ip indicators of address a.
func (g *registry) withAddr(a uint32) []int32 {
	i, _ := slices.BinarySearchFunc(g.byAddr, a, func(x int32, a uint32) int { return cmp.Compare(g.inds[x].addr, a) })
	j := i
	for j < len(g.byAddr) && g.inds[g.byAddr[j]].addr == a {
		j++
	}
	return g.byAddr[i:j]
}

// withPrefix returns the cidr indicators of prefix start/bits.
func (g *registry) withPrefix(start uint32, bits uint8) []int32 {
	key := func(x int32) int {
		return cmp.Or(cmp.Compare(g.inds[x].addr, start), cmp.Compare(g.inds[x].bits, bits))
	}
	i, _ := slices.BinarySearchFunc(g.byCIDR, 0, func(x int32, _ int) int { return key(x) })
	j := i
	for j < len(g.byCIDR) && key(g.byCIDR[j]) == 0 {
		j++
	}
	return g.byCIDR[i:j]
}

// withDevice returns the device indicators of d.
func (g *registry) withDevice(d devKey) []int32 {
	i, _ := slices.BinarySearchFunc(g.byDev, d, func(x int32, d devKey) int { return cmpDev(g.inds[x].dev, d) })
	j := i
	for j < len(g.byDev) && g.inds[g.byDev[j]].dev == d {
		j++
	}
	return g.byDev[i:j]
}

// writeIndicators writes the indicators CSV by hand: a registry can hold a
// million rows, and no value needs quoting.
func (g *registry) writeIndicators(w *bufio.Writer) error {
	w.WriteString("compound,kind,value,first_seen,last_seen,confidence,source\n")
	var b []byte
	for i := range g.inds {
		ind := &g.inds[i]
		b = append(b[:0], g.compounds[ind.comp].id...)
		switch ind.kind {
		case kindIP:
			switch ind.spell {
			case spellMapped:
				b = appendIPv4(append(b, ",ip,::ffff:"...), ind.addr)
			case spellFull:
				b = append(appendIPv4(append(b, ",cidr,"...), ind.addr), "/32"...)
			default:
				b = appendIPv4(append(b, ",ip,"...), ind.addr)
			}
		case kindCIDR:
			b = appendIPv4(append(b, ",cidr,"...), ind.addr)
			b = strconv.AppendUint(append(b, '/'), uint64(ind.bits), 10)
		case kindDevice:
			b = append(b, ",device,"...)
			if ind.spell == spellUpper {
				b = append(b, devTypeUpper[ind.dev.typ]...)
			} else {
				b = append(b, devTypeNames[ind.dev.typ]...)
			}
			b = appendDevValue(append(b, ':'), ind.dev)
		}
		b = append(b, ',')
		if ind.win.hasFirst {
			b = appendWindowEdge(b, ind.win.first, ind.win.firstFmt)
		}
		b = append(b, ',')
		if ind.win.hasLast {
			b = appendWindowEdge(b, ind.win.last, ind.win.lastFmt)
		}
		b = append(b, ',')
		b = append(b, confidences[ind.conf]...)
		b = append(b, ',')
		b = append(b, sources[ind.src]...)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return w.Flush()
}
