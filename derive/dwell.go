package derive

import (
	"math"
	"slices"
	"time"
)

// This file decides who dwells where: shared coordinates first, then the
// stays of every candidate device, the time they add up to by compound and
// day, and from that the residents and workers.

// findSpots finds the coordinates that many distinct candidate devices
// reported exactly (a geocoder's centroid, a cell tower, an access point's
// stored place: no device is really at one point with many others, day
// after day) and discounts every fix at one: it places no device anywhere.
func (d *deriver) findSpots() {
	sc := &d.sum.SharedCoordinates
	if d.o.SpotDevices == 0 {
		return
	}
	// Each device's distinct coordinates, counted first into a table of
	// saturating counters by hash (a coordinate reported by many devices
	// has a high count; others rarely collide enough to), then exactly,
	// for the coordinates whose counter reached the threshold.
	const bits = 24 // 16 MB
	counts := make([]uint8, 1<<bits)
	var mine []uint32
	distinct := func(evs []event) []uint32 {
		mine = mine[:0]
		for _, e := range evs {
			mine = append(mine, e.spot)
		}
		slices.Sort(mine)
		return slices.Compact(mine)
	}
	threshold := uint8(min(d.o.SpotDevices, 255))
	for _, evs := range d.events {
		for _, s := range distinct(evs) {
			if c := &counts[s>>(32-bits)]; *c < 255 {
				*c++
			}
		}
	}
	exact := map[uint32]int{}
	for _, evs := range d.events {
		for _, s := range distinct(evs) {
			if counts[s>>(32-bits)] >= threshold {
				exact[s]++
			}
		}
	}
	counts = nil
	d.spots = map[uint32]bool{}
	for s, n := range exact {
		if n >= d.o.SpotDevices {
			d.spots[s] = true
		}
	}
	sc.Coordinates = len(d.spots)
	if len(d.spots) == 0 {
		return
	}
	inside := map[uint32]bool{}
	for ci := range d.events {
		evs := d.events[ci]
		for i := range evs {
			e := &evs[i]
			if !d.spots[e.spot] {
				continue
			}
			switch {
			case e.place >= 0:
				sc.FixesInside++
				if !inside[e.spot] {
					inside[e.spot] = true
					d.perComp[e.place].SharedCoordinates++
				}
			case e.place == placeElsewhere:
				sc.FixesOutside++
			default:
				sc.FixesVague++
			}
			if e.place >= 0 {
				e.place = spotInside(e.place)
			} else {
				e.place = placeUnknown
			}
		}
	}
	sc.InsideFootprints = len(inside)
}

// dayBucket is a device's time inside one compound on one local day, and
// inside during the night that begins that day, in seconds.
type dayBucket struct {
	day          int32
	secs, nights int32
	// Fixes that day (inside any footprint or elsewhere), and inside this
	// compound.
	fixes, fixesIn int32
	// Fixes during the night that begins that day: inside the compound,
	// and elsewhere.
	nightIn, nightAway bool
	dominated          bool // another compound had more of the day
}

// dwelling is what the stays of one device add up to at one compound.
type dwelling struct {
	comp        int32
	buckets     []dayBucket // by day
	first, last int64       // of the counted stays
	stays       int
	obs         int64
	files       []uint16
	// Every fix inside.
	fixes             int64
	fixFirst, fixLast int64
	fixFiles          []uint16
}

// bucket returns the bucket of a day, added in order if missing.
func (w *dwelling) bucket(dd int32) *dayBucket {
	i, found := slices.BinarySearchFunc(w.buckets, dd, func(b dayBucket, dd int32) int { return cmp64(int64(b.day), int64(dd)) })
	if !found {
		w.buckets = slices.Insert(w.buckets, i, dayBucket{day: dd})
	}
	return &w.buckets[i]
}

// Roles of a member.
const (
	roleResident = "resident"
	roleWorker   = "worker"
)

// member is a device that dwells at a compound: a device indicator.
type member struct {
	dev, comp   int32
	role        string
	by          string // what made it one: "stays", or "share of fixes"
	share       float64
	fixDays     int // days with fixes inside
	first, last int64
	secs        int64 // inside, after dominance
	days        int   // local days with time inside
	nights      int   // nights with half their hours inside
	stays       int
	obs         int64
	files       []uint16
	// The best window: the most time inside within one Window.
	bestSecs          int64
	bestDays, bestNts int
}

// decideMembers computes every candidate's stays and decides the members.
func (d *deriver) decideMembers() {
	night := d.nightWindow()
	var byComp dwellings
	for ci, evs := range d.events {
		byComp = byComp[:0]
		markStrays(evs)
		byComp.addFixes(evs)
		d.addStays(&byComp, evs, night)
		if len(byComp) == 0 {
			continue
		}
		d.countDays(byComp, evs, night)
		// Where the device dwells: on a day with time in several
		// compounds (two that share a wall), the day's time counts only
		// for the compound with the most.
		if len(byComp) > 1 {
			d.dominate(byComp)
		}
		d.addMembers(ci, byComp, night)
	}
	ds := &d.sum.Dwell
	for i := range d.perComp {
		c := &d.perComp[i]
		c.PassersBy = c.DevicesInside - c.Residents - c.Workers
		ds.PassersBy += c.PassersBy
	}
	slices.SortFunc(d.members, func(a, b member) int {
		if a.dev != b.dev {
			return cmp64(int64(a.dev), int64(b.dev))
		}
		return cmp64(int64(a.comp), int64(b.comp))
	})
}

// dwellings are a device's time at each compound it was seen inside, in
// the order it was first seen there.
type dwellings []dwelling

// of returns the dwelling at compound c, added when it is new.
func (dw *dwellings) of(c int32) *dwelling {
	for i := range *dw {
		if (*dw)[i].comp == c {
			return &(*dw)[i]
		}
	}
	*dw = append(*dw, dwelling{comp: c})
	return &(*dw)[len(*dw)-1]
}

// addFixes notes every compound the device was seen inside, with its
// first and last fix there.
func (dw *dwellings) addFixes(evs []event) {
	for _, e := range evs {
		if e.place < 0 {
			continue
		}
		w := dw.of(e.place)
		if w.fixes == 0 || e.t < w.fixFirst {
			w.fixFirst = e.t
		}
		if w.fixes == 0 || e.t > w.fixLast {
			w.fixLast = e.t
		}
		w.fixes++
		if i, found := slices.BinarySearch(w.fixFiles, e.file); !found {
			w.fixFiles = slices.Insert(w.fixFiles, i, e.file)
		}
	}
}

// addStays credits the device's stays: runs of fixes at one place with no
// fix elsewhere between them and no silence longer than MaxGap, each at
// least MinStay long.
func (d *deriver) addStays(dw *dwellings, evs []event, night nightHours) {
	minStay, maxGap := int64(d.o.MinStay), int64(d.o.MaxGap)
	start := -1
	flush := func(end int) { // evs[start:end] is one stay
		if start < 0 || evs[start].place < 0 {
			return
		}
		a, b := evs[start].t, evs[end-1].t
		if b-a < minStay || b == a {
			return
		}
		w := dw.of(evs[start].place)
		d.credit(w, a, b, night)
		if w.stays == 0 || a < w.first {
			w.first = a
		}
		if w.stays == 0 || b > w.last {
			w.last = b
		}
		w.stays++
		w.obs += int64(end - start)
		for _, e := range evs[start:end] {
			if i, found := slices.BinarySearch(w.files, e.file); !found {
				w.files = slices.Insert(w.files, i, e.file)
			}
		}
	}
	prev := -1
	for i := range evs {
		e := &evs[i]
		if ignored(e.place) {
			continue
		}
		if prev >= 0 && e.place == evs[prev].place && e.t-evs[prev].t <= maxGap {
			prev = i
			continue
		}
		if start >= 0 {
			flush(prev + 1)
		}
		start, prev = i, i
	}
	if start >= 0 {
		flush(prev + 1)
	}
}

// countDays counts, at each compound of the device, its fixes by day (how
// many, how many inside: the share of a device's time inside, where its
// fixes come at random times) and its bed-down (where its fixes are at
// night).
func (d *deriver) countDays(byComp dwellings, evs []event, night nightHours) {
	for i := range evs {
		e := &evs[i]
		if ignored(e.place) {
			continue
		}
		for k := range byComp {
			w := &byComp[k]
			bk := w.bucket(d.localDay(w.comp, e.t))
			bk.fixes++
			if e.place == w.comp {
				bk.fixesIn++
			}
			if e.place >= 0 && e.place != w.comp {
				continue
			}
			n, in := d.nightOf(w.comp, e.t, night)
			if !in {
				continue
			}
			bk = w.bucket(n)
			if e.place == w.comp {
				bk.nightIn = true
			} else {
				bk.nightAway = true
			}
		}
	}
}

// addMembers makes candidate ci a member of each compound where its time
// qualifies it, as a resident or a worker.
func (d *deriver) addMembers(ci int, byComp dwellings, night nightHours) {
	ds := &d.sum.Dwell
	for i := range byComp {
		if m, ok := d.qualifies(&byComp[i], night); ok {
			m.dev = d.cands[ci]
			d.members = append(d.members, m)
			d.perComp[m.comp].Residents += b2i(m.role == roleResident)
			d.perComp[m.comp].Workers += b2i(m.role == roleWorker)
			if m.role == roleResident {
				ds.Residents++
			} else {
				ds.Workers++
			}
		}
	}
}

// strayGap bounds the noise markStrays removes.
const strayGap = int64(time.Hour)

// placeStray marks a fix taken for noise (see markStrays).
const placeStray = -3

// markStrays marks as strays the fixes that are alone at their place
// between two fixes at one other place no more than strayGap apart: one fix
// against the two around it is a fix wrong beyond its accuracy (over a
// wall, out of a room by the fence), not a trip. Such a fix neither ends a
// stay nor begins one.
func markStrays(evs []event) {
	prev := -1 // the last fix of a known place before i
	for i := range evs {
		if ignored(evs[i].place) {
			continue
		}
		if prev >= 0 && evs[prev].place != evs[i].place {
			next := i + 1
			for next < len(evs) && ignored(evs[next].place) {
				next++
			}
			if next < len(evs) && evs[next].place == evs[prev].place && evs[next].t-evs[prev].t <= strayGap {
				evs[i].place = placeStray
				continue
			}
		}
		prev = i
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nightHours is the night window in a local day: it begins start ns after
// midnight and lasts length ns (crossing into the next day when start +
// length is beyond a day).
type nightHours struct{ start, length int64 }

func (d *deriver) nightWindow() nightHours {
	s, e := int64(d.o.NightStart)*int64(time.Hour), int64(d.o.NightEnd)*int64(time.Hour)
	if e <= s {
		e += nsPerDay
	}
	return nightHours{start: s, length: e - s}
}

// credit adds the time [a, b] (Unix ns) inside w's compound to its days
// and nights, in the compound's local time.
func (d *deriver) credit(w *dwelling, a, b int64, night nightHours) {
	off := d.offset[w.comp]
	la, lb := a+off, b+off
	for dd := dayOf(la) - 1; dd <= dayOf(lb); dd++ {
		ds := int64(dd) * nsPerDay
		secs := overlap(la, lb, ds, ds+nsPerDay) / 1e9
		ns := overlap(la, lb, ds+night.start, ds+night.start+night.length) / 1e9
		if secs == 0 && ns == 0 {
			continue
		}
		bk := w.bucket(dd)
		bk.secs += int32(secs)
		bk.nights += int32(ns)
	}
}

// nightOf returns the night (the local day it begins on) of an instant at
// compound c, and whether the instant is in the night hours at all.
func (d *deriver) nightOf(c int32, t int64, night nightHours) (int32, bool) {
	lt := t + d.offset[c]
	dd := dayOf(lt)
	since := lt - int64(dd)*nsPerDay
	switch {
	case since >= night.start && since < night.start+night.length:
		return dd, true
	case since+nsPerDay < night.start+night.length:
		return dd - 1, true // the early hours of a night that began the day before
	}
	return 0, false
}

// overlap returns the length of the intersection of [a, b] and [c, e).
func overlap(a, b, c, e int64) int64 {
	lo, hi := max(a, c), min(b, e)
	if hi <= lo {
		return 0
	}
	return hi - lo
}

// dominate keeps, for each day, the time of the compound with the most
// time that day and drops the others' (ties keep both).
func (d *deriver) dominate(ws []dwelling) {
	best := map[int32]int32{}
	for i := range ws {
		for _, b := range ws[i].buckets {
			best[b.day] = max(best[b.day], b.secs)
		}
	}
	for i := range ws {
		for j := range ws[i].buckets {
			b := &ws[i].buckets[j]
			if b.secs < best[b.day] {
				b.secs, b.nights, b.dominated = 0, 0, true
			}
		}
	}
}

// isNight reports whether the night beginning on a bucket's day counts as
// one inside: stays cover half of its hours, or the device was seen inside
// then and nowhere else (a phone asleep reports little; where it reports
// at night is where it sleeps). A dominated day's night does not count.
func (b *dayBucket) isNight(half int32) bool {
	return b.nights >= half || b.nightIn && !b.nightAway && !b.dominated
}

// wilsonLower is the lower end of the 95% Wilson score interval of a
// share k/n: a share known from n fixes only this well.
func wilsonLower(k, n int64) float64 {
	const z = 1.959964
	p, nf := float64(k)/float64(n), float64(n)
	c := p + z*z/(2*nf)
	r := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return (c - r) / (1 + z*z/nf)
}

// qualifies decides whether a device's dwelling at a compound makes it a
// member: within one Window, on at least MinDays days, either stays inside
// add up to MinDwell (what dense fixes show), or at least MinFixes of its
// fixes fall in the window and the share of them inside is at least
// MinShare with 95% confidence (the lower end of its Wilson interval):
// what sparse fixes show, fixes at random times sampling the device's
// time. A member is a resident when such a window also holds MinNights
// nights inside.
func (d *deriver) qualifies(w *dwelling, night nightHours) (member, bool) {
	o := d.o
	win := int32(o.Window / day)
	halfNight := int32(night.length / 2 / 1e9)
	minSecs := int64(o.MinDwell / time.Second)
	m := member{comp: w.comp, first: w.first, last: w.last, stays: w.stays, obs: w.obs, files: w.files}
	bs := w.buckets
	var secs int64
	days, nights, fixDays := 0, 0, 0
	var fixes, fixesIn int64
	byStays, byShare, resident := false, false, false
	for i, j := 0, 0; j < len(bs); j++ {
		b := bs[j]
		m.secs += int64(b.secs)
		m.days += b2i(b.secs > 0)
		m.nights += b2i(b.isNight(halfNight))
		m.fixDays += b2i(b.fixesIn > 0)
		secs += int64(b.secs)
		days += b2i(b.secs > 0)
		nights += b2i(b.isNight(halfNight))
		fixDays += b2i(b.fixesIn > 0)
		fixes += int64(b.fixes)
		fixesIn += int64(b.fixesIn)
		for bs[j].day-bs[i].day >= win {
			x := &bs[i]
			secs -= int64(x.secs)
			days -= b2i(x.secs > 0)
			nights -= b2i(x.isNight(halfNight))
			fixDays -= b2i(x.fixesIn > 0)
			fixes -= int64(x.fixes)
			fixesIn -= int64(x.fixesIn)
			i++
		}
		a := secs >= minSecs && days >= o.MinDays && secs > 0
		b2 := fixes >= int64(o.MinFixes) && fixDays >= o.MinDays && fixesIn > 0 && wilsonLower(fixesIn, fixes) >= o.MinShare
		if !a && !b2 {
			continue
		}
		byStays, byShare = byStays || a, byShare || b2
		if nights >= o.MinNights {
			resident = true
		}
		if share := float64(fixesIn) / float64(fixes); secs > m.bestSecs || secs == m.bestSecs && share > m.share {
			m.bestSecs, m.bestDays, m.bestNts = secs, max(days, fixDays), nights
			m.share = share
		}
	}
	if !byStays && !byShare {
		return member{}, false
	}
	m.by = "stays"
	if !byStays {
		// Known by its share of fixes alone: its window is its fixes
		// inside.
		m.by = "share of fixes"
		m.first, m.last, m.obs, m.files = w.fixFirst, w.fixLast, w.fixes, w.fixFiles
	}
	m.role = roleWorker
	if resident {
		m.role = roleResident
	}
	return m, true
}
