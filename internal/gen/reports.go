package gen

import (
	"bufio"
	"cmp"
	"math"
	"slices"
	"strconv"
)

type addrForm uint8

const (
	formV4     addrForm = iota
	formMapped          // ::ffff:a.b.c.d, which readers must take as the IPv4 address
	formV6              // 2001:db8::/32: documentation space, never an indicator
)

const (
	proxyOmitted uint8 = iota
	proxyFalse
	proxyTrue
)

// ipEvent is one IP capture event of a report being generated.
type ipEvent struct {
	at    int64
	v6    uint64 // low bits of an IPv6 address (formV6)
	addr  uint32
	form  addrForm
	tf    timeFormat
	event uint8 // index in eventNames; 0 omitted
	port  uint16
	proxy uint8
	bad   badKind // an invalid event the reader must reject on its own
}

// devEvent is one device of a report being generated.
type devEvent struct {
	key   devKey
	at    int64
	tf    timeFormat
	hasAt bool
	upper bool // type written in upper case
	pad   bool // value written with surrounding spaces
	bad   badKind
}

var eventNames = []string{"", "login", "registration", "upload", "purchase", "other"}
var eventWeights = []int{20, 44, 10, 13, 5, 8}
var incidents = []string{"", "sextortion", "online enticement", "other"}
var backgroundIncidents = []int{2, 25, 30, 43}
var plantedIncidents = []int{1, 80, 15, 4}

// How many ip events a report has (1-6, about 3 on average) and devices (0-2).
var ipCountWeights = []int{0, 26, 28, 20, 13, 8, 5}
var devCountWeights = []int{70, 25, 5}

// badKind is how a report line, or one event of it, is made malformed.
type badKind uint8

const (
	badNone badKind = iota
	// The whole line is rejected.
	badTruncated // the line cut short: not JSON
	badNotObject // JSON, but not an object, or not JSON at all
	badNoID      // no id field
	badEmptyID   // "id":""
	badNumberID  // "id":1234
	badNullID    // "id":null
	badDuplicate // a copy of the last accepted line, id and all
	// One event is rejected, the rest of the report stands.
	badIP     // an ip event whose ip is not an address
	badAt     // an ip event whose at is missing or not RFC 3339
	badDevice // a device with an empty type or value
	badKinds
)

var badWeights = [badKinds]int{badTruncated: 15, badNotObject: 10, badNoID: 10, badEmptyID: 5, badNumberID: 5,
	badNullID: 5, badDuplicate: 15, badIP: 15, badAt: 10, badDevice: 10}

func (k badKind) wholeLine() bool { return k >= badTruncated && k <= badDuplicate }

var badIPs = []string{"N/A", "999.12.4.1", "", "36.37.256.1", "unknown", "203.0.113", "2001:db8::g"}
var badAts = []string{"yesterday", "2024-13-01T00:00:00Z", "2024-05-01 22:14:03", "1714601643", "2024-02-30T10:00:00Z", ""}
var notObjects = []string{`["%s"]`, `"%s"`, `null`, `<html><body>502 Bad Gateway</body></html>`, `report %s`}

// category is what a report is planted as.
type category uint8

const (
	catBackground category = iota // matches nothing, by construction
	catTied                       // tied to at least one compound
	catPotential                  // potentially associated, tied to none
	catNearMiss                   // indicator values just outside what matches
)

// Truth findings are exact for this drift, the contract's default.
const nsDrift = int64(TruthDrift)

const (
	nsHour = int64(3600e9)
	nsDay  = 24 * nsHour
)

type finding struct {
	comp int32
	tied bool
}

// reportGen streams reports and the findings they must produce.
type reportGen struct {
	reg *registry
	sp  *space
	r   *rng

	ips      []ipEvent
	devs     []devEvent
	received int64
	noRecv   bool
	incident uint8
	finds    []finding

	idWidth         int
	line, prev      []byte
	prevOK          bool
	truth           []byte
	countries       []*picker
	countryWeights  []int
	tied, potential int // planted counts left, for selection sampling
	nearMiss, bad   int
	bytesOut        int64
}

func newReportGen(reg *registry, r *rng, o *Options) *reportGen {
	g := &reportGen{reg: reg, sp: reg.space, r: r, idWidth: max(7, len(strconv.Itoa(o.Reports)))}
	for i, c := range countries {
		if p := g.sp.byCountry[c]; p != nil {
			g.countries = append(g.countries, p)
			g.countryWeights = append(g.countryWeights, []int{42, 30, 12, 16}[i])
		}
	}
	n := float64(o.Reports)
	if len(reg.inds) > 0 {
		g.tied = int(math.Round(n * o.TiedRate))
		g.potential = min(int(math.Round(n*o.PotentialRate)), o.Reports-g.tied)
		g.nearMiss = min(g.potential/4, o.Reports-g.tied-g.potential)
	}
	g.bad = int(math.Round(n * o.BadRate))
	return g
}

// run writes n reports to w and their findings to truth.
func (g *reportGen) run(n int, w, truth *bufio.Writer) error {
	for i := 0; i < n; i++ {
		left := n - i
		cat := catBackground
		switch x := g.r.intn(left); {
		case x < g.tied:
			cat = catTied
			g.tied--
		case x < g.tied+g.potential:
			cat = catPotential
			g.potential--
		case x < g.tied+g.potential+g.nearMiss:
			cat = catNearMiss
			g.nearMiss--
		}
		bad := badNone
		if g.r.intn(left) < g.bad {
			g.bad--
			bad = badKind(g.r.weighted(badWeights[:]))
			if bad == badDuplicate && !g.prevOK {
				bad = badTruncated
			}
		}
		g.build(cat)
		g.line = g.appendLine(g.line[:0], i+1, bad)
		if _, err := w.Write(g.line); err != nil {
			return err
		}
		g.bytesOut += int64(len(g.line))
		if bad.wholeLine() {
			continue // no findings; an earlier report with its id stands
		}
		g.line, g.prev, g.prevOK = g.prev, g.line, true
		for _, f := range g.finds {
			b := append(g.truth[:0], `{"report":"`...)
			b = g.appendID(b, i+1)
			b = append(b, `","compound":"`...)
			b = append(b, g.reg.compounds[f.comp].id...)
			if f.tied {
				b = append(b, `","tier":"tied"}`+"\n"...)
			} else {
				b = append(b, `","tier":"potential"}`+"\n"...)
			}
			g.truth = b
			if _, err := truth.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *reportGen) appendID(b []byte, n int) []byte {
	return appendDigits(append(b, 'r', '-'), uint64(n), g.idWidth)
}

// build fills the report's events for its category, and g.finds with the
// findings they produce. A planted report whose findings miss its category
// (an address re-used in another window, say) is drawn again a few times;
// if it still misses, the truth follows the rules, not the intent.
func (g *reportGen) build(cat category) {
	g.finds = g.finds[:0]
	if cat == catBackground {
		g.buildBackground() // matches nothing by construction: no need to look
		return
	}
	for try := 0; try < 8; try++ {
		if !g.buildPlanted(cat) {
			continue
		}
		g.finds = g.reg.evaluate(g.ips, g.devs, g.finds[:0])
		tied, any := false, len(g.finds) > 0
		for _, f := range g.finds {
			tied = tied || f.tied
		}
		if cat == catTied && tied || cat == catPotential && any && !tied || cat == catNearMiss && !any {
			return
		}
	}
	if len(g.ips) == 0 { // nothing could be planted (the registry lacks the kind)
		g.finds = g.finds[:0]
		g.buildBackground()
	}
}

func (g *reportGen) reset() {
	g.ips, g.devs = g.ips[:0], g.devs[:0]
	g.noRecv = g.r.percent(1)
}

// buildBackground makes a report that matches nothing: its addresses are
// drawn where no indicator lies, its devices are never indicator devices.
func (g *reportGen) buildBackground() {
	g.reset()
	g.incident = uint8(g.r.weighted(backgroundIncidents))
	g.received = quantize(g.r.between(nsReceived, nsLast), tfSec)
	n := g.r.weighted(ipCountWeights)
	t := g.received - g.r.between(10*60e9, 5*nsDay)
	for i := 0; i < n; i++ {
		g.ips = append(g.ips, ipEvent{})
	}
	for i := n - 1; i >= 0; i-- {
		e := &g.ips[i]
		if i < n-1 && g.r.percent(40) { // the same address again
			*e = g.ips[i+1]
		} else {
			g.backgroundAddr(e)
		}
		g.eventDetails(e)
		e.tf = g.eventFormat()
		e.at = quantize(t, e.tf)
		t -= g.r.between(60e9, 10*nsDay)
	}
	for n := g.r.weighted(devCountWeights); n > 0; n-- {
		g.devs = append(g.devs, g.backgroundDevice(g.received-g.r.between(60e9, 20*nsDay)))
	}
}

func (g *reportGen) backgroundAddr(e *ipEvent) {
	e.form = formV4
	e.proxy = proxyOmitted
	switch x := g.r.intn(1000); {
	case x < 20:
		e.form, e.v6 = formV6, g.r.uint64()
		return
	case x < 28:
		e.addr = 10<<24 | uint32(g.r.intn(1<<24))
	case x < 33:
		e.addr = 192<<24 | 168<<16 | uint32(g.r.intn(1<<16))
	case x < 38: // carrier-grade NAT, as Starlink and mobile carriers hand out
		e.addr = 100<<24 | 64<<16 + uint32(g.r.intn(1<<22))
	case x < 58: // flagged as a proxy, mostly rightly
		e.proxy = proxyTrue
		p := &g.sp.hosting
		if g.r.percent(30) {
			p = g.countries[g.r.weighted(g.countryWeights)]
		}
		e.addr = g.sp.free(g.r, p)
	default:
		e.addr = g.sp.free(g.r, g.countries[g.r.weighted(g.countryWeights)])
		if g.r.percent(12) {
			e.proxy = proxyFalse
		}
	}
	if g.r.permille(5) {
		e.form = formMapped
	}
}

func (g *reportGen) eventDetails(e *ipEvent) {
	e.event = uint8(g.r.weighted(eventWeights))
	e.port = 0
	if g.r.percent(40) {
		e.port = uint16(g.r.between(1024, 65535))
	}
}

// eventFormat picks how an event time is written: mostly whole seconds in
// UTC, sometimes with a fraction or a local offset, to exercise readers.
func (g *reportGen) eventFormat() timeFormat {
	switch x := g.r.intn(100); {
	case x < 86:
		return tfSec
	case x < 92:
		return tfMilli
	case x < 96:
		return tfICT
	case x < 98:
		return tfMMT
	case x < 99:
		return tfICTMicro
	}
	return tfMicro
}

func (g *reportGen) backgroundDevice(at int64) devEvent {
	d := devEvent{key: newDevKey(g.r)}
	for {
		if _, hit := g.reg.devices[d.key]; !hit {
			break
		}
		d.key = newDevKey(g.r)
	}
	if g.r.percent(85) {
		d.hasAt, d.tf = true, g.eventFormat()
		d.at = quantize(at, d.tf)
	}
	return d
}

// buildPlanted makes a report with one event (sometimes two) chosen to
// produce a finding of the category, amid background events.
func (g *reportGen) buildPlanted(cat category) bool {
	g.reset()
	g.incident = uint8(g.r.weighted(plantedIncidents))
	anchor, ok := g.plant(cat)
	if !ok {
		return false
	}
	if cat != catNearMiss && g.r.percent(10) {
		second := cat
		if cat == catTied && g.r.percent(50) {
			second = catPotential
		}
		g.plant(second) // another compound, often
	}
	for n := g.r.weighted([]int{30, 35, 25, 10}); n > 0; n-- {
		var e ipEvent
		g.backgroundAddr(&e)
		g.eventDetails(&e)
		e.tf = g.eventFormat()
		e.at = quantize(anchor-g.r.between(0, 3*nsDay), e.tf)
		g.ips = append(g.ips, e)
	}
	if g.r.percent(25) {
		g.devs = append(g.devs, g.backgroundDevice(anchor+g.r.between(-5*nsDay, 0)))
	}
	if len(g.ips) == 0 { // device-only plant: give it the usual address
		var e ipEvent
		g.backgroundAddr(&e)
		g.eventDetails(&e)
		e.tf = tfSec
		e.at = quantize(anchor-g.r.between(0, nsDay), e.tf)
		g.ips = append(g.ips, e)
	}
	slices.SortStableFunc(g.ips, func(a, b ipEvent) int { return cmp.Compare(a.at, b.at) })
	latest := int64(0)
	for _, e := range g.ips {
		latest = max(latest, e.at)
	}
	for _, d := range g.devs {
		if d.hasAt {
			latest = max(latest, d.at)
		}
	}
	// Planted times end a week before the end of 2025 (windows end by
	// then), so the report is received after its last event and in 2023-2025.
	g.received = min(latest+g.r.between(10*60e9, 20*nsDay), nsLast)
	if g.received < nsReceived {
		g.received = nsReceived + g.r.int64n(30*nsDay)
	}
	g.received = quantize(g.received, tfSec)
	return true
}

// plant adds one planted event of the category and returns its time.
func (g *reportGen) plant(cat category) (int64, bool) {
	reg := g.reg
	switch cat {
	case catTied:
		if len(reg.byDev) > 0 && (g.r.percent(50) || len(reg.plainIPs) == 0) {
			return g.plantDevice(reg.byDev[g.r.intn(len(reg.byDev))], false)
		}
		if len(reg.plainIPs) > 0 {
			return g.plantIP(reg.plainIPs[g.r.intn(len(reg.plainIPs))], proxyFalse)
		}
	case catPotential:
		switch x := g.r.intn(100); {
		case x < 25 && len(reg.byCIDR) > 0:
			i := &reg.inds[reg.byCIDR[g.r.intn(len(reg.byCIDR))]]
			at, tf := g.inWindow(&i.win)
			return at, g.plantAddr(i.addr+uint32(g.r.intn(1<<(32-i.bits))), at, tf, proxyFalse)
		case x < 45 && len(reg.byAddr) > 0:
			return g.plantIP(reg.byAddr[g.r.intn(len(reg.byAddr))], proxyTrue)
		case x < 65 && len(reg.sharedIPs) > 0:
			return g.plantIP(reg.sharedIPs[g.r.intn(len(reg.sharedIPs))], proxyFalse)
		}
		if len(reg.closedIPs) > 0 { // ip-drift: just outside the window
			i := &reg.inds[reg.closedIPs[g.r.intn(len(reg.closedIPs))]]
			at, tf, ok := g.outside(&i.win, nsHour, 89*nsDay, nsDrift, 1)
			return at, ok && g.plantAddr(i.addr, at, tf, proxyFalse)
		}
	case catNearMiss:
		switch x := g.r.intn(100); {
		case x < 20 && len(reg.closedDevs) > 0: // the device, just outside its window
			return g.plantDevice(reg.closedDevs[g.r.intn(len(reg.closedDevs))], true)
		case x < 40 && len(reg.byCIDR) > 0: // next to a prefix
			i := &reg.inds[reg.byCIDR[g.r.intn(len(reg.byCIDR))]]
			a := i.addr - 1
			if g.r.percent(50) {
				a = i.addr + 1<<(32-i.bits)
			}
			at, tf := g.inWindow(&i.win)
			return at, g.plantAddr(a, at, tf, proxyFalse)
		case x < 55 && len(reg.byCIDR) > 0: // in a prefix, outside its window
			i := &reg.inds[reg.byCIDR[g.r.intn(len(reg.byCIDR))]]
			at, tf, ok := g.outside(&i.win, 1e9, 400*nsDay, 1)
			return at, ok && g.plantAddr(i.addr+uint32(g.r.intn(1<<(32-i.bits))), at, tf, proxyFalse)
		}
		if len(reg.closedIPs) > 0 { // beyond the drift
			i := &reg.inds[reg.closedIPs[g.r.intn(len(reg.closedIPs))]]
			at, tf, ok := g.outside(&i.win, 91*nsDay, 400*nsDay, nsDrift+1)
			return at, ok && g.plantAddr(i.addr, at, tf, proxyFalse)
		}
	}
	return 0, false
}

func (g *reportGen) plantIP(x int32, proxy uint8) (int64, bool) {
	i := &g.reg.inds[x]
	at, tf := g.inWindow(&i.win)
	return at, g.plantAddr(i.addr, at, tf, proxy)
}

func (g *reportGen) plantAddr(a uint32, at int64, tf timeFormat, proxy uint8) bool {
	e := ipEvent{addr: a, at: at, tf: tf, proxy: proxy}
	if proxy == proxyFalse && g.r.percent(70) {
		e.proxy = proxyOmitted
	}
	if g.r.percent(1) {
		e.form = formMapped
	}
	g.eventDetails(&e)
	g.ips = append(g.ips, e)
	return true
}

// plantDevice adds an indicator's device: in its window (or without a time)
// for a tie, or just outside it for a near miss.
func (g *reportGen) plantDevice(x int32, outside bool) (int64, bool) {
	i := &g.reg.inds[x]
	d := devEvent{key: i.dev, hasAt: true, upper: g.r.percent(2), pad: g.r.percent(1)}
	if outside {
		at, tf, ok := g.outside(&i.win, 1e9, 400*nsDay, 1)
		if !ok {
			return 0, false
		}
		d.at, d.tf = at, tf
	} else {
		d.at, d.tf = g.inWindow(&i.win)
		if !g.r.percent(80) { // no time: matches whatever the window
			d.hasAt = false
			g.devs = append(g.devs, devEvent{key: d.key, upper: d.upper, pad: d.pad})
			return d.at, true
		}
	}
	g.devs = append(g.devs, d)
	return d.at, true
}

// inWindow draws a time inside w (within 2022-2025 where w is open),
// sometimes exactly on an edge, since windows are closed intervals.
func (g *reportGen) inWindow(w *window) (int64, timeFormat) {
	lo, hi := nsFirst, nsLast-nsDay
	if w.hasFirst {
		lo = w.first
	}
	if w.hasLast {
		hi = w.last
	}
	if g.r.percent(8) {
		if w.hasLast && (!w.hasFirst || g.r.percent(50)) {
			return hi, tfNano
		}
		if w.hasFirst {
			return lo, tfNano
		}
	}
	tf := g.eventFormat()
	// lo is a whole second, so truncating to the written precision stays
	// inside the window.
	return quantize(g.r.between(lo, hi), tf), tf
}

// outside draws a time outside w by a distance in [minD, maxD], or by
// exactly one of edges now and then, written to the nanosecond. Truncation to the
// written precision only moves a time before first further out, and
// minD is at least a second, so the distance stays in range.
func (g *reportGen) outside(w *window, minD, maxD int64, edges ...int64) (int64, timeFormat, bool) {
	d, tf := g.r.between(minD, maxD), g.eventFormat()
	if g.r.percent(12) {
		d, tf = edges[g.r.intn(len(edges))], tfNano
	}
	after := w.hasLast && (!w.hasFirst || g.r.percent(50))
	var t int64
	switch {
	case after:
		t = w.last + d
	case w.hasFirst:
		t = w.first - d
	default:
		return 0, 0, false
	}
	if t < nsFirst-400*nsDay || t > nsLast-nsDay {
		return 0, 0, false
	}
	return quantize(t, tf), tf, true
}

// evaluate applies the contract's rules to a report's valid events and
// returns one finding per compound, in compound id order.
func (g *registry) evaluate(ips []ipEvent, devs []devEvent, out []finding) []finding {
	out = out[:0]
	add := func(c int32, tied bool) {
		for i := range out {
			if out[i].comp == c {
				out[i].tied = out[i].tied || tied
				return
			}
		}
		out = append(out, finding{comp: c, tied: tied})
	}
	for k := range ips {
		e := &ips[k]
		if e.bad != badNone || e.form == formV6 {
			continue
		}
		weak := e.proxy == proxyTrue || g.space.inShared(e.addr)
		for _, x := range g.withAddr(e.addr) {
			ind := &g.inds[x]
			if ind.win.contains(e.at) {
				add(ind.comp, !weak)
			} else if ind.win.distance(e.at) <= nsDrift {
				add(ind.comp, false)
			}
		}
		for _, bits := range g.cidrBits {
			for _, x := range g.withPrefix(e.addr&^(1<<(32-bits)-1), bits) {
				if g.inds[x].win.contains(e.at) {
					add(g.inds[x].comp, false)
				}
			}
		}
	}
	for k := range devs {
		d := &devs[k]
		if d.bad != badNone {
			continue
		}
		for _, x := range g.withDevice(d.key) {
			if !d.hasAt || g.inds[x].win.contains(d.at) {
				add(g.inds[x].comp, true)
			}
		}
	}
	slices.SortFunc(out, func(a, b finding) int { return cmp.Compare(g.rank[a.comp], g.rank[b.comp]) })
	return out
}

// appendLine writes report n as one JSON line, malformed as bad says.
func (g *reportGen) appendLine(b []byte, n int, bad badKind) []byte {
	switch bad {
	case badDuplicate:
		return append(b, g.prev...)
	case badNotObject:
		s := notObjects[g.r.intn(len(notObjects))]
		for i := 0; i < len(s); i++ {
			if s[i] == '%' {
				b = g.appendID(b, n)
				i++
			} else {
				b = append(b, s[i])
			}
		}
		return append(b, '\n')
	case badIP, badAt:
		var e ipEvent
		g.backgroundAddr(&e)
		g.eventDetails(&e)
		e.bad, e.tf = bad, tfSec
		e.at = quantize(g.received-g.r.between(60e9, 5*nsDay), tfSec)
		g.ips = slices.Insert(g.ips, g.r.intn(len(g.ips)+1), e)
	case badDevice:
		d := g.backgroundDevice(g.received - nsHour)
		d.bad = badDevice
		g.devs = slices.Insert(g.devs, g.r.intn(len(g.devs)+1), d)
	}
	start := len(b)
	b = append(b, '{')
	switch bad {
	case badNoID:
	case badEmptyID:
		b = append(b, `"id":""`...)
	case badNumberID:
		b = strconv.AppendInt(append(b, `"id":`...), int64(n), 10)
	case badNullID:
		b = append(b, `"id":null`...)
	default:
		b = append(g.appendID(append(b, `"id":"`...), n), '"')
	}
	if !g.noRecv {
		b = appendComma(b, start)
		b = append(appendTime(append(b, `"received":"`...), g.received, tfSec), '"')
	}
	if g.incident != 0 {
		b = appendComma(b, start)
		b = append(append(append(b, `"incident":"`...), incidents[g.incident]...), '"')
	}
	b = appendComma(b, start)
	b = append(b, `"ips":[`...)
	for k := range g.ips {
		if k > 0 {
			b = append(b, ',')
		}
		b = g.appendIPEvent(b, &g.ips[k])
	}
	b = append(b, ']')
	if len(g.devs) > 0 {
		b = append(b, `,"devices":[`...)
		for k := range g.devs {
			if k > 0 {
				b = append(b, ',')
			}
			b = g.appendDevice(b, &g.devs[k])
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	if bad == badTruncated {
		b = b[:start+1+g.r.intn(len(b)-start-1)] // a strict prefix of an object is never JSON
	}
	return append(b, '\n')
}

func appendComma(b []byte, start int) []byte {
	if len(b) > start+1 {
		return append(b, ',')
	}
	return b
}

func (g *reportGen) appendIPEvent(b []byte, e *ipEvent) []byte {
	b = append(b, '{')
	switch {
	case e.bad == badIP:
		if g.r.percent(20) {
			b = append(b, `"address":"`...) // no "ip" at all
		} else {
			b = append(b, `"ip":"`...)
		}
		b = append(append(b, badIPs[g.r.intn(len(badIPs))]...), '"')
	case e.form == formV6:
		b = append(b, `"ip":"2001:db8:`...)
		b = strconv.AppendUint(b, e.v6>>48, 16)
		b = append(b, ':')
		b = strconv.AppendUint(b, e.v6>>32&0xffff, 16)
		b = append(b, "::"...)
		b = strconv.AppendUint(b, e.v6&0xffff, 16)
		b = append(b, '"')
	case e.form == formMapped:
		b = append(appendIPv4(append(b, `"ip":"::ffff:`...), e.addr), '"')
	default:
		b = append(appendIPv4(append(b, `"ip":"`...), e.addr), '"')
	}
	switch {
	case e.bad == badAt:
		if x := g.r.intn(len(badAts) + 1); x < len(badAts) {
			b = append(append(append(b, `,"at":"`...), badAts[x]...), '"')
		} // else: no at at all
	default:
		b = append(appendTime(append(b, `,"at":"`...), e.at, e.tf), '"')
	}
	if e.event != 0 {
		b = append(append(append(b, `,"event":"`...), eventNames[e.event]...), '"')
	}
	if e.port != 0 {
		b = strconv.AppendUint(append(b, `,"port":`...), uint64(e.port), 10)
	}
	switch e.proxy {
	case proxyFalse:
		b = append(b, `,"proxy":false`...)
	case proxyTrue:
		b = append(b, `,"proxy":true`...)
	}
	return append(b, '}')
}

func (g *reportGen) appendDevice(b []byte, d *devEvent) []byte {
	typ := devTypeNames[d.key.typ]
	if d.upper {
		typ = devTypeUpper[d.key.typ]
	}
	if d.bad == badDevice {
		switch g.r.intn(3) {
		case 0:
			return append(append(append(b, `{"type":"`...), typ...), `","value":""}`...)
		case 1:
			return append(appendDevValue(append(b, `{"type":"  ","value":"`...), d.key), `"}`...)
		}
		return append(appendDevValue(append(b, `{"value":"`...), d.key), `"}`...)
	}
	b = append(append(append(b, `{"type":"`...), typ...), `","value":"`...)
	if d.pad {
		b = append(b, ' ')
	}
	b = appendDevValue(b, d.key)
	if d.pad {
		b = append(b, ' ')
	}
	b = append(b, '"')
	if d.hasAt {
		b = append(appendTime(append(b, `,"at":"`...), d.at, d.tf), '"')
	}
	return append(b, '}')
}
