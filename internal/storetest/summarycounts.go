package storetest

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
)

// undoSummaryCounts takes a store back from schemaSummaryCounts (the
// overview's kept counts) to the version before, in both engines: the
// tests that open a store as an earlier seams left it undo it first.
var undoSummaryCounts = []string{
	`DROP TABLE summary_findings`,
	`DROP TABLE summary_reports`,
	`DROP TABLE summary_stored`,
	`DROP INDEX findings_compound_at`,
	`DROP INDEX findings_mark`,
	`ALTER TABLE state DROP COLUMN summary_ready`,
}

// keeper is a store that keeps its summary counts and can hold them to a
// recount (package sqlstore).
type keeper interface {
	SummaryMismatches(ctx context.Context) ([]string, error)
}

// testSummaryCounts holds the counts a store keeps for its overview to a
// recount, and its summaries to a slow count over every finding and
// report listed, for each organisation and the operator, after each step
// that changes what they count: loads, a first run, reviews, sharing and
// unsharing, a retro-hunt that revises findings (reviews go stale),
// indicators retired (findings withdrawn), a compound that moves to
// another country, more reports and an incremental run, an idle run.
func testSummaryCounts(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	kept, ok := st.(keeper)
	if !ok {
		t.Fatalf("store %T keeps no summary counts", st)
	}
	op := Operator
	mk := func(org string) seams.Principal {
		s, _, err := st.CreateToken(ctx(), op, seams.NewToken{Org: org, User: "u-" + org, Role: seams.RoleAdmin})
		must(t, err)
		p, err := st.Authenticate(ctx(), s)
		must(t, err)
		return p
	}
	a, b := mk("org-a"), mk("org-b")

	dir := t.TempDir()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 13, 10, 400, 1500
	o.TiedRate, o.PotentialRate = 0.1, 0.2
	f, err := gen.Generate(dir, o)
	must(t, err)
	raw, err := os.ReadFile(f.Indicators)
	must(t, err)
	lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	half := len(rows) / 2
	ia := write(t, "ia.csv", header+strings.Join(rows[:half], ""))
	ib := write(t, "ib.csv", header+strings.Join(rows[half:], ""))

	_, err = load.Compounds(ctx(), st, op, f.Compounds, load.NewOptions())
	must(t, err)
	_, err = load.Shared(ctx(), st, op, f.Shared, load.NewOptions())
	must(t, err)
	oa := load.NewOptions()
	oa.Name, oa.Shared = "ia.csv", true
	_, err = load.Indicators(ctx(), st, a, ia, oa)
	must(t, err)
	ob := load.NewOptions()
	ob.Name = "ib.csv"
	_, err = load.Indicators(ctx(), st, b, ib, ob)
	must(t, err)
	// Org-a's reports unshared, org-b's (the same file, its own) shared.
	loadReports(t, st, a, load.NewOptions(), f.Reports)
	shared := load.NewOptions()
	shared.Shared = true
	loadReports(t, st, b, shared, f.Reports)

	var seen struct{ tied, potential, stale, partial bool }
	check := func(step string) {
		t.Helper()
		mism, err := kept.SummaryMismatches(ctx())
		must(t, err)
		if len(mism) > 0 {
			t.Errorf("%s: the kept counts differ from a recount in %d rows:\n%s", step, len(mism), strings.Join(mism[:min(len(mism), 10)], "\n"))
		}
		compounds, err := st.Compounds(ctx())
		must(t, err)
		country := map[string]string{}
		for _, c := range compounds {
			country[c.ID] = c.Country
		}
		for _, p := range []seams.Principal{op, a, b} {
			who := step + ", as " + p.Org
			if p.Operator {
				who = step + ", as the operator"
			}
			sum, err := st.Summary(ctx(), p, seams.SummaryQuery{})
			must(t, err)
			want := slowSummary(t, st, p, "", country)
			sameSummary(t, who, sum, want)
			seen.tied = seen.tied || want.TiedReports > 0
			seen.potential = seen.potential || want.PotentialReports > 0
			seen.stale = seen.stale || want.Reviews.Stale > 0
			if !p.Operator && want.Findings > 0 {
				all := slowSummary(t, st, op, "", country)
				seen.partial = seen.partial || want.Findings < all.Findings
			}
			var reports, events, devices int
			for cursor := ""; ; {
				page, err := st.Reports(ctx(), p, seams.ReportQuery{Cursor: cursor, Limit: 1000})
				must(t, err)
				for _, r := range page.Reports {
					reports, events, devices = reports+1, events+len(r.IPs), devices+len(r.Devices)
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
			if sum.Reports != reports || sum.Events != events || sum.Devices != devices {
				t.Errorf("%s: %d reports, %d events, %d devices; listed %d, %d, %d", who, sum.Reports, sum.Events, sum.Devices, reports, events, devices)
			}
			// A compound with findings of org-a, one of org-b, one with
			// none (when there is one).
			picked := map[string]bool{}
			for _, cc := range want.ByCompound[:min(2, len(want.ByCompound))] {
				picked[cc.Compound] = true
			}
			for _, c := range compounds {
				if !slices.ContainsFunc(want.ByCompound, func(cc seams.CompoundCount) bool { return cc.Compound == c.ID }) {
					picked[c.ID] = true
					break
				}
			}
			for id := range picked {
				one, err := st.Summary(ctx(), p, seams.SummaryQuery{Compound: id})
				must(t, err)
				sameSummary(t, who+", compound "+id, one, slowSummary(t, st, p, id, country))
			}
		}
	}
	check("loaded, no run yet")
	xrefStore(t, st, op)
	check("first run")

	// Reviews by each organisation of its own findings: some with
	// evidence by drift, which the retro-hunt below (a shorter drift)
	// revises, so that their reviews go stale.
	for _, p := range []seams.Principal{a, b} {
		var own, drift []seams.StoredFinding
		for _, x := range allFindings(t, st, p, seams.FindingQuery{Limit: 1000}) {
			if x.Org != p.Org {
				continue
			}
			own = append(own, x)
			if slices.ContainsFunc(x.Evidence, func(e seams.StoredEvidence) bool { return e.Rule == seams.RuleIPDrift }) {
				drift = append(drift, x)
			}
		}
		if len(own) < 40 || len(drift) < 2 {
			t.Fatalf("%s has %d findings, %d by drift: the data set tests little", p.Org, len(own), len(drift))
		}
		for j, m := range []seams.Mark{seams.MarkConfirmed, seams.MarkDismissed, seams.MarkConfirmed, seams.MarkNone} {
			_, err := st.Review(ctx(), p, own[j*7].ID, m, "")
			must(t, err)
		}
		for j, m := range []seams.Mark{seams.MarkConfirmed, seams.MarkDismissed} {
			_, err := st.Review(ctx(), p, drift[j].ID, m, "")
			must(t, err)
		}
	}
	check("reviews")

	// Org-a shares some of its reports, org-b unshares some of its own.
	var ids []string
	for _, x := range allFindings(t, st, a, seams.FindingQuery{Limit: 1000}) {
		if x.Org == a.Org && len(ids) < 200 {
			ids = append(ids, x.Report)
		}
	}
	_, err = st.ShareReports(ctx(), a, ids, true)
	must(t, err)
	_, err = st.ShareReports(ctx(), b, ids[:100], false)
	must(t, err)
	check("sharing changed")

	// A retro-hunt with another drift revises findings: reviews go stale.
	_, err = hunt.Run(ctx(), st, op, hunt.Options{Drift: defaultDrift / 3})
	must(t, err)
	check("retro-hunt")

	// Org-a's file without its second half: those indicators retire,
	// their findings are withdrawn or revised.
	quarter := half / 2
	_, err = load.Indicators(ctx(), st, a, write(t, "ia.csv", header+strings.Join(rows[:quarter], "")), oa)
	must(t, err)
	run := xrefStore(t, st, op)
	if run.Counts[seams.ChangeWithdrawn] == 0 {
		t.Errorf("retiring %d indicators withdrew no finding: %+v", half-quarter, run.Counts)
	}
	check("indicators retired")

	// A compound moves to another country.
	c, err := st.Compounds(ctx())
	must(t, err)
	moved := write(t, "moved.csv", "id,name,country\n"+c[0].ID+","+c[0].Name+",TH\n")
	mo := load.NewOptions()
	mo.Confirm = true // another country: a change that needs confirmation
	_, err = load.Compounds(ctx(), st, op, moved, mo)
	must(t, err)
	check("compound moved")

	// More reports of org-a (ids of their own), an incremental run, an
	// idle one.
	raw, err = os.ReadFile(f.Reports)
	must(t, err)
	more := strings.ReplaceAll(strings.Join(strings.SplitAfter(string(raw), "\n")[:300], ""), `"id":"`, `"id":"more-`)
	loadReports(t, st, a, shared, write(t, "more.jsonl", more))
	check("more reports")
	if run := xrefStore(t, st, op); run.Full {
		t.Errorf("the run after more reports is a retro-hunt")
	}
	check("incremental run")
	xrefStore(t, st, op)
	check("idle run")

	if !seen.tied || !seen.potential || !seen.stale || !seen.partial {
		t.Errorf("the steps never met a case (tied, potential, stale review, a view of part of the findings): %+v", seen)
	}
}
