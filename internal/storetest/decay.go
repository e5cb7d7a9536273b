package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
)

// testDecay holds the freshness the store gives indicators and findings to
// the decay model of the last run: its parameters are kept with the run
// (a new model is not a retro-hunt and changes no finding); each
// indicator's score is the model's at the store's present, from the end of
// its window (its record time when open); a confirmed finding is a
// sighting that renews it when observed later (an ip-drift observation
// after the window), a dismissed one a false positive; feedback follows
// the indicator to its corrected version; a finding shows the freshest of
// its evidence; and no tier changes with scores.
func testDecay(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	o := load.NewOptions()
	o.Name = "ind.csv"
	loadRegistry(t, st, p, write(t, "c.csv", retroCompounds), indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-05-31,,s",
		"c-b,ip,192.0.2.9,,,0.5,slow"), "", o)
	loadReports(t, st, p, load.NewOptions(), write(t, "r.jsonl", `{"id":"r-1","ips":[{"ip":"192.0.2.1","at":"2024-05-10T00:00:00Z"}]}
{"id":"r-2","ips":[{"ip":"192.0.2.9","at":"2024-06-01T00:00:00Z"}]}
{"id":"r-3","ips":[{"ip":"192.0.2.1","at":"2024-05-20T00:00:00Z"}]}
{"id":"r-4","ips":[{"ip":"192.0.2.1","at":"2024-07-15T00:00:00Z"}]}
`))
	ho := hunt.NewOptions()
	ho.Decay = seams.DecayParameters{Default: seams.DecayModel{BaseScore: 100, Lifetime: "36500d", DecaySpeed: 1, Threshold: 30},
		Sources: map[string]seams.DecayModel{"slow": {BaseScore: 100, Lifetime: "60000d", DecaySpeed: 0.5, Threshold: 10}}}
	run, err := hunt.Run(ctx(), st, p, ho)
	must(t, err)
	runs, err := st.Runs(ctx(), p, 1)
	must(t, err)
	if fmt.Sprint(runs[0].Parameters.Decay) != fmt.Sprint(ho.Decay) {
		t.Errorf("the run keeps decay %+v, want %+v", runs[0].Parameters.Decay, ho.Decay)
	}
	tiers := pairs(allFindings(t, st, p, seams.FindingQuery{}))

	// check compares the freshness of every active indicator and every
	// finding with the model's, computed here, and returns the
	// indicators by value.
	check := func(what string, params seams.DecayParameters, sightings map[string]seams.Sighting) map[string]seams.StoredIndicator {
		t.Helper()
		page, err := st.Indicators(ctx(), p, seams.IndicatorQuery{})
		must(t, err)
		byValue := map[string]seams.StoredIndicator{}
		byID := map[int64]seams.StoredIndicator{}
		for _, si := range page.Indicators {
			f := si.Freshness
			if f == nil {
				t.Fatalf("%s: indicator %s has no freshness", what, si.Value)
			}
			want := params.FreshnessOf(&si.Indicator, si.Added, sightings[si.Value], f.At)
			if *f != want {
				t.Errorf("%s: indicator %s freshness %+v, want %+v", what, si.Value, *f, want)
			}
			byValue[si.Value], byID[si.ID] = si, si
		}
		for _, f := range allFindings(t, st, p, seams.FindingQuery{}) {
			var best *seams.Freshness
			for _, e := range f.Evidence {
				si, ok := byID[e.Indicator]
				if ok && (best == nil || si.Freshness.Score > best.Score) {
					best = si.Freshness
				}
			}
			// The two reads are moments apart: a score may move by a
			// rounding step between them, the sighting may not.
			if f.Freshness == nil || best == nil || math.Abs(f.Freshness.Score-best.Score) > 0.15 || !f.Freshness.Since.Equal(best.Since) ||
				f.Freshness.Sightings != best.Sightings {
				t.Errorf("%s: finding %s/%s freshness %+v, want the freshest of its evidence %+v", what, f.Report, f.Compound, f.Freshness, best)
			}
		}
		return byValue
	}
	inds := check("after the run", ho.Decay, nil)
	if a := inds["192.0.2.1"]; !a.Freshness.Since.Equal(a.Window.Last) {
		t.Errorf("192.0.2.1 counts from %v, want the end of its window", a.Freshness.Since)
	}
	if b := inds["192.0.2.9"]; !b.Freshness.Since.Equal(b.Added) || b.Freshness.Base != 50 {
		t.Errorf("192.0.2.9 (open window, confidence 0.5): %+v, want from its record time, base 50", b.Freshness)
	}

	// Reviews: r-1 and r-4 (ip-drift, observed after the window)
	// confirmed, r-3 dismissed.
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, r := range []struct {
		report string
		mark   seams.Mark
	}{{"r-1", seams.MarkConfirmed}, {"r-4", seams.MarkConfirmed}, {"r-3", seams.MarkDismissed}} {
		_, err := st.Review(ctx(), p, findingOf(t, st, p, r.report, "c-a").ID, r.mark, "")
		must(t, err)
	}
	var dismissedAt time.Time
	d, err := st.Finding(ctx(), p, findingOf(t, st, p, "r-3", "c-a").ID)
	must(t, err)
	dismissedAt = d.Review.At
	sightings := map[string]seams.Sighting{"192.0.2.1": {At: at("2024-07-15T00:00:00Z"), Confirmed: 2, Dismissed: 1, LastDismissed: dismissedAt}}
	inds = check("after the reviews", ho.Decay, sightings)
	if a := inds["192.0.2.1"].Freshness; !a.Since.Equal(at("2024-07-15T00:00:00Z")) || a.Sightings != 2 || a.FalsePositives != 1 {
		t.Errorf("192.0.2.1 after two confirmations and a dismissal: %+v, want renewed by the ip-drift observation", a)
	}

	// A model under which everything is decayed (the open window, recorded
	// just now, starts at 50, below 60): kept, not a retro-hunt,
	// no finding changes.
	ho.Decay = seams.DecayParameters{Default: seams.DecayModel{BaseScore: 100, Lifetime: "1h", DecaySpeed: 1, Threshold: 60}}
	again, err := hunt.Run(ctx(), st, p, ho)
	must(t, err)
	if again.Full || len(again.Counts) != 0 {
		t.Errorf("a run with another decay model: full %v, changes %v; want incremental, no change", again.Full, again.Counts)
	}
	check("under a short lifetime", ho.Decay, sightings)
	for _, f := range allFindings(t, st, p, seams.FindingQuery{}) {
		if !f.Freshness.Decayed {
			t.Errorf("finding %s/%s: %+v, want decayed", f.Report, f.Compound, f.Freshness)
		}
	}
	if got := pairs(allFindings(t, st, p, seams.FindingQuery{})); fmt.Sprint(got) != fmt.Sprint(tiers) {
		t.Errorf("tiers changed with the scores: %v, want %v", got, tiers)
	}

	// A correction keeps the feedback: it belongs to the compound, kind
	// and value.
	_, err = load.Indicators(ctx(), st, p, indicators(t,
		"c-a,ip,192.0.2.1,2024-05-01,2024-06-30,,s",
		"c-b,ip,192.0.2.9,,,0.5,slow"), o)
	must(t, err)
	hunt.Run(ctx(), st, p, ho)
	if a := check("after a correction", ho.Decay, sightings)["192.0.2.1"]; a.Version != 2 || a.Freshness.Sightings != 2 || a.Freshness.FalsePositives != 1 {
		t.Errorf("the corrected 192.0.2.1: version %d, %+v; want version 2 with the feedback of version 1", a.Version, a.Freshness)
	}
	_ = run
}
