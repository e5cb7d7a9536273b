package match

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// reference is the slow, obviously correct twin of Matcher: for every event
// it loops over every indicator and applies the contract's rules as written.
// ownBoundRefused counts the events that an indicator's own drift bound
// kept out of rule ip-drift, so that the comparison cannot pass without
// meeting the case.
var ownBoundRefused int

// effectiveDrift is the bound of rule ip-drift for an indicator: the run's,
// or the smaller of it and the indicator's own.
func effectiveDrift(run time.Duration, in *seams.Indicator) time.Duration {
	if run <= 0 {
		return -1
	}
	if in.HasDrift {
		return min(run, in.Drift)
	}
	return run
}

func reference(compounds []seams.Compound, inds []seams.Indicator, shared []netip.Prefix, drift time.Duration, r *seams.Report) []seams.Finding {
	shared = append([]netip.Prefix{seams.CarrierNAT}, shared...)
	type hit struct {
		seq, ind int
		ev       seams.Evidence
	}
	byCompound := map[string][]hit{}
	for i, e := range r.IPs {
		if seams.NonRoutable(e.Addr) != "" {
			continue
		}
		var sh netip.Prefix
		for _, p := range shared {
			if p.Contains(e.Addr) && (!sh.IsValid() || p.Bits() > sh.Bits()) {
				sh = p
			}
		}
		obs := seams.Observation{IP: e.Addr, At: e.At, Event: e.Event, Port: e.Port, Proxy: e.Proxy}
		for k := range inds {
			in := &inds[k]
			ev := seams.Evidence{Indicator: in, Observed: obs, Shared: sh}
			switch {
			case e.At.IsZero():
				// An event without a time: the exact address of an ip
				// indicator, whatever its window; nothing else.
				if in.Kind == seams.KindIP && in.Addr == e.Addr {
					ev.Rule = seams.RuleIPUndated
				}
			case in.Kind == seams.KindIP && in.Addr == e.Addr:
				if in.Window.Contains(e.At) {
					ev.Rule = seams.RuleIP
				} else if d, bound := in.Window.Distance(e.At), effectiveDrift(drift, in); d <= bound {
					ev.Rule, ev.Drift = seams.RuleIPDrift, d
				} else if drift > 0 && d <= drift {
					ownBoundRefused++ // the run's drift alone would have taken it
				}
			case in.Kind == seams.KindCIDR && in.Prefix.Contains(e.Addr) && in.Window.Contains(e.At):
				ev.Rule = seams.RuleCIDR
			}
			if ev.Rule != 0 {
				byCompound[in.Compound] = append(byCompound[in.Compound], hit{i, k, ev})
			}
		}
	}
	for j, d := range r.Devices {
		for k := range inds {
			in := &inds[k]
			if in.Kind == seams.KindDevice && in.Device == d.ID && (d.At.IsZero() || in.Window.Contains(d.At)) {
				ev := seams.Evidence{Rule: seams.RuleDevice, Indicator: in, Observed: seams.Observation{Device: d.ID, At: d.At}}
				byCompound[in.Compound] = append(byCompound[in.Compound], hit{len(r.IPs) + j, k, ev})
			}
		}
	}
	var out []seams.Finding
	for _, c := range compounds {
		hs := byCompound[c.ID]
		if len(hs) == 0 {
			continue
		}
		slices.SortFunc(hs, func(a, b hit) int {
			if a.seq != b.seq {
				return a.seq - b.seq
			}
			return a.ind - b.ind
		})
		f := seams.Finding{Report: r.ID, Compound: c.ID}
		for _, h := range hs {
			f.Evidence = append(f.Evidence, h.ev)
		}
		f.Tier = seams.TierOf(f.Evidence)
		out = append(out, f)
	}
	return out
}

// describe renders findings as text, so that differences print readably.
func describe(fs []seams.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s %s\n", f.Report, f.Compound, f.Tier)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "  %s %s:%s@%s/%v,%v line %d obs=%s/%s %s drift=%s shared=%s proxy=%v\n",
				e.Rule, e.Indicator.Kind, e.Indicator.Value, e.Indicator.Window, e.Indicator.HasDrift, e.Indicator.Drift, e.Indicator.Line,
				e.Observed.IP, e.Observed.Device, e.Observed.At.Format(time.RFC3339Nano), e.Drift, e.Shared, e.Observed.Proxy)
		}
	}
	return b.String()
}

// randomRegistry makes a registry dense enough that random events hit often:
// addresses and nested prefixes drawn from two small pools, one per family.
func randomRegistry(rng *rand.Rand, nInd int) ([]seams.Compound, []seams.Indicator, []netip.Prefix) {
	compounds := []seams.Compound{{ID: "c-a", Country: "KH"}, {ID: "c-b", Country: "MM"}, {ID: "c-c", Country: "LA"}}
	var inds []seams.Indicator
	for i := range nInd {
		c := compounds[rng.IntN(len(compounds))].ID
		var in seams.Indicator
		var err error
		switch rng.IntN(4) {
		case 0, 1:
			in, err = seams.ParseIndicatorValue(seams.KindIP, randomAddr(rng).String())
		case 2:
			a := randomAddr(rng)
			bits := a.BitLen() - 1 - rng.IntN(10)
			in, err = seams.ParseIndicatorValue(seams.KindCIDR, netip.PrefixFrom(a, bits).Masked().String())
		case 3:
			in, err = seams.ParseIndicatorValue(seams.KindDevice, fmt.Sprintf("imei:%d", rng.IntN(40)))
		}
		if err != nil {
			panic(err)
		}
		in.Compound, in.Line = c, i+2
		in.Window = randomWindow(rng)
		if rng.IntN(3) == 0 {
			// A bound of its own: none, under, between and over the runs'.
			in.Drift, in.HasDrift = []time.Duration{0, 30 * time.Minute, 24 * time.Hour, 200 * 24 * time.Hour}[rng.IntN(4)], true
		}
		inds = append(inds, in)
	}
	shared := []netip.Prefix{netip.MustParsePrefix("198.51.100.128/26"), netip.MustParsePrefix("198.51.100.160/27"), netip.MustParsePrefix("2001:db8::80/121")}
	return compounds, inds, shared
}

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func randomTime(rng *rand.Rand) time.Time {
	return base.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
}

func randomWindow(rng *rand.Rand) seams.Window {
	var w seams.Window
	if rng.IntN(5) > 0 {
		w.First = randomTime(rng)
	}
	if rng.IntN(5) > 0 {
		w.Last = randomTime(rng)
	}
	if !w.First.IsZero() && !w.Last.IsZero() && w.First.After(w.Last) {
		w.First, w.Last = w.Last, w.First
	}
	return w
}

func randomAddr(rng *rand.Rand) netip.Addr {
	if rng.IntN(4) == 0 {
		var b [16]byte
		copy(b[:], netip.MustParseAddr("2001:db8::").AsSlice())
		b[14], b[15] = byte(rng.IntN(2)), byte(rng.IntN(256))
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{198, 51, byte(100 + rng.IntN(2)), byte(rng.IntN(256))})
}

func randomReport(rng *rand.Rand, id int) seams.Report {
	r := seams.Report{ID: fmt.Sprintf("r-%d", id)}
	for range rng.IntN(5) {
		e := seams.IPEvent{Addr: randomAddr(rng), At: randomTime(rng), Proxy: rng.IntN(6) == 0, Event: "login"}
		if rng.IntN(20) == 0 {
			e.Addr = netip.MustParseAddr("10.1.2.3")
		}
		if rng.IntN(6) == 0 {
			e.At = time.Time{} // a report that did not say when
		}
		r.IPs = append(r.IPs, e)
	}
	for range rng.IntN(3) {
		d := seams.Device{ID: seams.DeviceID{Type: "imei", Value: fmt.Sprint(rng.IntN(50))}}
		if rng.IntN(3) > 0 {
			d.At = randomTime(rng)
		}
		r.Devices = append(r.Devices, d)
	}
	return r
}

// TestMatcherAgainstReference compares the index with the brute-force loop
// on many random registries and reports, in both address families, with
// nested prefixes, several windows per address and drift at its edges.
func TestMatcherAgainstReference(t *testing.T) {
	rules := map[seams.Rule]int{} // evidence met, by rule: the comparison must not pass vacuously
	ownBoundRefused = 0
	tiers := map[string]int{} // findings with undated evidence, by tier
	defer func() {
		for r := seams.RuleDevice; r <= seams.RuleIPUndated; r++ {
			if r != seams.RuleASN && rules[r] == 0 {
				t.Errorf("the random reports never met rule %s", r)
			}
		}
		if ownBoundRefused == 0 {
			t.Error("no indicator's own drift bound ever kept an event out of rule ip-drift")
		}
		if tiers["tied"] == 0 || tiers["potential"] == 0 {
			t.Errorf("findings with ip-undated evidence by tier: %v, want both tiers (undated alone, and beside a tying event)", tiers)
		}
	}()
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		compounds, inds, shared := randomRegistry(rng, 20+rng.IntN(300))
		drift := []time.Duration{0, time.Hour, DefaultDrift}[seed%3]
		x, err := NewIndex(compounds, inds, shared)
		if err != nil {
			t.Fatal(err)
		}
		m := NewMatcher(x, drift)
		reports := make([]seams.Report, 400)
		want := make([]string, len(reports))
		for i := range reports {
			reports[i] = randomReport(rng, i)
			r := &reports[i]
			fs := m.Match(r)
			for _, f := range fs {
				undated := false
				for _, e := range f.Evidence {
					rules[e.Rule]++
					undated = undated || e.Rule == seams.RuleIPUndated
				}
				if undated {
					tiers[f.Tier.String()]++
				}
			}
			got := describe(fs)
			want[i] = describe(reference(compounds, inds, shared, drift, r))
			if got != want[i] {
				t.Fatalf("seed %d report %d: matcher and reference differ\nmatcher:\n%s\nreference:\n%s", seed, i, got, want[i])
			}
		}
		// MatchAll, over batches of every size, must say what Match says.
		for size := 1; size <= len(reports); size = size*3 + 1 {
			got := make([]string, len(reports))
			for b := 0; b < len(reports); b += size {
				batch := reports[b:min(b+size, len(reports))]
				m.MatchAll(batch, func(i int, fs []seams.Finding) { got[b+i] = describe(fs) })
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("seed %d batch size %d report %d: MatchAll and reference differ\nMatchAll:\n%s\nreference:\n%s", seed, size, i, got[i], want[i])
				}
			}
		}
	}
}

// TestTableAgainstReference checks the innermost-prefix answer of the flat
// table against a loop over all prefixes, including edges of every prefix.
func TestTableAgainstReference(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 11))
		var ps []netip.Prefix
		seen := map[netip.Prefix]bool{}
		for range 1 + rng.IntN(200) {
			a := randomAddr(rng)
			p := netip.PrefixFrom(a, a.BitLen()-rng.IntN(12)).Masked()
			if rng.IntN(30) == 0 {
				p = netip.PrefixFrom(a, rng.IntN(a.BitLen()+1)).Masked() // occasionally huge
			}
			if !seen[p] {
				seen[p] = true
				ps = append(ps, p)
			}
		}
		tb := buildTable(len(ps), func(i int) netip.Prefix { return ps[i] })
		innermost := func(a netip.Addr) int32 {
			best := int32(-1)
			for i, p := range ps {
				if p.Contains(a) && (best < 0 || p.Bits() > ps[best].Bits()) {
					best = int32(i)
				}
			}
			return best
		}
		var probes []netip.Addr
		for _, p := range ps {
			f, l := bounds(p)
			probes = append(probes, p.Addr(), addrOf(p.Addr().Is4(), l), addrOf(p.Addr().Is4(), f).Prev(), addrOf(p.Addr().Is4(), l).Next())
		}
		for range 2000 {
			probes = append(probes, randomAddr(rng))
		}
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			if got, want := tb.lookup(a), innermost(a); got != want {
				t.Fatalf("seed %d: lookup(%s) = %d, want %d", seed, a, got, want)
			}
		}
		for i, p := range ps {
			want := int32(-1)
			for j, q := range ps {
				if j != i && q.Bits() < p.Bits() && q.Contains(p.Addr()) && (want < 0 || q.Bits() > ps[want].Bits()) {
					want = int32(j)
				}
			}
			if tb.parent[i] != want {
				t.Fatalf("seed %d: parent(%s) = %d, want %d", seed, p, tb.parent[i], want)
			}
		}
	}
}

func addrOf(is4 bool, u u128) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(u.hi >> (56 - 8*i))
		b[8+i] = byte(u.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}
