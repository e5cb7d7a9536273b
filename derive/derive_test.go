package derive

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/observe"
)

// Devices of the dwell tests.
var (
	devResident = dev(1)
	devWorker   = dev(2)
	devRider    = dev(3)
	devSparse   = dev(4)
	devVisitor  = dev(5)
	devFence    = dev(6)
	devWall     = dev(7)
	devCoarse   = dev(8)
	devBeta     = "idfa:00000000-0000-4000-8000-00000000000A"
	devSpread   = dev(9)
	devNoAcc    = dev(10)
	// Too sparse for stays: one fix inside and one at home a day.
	devSparseWorker = dev(11)
	// As sparse, one fix inside and four in town a day.
	devSparseRider = dev(12)
)

// dwellWorld is one of each kind of device the rules must tell apart.
func dwellWorld() []obs {
	var o []obs
	// A resident: inside, a fix every 90 minutes for five days and
	// nights.
	o = append(o, every(devResident, pa(-100, 50), lt(0, 0, 0), lt(5, 0, 0), 90*time.Minute, 10, "")...)
	// A worker: inside 08:00-17:00 on five days, in town the rest.
	o = append(o, daily(days(0, 5), func(d int) []obs {
		in := every(devWorker, pa(-50, -50), lt(d, 8, 0), lt(d, 17, 0), time.Hour, 10, "")
		return append(in, every(devWorker, town, lt(d, 18, 0), lt(d+1, 7, 0), 2*time.Hour, 10, "")...)
	})...)
	// A rider: a fix every 5 minutes on duty, 10:00-22:00, riding the
	// town, and inside 12:00-12:20 on ten days.
	o = append(o, daily(days(0, 10), func(d int) []obs {
		out := every(devRider, pa(0, 1500), lt(d, 10, 0), lt(d, 11, 55), 5*time.Minute, 8, "")
		out = append(out, every(devRider, pa(0, 150), lt(d, 12, 0), lt(d, 12, 20), 5*time.Minute, 8, "")...)
		return append(out, every(devRider, pa(300, 2500), lt(d, 12, 25), lt(d, 22, 0), 5*time.Minute, 8, "")...)
	})...)
	// A resident whose app seldom asks: three fixes a day on four days
	// of a month.
	o = append(o, daily([]int{0, 3, 6, 9}, func(d int) []obs {
		return []obs{{devSparse, lt(d, 1, 0), pa(60, 60), 15, ""}, {devSparse, lt(d, 7, 0), pa(60, 60), 15, ""}, {devSparse, lt(d, 15, 0), pa(70, 40), 15, ""}}
	})...)
	// A visitor: a day and a night inside, once.
	o = append(o, every(devVisitor, pa(0, -100), lt(2, 10, 0), lt(3, 16, 0), 30*time.Minute, 10, "")...)
	// A neighbour 15 m beyond the north wall, a fix every 15 minutes; one
	// in four strays 30 m inside.
	o = append(o, daily(days(0, 10), func(d int) []obs {
		var out []obs
		for i, x := range every(devFence, pa(0, 215), lt(d, 0, 0), lt(d, 23, 45), 15*time.Minute, 5, "") {
			if i%4 == 3 {
				x.p, x.acc = pa(0, 170), 10
			}
			out = append(out, x)
		}
		return out
	})...)
	// A resident living by the wall alpha shares with delta: one fix in
	// five strays into delta, and every day half an hour of them in a row.
	o = append(o, daily(days(0, 10), func(d int) []obs {
		var out []obs
		for i, x := range every(devWall, pa(180, 0), lt(d, 0, 0), lt(d, 23, 30), 30*time.Minute, 5, "") {
			if i%5 == 4 || i == 6 || i == 7 {
				x.p, x.acc = pa(225, 0), 10
			}
			out = append(out, x)
		}
		return out
	})...)
	// Inside every hour, but every fix coarse.
	o = append(o, every(devCoarse, pa(0, 0), lt(0, 0, 0), lt(5, 0, 0), time.Hour, 150, "")...)
	// Beta's resident, 200 m from its centre with 40 m fixes.
	o = append(o, every(devBeta, at(beta, 180, 200), lt(0, 0, 0), lt(4, 0, 0), 2*time.Hour, 40, "")...)
	// Three days of a day each, a month apart.
	o = append(o, daily([]int{0, 30, 60}, func(d int) []obs {
		return every(devSpread, pa(-150, -150), lt(d, 0, 0), lt(d, 23, 0), time.Hour, 5, "")
	})...)
	// A worker whose app seldom asks: one fix at work, one at home, on
	// twelve days; a rider as sparse, one fix at a gate among four in town.
	o = append(o, daily(days(0, 12), func(d int) []obs {
		return []obs{{devSparseWorker, lt(d, 9+d%6, 0), pa(-60, 120), 10, ""}, {devSparseWorker, lt(d, 21, 0), town, 10, ""}}
	})...)
	o = append(o, daily(days(0, 12), func(d int) []obs {
		return []obs{{devSparseRider, lt(d, 10, 0), pa(0, 1500), 10, ""}, {devSparseRider, lt(d, 12+d%5, 0), pa(0, 150), 10, ""},
			{devSparseRider, lt(d, 18, 0), pa(300, 2500), 10, ""}, {devSparseRider, lt(d, 20, 0), town, 10, ""}, {devSparseRider, lt(d, 22, 0), town, 10, ""}}
	})...)
	// No accuracy, 50 m inside the north wall: taken as 100 m, its circle
	// crosses the wall.
	o = append(o, every(devNoAcc, pa(0, 150), lt(0, 0, 0), lt(5, 0, 0), time.Hour, -1, "")...)
	return o
}

// TestDwell checks who dwells where: residents, workers, and the riders,
// visitors, neighbours and wall-neighbours who must not be.
func TestDwell(t *testing.T) {
	w := newWorld(t, dwellWorld())
	r := w.run(t)
	want := []string{"c-alpha device " + devResident, "c-alpha device " + devWorker, "c-alpha device " + devSparse, "c-alpha device " + devWall,
		"c-alpha device " + devSparseWorker, "c-beta device " + devBeta}
	slices.Sort(want)
	got := r.keys()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("indicators %v, want %v", got, want)
	}
	in, p, _ := r.find("c-alpha", "device", devResident)
	if !in.Window.First.Equal(lt(0, 0, 0)) || !in.Window.Last.Equal(lt(5, 0, 0)) {
		t.Errorf("window %s", in.Window)
	}
	if d := p.Dwell; d == nil || d.Role != roleResident || d.Hours != 120 || d.Nights != 6 || d.Stays != 1 || p.Days != 5 ||
		d.BestHours != 120 || d.BestDays != 5 || d.BestNights != 5 || p.Observations != 81 || p.Devices != 1 {
		t.Errorf("resident provenance %+v %+v", p, p.Dwell)
	}
	if in.Confidence != 0.68 || in.Source != DefaultSource { // 0.95 - 0.45*max(24/120, 3/5)
		t.Errorf("resident confidence %v", in.Confidence)
	}
	if p.Data == nil || len(p.Data.Files) != 1 || p.Data.First != rfc3339(lt(0, 0, 0)) || len(p.Footprints) != 1 ||
		!strings.Contains(p.Footprints[0], "footprints.geojson:1 features[0]") {
		t.Errorf("data %+v, footprints %v", p.Data, p.Footprints)
	}
	if _, p, _ := r.find("c-alpha", "device", devWorker); p.Dwell.Role != roleWorker || p.Dwell.Nights != 0 || p.Dwell.Hours != 45 || p.Dwell.Stays != 5 {
		t.Errorf("worker %+v", p.Dwell)
	}
	if _, p, _ := r.find("c-alpha", "device", devSparse); p.Dwell.Role != roleResident || p.Dwell.Hours != 56 || p.Dwell.Nights != 4 || p.Dwell.By != "stays" {
		t.Errorf("sparse resident %+v", p.Dwell)
	}
	if in, p, _ := r.find("c-alpha", "device", devSparseWorker); p.Dwell.Role != roleWorker || p.Dwell.By != "share of fixes" || p.Dwell.Share != 0.5 ||
		p.Dwell.Stays != 0 || p.Observations != 12 || !in.Window.First.Equal(lt(0, 9, 0)) || in.Confidence != 0.63 {
		t.Errorf("sparse worker %+v %+v, confidence %v", p.Dwell, in.Window, in.Confidence)
	}
	if _, p, _ := r.find("c-beta", "device", devBeta); len(p.Footprints) != 1 || !strings.HasPrefix(p.Footprints[0], "circle of 250 m") {
		t.Errorf("footprints of beta %v", p.Footprints)
	}
	s := r.sum
	if s.Residents != 4 || s.Workers != 2 || s.Dwell.Candidates != 11 {
		t.Errorf("summary %+v %+v", s, s.Dwell)
	}
	// Candidates: the resident, worker, rider, sparse, neighbour, wall-
	// neighbour (inside on three days or more), beta's, and the coarse and
	// no-accuracy devices (near on three days or more). Alpha saw the
	// resident, worker, rider, sparse, visitor, neighbour,
	// wall-neighbour and the month-apart device inside; delta only the
	// wall-neighbour, who dwells in alpha.
	if c := s.ByCompound[0]; c.Compound != "c-alpha" || c.DevicesInside != 10 || c.Residents != 3 || c.Workers != 2 || c.PassersBy != 5 {
		t.Errorf("alpha %+v", c)
	}
	if c := s.ByCompound[2]; c.Compound != "c-delta" || c.DevicesInside != 1 || c.Residents+c.Workers != 0 || c.PassersBy != 1 {
		t.Errorf("delta %+v", c)
	}
	oc := s.Observations
	if oc.Read != len(dwellWorld()) || oc.Read != oc.Rejected+oc.Inside+oc.OutsideFootprints+oc.AccuracyCrossesEdge+oc.AccuracyTooCoarse {
		t.Errorf("observations %+v", oc)
	}
	if oc.AccuracyTooCoarse != 121 || oc.AccuracyAssumed != 121 {
		t.Errorf("coarse %d, assumed %d", oc.AccuracyTooCoarse, oc.AccuracyAssumed)
	}

	for _, c := range []struct {
		name string
		set  func(*Options)
		dev  string
		in   bool
	}{
		{"a window of 90 days holds the month-apart days", func(o *Options) { o.Window = 90 * day }, devSpread, true},
		{"riders count with stays of 15 minutes", func(o *Options) { o.MinStay = 15 * time.Minute; o.MinDwell = time.Hour }, devRider, true},
		{"two days make the visitor", func(o *Options) { o.MinDays = 2 }, devVisitor, true},
		{"an exact point 50 m inside the wall", func(o *Options) { o.AssumeAccuracy = 0 }, devNoAcc, true},
		{"a gap of 5 hours, and no share of fixes, lose the sparse resident", func(o *Options) { o.MaxGap, o.MinFixes = 5*time.Hour, 100 }, devSparse, false},
		{"a min dwell of 60 hours and a min share of 0.7 lose the worker", func(o *Options) { o.MinDwell, o.MinShare = 60*time.Hour, 0.7 }, devWorker, false},
		{"a min share of 0.6 loses the sparse worker", func(o *Options) { o.MinShare = 0.6 }, devSparseWorker, false},
		{"a min share of 0.1 takes the sparse rider", func(o *Options) { o.MinShare = 0.1 }, devSparseRider, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, dwellWorld())
			c.set(&w.opts)
			r := w.run(t)
			if _, _, ok := r.find("c-alpha", "device", c.dev); ok != c.in {
				t.Errorf("%s: member %v, want %v (%v)", c.dev, ok, c.in, r.keys())
			}
		})
	}
	t.Run("min nights make the worker a resident", func(t *testing.T) {
		w := newWorld(t, dwellWorld())
		w.opts.MinNights = 0
		r := w.run(t)
		if _, p, _ := r.find("c-alpha", "device", devWorker); p.Dwell == nil || p.Dwell.Role != roleResident {
			t.Errorf("worker with --min-nights 0: %+v", p.Dwell)
		}
	})
	t.Run("the night hours", func(t *testing.T) {
		// With nights 08:00-17:00, the worker's days are nights.
		w := newWorld(t, dwellWorld())
		w.opts.NightStart, w.opts.NightEnd = 8, 17
		r := w.run(t)
		if _, p, _ := r.find("c-alpha", "device", devWorker); p.Dwell == nil || p.Dwell.Role != roleResident || p.Dwell.Nights != 5 {
			t.Errorf("worker with nights 8-17: %+v", p.Dwell)
		}
	})
}

// TestSharedCoordinates: six phones reporting one geocoder centroid inside
// alpha, day and night, are no one's residents; without the check they
// would be.
func TestSharedCoordinates(t *testing.T) {
	var o []obs
	for i := range 6 {
		o = append(o, every(dev(100+i), pa(0, 0), lt(0, i, 0), lt(10, i, 0), time.Hour, -1, "")...)
	}
	// A resident whose fixes are real, two of them at the centroid.
	o = append(o, every(devResident, pa(-100, 50), lt(0, 0, 0), lt(5, 0, 0), 90*time.Minute, 10, "")...)
	o = append(o, obs{devResident, lt(1, 0, 30), pa(0, 0), -1, ""}, obs{devResident, lt(1, 0, 40), pa(0, 0), -1, ""})
	w := newWorld(t, o)
	r := w.run(t)
	if !slices.Equal(r.keys(), []string{"c-alpha device " + devResident}) {
		t.Errorf("indicators %v", r.keys())
	}
	if sc := r.sum.SharedCoordinates; sc != (SpotCounts{Coordinates: 1, InsideFootprints: 1, FixesInside: 6*241 + 2}) {
		t.Errorf("shared coordinates %+v", sc)
	}
	if r.sum.ByCompound[0].SharedCoordinates != 1 {
		t.Errorf("by compound %+v", r.sum.ByCompound[0])
	}
	w.opts.SpotDevices = 0
	if r := w.run(t); len(r.indicators) != 7 {
		t.Errorf("without the check: %v", r.keys())
	}
	w.opts.SpotDevices = 8 // more devices than report it
	if r := w.run(t); len(r.indicators) != 7 {
		t.Errorf("--spot-devices 8: %v", r.keys())
	}
}

// Devices and addresses of the address tests.
var (
	res     = []string{dev(201), dev(202), dev(203), dev(204)}
	outside = func(i int) string { return dev(300 + i) }
)

const (
	wifi        = "203.0.113.10"
	wifiOld     = "203.0.113.11" // the compound's until day 6; a household's from day 9
	wifiNew     = "203.0.113.12"
	heldTwice   = "203.0.113.13" // days 0-2 and 15-17
	carrierOne  = "198.51.100.77"
	carrierTwo  = "198.51.100.78"
	unsupported = "203.0.113.40"
	contested   = "203.0.113.50"
	laterHome   = "203.0.113.60" // the compound's days 0-3, a household's days 30-40
)

// addressWorld has four residents of alpha, inside every two hours for 21
// days, using addresses in every way the rules must tell apart.
func addressWorld() []obs {
	var o []obs
	inside := pa(-80, 80)
	townAt := func(i int) obsPlace { return obsPlace{pa(float64(i*40), 3000), 15} }
	for ri, r := range res {
		for d := range 21 {
			for h := 0; h < 24; h += 2 {
				ip := ""
				switch {
				case h == 0:
					ip = wifi
				case h == 2 && ri < 2 && d <= 6:
					ip = wifiOld
				case h == 2 && ri < 2:
					ip = wifiNew
				case h == 4 && ri < 2 && (d <= 2 || d >= 15 && d <= 17):
					ip = heldTwice
				case h == 6 && ri == 0 && d == 3:
					ip = carrierOne
				case h == 6 && ri < 2 && (d == 4 || d == 5):
					ip = carrierTwo
				case h == 8 && ri == 0 && d == 7:
					ip = unsupported
				case h == 8 && ri < 2 && (d == 1 || d == 2):
					ip = contested
				case h == 10 && ri < 2 && d <= 3:
					ip = laterHome
				case h == 12:
					// Privacy addresses: a new one every day, in the two
					// /64 of the compound's delegated /56 (two Wi-Fi
					// networks).
					ip = fmt.Sprintf("2001:db8:aa:%x:%x::%x", 0x100+ri/2, 0x1000+d, ri+1)
				case h == 14 && ri == 2:
					// A phone on mobile IPv6: its own /64 each day.
					ip = fmt.Sprintf("2001:db8:ff:%x::1", d)
				case h == 16 && ri < 2:
					ip = "192.168.1.10"
				}
				o = append(o, obs{r, lt(d, h, 0), inside, 10, ip})
			}
		}
	}
	use := func(ip string, days []int, n, first int) {
		for _, d := range days {
			for i := range n {
				p := townAt(first + i)
				o = append(o, obs{outside(first + i), lt(d, 13, i), p.p, p.acc, ip})
			}
		}
	}
	use(wifiOld, days(9, 21), 4, 0)
	use(carrierOne, []int{3}, 6, 10)
	use(carrierTwo, []int{4, 5}, 5, 20)
	use(contested, []int{1}, 1, 30)
	use(laterHome, days(30, 41), 4, 40)
	return o
}

type obsPlace struct {
	p   orbPoint
	acc float64
}

func TestAddresses(t *testing.T) {
	w := newWorld(t, addressWorld())
	r := w.run(t)
	ips := map[string]int{}
	for _, in := range r.indicators {
		if in.Kind.String() != "device" {
			ips[in.Kind.String()+" "+in.Value]++
		}
	}
	want := map[string]int{"ip " + wifi: 1, "ip " + wifiOld: 1, "ip " + wifiNew: 1, "ip " + heldTwice: 2, "ip " + laterHome: 1,
		"cidr 2001:db8:aa:100::/56": 1}
	if fmt.Sprint(ips) != fmt.Sprint(want) {
		t.Fatalf("address indicators %v, want %v", ips, want)
	}
	if len(r.all("c-alpha", "device", res[0])) != 1 || r.sum.Residents != 4 {
		t.Fatalf("residents %v", r.keys())
	}
	in, p, _ := r.find("c-alpha", "ip", wifi)
	if !in.Window.First.Equal(lt(0, 0, 0)) || !in.Window.Last.Equal(lt(20, 0, 0)) {
		t.Errorf("Wi-Fi window %s", in.Window)
	}
	if p.Observations != 84 || p.Days != 21 || p.Devices != 4 || *p.Address != (AddressUse{InsideDevices: 4}) || in.Confidence != 0.93 {
		t.Errorf("Wi-Fi provenance %+v %+v, confidence %v", p, *p.Address, in.Confidence)
	}
	// The household that had the address after the compound counts
	// against it only in its own time: the compound's window stays, and
	// ends with its use.
	if in, p, _ := r.find("c-alpha", "ip", wifiOld); !in.Window.Last.Equal(lt(6, 2, 0)) || p.Address.OutsideDevices != 0 {
		t.Errorf("old Wi-Fi %s %+v", in.Window, p.Address)
	}
	if in, _, _ := r.find("c-alpha", "ip", laterHome); !in.Window.Last.Equal(lt(3, 10, 0)) {
		t.Errorf("later home %s", in.Window)
	}
	// Held twice, two weeks apart: two windows, none over the gap.
	ws := r.all("c-alpha", "ip", heldTwice)
	if len(ws) != 2 || !ws[0].Window.Last.Equal(lt(2, 4, 0)) || !ws[1].Window.First.Equal(lt(15, 4, 0)) {
		t.Errorf("held twice %v", ws)
	}
	// The /56 of the two /64 the residents' privacy addresses show.
	if _, p, _ := r.find("c-alpha", "cidr", "2001:db8:aa:100::/56"); p.Address.Merged64 != 2 || p.Devices != 4 {
		t.Errorf("/56 %+v %+v", p, p.Address)
	}
	for _, s := range []string{carrierOne, carrierTwo} {
		if !r.isShared(s) {
			t.Errorf("%s not shared: %v", s, r.shared)
		}
	}
	if len(r.shared) != 2 {
		t.Errorf("shared %v", r.shared)
	}
	wantLine := carrierTwo + " # 5 devices only outside, 2 inside (outside share 0.71) from 2024-03-04 to 2024-03-05; members inside c-alpha (2)\n"
	if !strings.Contains(r.raw[SharedFile], wantLine) {
		t.Errorf("shared.txt:\n%s\nwant the line %q", r.raw[SharedFile], wantLine)
	}
	// unsupported: one device, one day; the mobile /64s: one device each;
	// contested: one outsider of three.
	if a := r.sum.Addresses; a.Unsupported != 1+21 || a.Contested != 1 || a.Delegations != 1 || a.DroppedShared != 0 {
		t.Errorf("address counts %+v", a)
	}
	if oc := r.sum.Observations; oc.InsideUnroutableIP != 2*21 {
		t.Errorf("unroutable %d", oc.InsideUnroutableIP)
	}
	if r.sum.IPIndicators != 6 || r.sum.CIDRIndicators != 1 || r.sum.ByCompound[0].IPIndicators != 6 {
		t.Errorf("summary %+v", r.sum)
	}

	for _, c := range []struct {
		name  string
		set   func(*Options)
		check func(*result) string
	}{
		{"a lease gap of 14 days joins the two windows", func(o *Options) { o.LeaseGap = 14 * day }, func(r *result) string {
			if ws := r.all("c-alpha", "ip", heldTwice); len(ws) != 1 {
				return fmt.Sprint(ws)
			}
			return ""
		}},
		{"a margin of 4 days sees the household that came 3 days later", func(o *Options) { o.ShareMargin = 4 * day }, func(r *result) string {
			if _, p, ok := r.find("c-alpha", "ip", wifiOld); ok && p.Address.OutsideDevices == 0 {
				return fmt.Sprintf("%+v", p.Address)
			}
			return ""
		}},
		{"one device, one day is enough", func(o *Options) { o.MinAddrDevices, o.MinAddrDays = 1, 1 }, func(r *result) string {
			if _, _, ok := r.find("c-alpha", "ip", unsupported); !ok {
				return "no " + unsupported
			}
			return ""
		}},
		{"a competing share of 0.4 takes the contested address", func(o *Options) { o.MaxCompetingShare = 0.4 }, func(r *result) string {
			if _, p, ok := r.find("c-alpha", "ip", contested); !ok || p.Address.OutsideDevices != 1 || *p.Confidence != 0.33 {
				return fmt.Sprintf("%v %+v", ok, p)
			}
			return ""
		}},
		{"six outside devices are needed", func(o *Options) { o.MinOutsideDevices = 6 }, func(r *result) string {
			if r.isShared(carrierTwo) || !r.isShared(carrierOne) {
				return fmt.Sprint(r.shared)
			}
			return ""
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, addressWorld())
			c.set(&w.opts)
			if msg := c.check(w.run(t)); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestAddressInTwoCompounds: an address members of two compounds use
// inside their own at the same time is no fibre line of either (carrier or
// satellite NAT): it is an indicator of neither.
func TestAddressInTwoCompounds(t *testing.T) {
	const nat = "192.0.2.60"
	var o []obs
	for i, p := range []orbPoint{pa(-80, 80), pa(-60, 60), at(beta, 0, 50), at(beta, 90, 60)} {
		o = append(o, daily(days(0, 10), func(d int) []obs {
			return every(dev(400+i), p, lt(d, 0, 0), lt(d, 23, 0), time.Hour, 10, nat)
		})...)
	}
	w := newWorld(t, o)
	r := w.run(t)
	if r.sum.Residents != 4 || len(r.all("c-alpha", "ip", nat))+len(r.all("c-beta", "ip", nat)) != 0 || r.sum.Addresses.Contested != 2 {
		t.Errorf("indicators %v, addresses %+v", r.keys(), r.sum.Addresses)
	}
	// Beta's members alone: beta's indicator.
	w = newWorld(t, o[len(o)/2:])
	if r := w.run(t); len(r.all("c-beta", "ip", nat)) != 1 {
		t.Errorf("beta alone: %v", r.keys())
	}
}

// TestOrderDoesNotMatter splits the same observations into files, in
// several orders and with several workers: the registry must come out
// byte for byte the same, but for the files provenance names.
func TestOrderDoesNotMatter(t *testing.T) {
	o := append(addressWorld(), dwellWorld()...)
	var first *result
	var firstDir string
	normalize := func(r *result, dir string) map[string]string {
		out := map[string]string{}
		for _, f := range []string{IndicatorsFile, SharedFile, ProvenanceFile} {
			s := strings.ReplaceAll(r.raw[f], dir, "DIR")
			for i := 1; i <= 3; i++ {
				s = strings.ReplaceAll(s, fmt.Sprintf("obs%d.jsonl", i), "obs.jsonl")
			}
			out[f] = strings.ReplaceAll(s, `"DIR/obs.jsonl","DIR/obs.jsonl"`, `"DIR/obs.jsonl"`)
		}
		return out
	}
	for i, order := range []func([]obs) [][]obs{
		func(o []obs) [][]obs { return [][]obs{o} },
		func(o []obs) [][]obs {
			r := slices.Clone(o)
			slices.Reverse(r)
			return [][]obs{r}
		},
		func(o []obs) [][]obs {
			r := slices.Clone(o)
			rand.New(rand.NewPCG(7, 7)).Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
			return [][]obs{r[len(r)/3:], r[:len(r)/3]}
		},
	} {
		w := newWorld(t, order(o)...)
		w.opts.Workers = 1 + i
		r := w.run(t)
		if first == nil {
			first, firstDir = r, w.dir
			continue
		}
		a, b := normalize(r, w.dir), normalize(first, firstDir)
		for _, f := range []string{IndicatorsFile, SharedFile, ProvenanceFile} {
			if a[f] != b[f] {
				t.Errorf("order %d: %s differs:\n%s\nfirst:\n%s", i, f, a[f], b[f])
			}
		}
	}
}

// TestPrevious re-runs on more data: windows of indicators derived again
// grow to hold both runs, those not derived again are carried over, and an
// address the new data shows to be shared is retired.
func TestPrevious(t *testing.T) {
	inside := pa(-80, 80)
	var early, late []obs
	for _, r := range res[:2] {
		early = append(early, daily(days(0, 4), func(d int) []obs {
			return append(every(r, inside, lt(d, 0, 0), lt(d, 22, 0), 2*time.Hour, 10, wifi),
				obs{r, lt(d, 23, 0), inside, 10, carrierOne})
		})...)
		late = append(late, daily(days(40, 44), func(d int) []obs {
			return append(every(r, inside, lt(d, 0, 0), lt(d, 22, 0), 2*time.Hour, 10, wifi),
				obs{r, lt(d, 23, 0), inside, 10, carrierOne})
		})...)
	}
	for d := 40; d < 44; d++ {
		for i := range 5 {
			late = append(late, obs{outside(i), lt(d, 23, 10), town, 20, carrierOne})
		}
	}
	w1 := newWorld(t, early)
	r1 := w1.run(t)
	if want := []string{"c-alpha device " + res[0], "c-alpha device " + res[1], "c-alpha ip " + carrierOne, "c-alpha ip " + wifi}; !slices.Equal(r1.keys(), want) {
		t.Fatalf("first run %v", r1.keys())
	}
	prev := filepath.Join(w1.dir, "previous.csv")
	// A partner's prefix with a drift bound of its own (90d): carried over
	// as it was, bound included.
	os.WriteFile(prev, []byte(r1.raw[IndicatorsFile]+"c-beta,cidr,203.0.113.0/24,2023-01-01,,high,partner-test,90d\n"), 0o600)

	w2 := newWorld(t, late)
	w2.opts.Previous = prev
	r2 := w2.run(t)
	want := []string{"c-alpha device " + res[0], "c-alpha device " + res[1], "c-alpha ip " + wifi, "c-alpha ip " + wifi, "c-beta cidr 203.0.113.0/24"}
	if !slices.Equal(r2.keys(), want) {
		t.Fatalf("second run %v, want %v", r2.keys(), want)
	}
	in, p, _ := r2.find("c-alpha", "device", res[0])
	if !in.Window.First.Equal(lt(0, 0, 0)) || !in.Window.Last.Equal(lt(43, 23, 0)) {
		t.Errorf("extended window %s", in.Window)
	}
	if p.Previous == nil || p.Previous.File != prev || p.Previous.Line != 2 || p.Carried || p.Observations != 4*13 {
		t.Errorf("provenance of the extended device %+v %+v", p, p.Previous)
	}
	// The Wi-Fi of the first run is carried: it is more than a lease gap
	// from this run's.
	ws := r2.all("c-alpha", "ip", wifi)
	_, p, _ = r2.find("c-alpha", "ip", wifi)
	if len(ws) != 2 || !p.Carried || p.Observations != 0 || !ws[0].Window.Last.Equal(lt(3, 22, 0)) || ws[0].Source != DefaultSource {
		t.Errorf("carried Wi-Fi %+v %+v", ws, p)
	}
	if !ws[1].Window.First.Equal(lt(40, 0, 0)) {
		t.Errorf("Wi-Fi windows %v", ws)
	}
	if in, p, _ := r2.find("c-beta", "cidr", "203.0.113.0/24"); !p.Carried || in.Confidence != 0.85 || in.Source != "partner-test" || !in.Window.Last.IsZero() ||
		!in.HasDrift || in.Drift != 90*24*time.Hour {
		t.Errorf("carried cidr %+v %+v", in, p)
	}
	// Addresses derived (again or not) and carried from a derived registry
	// keep drift 0: their windows were observed; devices have no bound.
	for _, in := range r2.indicators {
		switch {
		case in.Compound == "c-beta":
		case in.Kind == seams.KindDevice && in.HasDrift, in.Kind != seams.KindDevice && (!in.HasDrift || in.Drift != 0):
			t.Errorf("%s %s: drift %v (%v), want 0 on addresses and none on devices", in.Kind, in.Value, in.Drift, in.HasDrift)
		}
	}
	if pc := r2.sum.Previous; pc == nil || *pc != (PreviousCounts{Read: 5, Extended: 2, Carried: 2, Retired: 1}) {
		t.Errorf("previous counts %+v", pc)
	}
	if !r2.isShared(carrierOne) {
		t.Errorf("shared %v", r2.shared)
	}

	t.Run("the same inputs give the same bytes", func(t *testing.T) {
		r := w2.run(t)
		for _, f := range []string{IndicatorsFile, SharedFile, ProvenanceFile, SummaryFile} {
			if r.raw[f] != r2.raw[f] {
				t.Errorf("%s differs between two runs", f)
			}
		}
	})
}

// TestNothingLost feeds bad records in every input: each is in
// rejected.jsonl with its file, line and reason, without the content of an
// observation line, and the counts add up.
func TestNothingLost(t *testing.T) {
	w := newWorld(t, addressWorld())
	good := string(obs{res[0], lt(7, 9, 0), pa(-80, 80), 10, ""}.line())
	bad := "{\"device\":\"" + res[0] + "\",\"at\":\"yesterday\",\"lat\":10.6,\"lon\":103.5}\n" +
		"\n" +
		good +
		"{\"device\":\"" + res[0] + "\",\"at\":\"2024-03-01T00:00:00Z\",\"lat\":0,\"lon\":0}\n" +
		"[1]\n" +
		"{\"device\":\"" + res[0] + "\",\"pad\":\"" + strings.Repeat("x", observe.MaxLine) + "\"}\n" +
		good
	badFile := w.write(t, "bad.jsonl", bad)
	csvFile := w.write(t, "more.csv", "device,at,lat,lon,accuracy_m,ip\n"+res[0]+",2024-03-09T09:00:00Z,10.6,103.5,5,\n"+res[0]+",2024-03-09T09:00:00Z,10.6,103.5,5,not-an-ip\n")
	w.opts.Observations = append(w.opts.Observations, badFile, csvFile)
	w.write(t, "compounds.csv", compoundsCSV+"c-alpha,Duplicate,KH,,\n")
	fp := footprintsJSON()
	fp = strings.TrimSuffix(fp, "]}") + `,{"type":"Feature","properties":{"compound":"c-nobody"},"geometry":null}]}`
	w.write(t, "footprints.geojson", fp)
	r := w.run(t)

	type where struct {
		file string
		line float64
	}
	var got []where
	for _, e := range r.rejected {
		if e["reason"] == "" {
			t.Errorf("rejection without a reason: %v", e)
		}
		f := filepath.Base(e["file"].(string))
		if raw, _ := e["raw"].(string); raw != "" && (strings.HasSuffix(f, ".jsonl") || strings.HasSuffix(f, ".csv") && f != "compounds.csv") {
			t.Errorf("a rejected observation line is written with its content: %v", e)
		}
		got = append(got, where{f, e["line"].(float64)})
	}
	want := []where{{"compounds.csv", 6}, {"footprints.geojson", 2}, {"bad.jsonl", 1}, {"bad.jsonl", 4}, {"bad.jsonl", 5}, {"bad.jsonl", 6}, {"more.csv", 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rejected at %v, want %v", got, want)
	}
	oc := r.sum.Observations
	if oc.Read != len(addressWorld())+6+2 || oc.Rejected != 5 {
		t.Errorf("read %d, rejected %d", oc.Read, oc.Rejected)
	}
	if sum := oc.Rejected + oc.Inside + oc.OutsideFootprints + oc.AccuracyTooCoarse + oc.AccuracyCrossesEdge; sum != oc.Read {
		t.Errorf("%d read, but %d accounted for: %+v", oc.Read, sum, oc)
	}
	if r.sum.Rejected != len(r.rejected) || r.sum.Rejected != 7 {
		t.Errorf("summary rejected %d, %d lines", r.sum.Rejected, len(r.rejected))
	}
	var inputs []string
	for _, in := range r.sum.Inputs {
		inputs = append(inputs, fmt.Sprintf("%s %s %d/%d", filepath.Base(in.File), in.Kind, in.Rejected, in.Records))
	}
	wantInputs := []string{"compounds.csv compounds 1/5", "footprints.geojson footprints 1/3", fmt.Sprintf("obs1.jsonl observations 0/%d", len(addressWorld())),
		"bad.jsonl observations 4/6", "more.csv observations 1/2"}
	if !slices.Equal(inputs, wantInputs) {
		t.Errorf("inputs %v, want %v", inputs, wantInputs)
	}

	t.Run("max rejected", func(t *testing.T) {
		w.opts.Out = filepath.Join(w.dir, "out2")
		w.opts.MaxRejected = 6
		if _, err := Run(context.Background(), w.opts); err == nil || !strings.Contains(err.Error(), "too many rejected") {
			t.Fatalf("error %v", err)
		}
		if ents, _ := os.ReadDir(w.opts.Out); len(ents) != 0 {
			t.Errorf("a failed run left %v", ents)
		}
	})
}

// TestFormats derives the same registry from JSON Lines, CSV and Parquet.
func TestFormats(t *testing.T) {
	o := append(addressWorld(), dwellWorld()...)
	w := newWorld(t, o)
	want := w.run(t)
	var cs bytes.Buffer
	cs.WriteString("ip,accuracy_m,device,at,lat,lon\n")
	var pq bytes.Buffer
	pw := observe.NewParquetWriter(&pq)
	for _, x := range o {
		ob := x.observation()
		acc := ""
		if ob.HasAccuracy {
			acc = fmt.Sprint(ob.Accuracy)
		}
		fmt.Fprintf(&cs, "%s,%s,%s,%s,%v,%v\n", x.ip, acc, ob.Device, ob.At.Format(time.RFC3339Nano), ob.Lat, ob.Lon)
		pw.Write(&ob)
	}
	pw.Close()
	for _, f := range []struct {
		name string
		data []byte
	}{{"o.csv", cs.Bytes()}, {"o.parquet", pq.Bytes()}} {
		p := w.write(t, f.name, string(f.data))
		w.opts.Observations = []string{p}
		r := w.run(t)
		for _, n := range []string{IndicatorsFile, SharedFile} {
			if r.raw[n] != want.raw[n] {
				t.Errorf("%s: %s differs from the one derived from JSON Lines:\n%s\nwant:\n%s", f.name, n, r.raw[n], want.raw[n])
			}
		}
	}
}

func TestFileChangedBetweenPasses(t *testing.T) {
	w := newWorld(t, addressWorld())
	s := &scanner{o: &w.opts, stamps: make([]fileStamp, 1)}
	name := w.opts.Observations[0]
	if err := s.stamp(0, name, passPlaces); err != nil {
		t.Fatal(err)
	}
	if err := s.stamp(0, name, passCandidates); err != nil {
		t.Fatalf("unchanged file: %v", err)
	}
	f, _ := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n")
	f.Close()
	if err := s.stamp(0, name, passCandidates); err == nil || !strings.Contains(err.Error(), "changed between the two passes") {
		t.Fatalf("error %v", err)
	}
}

func TestOptionsChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(*Options)
		err  string
	}{
		{"no compounds", func(o *Options) { o.Compounds = "" }, "no compounds file"},
		{"no observations", func(o *Options) { o.Observations = nil }, "no observation files"},
		{"stdin", func(o *Options) { o.Observations = []string{"-"} }, "standard input"},
		{"twice", func(o *Options) { o.Observations = []string{"a", "a"} }, "given twice"},
		{"radius", func(o *Options) { o.Radius = 0 }, "radius"},
		{"accuracy", func(o *Options) { o.MaxAccuracy = -1 }, "max accuracy"},
		{"spot devices", func(o *Options) { o.SpotDevices = 1 }, "spot devices 1"},
		{"max gap", func(o *Options) { o.MaxGap = 0 }, "max gap"},
		{"night", func(o *Options) { o.NightStart, o.NightEnd = 5, 5 }, "night 5-5"},
		{"window not whole days", func(o *Options) { o.Window = 36 * time.Hour }, "whole number of days"},
		{"window shorter than the days", func(o *Options) { o.MinDays = 10; o.Window = 5 * day }, "cannot hold 10 distinct days"},
		{"dwell longer than the window", func(o *Options) { o.Window = 3 * day; o.MinDwell = 100 * time.Hour }, "longer than the window"},
		{"lease gap", func(o *Options) { o.LeaseGap = 12 * time.Hour }, "lease gap"},
		{"share", func(o *Options) { o.MaxOutsideShare = 1.5 }, "max outside share"},
		{"competing above shared", func(o *Options) { o.MaxCompetingShare = 0.6 }, "max competing share"},
		{"retain not whole days", func(o *Options) { o.Retain = 36 * time.Hour }, "retain"},
	} {
		o := NewOptions()
		o.Compounds, o.Observations, o.Out = "c.csv", []string{"o.jsonl"}, t.TempDir()
		c.f(&o)
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
}

func TestState(t *testing.T) {
	var s daySet
	for _, d := range []int32{5, 1, 9, 5, 3, 40, 2} {
		s.add(d)
	}
	if fmt.Sprint(s) != "[1 2 3 5 9 40]" {
		t.Errorf("days %v", s)
	}
	for _, c := range []struct {
		w    int32
		best int
	}{{1, 1}, {2, 2}, {3, 3}, {5, 4}, {9, 5}, {39, 5}, {40, 6}} {
		if got := s.bestWindow(c.w); got != c.best {
			t.Errorf("bestWindow(%d) = %d, want %d", c.w, got, c.best)
		}
	}
	if dayOf(-1) != -1 || dayOf(0) != 0 || dayOf(nsPerDay-1) != 0 || dayOf(nsPerDay) != 1 {
		t.Error("dayOf")
	}
	a := addr{periods: []period{{3, 5}, {10, 10}, {20, 30}}}
	for d, want := range map[int32]bool{2: false, 3: true, 5: true, 6: false, 10: true, 11: false, 25: true, 31: false} {
		if a.tracks(d) != want {
			t.Errorf("tracks(%d) = %v", d, !want)
		}
	}
	for _, c := range []struct{ a, b, c, e, want int64 }{{0, 10, 5, 20, 5}, {0, 10, 10, 20, 0}, {5, 6, 0, 100, 1}, {0, 10, 20, 30, 0}} {
		if got := overlap(c.a, c.b, c.c, c.e); got != c.want {
			t.Errorf("overlap(%d,%d,%d,%d) = %d", c.a, c.b, c.c, c.e, got)
		}
	}
}

// TestBottomK holds bottomK to its promise: the smallest hashes, whatever
// the order, and whether there were more.
func TestBottomK(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for trial := range 200 {
		n := r.IntN(3 * keepHashes)
		hs := make([]uint64, n)
		for i := range hs {
			hs[i] = r.Uint64() % uint64(1+trial*10) // repeats
		}
		var a, b bottomK
		for _, h := range hs {
			a.add(h)
		}
		r.Shuffle(len(hs), func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
		for _, h := range hs {
			b.add(h)
		}
		slices.Sort(hs)
		hs = slices.Compact(hs)
		want := hs[:min(len(hs), keepHashes)]
		if !slices.Equal(a.h, want) || !slices.Equal(b.h, want) || a.more != (len(hs) > keepHashes) || b.more != a.more {
			t.Fatalf("trial %d: %v %v / %v %v, want %v %v", trial, a.h, a.more, b.h, b.more, want, len(hs) > keepHashes)
		}
	}
}

// TestHashes checks the hash set against a map on random hashes, zero
// included.
func TestHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 50 {
		var s hashes
		m := map[uint64]bool{}
		for range r.IntN(3000) {
			h := r.Uint64() % uint64(10+trial*100) // repeats
			if r.IntN(50) == 0 {
				h = 0
			}
			s.add(h)
			if h == 0 {
				h = 1
			}
			m[h] = true
			if !s.has(h) {
				t.Fatalf("%d added, not found", h)
			}
		}
		if s.len() != len(m) {
			t.Fatalf("%d hashes, want %d", s.len(), len(m))
		}
		for range 1000 {
			h := r.Uint64() % uint64(20+trial*200)
			if h == 0 {
				continue
			}
			if s.has(h) != m[h] {
				t.Fatalf("has(%d) = %v", h, s.has(h))
			}
		}
	}
	if hashDevice(seamsDevice(res[0])) != hashDeviceText([]byte(res[0])) {
		t.Error("hashDevice and hashDeviceText disagree")
	}
}

func TestWilsonLower(t *testing.T) {
	for _, c := range []struct {
		k, n   int64
		lo, hi float64
	}{{12, 12, 0.75, 0.76}, {10, 20, 0.29, 0.30}, {3, 60, 0.017, 0.018}, {0, 10, 0, 1e-12}, {1, 1, 0.20, 0.21}} {
		if got := wilsonLower(c.k, c.n); got < c.lo || got > c.hi {
			t.Errorf("wilsonLower(%d, %d) = %g, want %g to %g", c.k, c.n, got, c.lo, c.hi)
		}
	}
}

// TestContinuedWindow: a window of an address used by one member only is
// kept when another window of it at the compound has the support (its line
// seen again by fewer members), and not otherwise.
func TestContinuedWindow(t *testing.T) {
	const line = "203.0.113.70"
	var o []obs
	for i, r := range res[:2] {
		o = append(o, daily(days(0, 30), func(d int) []obs {
			ip := ""
			if d <= 5 || i == 0 && d >= 20 && d <= 22 {
				ip = line
			}
			return every(r, pa(-80, 80), lt(d, 0, 0), lt(d, 23, 0), time.Hour, 10, ip)
		})...)
	}
	w := newWorld(t, o)
	r := w.run(t)
	ws := r.all("c-alpha", "ip", line)
	if len(ws) != 2 || !ws[1].Window.First.Equal(lt(20, 0, 0)) || ws[1].Confidence >= 0.5 || r.sum.Addresses.Continued != 1 {
		t.Fatalf("windows %v, addresses %+v", ws, r.sum.Addresses)
	}
	if !r.prov[len(r.prov)-1].Address.Continues {
		t.Errorf("provenance %+v", r.prov[len(r.prov)-1].Address)
	}
	// Without the first window there is nothing to continue.
	var late []obs
	for _, x := range o {
		if x.t.After(lt(15, 0, 0)) {
			late = append(late, x)
		}
	}
	if r := newWorld(t, late).run(t); len(r.all("c-alpha", "ip", line)) != 0 || r.sum.Addresses.Unsupported != 1 {
		t.Errorf("alone: %v %+v", r.keys(), r.sum.Addresses)
	}
}
