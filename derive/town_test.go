package derive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/seams-dev/seams/xref"
)

// TestTown is a second, hand-written world, independent of the generator:
// two compounds sharing a wall, their residents pinging sparsely to
// densely, a delivery rider, phones reporting a geocoder's centroid inside
// alpha, a neighbour at the fence, a visitor, a carrier NAT pool, a fibre
// address that passes to a household, a satellite address shared with
// far-away users, IPv6 privacy addresses, a clinic. Derive must find who
// lives where and which addresses are whose, and xref, fed reports on each,
// must tie, find potential, or find nothing, as the comments say.
func TestTown(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	var o []obs
	inside := func(x0, x1 float64) orb.Point {
		return pa(x0+rng.Float64()*(x1-x0), -170+rng.Float64()*340)
	}
	const (
		alphaWiFi, alphaWiFi2 = "203.0.113.10", "203.0.113.11" // 203.0.113.10 to day 29, then .11; .10 a household's from day 40
		deltaWiFi             = "198.51.100.20"
		satellite             = "192.0.2.50" // delta's satellite terminal, and far-away terminals'
	)
	carrier := func() string { return fmt.Sprintf("198.51.100.%d", 100+rng.IntN(4)) }
	type resident struct {
		dev    string
		comp   string
		home   orb.Point
		regime string
	}
	var residents []resident
	for i := range 8 {
		residents = append(residents, resident{dev(500 + i), "c-alpha", inside(-170, 170), []string{"dense", "dense", "dense", "medium", "medium", "medium", "sparse", "sparse"}[i]})
	}
	for i := range 6 {
		residents = append(residents, resident{dev(600 + i), "c-delta", inside(230, 570), []string{"dense", "dense", "medium", "medium", "sparse", "sparse"}[i]})
	}
	residents[0].home, residents[8].home = pa(185, 10), pa(215, -10) // either side of the shared wall, 15 m from it
	clinic := pa(-150, -150)
	for _, r := range residents {
		for d := range 60 {
			var times []time.Time
			switch r.regime {
			case "dense":
				for m := 0; m < 24*60; m += 10 + rng.IntN(5) {
					if h := m / 60; h >= 2 && h < 12 && m%60 > 15 {
						continue // asleep 02:00-12:00: a fix an hour
					}
					times = append(times, lt(d, 0, m))
				}
			case "medium":
				for range 15 {
					times = append(times, lt(d, 0, rng.IntN(24*60)))
				}
			default:
				if rng.IntN(10) < 4 {
					for range 3 {
						times = append(times, lt(d, 0, rng.IntN(24*60)))
					}
				}
			}
			slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
			for _, tm := range times {
				p, acc := at(r.home, rng.Float64()*360, rng.Float64()*8), 5+rng.Float64()*10
				if rng.IntN(20) == 0 {
					p = at(r.home, 90, 40) // wrong beyond its accuracy: across the wall for the two beside it
				}
				ip := ""
				switch x := rng.IntN(10); {
				case x < 5 && r.comp == "c-alpha" && d < 30:
					ip = alphaWiFi
				case x < 5 && r.comp == "c-alpha":
					ip = alphaWiFi2
				case x < 7 && r.comp == "c-alpha":
					ip = fmt.Sprintf("2001:db8:a:0:%x:%x::1", rng.IntN(1<<16), d) // privacy addresses in alpha's /64
				case x < 5:
					ip = deltaWiFi
				case x < 7:
					ip = satellite
				case x < 8:
					ip = carrier()
				}
				o = append(o, obs{r.dev, tm, p, acc, ip})
			}
		}
	}
	// Resident 5 spends a night at the clinic inside alpha.
	o = append(o, every(residents[5].dev, clinic, lt(20, 0, 0), lt(20, 4, 0), 30*time.Minute, 10, alphaWiFi)...)
	townAt := func() orb.Point { return pa(-800+rng.Float64()*1600, 2500+rng.Float64()*1000) }
	// The rider: a fix every two minutes on duty, in town, but a quarter
	// of an hour at alpha at noon and ten minutes at delta at seven.
	rider := dev(700)
	for d := range 60 {
		for m := 10 * 60; m < 22*60; m += 2 {
			p := townAt()
			if m >= 12*60 && m < 12*60+15 {
				p = pa(-100, 150)
			}
			if m >= 19*60 && m < 19*60+10 {
				p = pa(400, 150)
			}
			o = append(o, obs{rider, lt(d, 0, m), p, 8, carrier()})
		}
	}
	// Phones whose apps place them at the geocoder's centroid of the
	// district, which lies in alpha, a third of the time.
	for i := range 8 {
		for d := range 60 {
			for range 6 {
				p, acc := townAt(), 10.0
				if rng.IntN(3) == 0 {
					p, acc = pa(0, 0), -1
				}
				o = append(o, obs{dev(800 + i), lt(d, 8+rng.IntN(14), rng.IntN(60)), p, acc, carrier()})
			}
		}
	}
	// The neighbour, 10 m north of alpha's wall, every ten minutes; one
	// fix in twenty strays 40 m south, inside.
	neighbour := dev(900)
	for d := range 60 {
		for m := 0; m < 24*60; m += 10 {
			p := pa(0, 210)
			if rng.IntN(20) == 0 {
				p = pa(0, 170)
			}
			o = append(o, obs{neighbour, lt(d, 0, m), p, 5, ""})
		}
	}
	// A visitor, one day in alpha.
	visitor := dev(901)
	for m := 10 * 60; m < 20*60; m += 20 {
		o = append(o, obs{visitor, lt(10, 0, m), inside(-150, 150), 10, alphaWiFi})
	}
	// The household that gets alpha's old address on day 40, and the
	// town on the carrier's pool every day.
	for i := range 3 {
		for d := 40; d < 60; d++ {
			for h := 18; h < 23; h++ {
				o = append(o, obs{dev(950 + i), lt(d, h, 0), pa(float64(300*i), 2800), 10, alphaWiFi})
			}
		}
	}
	for i := range 30 {
		for d := range 60 {
			o = append(o, obs{dev(1000 + i), lt(d, 9+rng.IntN(12), rng.IntN(60)), townAt(), 15, carrier()})
		}
	}
	// Far-away satellite users on delta's public address, 20 km off.
	for i := range 10 {
		for d := range 60 {
			o = append(o, obs{dev(1100 + i), lt(d, 19, i), pa(20000+float64(i*100), 0), 10, satellite})
		}
	}

	w := newWorld(t, o)
	w.opts.Exclude = w.write(t, "sensitive.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Test Clinic","radius_m":20},"geometry":{"type":"Point","coordinates":[`+
		fmt.Sprintf("%.9f,%.9f", clinic[0], clinic[1])+`]}}]}`)
	r := w.run(t)

	// Who dwells where.
	var members []string
	for _, in := range r.indicators {
		if in.Kind.String() == "device" {
			members = append(members, in.Compound+" "+in.Value)
		}
	}
	var want []string
	for _, res := range residents {
		want = append(want, res.comp+" "+res.dev)
	}
	slices.Sort(members)
	slices.Sort(want)
	if !slices.Equal(members, want) {
		t.Errorf("members %v\nwant %v", members, want)
	}
	// Which addresses are whose.
	var addrs []string
	for _, in := range r.indicators {
		if in.Kind.String() != "device" {
			addrs = append(addrs, fmt.Sprintf("%s %s %s..%s", in.Compound, in.Value, in.Window.First.Format(time.DateOnly), in.Window.Last.Format(time.DateOnly)))
		}
	}
	wantAddrs := []string{
		"c-alpha 203.0.113.10 2024-02-29..2024-03-30", // its lease only, not the household's
		"c-alpha 203.0.113.11 2024-03-30..2024-04-29",
		"c-alpha 2001:db8:a::/64 2024-02-29..2024-04-29",
		"c-delta 198.51.100.20 2024-02-29..2024-04-29",
	}
	if strings.Join(addrs, "\n") != strings.Join(wantAddrs, "\n") {
		t.Errorf("address indicators:\n%s\nwant:\n%s", strings.Join(addrs, "\n"), strings.Join(wantAddrs, "\n"))
	}
	if !r.isShared(satellite) || !r.isShared("198.51.100.100") || r.isShared(alphaWiFi) {
		t.Errorf("shared %v", r.shared)
	}
	if r.sum.SharedCoordinates.InsideFootprints != 1 || r.sum.Observations.AtSensitivePlaces == 0 {
		t.Errorf("shared coordinates %+v, at sensitive places %d", r.sum.SharedCoordinates, r.sum.Observations.AtSensitivePlaces)
	}

	// Without the shared-coordinate check, the centroid phones would be
	// alpha's: the check does the work here.
	t.Run("without the shared-coordinate check", func(t *testing.T) {
		w2 := *w
		w2.opts.SpotDevices = 0
		w2.opts.Out = filepath.Join(w.dir, "nospots")
		r := w2.run(t)
		n := 0
		for _, in := range r.indicators {
			n += b2i(in.Kind.String() == "device" && strings.HasPrefix(in.Value, "aaid:00000000-0000-4000-8000-0000000008"))
		}
		if n == 0 {
			t.Error("no centroid phone is a member without the check: the test shows nothing")
		}
	})

	// Reports on each, through xref.
	report := func(id string, at time.Time, ip, device string) string {
		s := fmt.Sprintf(`{"id":%q,"received":%q,"ips":[`, id, at.Add(48*time.Hour).Format(time.RFC3339))
		if ip != "" {
			s += fmt.Sprintf(`{"ip":%q,"at":%q}`, ip, at.Format(time.RFC3339))
		}
		s += `],"devices":[`
		if device != "" {
			tv := strings.SplitN(device, ":", 2)
			s += fmt.Sprintf(`{"type":%q,"value":%q,"at":%q}`, tv[0], tv[1], at.Format(time.RFC3339))
		}
		return s + "]}\n"
	}
	reports := []struct {
		id, ip, device string
		at             time.Time
		compound, tier string // "" for no finding
	}{
		{"r-resident", "", residents[3].dev, lt(15, 10, 0), "c-alpha", "tied"},
		{"r-wall-resident", "", residents[8].dev, lt(15, 10, 0), "c-delta", "tied"},
		{"r-sparse-resident", "", residents[7].dev, lt(30, 10, 0), "c-alpha", "tied"},
		{"r-wifi", alphaWiFi, "", lt(20, 10, 0), "c-alpha", "tied"},
		{"r-wifi-household", alphaWiFi, "", lt(50, 20, 0), "", ""},
		{"r-ipv6", "2001:db8:a:0:beef:1::7", "", lt(25, 10, 0), "c-alpha", "potential"},
		{"r-delta-wifi", deltaWiFi, "", lt(45, 10, 0), "c-delta", "tied"},
		{"r-satellite", satellite, "", lt(45, 19, 5), "", ""},
		{"r-carrier", "198.51.100.101", "", lt(33, 12, 0), "", ""},
		{"r-rider", "", rider, lt(12, 12, 5), "", ""},
		{"r-centroid", "", dev(803), lt(20, 12, 0), "", ""},
		{"r-neighbour", "", neighbour, lt(20, 12, 0), "", ""},
		{"r-visitor", "", visitor, lt(10, 12, 0), "", ""},
	}
	var rb strings.Builder
	for _, x := range reports {
		rb.WriteString(report(x.id, x.at, x.ip, x.device))
	}
	reportsFile := w.write(t, "reports.jsonl", rb.String())
	// xref with its defaults (--drift 90d): the drift 0 derive writes on
	// its addresses is what keeps the household's report out.
	findings := func(indicators, out string) map[string]string {
		xo := xref.NewOptions()
		xo.Compounds = w.opts.Compounds
		xo.Indicators = indicators
		xo.Shared = filepath.Join(w.opts.Out, SharedFile)
		xo.Reports = []string{reportsFile}
		xo.Out = filepath.Join(w.dir, out)
		if _, err := xref.Run(context.Background(), xo); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(xo.Out, xref.FindingsFile))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var id, comp, tier string
			for _, f := range []struct {
				key string
				to  *string
			}{{`"report":"`, &id}, {`"compound":"`, &comp}, {`"tier":"`, &tier}} {
				if i := strings.Index(l, f.key); i >= 0 {
					rest := l[i+len(f.key):]
					*f.to = rest[:strings.IndexByte(rest, '"')]
				}
			}
			if id != "" {
				got[id] += comp + " " + tier
			}
		}
		return got
	}
	got := findings(filepath.Join(w.opts.Out, IndicatorsFile), "xref")
	// The same registry without its drift column: the household's report,
	// within the default drift of alpha's lease, is then evidence; so the
	// bound is what keeps it out below.
	t.Run("without the drift bounds", func(t *testing.T) {
		var rows []string
		for _, l := range strings.Split(strings.TrimSuffix(r.raw[IndicatorsFile], "\n"), "\n") {
			rows = append(rows, l[:strings.LastIndexByte(l, ',')])
		}
		without := w.write(t, "indicators-without-drift.csv", strings.Join(rows, "\n")+"\n")
		if got := findings(without, "xref-without-drift"); got["r-wifi-household"] != "c-alpha potential" {
			t.Errorf("without the bounds, r-wifi-household: finding %q, want %q (the test shows nothing)", got["r-wifi-household"], "c-alpha potential")
		}
	})
	for _, x := range reports {
		want := ""
		if x.compound != "" {
			want = x.compound + " " + x.tier
		}
		if got[x.id] != want {
			t.Errorf("%s: finding %q, want %q", x.id, got[x.id], want)
		}
	}
}
