package psi

import (
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// exchange runs the blinded protocol for items against key and table, as a
// querier and holder would, and returns the labels each item opens.
func exchange(t testing.TB, key *Key, table *Table, items [][]byte) [][]Opened {
	t.Helper()
	if len(items) == 0 {
		return nil
	}
	bl, err := Blind(items)
	if err != nil {
		t.Fatal(err)
	}
	ev := make([]byte, len(bl.Elements))
	if err := key.Evaluate(ev, bl.Elements); err != nil {
		t.Fatal(err)
	}
	outs, err := bl.Finalize(ev)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]Opened, len(items))
	for i, out := range outs {
		if res[i], err = table.Open(out); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// world is a random registry and reports over a few addresses, devices
// and days, so that items meet often.
type world struct {
	compounds []seams.Compound
	inds      []seams.Indicator
	reports   []seams.Report
}

var day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func randWorld(r *mrand.Rand, nInds, nReports int) *world {
	w := &world{}
	for i := range 4 {
		w.compounds = append(w.compounds, seams.Compound{ID: fmt.Sprintf("c-%d", i), Name: fmt.Sprintf("Synthetic %d", i), Country: []string{"KH", "MM", "LA", "TH"}[i]})
	}
	addr := func() netip.Addr {
		if r.IntN(5) == 0 {
			return netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", r.IntN(6)+1))
		}
		return netip.MustParseAddr(fmt.Sprintf("203.0.113.%d", r.IntN(12)+1))
	}
	dev := func() seams.DeviceID {
		return seams.DeviceID{Type: []string{"imei", "idfa"}[r.IntN(2)], Value: fmt.Sprintf("35824005111%04d", r.IntN(8))}
	}
	instant := func() time.Time { // within 40 days, at any second
		return day0.Add(time.Duration(r.Int64N(40*86400)) * time.Second)
	}
	for i := range nInds {
		in := seams.Indicator{Compound: w.compounds[r.IntN(len(w.compounds))].ID, Source: fmt.Sprintf("ind-%d", i)}
		if r.IntN(3) == 0 {
			in.Kind, in.Device = seams.KindDevice, dev()
			in.Value = in.Device.String()
		} else {
			in.Kind, in.Addr = seams.KindIP, addr()
			in.Value = in.Addr.String()
		}
		if r.IntN(2) == 0 {
			in.Confidence, in.HasConfidence = float64(r.IntN(100))/100, true
		}
		a, b := instant(), instant()
		if b.Before(a) {
			a, b = b, a
		}
		switch r.IntN(8) {
		case 0: // open on both sides
		case 1:
			in.Window = seams.Window{First: a}
		case 2:
			in.Window = seams.Window{Last: b}
		case 3: // whole days, as a date window reads
			in.Window = seams.Window{First: a.Truncate(24 * time.Hour), Last: b.Truncate(24 * time.Hour).Add(24*time.Hour - 1)}
		default:
			in.Window = seams.Window{First: a, Last: b}
		}
		w.inds = append(w.inds, in)
	}
	for i := range nReports {
		rep := seams.Report{ID: fmt.Sprintf("r-%d", i)}
		for range r.IntN(4) {
			e := seams.IPEvent{Addr: addr()}
			if r.IntN(6) != 0 {
				e.At = instant()
			}
			rep.IPs = append(rep.IPs, e)
		}
		for range r.IntN(3) {
			d := seams.Device{ID: dev()}
			if r.IntN(3) != 0 {
				d.At = instant()
			}
			rep.Devices = append(rep.Devices, d)
		}
		w.reports = append(w.reports, rep)
	}
	return w
}

// pair is an event (or device) of a report and an indicator that matched it.
type pair struct {
	report    string
	seq       int // ip events first, then devices
	indicator string
}

// slowMatches is the reference: the (event, indicator) pairs that rules ip
// and device give, by brute force, as match.Matcher decides them: an ip
// event in its window, a dated device in its window, an undated device
// whatever the window (when undated is on).
func slowMatches(w *world, undated bool, o ExpandOptions) map[pair]bool {
	out := map[pair]bool{}
	// A calendar closes open sides: an event outside it on an open side
	// does not match, unless the closed window would be empty (then the
	// indicator is an any-day item, exact).
	inCalendar := func(win seams.Window, t time.Time) bool {
		if !o.calendarOn() {
			return true
		}
		_, _, expanded := windowDays(win, &o)
		if !expanded {
			return true
		}
		d := DayOf(t)
		return (!win.First.IsZero() || d >= o.Calendar.From) && (!win.Last.IsZero() || d <= o.Calendar.To)
	}
	for _, rep := range w.reports {
		for i, e := range rep.IPs {
			for _, in := range w.inds {
				if in.Kind == seams.KindIP && !e.At.IsZero() && in.Addr == e.Addr && in.Window.Contains(e.At) && inCalendar(in.Window, e.At) {
					out[pair{rep.ID, i, in.Source}] = true
				}
			}
		}
		for j, d := range rep.Devices {
			for _, in := range w.inds {
				if in.Kind == seams.KindDevice && in.Device == d.ID && (d.At.IsZero() && undated || !d.At.IsZero() && in.Window.Contains(d.At) && inCalendar(in.Window, d.At)) {
					out[pair{rep.ID, len(rep.IPs) + j, in.Source}] = true
				}
			}
		}
	}
	return out
}

// TestSlowTwin: on random registries and reports, the labels a querier
// opens through the protocol, filtered by their exact windows, give the
// same (event, indicator) pairs as brute force; and every case met: day
// items that the window's exact edges then exclude, open and long windows
// (any-day items), undated devices, an item of several indicators.
func TestSlowTwin(t *testing.T) {
	r := mrand.New(mrand.NewPCG(17, 1))
	met := map[string]int{}
	for round := range 8 {
		w := randWorld(r, 40, 120)
		o := NewExpandOptions()
		o.Undated = round%3 != 2
		if round%2 == 1 {
			o.MaxWindowDays = 10 // many windows become any-day items
		}
		if round >= 6 { // open windows closed by a calendar inside the events' days
			o.Calendar.From, o.Calendar.To = DayOf(day0)+5, DayOf(day0)+35
		}
		key, err := NewKey(uint64(round+1), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := NewBuilder(key, o, DefaultLabelFields, w.compounds)
		for i := range w.inds {
			if err := b.Add(&w.inds[i]); err != nil {
				t.Fatal(err)
			}
		}
		table, err := b.Build(2)
		if err != nil {
			t.Fatal(err)
		}
		// The querier's items, deduplicated, and which events ask each.
		type ask struct {
			report string
			seq    int
			at     time.Time
		}
		var items [][]byte
		index := map[string]int{}
		var asks [][]ask
		for _, rep := range w.reports {
			ReportItems(nil, &rep, table.Families, func(item []byte) {
				// Every event or device that gives this item asks it.
				k := string(item)
				i, ok := index[k]
				if !ok {
					i = len(items)
					index[k] = i
					items = append(items, slices.Clone(item))
					asks = append(asks, nil)
				}
			})
			for i, e := range rep.IPs {
				if e.At.IsZero() {
					continue
				}
				for _, it := range [][]byte{AppendIPDay(nil, e.Addr, DayOf(e.At)), AppendIPAny(nil, e.Addr)} {
					if k, ok := index[string(it)]; ok {
						asks[k] = append(asks[k], ask{rep.ID, i, e.At})
					}
				}
			}
			for j, d := range rep.Devices {
				var its [][]byte
				if d.At.IsZero() {
					its = [][]byte{AppendDevice(nil, FamilyDeviceUndated, d.ID)}
				} else {
					its = [][]byte{AppendDeviceDay(nil, d.ID, DayOf(d.At)), AppendDevice(nil, FamilyDeviceAny, d.ID)}
				}
				for _, it := range its {
					if k, ok := index[string(it)]; ok {
						asks[k] = append(asks[k], ask{rep.ID, len(rep.IPs) + j, d.At})
					}
				}
			}
		}
		opened := exchange(t, key, table, items)
		got := map[pair]bool{}
		for k, ls := range opened {
			if len(ls) > 1 {
				met["item of several indicators"]++
			}
			for _, o := range ls {
				l := o.Label
				for _, a := range asks[k] {
					if a.at.IsZero() || l.Window.Contains(a.at) {
						got[pair{a.report, a.seq, l.Source}] = true
					} else {
						met["day item, outside the exact window"]++
					}
				}
				switch f := Family(items[k][0]); f {
				case FamilyIPAny, FamilyDeviceAny:
					met["any-day item"]++
				case FamilyDeviceUndated:
					met["undated device"]++
				}
			}
		}
		want := slowMatches(w, o.Undated, o)
		if o.calendarOn() {
			open := o
			open.Calendar.From, open.Calendar.To = 0, 0
			met["events outside the calendar"] += len(slowMatches(w, o.Undated, open)) - len(want)
		}
		for p := range want {
			if !got[p] {
				t.Errorf("round %d: %v: brute force matches, the protocol does not", round, p)
			}
		}
		for p := range got {
			if !want[p] {
				t.Errorf("round %d: %v: the protocol matches, brute force does not", round, p)
			}
		}
		met["pairs"] += len(want)
	}
	for _, c := range []string{"pairs", "item of several indicators", "day item, outside the exact window", "any-day item", "undated device", "events outside the calendar"} {
		if met[c] == 0 {
			t.Errorf("the random worlds never met the case %q", c)
		}
	}
	t.Log(met)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
