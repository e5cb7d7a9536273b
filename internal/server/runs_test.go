package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
)

// TestRunCapsAndEnriches: a run made over the API takes the server's
// enrichment databases and the request's over-correlation limit; it
// records the build and the parameters, lists the over-correlated
// indicators, and its findings show the cap, the signals and what the
// databases say of each address, in the list, the detail and its words.
func TestRunCapsAndEnriches(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Enrich = enrich.Options{ASNDB: []string{"../../mmdb/testdata/doc-asn.mmdb"}, GeoDB: []string{"../../mmdb/testdata/doc-geo.mmdb"}}
	})
	resp, b := f.post(t, "analyst", "/api/runs", map[string]any{"max_reports_per_indicator": 1})
	var run runView
	if err := json.Unmarshal(b, &run); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("run: %d %s", resp.StatusCode, b)
	}
	if !run.Full || run.Seams == nil || run.Seams.Go == "" || run.Parameters.MaxReportsPerIndicator != 1 ||
		len(run.Parameters.Databases) != 2 || run.Parameters.Databases[0].Built == "" {
		t.Errorf("run: full %v, seams %+v, parameters %+v; want a full run recording its build, its limit and the server's databases", run.Full, run.Seams, run.Parameters)
	}
	over := map[string]int{}
	for _, o := range run.OverCorrelated {
		if o.Capped {
			over[o.Compound+" "+o.Value] = o.Reports
		}
	}
	if over["c-jinbei 203.0.113.7"] != 8 || over["c-kkpark 203.0.113.7"] != 6 {
		t.Errorf("over-correlated %+v, want 203.0.113.7 of c-jinbei in 8 reports and of c-kkpark in 6 (as seams xref counts them)", run.OverCorrelated)
	}
	var runs struct{ Runs []runView }
	f.get(t, "viewer", "/api/runs", &runs)
	if len(runs.Runs) == 0 || runs.Runs[0].ID != run.ID || fmt.Sprint(runs.Runs[0].Parameters) != fmt.Sprint(run.Parameters) ||
		len(runs.Runs[0].OverCorrelated) != len(run.OverCorrelated) || runs.Runs[0].Seams == nil {
		t.Errorf("the run listed: %+v\nwant %+v", runs.Runs, run)
	}
	var older runView // the fixture's own run, made by hunt.Run with the defaults
	older = runs.Runs[len(runs.Runs)-1]
	if older.Parameters.MaxReportsPerIndicator != 500 || len(older.OverCorrelated) != 0 || older.OverCorrelated == nil {
		t.Errorf("the fixture's run: %+v", older)
	}

	var page struct{ Findings []findingView }
	f.get(t, "viewer", "/api/findings?limit=1000", &page)
	var capped *findingView
	enriched, signals := 0, 0
	for i := range page.Findings {
		fv := &page.Findings[i]
		if len(fv.Capped) > 0 && capped == nil && fv.Compound == "c-jinbei" {
			capped = fv
		}
		for _, e := range fv.Evidence {
			if e.Observed.ASN != 0 && e.Observed.Country != "" {
				enriched++
			}
		}
		if len(fv.Signals) > 0 {
			signals++
		}
	}
	if capped == nil || capped.Tier != "potential" || capped.Capped[0].Reports != 8 || capped.Capped[0].Limit != 1 {
		t.Fatalf("no finding of c-jinbei capped by an indicator of 8 reports over the limit 1: %+v", capped)
	}
	if enriched == 0 || signals == 0 {
		t.Errorf("%d pieces of evidence enriched, %d findings with signals; want some of each", enriched, signals)
	}
	var d findingDetailView
	f.get(t, "viewer", fmt.Sprintf("/api/findings/%d", capped.ID), &d)
	if !strings.Contains(d.Summary, "capped at potential") || !strings.Contains(d.Summary, "203.0.113.7 (evidence in 8 stored reports)") ||
		!strings.Contains(d.Summary, "limit of 1 ") || !slices.ContainsFunc(d.Explanation, func(s string) bool { return strings.Contains(s, "(AS64499 Example Hosting") }) {
		t.Errorf("the capped finding's words: %q %q", d.Summary, d.Explanation)
	}
	last := d.History[len(d.History)-1]
	if last.Run != run.ID || last.Kind != "downgraded" || len(last.Capped) != 1 || last.Capped[0].Reports != 8 {
		t.Errorf("the finding's last version: %+v", last)
	}

	// The request's parameters are checked.
	for _, body := range []map[string]any{{"lift_cap": []string{"nope"}}, {"max_reports_per_indicator": -1}, {"lift_cap": "203.0.113.7"}} {
		if resp, b := f.post(t, "analyst", "/api/runs", body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("run with %v: %d %s, want 400", body, resp.StatusCode, b)
		} else if _, ok := body["lift_cap"].([]string); ok && !strings.Contains(string(b), "lift_cap") {
			t.Errorf("run with %v: %s, want it to name lift_cap", body, b)
		}
	}
	// Lifting the cap of 203.0.113.7: a retro-hunt that ties them again.
	resp, b = f.post(t, "analyst", "/api/runs", map[string]any{"max_reports_per_indicator": 1, "lift_cap": []string{"203.0.113.7"}})
	if err := json.Unmarshal(b, &run); err != nil || resp.StatusCode != http.StatusCreated || !run.Full || run.Counts["upgraded"] == 0 ||
		!slices.Equal(run.Parameters.LiftCap, []string{"203.0.113.7"}) {
		t.Errorf("run with a lift: %d %s", resp.StatusCode, b)
	}
}

// TestRunViewMasksDevices: a viewer sees the device indicators of a run's
// over-correlated list and lift list masked, as everywhere; addresses
// whole.
func TestRunViewMasksDevices(t *testing.T) {
	r := seams.Run{Parameters: seams.StoreRunParameters{LiftCap: []string{"2001:db8::7", "imei:358240051111110"}},
		OverCorrelated: []seams.RunOverCorrelated{{Indicator: 3, OverCorrelated: seams.OverCorrelated{Kind: "device", Value: "imei:358240051111110", Reports: 9}},
			{Indicator: 4, OverCorrelated: seams.OverCorrelated{Kind: "ip", Value: "2001:db8::7", Reports: 8}}}}
	v := redactor{mask: true}.run(r)
	if got := v.OverCorrelated[0].Value + " " + v.OverCorrelated[1].Value + " " + strings.Join(v.Parameters.LiftCap, " "); got != "imei:…1110 2001:db8::7 2001:db8::7 imei:…1110" {
		t.Errorf("viewer's run: %s", got)
	}
	if r.Parameters.LiftCap[1] != "imei:358240051111110" {
		t.Error("masking changed the run itself")
	}
	a := redactor{}.run(r)
	if got := a.OverCorrelated[0].Value + " " + strings.Join(a.Parameters.LiftCap, " "); got != "imei:358240051111110 2001:db8::7 imei:358240051111110" {
		t.Errorf("analyst's run: %s", got)
	}
}
