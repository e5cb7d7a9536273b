package psi

import (
	"bytes"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
)

// slowCount is the reference of count mode: per report, a compound is tied
// if a device or an unweakened dated address of the report falls on a day
// its indicator's window touches (or an undated device equals a device
// indicator, when undated is on), potential if only weakened addresses do.
func slowCount(w *world, weak func(*seams.IPEvent) bool, undated bool) (tiedReports, potReports int, by map[string][2]int) {
	by = map[string][2]int{}
	touches := func(win seams.Window, d Day) bool {
		return (win.First.IsZero() || d >= DayOf(win.First)) && (win.Last.IsZero() || d <= DayOf(win.Last))
	}
	for _, rep := range w.reports {
		tier := map[string]seams.Tier{}
		for _, e := range rep.IPs {
			if e.At.IsZero() {
				continue
			}
			t := seams.TierTied
			if e.Proxy || weak(&e) {
				t = seams.TierPotential
			}
			for _, in := range w.inds {
				if in.Kind == seams.KindIP && in.Addr == e.Addr && touches(in.Window, DayOf(e.At)) {
					tier[in.Compound] = max(tier[in.Compound], t)
				}
			}
		}
		for _, d := range rep.Devices {
			for _, in := range w.inds {
				if in.Kind == seams.KindDevice && in.Device == d.ID && (d.At.IsZero() && undated || !d.At.IsZero() && touches(in.Window, DayOf(d.At))) {
					tier[in.Compound] = seams.TierTied
				}
			}
		}
		anyTied := false
		for c, t := range tier {
			v := by[c]
			if t == seams.TierTied {
				v[0]++
				anyTied = true
			} else {
				v[1]++
			}
			by[c] = v
		}
		switch {
		case anyTied:
			tiedReports++
		case len(tier) > 0:
			potReports++
		}
	}
	return tiedReports, potReports, by
}

// TestCountSlowTwin: count mode's tallies equal brute force on random
// worlds, proxies and a weak address included; and what a querier gets
// back holds no group in the order sent.
func TestCountSlowTwin(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9, 9))
	met := map[string]int{}
	for round := range 4 {
		w := randWorld(r, 40, 150)
		for i := range w.reports {
			for k := range w.reports[i].IPs {
				w.reports[i].IPs[k].Proxy = r.IntN(5) == 0
			}
		}
		weakAddr := mustAddr("203.0.113.3")
		weak := func(e *seams.IPEvent) bool { return e.Addr == weakAddr }
		undated := round%2 == 0
		a, a2, b := NewCountSecret(), NewCountSecret(), NewCountSecret()
		req := &CountRequest{From: DayOf(day0), To: DayOf(day0) + 40}
		groups := 0
		for i := range w.reports {
			s, wk := CountReportItems(&w.reports[i], weak)
			if len(s)+len(wk) == 0 {
				continue
			}
			g, err := CountGroup(s, wk, a, a2)
			if err != nil {
				t.Fatal(err)
			}
			req.Sizes = append(req.Sizes, len(g)/ElementSize)
			req.Elements = append(req.Elements, g...)
			groups++
		}
		// Through the wire, both ways.
		var buf bytes.Buffer
		buf.Write(AppendCountRequest(nil, req))
		got, err := ReadCountRequest(&buf, NewLimits())
		if err != nil {
			t.Fatal(err)
		}
		items, err := CountHolderItems(w.inds, req.From, req.To, undated, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CountHolderItems(w.inds, req.From-1_000_000, req.To, undated, 1_000_000); err == nil {
			t.Error("a span of a million days was expanded")
		}
		resp, err := b.AnswerCount(got, w.compounds, items, DefaultLabelFields, 2)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(AppendCountResponse(nil, resp))
		back, err := ReadCountResponse(&buf, req, NewLimits())
		if err != nil {
			t.Fatal(err)
		}
		tally, err := TallyCount(back, a, a2, 2)
		if err != nil {
			t.Fatal(err)
		}
		wt, wp, wby := slowCount(w, weak, undated)
		gotBy := map[string][2]int{}
		for _, c := range tally.ByCompound {
			gotBy[c.Compound] = [2]int{c.Tied, c.Potential}
		}
		if tally.TiedReports != wt || tally.PotentialReports != wp || !maps.Equal(gotBy, wby) || tally.Groups != groups {
			t.Errorf("round %d: count mode says %d tied, %d potential, %v (%d groups); brute force %d, %d, %v (%d)",
				round, tally.TiedReports, tally.PotentialReports, gotBy, tally.Groups, wt, wp, wby, groups)
		}
		met["tied"] += wt
		met["potential"] += wp
		// The holder's answer does not keep the groups in order: their
		// elements, raised to b, are nowhere at the place they were sent.
		same := 0
		for k := 0; k < len(req.Elements); k += ElementSize * MinGroup {
			if bytes.Equal(back.Elements[k:k+ElementSize], req.Elements[k:k+ElementSize]) {
				same++
			}
		}
		if same != 0 {
			t.Errorf("round %d: %d elements came back as sent", round, same)
		}
	}
	for _, c := range []string{"tied", "potential"} {
		if met[c] == 0 {
			t.Errorf("the random worlds never met %s reports", c)
		}
	}
	t.Log(met)
}

// TestGroupSize: groups are padded to powers of two, at least MinGroup.
func TestGroupSize(t *testing.T) {
	for n, want := range map[int]int{0: 4, 1: 4, 4: 4, 5: 8, 8: 8, 9: 16, 1000: 1024, MaxGroup: MaxGroup, MaxGroup + 1: 0} {
		if got := GroupSize(n); got != want {
			t.Errorf("GroupSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// FuzzReadCountRequest: never panics; an accepted request writes back the
// same bytes.
func FuzzReadCountRequest(f *testing.F) {
	a := NewCountSecret()
	g, _ := CountGroup([][]byte{AppendIPAny(nil, mustAddr("192.0.2.1"))}, nil, a, a)
	f.Add(AppendCountRequest(nil, &CountRequest{From: 1, To: 2, Sizes: []int{len(g) / ElementSize}, Elements: g}))
	lim := NewLimits()
	lim.MaxGroups, lim.MaxElements = 100, 1000
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadCountRequest(bytes.NewReader(b), lim)
		if err != nil {
			return
		}
		if again := AppendCountRequest(nil, m); !bytes.Equal(again, b) {
			t.Fatalf("request read from %x writes as %x", b, again)
		}
	})
}

// FuzzReadCountResponse: never panics; an accepted response writes back
// the same bytes, and tallies without panic.
func FuzzReadCountResponse(f *testing.F) {
	a, b := NewCountSecret(), NewCountSecret()
	g, _ := CountGroup([][]byte{AppendIPAny(nil, mustAddr("192.0.2.1"))}, nil, a, a)
	req := &CountRequest{From: 1, To: 2, Sizes: []int{len(g) / ElementSize}, Elements: g}
	resp, _ := b.AnswerCount(req, []seams.Compound{{ID: "c-1", Name: "One", Country: "KH"}},
		map[string][][]byte{"c-1": {AppendIPAny(nil, mustAddr("192.0.2.1"))}}, DefaultLabelFields, 1)
	f.Add(AppendCountResponse(nil, resp))
	lim := NewLimits()
	lim.MaxGroups, lim.MaxElements, lim.MaxEntries, lim.MaxCompounds = 100, 1000, 1000, 100
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := ReadCountResponse(bytes.NewReader(in), nil, lim)
		if err != nil {
			return
		}
		if again := AppendCountResponse(nil, m); !bytes.Equal(again, in) {
			t.Fatalf("response read from %x writes as %x", in, again)
		}
		if len(m.Elements) < 1<<12 {
			TallyCount(m, a, a, 1)
		}
		_ = slices.Clone(m.Sizes)
	})
}
