package gen

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
)

// Categories of planted reports, what derive and xref must make of each:
// tied, potential, or nothing.
var reportCategories = []struct {
	name   string
	tier   string // "" for none
	weight int
}{
	{"member-device", "tied", 30},     // a resident's or worker's device, during its stay
	{"compound-ip", "tied", 15},       // a compound's IPv4 address, during its lease and use
	{"compound-ipv6", "potential", 8}, // a privacy address in a compound's /64 (cidr evidence is potential)
	{"rider", "", 8},
	{"centroid", "", 7},
	{"neighbour", "", 7},
	{"visitor", "", 5},
	{"carrier", "", 8},     // a carrier NAT address a member used inside, at that time
	{"satellite", "", 4},   // a satellite NAT address a member used inside, at that time
	{"lease-after", "", 5}, // a compound's address during a household's later lease
	{"lease-gap", "", 3},   // a compound's address between two of its leases of it
}

// plantTarget is one thing a report can be planted on.
type plantTarget struct {
	comp     int32
	dev      *devKey
	ip       netip.Addr
	from, to int64 // seconds of the calendar: the report's time lies between
}

// targets lists what each category of report can be planted on.
func (w *world) targets() [][]plantTarget {
	out := make([][]plantTarget, len(reportCategories))
	// A report at the time of a use the observations show: within an
	// hour of it (the compound's own period, as the issue puts it).
	near := func(u *useStat, k uint64) (int64, int64) {
		t := u.times[int(k%uint64(len(u.times)))]
		return max(t-hourSecs, u.first), min(t+hourSecs, u.last)
	}
	for _, k := range sortedKeys(w.obs.members) {
		u := w.obs.members[k]
		if len(u.days) < 10 {
			continue // seen too little for any rule to know it
		}
		d := &w.devs[k>>16]
		// Within the stay, away from its ends, near a time it was seen.
		t := u.times[len(u.times)/2]
		out[0] = append(out[0], plantTarget{comp: u.comp, dev: &d.key, from: max(t-hourSecs, u.first), to: min(t+hourSecs, u.last)})
	}
	for _, k := range sortedKeys(w.obs.lines) {
		u := w.obs.lines[k]
		if len(u.devs) < 3 || len(u.days) < 3 {
			continue
		}
		ls := &w.lines[k>>32].leases[k&0xffffffff]
		a, b := near(u, k)
		out[1] = append(out[1], plantTarget{comp: u.comp, ip: addr4(ls.addr), from: a, to: b})
	}
	for _, k := range sortedKeys(w.obs.line6) {
		u := w.obs.line6[k]
		if len(u.devs) < 3 || len(u.days) < 3 {
			continue
		}
		l := &w.lines[k>>40]
		ls := &l.leases[k>>8&0xffffffff]
		a, b := near(u, k)
		// Someone's privacy address of another day in the /64.
		ip := l.v6(ls, int(k&0xff), k*7919, int32(u.days[len(u.days)/2]))
		out[2] = append(out[2], plantTarget{comp: u.comp, ip: ip, from: a, to: b})
	}
	for i := range w.devs {
		d := &w.devs[i]
		k := map[uint8]int{kRider: 3, kCentroid: 4, kNeighbour: 5, kVisitor: 6}[d.kind]
		if k == 0 {
			continue
		}
		from, to := int64(d.start)*daySecs, int64(d.end+1)*daySecs-1
		if d.kind == kVisitor {
			from, to = int64(d.days[0])*daySecs+10*hourSecs, int64(d.days[0])*daySecs+18*hourSecs
		}
		out[k] = append(out[k], plantTarget{comp: -1, dev: &d.key, from: from, to: to})
	}
	for _, a := range sortedKeys(w.obs.shared) {
		u := w.obs.shared[a]
		k := 7
		if u.why == 2 {
			k = 8
		}
		for _, t := range u.times[:min(len(u.times), 3)] {
			out[k] = append(out[k], plantTarget{comp: -1, ip: addr4(a), from: t - 600, to: t + 600})
		}
	}
	for _, la := range w.leasesAfter() {
		out[9] = append(out[9], plantTarget{comp: -1, ip: addr4(la.addr), from: la.start + (la.end-la.start)/4, to: la.end - (la.end-la.start)/4})
	}
	for _, k := range sortedKeys(w.obs.lines) {
		l := &w.lines[k>>32]
		li := int(k & 0xffffffff)
		ls := &l.leases[li]
		for j := li + 1; j < len(l.leases); j++ {
			if n := &l.leases[j]; n.addr == ls.addr && n.start > ls.end {
				gap := n.start - ls.end
				out[10] = append(out[10], plantTarget{comp: -1, ip: addr4(ls.addr), from: ls.end + gap/3, to: n.start - gap/3})
				break
			}
		}
	}
	return out
}

// writeReports writes reports to check a derived registry with: planted
// on what derive must find (members' devices, compounds' addresses and
// prefixes, at times of their use) and on what it must not (riders,
// centroid phones, neighbours, visitors, carrier and satellite addresses
// at the very time members used them, compound addresses during a later
// household's lease or between two of the compound's own leases), and
// background. truth gets the findings xref must make; planted, every
// planted report.
func (w *world) writeReports(rw, truth, planted *bufio.Writer) error {
	n := w.o.Reports
	r := newRNG(w.o.Seed, streamObservations+1)
	targets := w.targets()
	quota := make([]int, len(reportCategories))
	total := 0
	for _, c := range reportCategories {
		total += c.weight
	}
	plant := n / 5
	for k, c := range reportCategories {
		if len(targets[k]) > 0 {
			quota[k] = plant * c.weight / total
		}
	}
	width := max(7, len(strconv.Itoa(n)))
	var line []byte
	for i := 0; i < n; i++ {
		line = append(line[:0], `{"id":"r-obs-`...)
		line = appendDigits(line, uint64(i+1), width)
		line = append(line, '"')
		id := string(line[len(`{"id":"`) : len(line)-1])
		left := n - i
		x := r.intn(left)
		cat := -1
		for k, q := range quota {
			if x < q {
				cat = k
				break
			}
			x -= q
		}
		var at int64 // seconds of the calendar
		var ip netip.Addr
		var dv *devKey
		comp := int32(-1)
		if cat >= 0 {
			quota[cat]--
			t := targets[cat][r.intn(len(targets[cat]))]
			at = t.from + r.int64n(max(t.to-t.from, 1))
			ip, dv, comp = t.ip, t.dev, t.comp
		} else {
			at = r.int64n(calSecs)
			d := obsDevice(r)
			dv = &d
			p := w.sp.byCountry[countries[r.intn(3)]]
			var a uint32
			for a == 0 || w.reserved[a] {
				_, a = p.pick(r, w.sp.spans)
			}
			ip = addr4(a)
		}
		ns := (obsDay0*daySecs + at) * 1e9
		line = append(line, `,"received":"`...)
		line = appendTime(line, ns+2*nsDay, tfSec)
		line = append(line, `","incident":"sextortion","ips":[`...)
		if ip.IsValid() {
			line = append(line, `{"ip":"`...)
			line = ip.AppendTo(line)
			line = append(line, `","at":"`...)
			line = appendTime(line, ns, tfSec)
			line = append(line, `","event":"login"}`...)
		}
		line = append(line, `],"devices":[`...)
		if dv != nil {
			line = append(line, `{"type":"`...)
			line = append(line, devTypeNames[dv.typ]...)
			line = append(line, `","value":"`...)
			line = appendDevValue(line, *dv)
			line = append(line, `","at":"`...)
			line = appendTime(line, ns, tfSec)
			line = append(line, `"}`...)
		}
		line = append(line, "]}\n"...)
		if cat >= 0 {
			c := reportCategories[cat]
			cid := ""
			if comp >= 0 {
				cid = w.comps[comp].id
			}
			fmt.Fprintf(planted, `{"report":%q,"category":%q,"compound":%q}`+"\n", id, c.name, cid)
			if c.tier != "" {
				fmt.Fprintf(truth, `{"report":%q,"compound":%q,"tier":%q,"category":%q}`+"\n", id, cid, c.tier, c.name)
			}
		}
		if _, err := rw.Write(line); err != nil {
			return err
		}
	}
	return nil
}
