package gen

import (
	"fmt"
	"net/netip"
	"slices"
)

// Devices of the observation world, what they do each day, and what their
// phones report.

// Kinds of devices; each has its own seed stream.
const (
	kResident uint8 = iota + 1
	kWorker
	kRider
	kVisitor
	kNeighbour
	kCentroid
	kTown
	kBad
	kSample // devices drawn only to estimate how much the others are seen
)

var kindNames = [...]string{kResident: "resident", kWorker: "worker", kRider: "rider", kVisitor: "visitor",
	kNeighbour: "neighbour", kCentroid: "centroid", kTown: "town"}

// Ping regimes: how often a phone's apps report its place.
const (
	regSparse uint8 = iota // a few times on some days: an app opened now and then
	regMedium              // tens of times on most days
	regDense               // every few minutes while awake: background location
)

var regimeNames = [...]string{"sparse", "medium", "dense"}

// device is a device of the world.
type device struct {
	kind       uint8
	regime     uint8
	centroid   uint8 // 0: real fixes; 1: always the geocoder's centroid; 2: sometimes
	centAcc    int16 // what it states with a centroid: -1 none, else meters
	key        devKey
	comp       int32 // its compound (members, visitors), or the compound whose town it lives in
	comp2      int32 // the compound a resident is moved to, or -1
	moveDay    int32
	start, end int32 // days of its stay or employment, inclusive
	home, work pt    // members: bed and desk inside; others: home and work in town
	hh         int32 // household (home network), or -1
	seen       int16 // permille of days seen
	step       int32 // dense: seconds between fixes awake
	carrier    int16 // its mobile carrier, within its country's
	net        int8  // a member's preferred compound network
	gps        int16 // permille of fixes by GPS (the rest: Wi-Fi positioning, cell, no accuracy)
	remote     bool  // lives far from every compound
	days       []int32
}

// Segments of a day plan.
type segKind uint8

const (
	segAt   segKind = iota // at a point, moving about it a little
	segRide                // moving from a to b
	segOff                 // phone off or without a fix
)

// Networks a phone can be on.
const (
	netNone uint8 = iota
	netMobile
	netLine // a fibre line
	netSat  // a satellite terminal
)

type seg struct {
	from, to int32 // seconds of the local day
	kind     segKind
	a, b     pt    // in the plane of the device's town
	inside   int32 // the compound its true place is inside, or -1
	net      uint8
	netID    int32
	ap       int32 // the access point Wi-Fi positioning reports: an index into the compound's, -2 the household's, -1 none
	zone     int32 // a sensitive place it is at, or -1
}

// plan is a device's day: its segments and the times its phone reports.
type plan struct {
	plane int32 // the compound whose plane its points are in
	comp  int32 // members: the compound of the day
	segs  []seg
	times []int32 // seconds of the local day, ascending
	sess  int64   // the length of its mobile data sessions today
	phase int64
}

func (p *plan) reset() {
	p.segs, p.times = p.segs[:0], p.times[:0]
}

func (p *plan) add(s seg) {
	if s.to > s.from {
		p.segs = append(p.segs, s)
	}
}

// segAt returns the segment of a second of the day.
func (p *plan) segAt(t int32) *seg {
	for i := range p.segs {
		if t < p.segs[i].to {
			return &p.segs[i]
		}
	}
	return &p.segs[len(p.segs)-1]
}

// Expected shares of the observations, by kind of device, and the fewest
// devices of each kind: per compound, and in the world. Centroid phones
// go first to the towns whose geocoder centroid lies inside a compound.
var obsShares = [...]struct {
	kind             uint8
	share            int // permille
	perComp, inWorld int
}{{kResident, 360, 2, 0}, {kWorker, 70, 0, 3}, {kRider, 50, 0, 2}, {kNeighbour, 70, 0, 3},
	{kVisitor, 15, 1, 0}, {kCentroid, 35, 0, 6}}

// addDevices sizes and builds the population: how many of each kind, from
// how much a sample of each is seen; the towns make up the rest.
func (w *world) addDevices(r *rng) error {
	n := w.good
	var p plan
	mean := func(kind uint8) int {
		total := 0
		const samples = 100
		for i := range samples {
			d := w.newDevice(r, kind, -1)
			for day := d.start; day <= d.end; day++ {
				w.planDay(&d, uint64(1<<40+i), int32(day), &p, kSample, false)
				total += len(p.times)
			}
		}
		return max(1, total/samples)
	}
	for _, k := range obsShares {
		count := n * k.share / 1000 / mean(k.kind)
		var inside []int // towns whose centroid lies in a compound
		for _, t := range w.towns {
			if t.inComp >= 0 {
				inside = append(inside, t.comp)
			}
		}
		perTown := 0
		if k.kind == kCentroid {
			perTown = 6
		}
		count = max(count, k.perComp*len(w.comps), perTown*len(inside), k.inWorld)
		for i := range count {
			comp := -1
			switch {
			case i < perTown*len(inside):
				comp = inside[i%len(inside)]
			case i < k.perComp*len(w.comps):
				comp = i % len(w.comps)
			}
			w.devs = append(w.devs, w.newDevice(r, k.kind, comp))
		}
	}
	// Count what they do; the towns make up the rest.
	structured := 0
	byKind := map[uint8]int{}
	nKind := map[uint8]int{}
	for i := range w.devs {
		d := &w.devs[i]
		nKind[d.kind]++
		for day := d.start; day <= d.end; day++ {
			w.planDay(d, uint64(i), day, &p, d.kind, false)
			structured += len(p.times)
			byKind[d.kind] += len(p.times)
		}
	}
	if debugSizes {
		for _, k := range obsShares {
			fmt.Printf("kind %s: %d devices, %d observations, mean %d\n", kindNames[k.kind], nKind[k.kind], byKind[k.kind], byKind[k.kind]/max(1, nKind[k.kind]))
		}
	}
	town := w.good - structured
	if town < n/10 {
		return fmt.Errorf("%w: %d observations are too few for %d compounds (their residents, workers, riders, neighbours and visitors alone take %d; give at least %d)",
			ErrOptions, w.o.Observations, len(w.comps), structured, structured*2)
	}
	w.perDay = make([]int, obsDays)
	for d := range w.perDay {
		w.perDay[d] = town / obsDays
		if d < town%obsDays {
			w.perDay[d]++
		}
	}
	// Town devices: each seen about 150 times over the calendar, every
	// other day or so.
	nTown := max(200, town/150)
	for i := range nTown {
		comp := -1
		if i%3 != 0 {
			comp = int(w.townDevs[i-i%3].comp) // a household lives in one town
		}
		w.townDevs = append(w.townDevs, w.newDevice(r, kTown, comp))
	}
	// Households: the town's in threes, everyone else's alone.
	for i := range w.townDevs {
		d := &w.townDevs[i]
		if i%3 == 0 {
			w.households = append(w.households, household{home: d.home, town: w.townOf(d.comp), remote: d.remote})
		} else {
			head := &w.townDevs[i-i%3]
			d.home, d.remote = head.home, head.remote
			if d.remote {
				d.work = head.work
			}
		}
		d.hh = int32(len(w.households) - 1)
	}
	for i := range w.devs {
		d := &w.devs[i]
		if d.kind == kResident || d.kind == kVisitor {
			continue
		}
		d.hh = int32(len(w.households))
		w.households = append(w.households, household{home: d.home, town: w.townOf(d.comp)})
	}
	return nil
}

var debugSizes = false

// townOf returns the index of a compound's town.
func (w *world) townOf(c int32) int32 {
	t := w.comps[c].town
	for i, x := range w.towns {
		if x == t {
			return int32(i)
		}
	}
	panic("gen: compound without a town")
}

// newDevice draws a device of a kind; comp, when not -1, is its compound.
func (w *world) newDevice(r *rng, kind uint8, comp int) device {
	d := device{kind: kind, comp2: -1, hh: -1, key: obsDevice(r), carrier: -1}
	if comp < 0 {
		comp = r.intn(len(w.comps))
		// Busier compounds have more of everyone.
		ws := make([]int, len(w.comps))
		for i, c := range w.comps {
			ws[i] = c.weight
		}
		comp = r.weighted(ws)
	}
	d.comp = int32(comp)
	c := w.comps[comp]
	t := c.town
	switch x := r.intn(100); {
	case x < 35:
		d.regime = regSparse
	case x < 80:
		d.regime = regMedium
	default:
		d.regime = regDense
	}
	switch d.regime {
	case regSparse:
		d.seen = int16(r.between(250, 550))
	case regMedium:
		d.seen = int16(r.between(700, 950))
	default:
		d.seen = int16(r.between(930, 990))
		d.step = int32(r.between(300, 900))
	}
	d.gps = int16(r.between(600, 800))
	d.start, d.end = 0, obsDays-1
	switch kind {
	case kResident:
		d.home, d.work = c.inside(r, 1500), c.inside(r, 1500)
		length := int32(r.between(20, 200))
		d.start = int32(r.between(int64(14-length), obsDays-14))
		d.end = d.start + length - 1
		d.start, d.end = max(d.start, 0), min(d.end, obsDays-1)
		d.net = int8(r.intn(8))
		if r.percent(8) && d.end-d.start > 40 {
			// Moved to another compound of the country, mid-stay.
			var others []int
			for _, o := range w.comps {
				if o.idx != comp && o.cidx == c.cidx {
					others = append(others, o.idx)
				}
			}
			if len(others) > 0 {
				d.comp2 = int32(others[r.intn(len(others))])
				d.moveDay = d.start + int32(r.between(15, int64(d.end-d.start)-15))
			}
		}
		if r.percent(5) {
			d.centroid, d.centAcc = 2, -1 // its apps sometimes place it by its address
		}
	case kWorker:
		d.home, d.work = w.townPoint(t, r), c.inside(r, 1500)
		d.start = int32(r.between(0, obsDays-60))
		d.end = min(obsDays-1, d.start+int32(r.between(60, 240)))
		d.net = int8(r.intn(8))
	case kRider:
		d.home, d.work = w.townPoint(t, r), w.townPoint(t, r)
		d.start = int32(r.between(0, obsDays-30))
		d.end = min(obsDays-1, d.start+int32(r.between(30, 240)))
		// Navigation and the delivery app keep the phone reporting every
		// few minutes on duty.
		d.regime, d.seen, d.step = regDense, int16(r.between(930, 990)), int32(r.between(300, 900))
	case kVisitor:
		d.home, d.work = w.townPoint(t, r), w.townPoint(t, r)
		day := int32(r.intn(obsDays - 2))
		d.days = []int32{day}
		if r.percent(35) {
			d.days = append(d.days, day+1) // stays the night
		}
		d.start, d.end = max(day-3, 0), min(day+4, obsDays-1)
	case kNeighbour:
		// A house or a shop at the fence: outside every footprint of the
		// town (the far side of a shared wall is the other compound).
		for try := 0; ; try++ {
			d.home = c.nearFence(r, 500, 6000)
			if w.outsideTown(t, d.home, 500) || try > 100 {
				break
			}
		}
		d.work = w.townPoint(t, r)
		if r.percent(25) {
			d.regime, d.seen, d.step = regDense, int16(r.between(930, 990)), int32(r.between(300, 900))
		}
	case kCentroid:
		// A phone whose apps may not use its location: they place it by
		// its address when opened.
		d.home, d.work = w.townPoint(t, r), w.townPoint(t, r)
		if d.regime == regDense {
			d.regime, d.seen, d.step = regMedium, int16(r.between(700, 950)), 0
		}
		d.centroid = 1
		if r.percent(40) {
			d.centroid = 2
		}
		switch x := r.intn(100); {
		case x < 60:
			d.centAcc = -1
		case x < 80:
			d.centAcc = []int16{10, 50}[r.intn(2)]
		default:
			d.centAcc = int16(r.between(1000, 5000))
		}
	case kTown:
		d.home, d.work = w.townPoint(t, r), w.townPoint(t, r)
		if r.percent(5) {
			// Far away, in the same country: the rest of the carriers'
			// and the satellite operator's users, whom the panel sees too.
			for try := 0; ; try++ {
				dist, a := r.between(3_000_000, 8_000_000), r.between(0, 359)
				p := pt{t.centre.x + dist*cosT[a]/1e6, t.centre.y + dist*sinT[a]/1e6}
				if w.clearOfOthers(c, p, 2_000_000) || try > 50 {
					d.home, d.work, d.remote = p, pt{p.x + r.between(-200000, 200000), p.y + r.between(-200000, 200000)}, true
					break
				}
			}
		}
	}
	ms := w.mobileOf(c.cidx)
	if len(ms) > 0 {
		ws := make([]int, len(ms))
		for i, m := range ms {
			ws[i] = m.weight
		}
		d.carrier = int16(r.weighted(ws))
	}
	return d
}

// mobileOf returns the mobile carriers of a country (empty before
// addNetworks: then only the count of carriers matters).
func (w *world) mobileOf(cidx int) []*mobileNet {
	if w.mobile != nil {
		return w.mobile[cidx]
	}
	cs := w.sp.carriersOf(countries[cidx], classMobile)
	out := make([]*mobileNet, len(cs))
	for i, c := range cs {
		out[i] = &mobileNet{weight: int(min(c.pick.total(), 1<<20))}
	}
	return out
}

// obsDevice draws an advertising id: Android's (lower case) or Apple's
// (upper case), as location data carries them.
func obsDevice(r *rng) devKey {
	if r.percent(60) {
		return uuid4(r, devAAID)
	}
	return uuid4(r, devIDFA)
}

// planDay plans a device's day (local time at its compound): its
// segments, and the times its phone reports. p.times is empty on a day it
// is not seen. kind is the stream's kind (the device's, or kSample).
//
// With fill, the day is planned whatever (for a town's observation drawn
// at a time of its own) and no times are drawn.
func (w *world) planDay(d *device, idx uint64, day int32, p *plan, kind uint8, fill bool) {
	p.reset()
	s := newSrng(w.o.Seed, uint64(kind), idx, uint64(day))
	if seen := s.permille(int(d.seen)); !fill && (day < d.start || day > d.end || !seen) {
		return
	}
	c := w.comps[d.comp]
	if d.comp2 >= 0 && day >= d.moveDay {
		c = w.comps[d.comp2]
	}
	p.comp, p.plane = int32(c.idx), int32(c.town.comp)
	p.sess, p.phase = s.between(20*60, 4*hourSecs), s.between(0, 4*hourSecs)
	mobile := seg{net: netMobile, inside: -1, ap: -1, zone: -1}
	wifi := w.compoundNet(c, d)
	home := seg{kind: segAt, a: d.home, inside: -1, ap: -2, zone: -1, net: netMobile}
	// (Drawn whatever the household: the count of a day's reports, made
	// before the households exist, must not change.)
	onHomeNet := s.permille(880)
	home.ap = -1
	if d.hh >= 0 && onHomeNet {
		h := &w.households[d.hh]
		switch {
		case h.line >= 0:
			home.net, home.netID, home.ap = netLine, h.line, -2
		case h.sat >= 0:
			home.net, home.netID, home.ap = netSat, h.sat, -2
		}
	}
	ds := &daySegs{c: c, wifi: wifi, home: home, mobile: mobile}
	awakeFrom, awakeTo := 6*hourSecs+1800, 23*hourSecs // others sleep 23:00-06:30
	switch d.kind {
	case kResident:
		awakeFrom, awakeTo = w.residentDay(d, idx, day, p, kind, &s, ds)
	case kWorker:
		w.workerDay(d, day, p, &s, ds)
	case kRider:
		w.riderDay(d, day, p, &s, ds)
	case kVisitor:
		w.visitorDay(d, day, p, &s, ds)
	case kNeighbour:
		ds.neighbourDay(d, p, &s)
	default: // centroid phones and the towns
		w.townDay(d, p, &s, home, mobile)
	}
	if !fill {
		w.pingTimes(d, p, &s, awakeFrom, awakeTo)
	}
}

// daySegs are what the segments of a device's day are made of: its
// compound, the compound's network, the device's home (and its network)
// and the mobile network.
type daySegs struct {
	c                  *obsCompound
	wifi, home, mobile seg
}

// at is base, at point pp from from to to.
func at(from, to int, pp pt, base seg) seg {
	base.kind, base.from, base.to, base.a = segAt, int32(from), int32(to), pp
	return base
}

// ride is a ride on the mobile network from a to b.
func (ds *daySegs) ride(from, to int, a, b pt) seg {
	m := ds.mobile
	m.kind, m.from, m.to, m.a, m.b = segRide, int32(from), int32(to), a, b
	return m
}

// residentDay is a day of a compound's resident: work by night, asleep
// 03:00-11:00 (the hours it returns), now and then the clinic or the
// market; on the day it is moved, taken away at noon.
func (w *world) residentDay(d *device, idx uint64, day int32, p *plan, kind uint8, s *srng, ds *daySegs) (awakeFrom, awakeTo int) {
	c := ds.c
	awakeFrom, awakeTo = 6*hourSecs+1800, 23*hourSecs
	if d.comp2 >= 0 && day == d.moveDay {
		// Taken away at noon; the new compound's life begins tomorrow.
		old := w.comps[d.comp]
		p.comp, p.plane = int32(old.idx), int32(old.town.comp)
		p.add(at(0, 12*hourSecs, d.home, w.insideSeg(old, d, s)))
		p.add(seg{kind: segOff, from: 12 * hourSecs, to: daySecs, inside: -1, ap: -1, zone: -1})
		return awakeFrom, awakeTo
	}
	bed, desk := d.home, d.work
	if d.comp2 >= 0 && day > d.moveDay {
		r2 := newSrng(w.o.Seed, uint64(kind), idx, 1<<30)
		bed, desk = c.inside(&r2, 1500), c.inside(&r2, 1500)
	}
	in := ds.wifi
	if !s.permille(880) {
		in = seg{net: netMobile}
	}
	in.inside, in.zone = int32(c.idx), -1
	if in.ap == 0 && in.net == netMobile {
		in.ap = -1
	}
	// Work runs by night: asleep 03:00-11:00.
	awakeFrom, awakeTo = 11*hourSecs, 27*hourSecs
	p.add(at(0, 3*hourSecs, desk, in))
	p.add(at(3*hourSecs, 11*hourSecs, bed, in))
	t := 11 * hourSecs
	if c.clinic >= 0 && s.permille(20) {
		z := in
		z.zone = c.clinic
		p.add(at(t, t+hourSecs, w.zones[c.clinic].at, z))
		t += hourSecs
	}
	if s.permille(120) {
		// The market in town, in the afternoon.
		p.add(at(t, 15*hourSecs, desk, in))
		market := w.townPoint(c.town, s)
		p.add(ds.ride(15*hourSecs, 15*hourSecs+1200, c.loc, market))
		p.add(at(15*hourSecs+1200, 16*hourSecs+2400, market, ds.mobile))
		p.add(ds.ride(16*hourSecs+2400, 17*hourSecs, market, c.loc))
		t = 17 * hourSecs
	}
	for ; t < daySecs; t += hourSecs {
		where := desk
		if s.permille(300) {
			where = c.inside(s, 1500) // the canteen, another floor
		}
		p.add(at(t, min(t+hourSecs, daySecs), where, in))
	}
	return awakeFrom, awakeTo
}

// workerDay is a day of a worker who lives in town: to the compound and
// back, but on its day off (and now and then) a town day.
func (w *world) workerDay(d *device, day int32, p *plan, s *srng, ds *daySegs) {
	if day%7 == 6 || s.permille(80) {
		w.townDay(d, p, s, ds.home, ds.mobile)
		return
	}
	in := ds.wifi
	if !s.permille(600) {
		in = seg{net: netMobile, ap: -1}
	}
	in.inside, in.zone = int32(ds.c.idx), -1
	p.add(at(0, 6*hourSecs+1800, d.home, ds.home))
	p.add(ds.ride(6*hourSecs+1800, 7*hourSecs, d.home, d.work))
	p.add(at(7*hourSecs, 17*hourSecs+1800, d.work, in))
	p.add(ds.ride(17*hourSecs+1800, 18*hourSecs, d.work, d.home))
	p.add(at(18*hourSecs, daySecs, d.home, ds.home))
}

// riderDay is a day of a delivery rider: rides across town from 10:00 to
// 22:00, now and then food handed in at a compound's gate.
func (w *world) riderDay(d *device, day int32, p *plan, s *srng, ds *daySegs) {
	c := ds.c
	if day%7 == 3 {
		w.townDay(d, p, s, ds.home, ds.mobile)
		return
	}
	p.add(at(0, 10*hourSecs, d.home, ds.home))
	t, cur := 10*hourSecs, d.home
	for t < 22*hourSecs {
		pick := w.townPoint(c.town, s)
		dt := int(s.between(600, 1200))
		p.add(ds.ride(t, t+dt, cur, pick))
		t += dt
		wait := int(s.between(180, 600))
		p.add(at(t, t+wait, pick, ds.mobile))
		t += wait
		var dest pt
		var stay int
		dseg := ds.mobile
		if s.permille(150) {
			// Food for a compound: handed in past the gate.
			k := w.comps[c.town.comps[s.intn(len(c.town.comps))]]
			dest, stay = k.inside(s, 800), int(s.between(300, 1500))
			dseg.inside = int32(k.idx)
		} else {
			dest, stay = w.townPoint(c.town, s), int(s.between(180, 480))
		}
		dt = int(s.between(480, 1500))
		p.add(ds.ride(t, t+dt, pick, dest))
		t += dt
		p.add(at(t, t+stay, dest, dseg))
		t += stay
		cur = dest
	}
	p.add(ds.ride(t, t+1200, cur, d.home))
	p.add(at(t+1200, daySecs, d.home, ds.home))
}

// visitorDay is a day of a visitor: inside the compound on its days of
// visit (arriving at 10:00 on the first, leaving on the last), a town day
// otherwise.
func (w *world) visitorDay(d *device, day int32, p *plan, s *srng, ds *daySegs) {
	c := ds.c
	i := slices.Index(d.days, day)
	if i < 0 {
		w.townDay(d, p, s, ds.home, ds.mobile)
		return
	}
	in := ds.mobile
	if s.permille(300) {
		in = ds.wifi
	}
	in.inside, in.zone = int32(c.idx), -1
	from := 0
	if i == 0 {
		p.add(at(0, 9*hourSecs, d.home, ds.home))
		p.add(ds.ride(9*hourSecs, 10*hourSecs, d.home, c.loc))
		from = 10 * hourSecs
	}
	to := daySecs
	if i == len(d.days)-1 {
		to = 20 * hourSecs
		if len(d.days) > 1 {
			to = 12 * hourSecs
		}
	}
	for t := from; t < to; t += hourSecs {
		p.add(at(t, min(t+hourSecs, to), c.inside(s, 1500), in))
	}
	if to < daySecs {
		p.add(ds.ride(to, to+hourSecs, c.loc, d.home))
		p.add(at(to+hourSecs, daySecs, d.home, ds.home))
	}
}

// neighbourDay is a day of a neighbour: at home, now and then at its
// work next door.
func (ds *daySegs) neighbourDay(d *device, p *plan, s *srng) {
	if s.permille(200) {
		p.add(at(0, 10*hourSecs, d.home, ds.home))
		p.add(at(10*hourSecs, 13*hourSecs, d.work, ds.mobile))
		p.add(at(13*hourSecs, daySecs, d.home, ds.home))
	} else {
		p.add(at(0, daySecs, d.home, ds.home))
	}
}

// townDay is a day of a town's person: home, work or the market, home.
func (w *world) townDay(d *device, p *plan, s *srng, home, mobile seg) {
	t := w.comps[d.comp].town
	at := func(from, to int, pp pt, base seg) seg {
		base.kind, base.from, base.to, base.a = segAt, int32(from), int32(to), pp
		return base
	}
	p.add(at(0, 8*hourSecs, d.home, home))
	out := d.work
	if s.permille(400) {
		out = w.townPoint(t, s)
	}
	if d.remote {
		out = jitter(d.work, 100000, s)
	}
	m := mobile
	if s.permille(30) && len(t.zones) > 0 && !d.remote {
		// The clinic, the temple, the school.
		z := t.zones[s.intn(len(t.zones))]
		m.zone = z
		out = w.zones[z].at
	}
	p.add(at(8*hourSecs, 18*hourSecs, out, m))
	p.add(at(18*hourSecs, daySecs, d.home, home))
}

// compoundNet returns the segment template of a member on its compound's
// Wi-Fi: its preferred fibre line or the satellite terminal.
func (w *world) compoundNet(c *obsCompound, d *device) seg {
	nets := len(c.lines)
	if c.sat >= 0 {
		nets++
	}
	if nets == 0 {
		return seg{net: netMobile, ap: -1, zone: -1, inside: -1}
	}
	k := int(d.net) % nets
	sg := seg{ap: int32(int(d.key.lo % uint64(len(c.aps)))), zone: -1, inside: -1}
	if k < len(c.lines) {
		sg.net, sg.netID = netLine, c.lines[k]
	} else {
		sg.net, sg.netID = netSat, c.sat
	}
	return sg
}

// insideSeg is a member's segment template inside c.
func (w *world) insideSeg(c *obsCompound, d *device, s *srng) seg {
	in := w.compoundNet(c, d)
	if !s.permille(880) {
		in = seg{net: netMobile, ap: -1}
	}
	in.inside, in.zone = int32(c.idx), -1
	return in
}

// pingTimes draws the times a phone reports on a planned day.
func (w *world) pingTimes(d *device, p *plan, s *srng, awakeFrom, awakeTo int) {
	if len(p.segs) == 0 {
		return
	}
	awake := func(t int) bool {
		t2 := t
		if t2 < awakeFrom {
			t2 += daySecs
		}
		return t2 >= awakeFrom && t2 < awakeTo
	}
	addTime := func(t int) {
		if t >= 0 && t < daySecs && p.segAt(int32(t)).kind != segOff {
			p.times = append(p.times, int32(t))
		}
	}
	switch d.regime {
	case regSparse, regMedium:
		n := 1 + s.intn(5)
		if d.regime == regMedium {
			n = 8 + s.intn(23)
		}
		for range n {
			t := s.intn(daySecs)
			for try := 0; try < 4 && !awake(t) && s.permille(850); try++ {
				t = s.intn(daySecs)
			}
			addTime(t)
		}
		slices.Sort(p.times)
	default:
		for t := s.intn(600); t < daySecs; {
			addTime(t)
			step := int(d.step)
			if !awake(t) {
				step = int(s.between(3600, 7200))
			} else if d.kind == kRider && t >= 10*hourSecs && t < 22*hourSecs {
				step = int(d.step) // on duty: the delivery app's tracking
			}
			t += step/2 + s.intn(step)
		}
	}
}

// fix is what a phone reports at one moment: a place, an accuracy (-1:
// none) and an address (the zero Addr: none).
type fix struct {
	lat, lon int64 // microdegrees
	acc      int64
	ip       netip.Addr
}

// report makes what the phone of device d (number idx) reports at second
// t of its day, and tells the truth keeper.
func (w *world) report(d *device, idx uint64, day int32, p *plan, t int32, s *srng) fix {
	sg := p.segAt(t)
	c := w.comps[p.plane]
	// Where it really is.
	var at pt
	switch sg.kind {
	case segRide:
		f := int64(t-sg.from) * 1000 / int64(max(sg.to-sg.from, 1))
		at = pt{sg.a.x + (sg.b.x-sg.a.x)*f/1000, sg.a.y + (sg.b.y-sg.a.y)*f/1000}
	default:
		at = pt{sg.a.x + s.between(-400, 400), sg.a.y + s.between(-400, 400)}
	}
	var f fix
	rep := at
	switch x := s.intn(1000); {
	case d.centroid == 1 || d.centroid == 2 && s.permille(d.centroidShare()):
		rep = c.town.centroid
		f.acc = int64(d.centAcc)
	case x < int(d.gps):
		// GPS: the stated radius holds, but for one fix in fourteen,
		// wrong by up to three times it.
		f.acc = s.between(3, 25)
		rad := f.acc * 100
		if s.permille(70) {
			rad *= 3
		}
		rep = jitter(at, rad, s)
	case x < int(d.gps)+180 && sg.ap != -1 && (sg.net == netLine || sg.net == netSat):
		// Wi-Fi positioning: the access point's stored place, the same
		// for everyone on it.
		if sg.ap >= 0 {
			k := w.comps[sg.inside]
			if sg.inside < 0 {
				k = w.comps[p.comp]
			}
			rep = k.aps[int(sg.ap)%len(k.aps)]
		} else {
			rep = sg.a // the router at home
		}
		f.acc = s.between(20, 60)
	case x < 970:
		// The cell tower's place.
		tw := c.town.towers
		rep = tw[s.intn(len(tw))]
		f.acc = s.between(800, 3000)
		if s.permille(350) {
			f.acc = -1
		}
	default:
		rep, f.acc = jitter(at, 3000, s), -1
	}
	f.lat, f.lon = c.place(rep)
	// The address, when the app records one.
	if !s.permille(700) {
		return f
	}
	utc := int64(day)*daySecs + int64(t) - w.comps[p.comp].tz
	switch sg.net {
	case netMobile:
		if d.carrier < 0 {
			break
		}
		ms := w.mobile[w.comps[p.comp].cidx]
		m := ms[int(d.carrier)%len(ms)]
		a4, a6 := m.session(hash3(idx, uint64(d.kind), 0), day, int64(t)+p.phase, p.sess)
		f.ip = addr4(a4)
		if a6.IsValid() && s.permille(550) {
			f.ip = a6
		}
		w.obs.noteMobile(w, d, idx, p, sg, day, utc, a4, f.ip)
	case netLine:
		l := &w.lines[sg.netID]
		li, ls := l.at(utc)
		f.ip = addr4(ls.addr)
		sub := int(hash3(idx, 7, 7) % uint64(l.subnets))
		if l.isp.v6 && s.permille(550) {
			f.ip = l.v6(ls, sub, hash3(idx, uint64(d.kind), 1), day)
		}
		w.obs.noteLine(w, d, idx, p, sg, day, utc, sg.netID, li, sub, f.ip)
	case netSat:
		st := &w.sats[sg.netID]
		a4 := st.at(utc)
		f.ip = addr4(a4)
		if s.permille(550) {
			f.ip = st.v6(hash3(idx, uint64(d.kind), 2), day)
		}
		w.obs.noteSat(w, d, idx, p, sg, day, utc, sg.netID, a4, f.ip)
	}
	return f
}

// centroidShare is the permille of a sometimes-centroid phone's fixes
// that are the centroid.
func (d *device) centroidShare() int {
	if d.kind == kResident {
		return 300
	}
	return 400
}

// jitter returns a point uniformly within rad cm of p.
func jitter(p pt, rad int64, s *srng) pt {
	for {
		x, y := s.between(-rad, rad), s.between(-rad, rad)
		if x*x+y*y <= rad*rad {
			return pt{p.x + x, p.y + y}
		}
	}
}
