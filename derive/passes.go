package derive

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
)

// passPlaces is the first pass: where every observation lies, and who was
// seen inside a footprint on which days, using which address.
func (d *deriver) passPlaces(ctx context.Context) error {
	oc := &d.sum.Observations
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	err := d.sc.run(ctx, passPlaces, func(b *batch) error {
		in := &d.inputs[d.obsIn[b.file]]
		in.Records += b.records
		in.Rejected += len(b.rejects)
		oc.Read += b.records
		oc.Rejected += len(b.rejects)
		oc.Inside += b.where[footprint.Inside]
		oc.OutsideFootprints += b.where[footprint.Outside]
		oc.AccuracyCrossesEdge += b.where[footprint.OnEdge]
		oc.AccuracyTooCoarse += b.where[footprint.TooCoarse]
		oc.AccuracyAssumed += b.noAcc
		oc.OlderThanRetention += b.retained
		oc.AtSensitivePlaces += b.excluded
		if b.firstAt < first {
			first = b.firstAt
		}
		if b.lastAt > last {
			last = b.lastAt
		}
		for i := range b.rejects {
			if err := d.rj.add(&b.rejects[i]); err != nil {
				return err
			}
		}
		for i := range b.recs {
			r := &b.recs[i]
			dev := d.devs.intern(r.dev)
			if int(dev) == len(d.devDays) {
				d.devDays = append(d.devDays, nil)
			}
			if r.where != footprint.Inside {
				// A vague fix near a footprint: a day near, nothing more.
				d.devDays[dev].add(dayOf(r.at))
				continue
			}
			if r.inN > 1 {
				oc.InsideSeveral++
			}
			for _, c := range b.ins[r.inOff : r.inOff+r.inN] {
				k := uint64(c)<<32 | uint64(dev)
				if _, ok := d.pairIdx[k]; !ok {
					d.pairIdx[k] = int32(len(d.pairs))
					d.pairs = append(d.pairs, pair{comp: c, dev: dev})
				}
				d.devDays[dev].add(d.localDay(c, r.at))
				d.perComp[c].ObservationsInside++
			}
			if !r.ip.IsValid() {
				continue
			}
			oc.InsideWithIP++
			if seams.NonRoutable(r.ip) != "" {
				oc.InsideUnroutableIP++
				continue
			}
			k := keyOf(r.ip)
			ai, ok := d.sc.cands[k]
			if !ok {
				ai = int32(len(d.addrs))
				d.sc.cands[k] = ai
				d.addrs = append(d.addrs, addr{key: k})
			}
			a := &d.addrs[ai]
			a.inside.add(dev)
			a.days.add(dayOf(r.at))
		}
		return nil
	})
	if err == nil && first <= last {
		d.sum.Period = &Period{First: rfc3339(time.Unix(0, first)), Last: rfc3339(time.Unix(0, last))}
	}
	return err
}

// decideCandidates picks the devices that may dwell in a compound (seen
// inside one on MinDays distinct local days within Window: a necessary
// condition of residence) and the addresses they used inside, the only
// ones pass 2 looks at, with the days on which it counts their users.
func (d *deriver) decideCandidates() {
	w := int32(d.o.Window / day)
	d.candOf = make([]int32, len(d.devs.devs))
	for i := range d.candOf {
		d.candOf[i] = -1
	}
	inside := make([]bool, len(d.devs.devs))
	for _, p := range d.pairs {
		d.perComp[p.comp].DevicesInside++
		inside[p.dev] = true
	}
	for dev, days := range d.devDays {
		if days.bestWindow(w) >= d.o.MinDays {
			d.candOf[dev] = int32(len(d.cands))
			d.cands = append(d.cands, int32(dev))
			d.candInside = append(d.candInside, inside[dev])
			d.sc.candHash.add(hashDevice(d.devs.devs[dev]))
		}
		if inside[dev] {
			d.sum.Dwell.DevicesInside++
		}
	}
	d.sum.Dwell.Candidates = len(d.cands)
	d.events = make([][]event, len(d.cands))
	// What pass 1 kept per pair and device is not needed any more.
	d.pairs, d.pairIdx, d.devDays = nil, nil, nil

	gap := int32(d.o.LeaseGap / day)
	margin := int32(d.o.ShareMargin / day)
	d.sc.relevant = make([]bool, len(d.addrs))
	for i := range d.addrs {
		a := &d.addrs[i]
		for _, dev := range a.inside {
			if d.candOf[dev] >= 0 {
				a.relevant = true
				break
			}
		}
		d.sc.relevant[i] = a.relevant
		if !a.relevant {
			continue
		}
		// The periods: days of use inside (by anyone) cut where the
		// address was not used inside for longer than a lease gap, each
		// widened by the margin (one more day on each side for the
		// difference between UTC days and a compound's local days).
		for j, dd := range a.days {
			if j == 0 || dd-a.days[j-1] > gap {
				a.periods = append(a.periods, period{first: dd - margin - 1})
			}
			a.periods[len(a.periods)-1].last = dd + margin + 1
		}
		// Widened periods may touch: join them.
		out := a.periods[:1]
		for _, p := range a.periods[1:] {
			if p.first <= out[len(out)-1].last+1 {
				out[len(out)-1].last = max(out[len(out)-1].last, p.last)
				continue
			}
			out = append(out, p)
		}
		a.periods = out
	}
	d.dayUses = make(map[uint64]int32)
}

// passCandidates is the second pass: every observation of a candidate
// device, where it was (for its stays), and who used the relevant
// addresses on the days of their periods, inside and outside.
func (d *deriver) passCandidates(ctx context.Context) error {
	records := make([]int, len(d.o.Observations))
	err := d.sc.run(ctx, passCandidates, func(b *batch) error {
		records[b.file] += b.records
		for i := range b.recs {
			r := &b.recs[i]
			dev, known := d.devs.lookup(r.dev)
			ci := int32(-1)
			if known {
				ci = d.candOf[dev]
			}
			ai := int32(-1)
			if r.ip.IsValid() {
				if a, ok := d.sc.cands[keyOf(r.ip)]; ok {
					ai = a
				}
			}
			if ci >= 0 {
				e := event{t: r.at, spot: spotOf(r.lat, r.lon), place: placeElsewhere, addr: -1, file: uint16(b.file)}
				switch r.where {
				case footprint.Inside:
					e.place, e.addr = b.ins[r.inOff], ai
				case footprint.OnEdge, footprint.TooCoarse:
					e.place = placeVague
				}
				// A candidate never seen inside (only near) can be no
				// member: its fixes elsewhere do not matter, its others
				// count towards shared coordinates.
				if e.place != placeElsewhere || d.candInside[ci] {
					d.events[ci] = append(d.events[ci], e)
				}
			}
			if ai < 0 || !d.sc.relevant[ai] || r.where != footprint.Inside && r.where != footprint.Outside {
				continue
			}
			dd := dayOf(r.at)
			a := &d.addrs[ai]
			if !a.tracks(dd) {
				continue
			}
			k := uint64(ai)<<32 | uint64(uint32(dd))
			ui, ok := d.dayUses[k]
			if !ok {
				ui = int32(len(d.uses))
				d.dayUses[k] = ui
				d.uses = append(d.uses, dayUse{})
			}
			h := hashDevice(r.dev)
			if r.where == footprint.Inside {
				d.uses[ui].in.add(h)
			} else {
				d.uses[ui].out.add(h)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, n := range records {
		if want := d.inputs[d.obsIn[i]].Records; n != want {
			return fmt.Errorf("%s: %d records in the second pass, %d in the first: the file changed while it was read", d.o.Observations[i], n, want)
		}
	}
	for i := range d.events {
		slices.SortFunc(d.events[i], compareEvents)
	}
	return nil
}

// usesBetween returns the users of an address over UTC days [first, last]:
// the devices seen using it inside a footprint and those seen using it
// outside every footprint that never used it inside (any time), each
// count exact unless more is true.
func (d *deriver) usesBetween(ai int32, first, last int32, insideAll *hashes) (in, out int, more bool) {
	var ins, outs hashes
	for dd := first; dd <= last; dd++ {
		ui, ok := d.dayUses[uint64(ai)<<32|uint64(uint32(dd))]
		if !ok {
			continue
		}
		u := &d.uses[ui]
		for _, h := range u.in.h {
			ins.add(h)
		}
		for _, h := range u.out.h {
			if !insideAll.has(h) {
				outs.add(h)
			}
		}
		more = more || u.in.more || u.out.more
	}
	return ins.len(), outs.len(), more
}
