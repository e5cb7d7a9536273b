package storetest

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
	"github.com/seams-dev/seams/reportfile"
)

// Associated returns the paths of the hand-made set of testdata/associated:
// CyberTipline reports whose associated accounts (IPEvent.Associated,
// Device.Associated) match, tie, and meet shared space, beside reports
// without any.
func Associated() (compounds, indicators, shared, reports string) {
	dir := filepath.Join(repoRoot(), "internal", "storetest", "testdata", "associated")
	return filepath.Join(dir, "compounds.csv"), filepath.Join(dir, "indicators.csv"), filepath.Join(dir, "shared.txt"),
		filepath.Join(dir, "reports.xml")
}

// fileReports reads the reports of a file as seams load reads them, in
// order; it fails the test on any rejection.
func fileReports(t testing.TB, path string) []seams.Report {
	t.Helper()
	in, err := reportfile.Open(path, "", nil)
	must(t, err)
	defer in.Close()
	var out []seams.Report
	for {
		rec, err := in.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		if rec.Whole != nil || len(rec.Parts) > 0 {
			t.Fatalf("%s: a rejection in a test file: %+v %+v", path, rec.Whole, rec.Parts)
		}
		out = append(out, rec.Report.Clone())
	}
}

// associatedCount counts the events and devices of rs that are associated
// accounts'.
func associatedCount(rs []seams.Report) int {
	n := 0
	for i := range rs {
		for _, e := range rs[i].IPs {
			if e.Associated {
				n++
			}
		}
		for _, d := range rs[i].Devices {
			if d.Associated {
				n++
			}
		}
	}
	return n
}

// storedEqual holds the reports stored under the ids of want to want,
// every field (seams.Report.Equal).
func storedEqual(t testing.TB, st seams.Store, p seams.Principal, want []seams.Report, what string) {
	t.Helper()
	var ids []string
	for _, r := range want {
		ids = append(ids, r.ID)
	}
	page, err := st.Reports(ctx(), p, seams.ReportQuery{IDs: ids})
	must(t, err)
	got := map[string]*seams.Report{}
	for i := range page.Reports {
		got[page.Reports[i].ID] = &page.Reports[i].Report
	}
	for i := range want {
		g, ok := got[want[i].ID]
		switch {
		case !ok:
			t.Errorf("%s: report %s is not stored", what, want[i].ID)
		case !g.Equal(&want[i]):
			t.Errorf("%s: report %s\nstored %+v\n  want %+v", what, want[i].ID, *g, want[i])
		}
	}
}

// testAssociatedStored: a report's associated events and devices are
// stored as such and read back so, and the flags are part of what makes a
// report the same one on a second load.
func testAssociatedStored(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	_, _, _, path := Associated()
	want := fileReports(t, path)
	if associatedCount(want) < 4 {
		t.Fatalf("the test file has %d associated events and devices: it tests nothing", associatedCount(want))
	}
	res := loadReports(t, st, p, load.NewOptions(), path)
	if res.New != len(want) {
		t.Fatalf("load: %+v, want %d new", res, len(want))
	}
	storedEqual(t, st, p, want, "after a load")
	// What a search or a finding's detail reads is the same report.
	sr, err := st.Search(ctx(), p, seams.SearchQuery{Kind: seams.SearchReport, Report: "ct-2001", Limit: 10})
	must(t, err)
	if len(sr.Reports) != 1 || !sr.Reports[0].Report.Equal(&want[0]) {
		t.Errorf("search for ct-2001: %+v, want %+v", sr.Reports, want[0])
	}

	res = loadReports(t, st, p, load.NewOptions(), path)
	if res.Unchanged != len(want) || res.Changed() {
		t.Errorf("second load: %+v, want all unchanged", res)
	}
	// The same report with one flag changed is another report: the first
	// one stands.
	for _, flip := range []func(r *seams.Report){
		func(r *seams.Report) { r.IPs[1].Associated = false },
		func(r *seams.Report) { r.IPs[0].Associated = true },
		func(r *seams.Report) { r.Devices[0].Associated = false },
	} {
		r := want[0].Clone()
		flip(&r)
		lr, rej, err := st.PutReports(ctx(), p, seams.ReportBatch{File: "flipped.xml", Lines: []int{1}}, []seams.Report{r})
		must(t, err)
		if len(rej) != 1 || !strings.Contains(rej[0].Reason, "already stored with other content") || lr.Changed() {
			t.Errorf("a flag changed: %+v, rejections %v; want it rejected", lr, rej)
		}
	}
	storedEqual(t, st, p, want, "after the rejected loads")
}

// testDifferentialAssociated is the differential test over the associated
// set: stored findings show associated observations as xref's do.
func testDifferentialAssociated(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	c, i, s, r := Associated()
	differential(t, st, c, i, s, []string{r})
	lines := strings.Join(findingLines(t, st, Operator), "")
	if n := strings.Count(lines, `"associated":true`); n < 4 {
		t.Errorf("stored findings hold %d associated observations, want the set's 4 or more:\n%s", n, lines)
	}
	if !strings.Contains(lines, `"shared":"203.0.113.96/27"`) {
		t.Errorf("stored findings hold no evidence in shared space:\n%s", lines)
	}
}

// testEvidenceFields: what a run stores of each piece of evidence comes
// back whole, the associated flag and the reason of shared space too. A
// store's own runs give no reason yet (they have no lists by AS or
// presets), so a run that did is committed by hand, as hunt would.
func testEvidenceFields(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, r := Associated()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r)
	xrefStore(t, st, p)
	f := findingOf(t, st, p, "ct-2002", "c-beta")
	if len(f.Evidence) != 1 || !f.Evidence[0].Shared.IsValid() || !f.Evidence[0].Observed.Associated || f.Evidence[0].SharedWhy != "" {
		t.Fatalf("ct-2002 at c-beta: %+v, want one associated observation in shared space, with no reason (a plain list)", f.Evidence)
	}
	const why = "AS64500 Example Satellite, listed in shared-asn"
	ev := slices.Clone(f.Evidence)
	ev[0].SharedWhy = why
	snap, err := st.Snapshot(ctx())
	must(t, err)
	state := snap.State()
	must(t, snap.Close())
	run, err := st.CommitRun(ctx(), p, &seams.RunResult{Base: state.LastRun.ID, RegistryVersion: state.RegistryVersion, Drift: defaultDrift,
		Through: state.MaxReport, Changes: []seams.FindingChange{{Finding: f.ID, Report: f.ReportSeq, Compound: f.Compound,
			Kind: seams.ChangeRevised, From: f.Tier, To: f.Tier, Evidence: ev, Digest: hunt.Digest(ev, f.Private, f.Signals, nil), At: f.At}}})
	must(t, err)

	d, err := st.Finding(ctx(), p, f.ID)
	must(t, err)
	if len(d.Evidence) != 1 || d.Evidence[0] != ev[0] {
		t.Errorf("stored evidence %+v, want %+v", d.Evidence, ev)
	}
	if len(d.History) != 2 || d.History[0].Evidence[0].SharedWhy != "" || d.History[1].Evidence[0].SharedWhy != why || !d.History[1].Evidence[0].Observed.Associated {
		t.Errorf("history %+v, want the run's version without the reason and the revision with it", d.History)
	}
	if lines := strings.Join(findingLines(t, st, p), ""); !strings.Contains(lines, `"shared_why":"`+why+`"`) {
		t.Errorf("findings.jsonl form of the store's findings does not give the reason:\n%s", lines)
	}
	// The reason is part of what a finding says: a run that gives none
	// revises it.
	ho := hunt.NewOptions()
	ho.Full = true
	next, err := hunt.Run(ctx(), st, p, ho)
	must(t, err)
	if got := changes(t, st, p, next.ID); !slices.Equal(got, []string{"ct-2002 c-beta revised"}) {
		t.Errorf("the run after run %d changed %v, want the hand-made reason revised away", run.ID, got)
	}
}

// testMigrateV2 opens a store that seams made at schema version 2 (which
// kept no associated flags) and checks that it is migrated and keeps its
// data, that its findings stay as they were until something changes them,
// and that loading its reports again restores the flags, after which its
// findings are what `seams xref` finds.
func testMigrateV2(t *testing.T, e Engine) {
	if e.Empty == nil || e.Dialect == nil {
		t.Fatalf("engine %s cannot build an earlier store (Empty, Dialect)", e.Name)
	}
	// The engine's own statements of version 1 are still the ones it
	// released (internal/sqlstore TestReleasedSchema checks the common
	// ones).
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	released, code := SchemaStatements(t, "schema."+e.Name+".sql"), e.Dialect.Extra[1]
	if !slices.EqualFunc(released, code, func(a, b string) bool { return norm(a) == norm(b) }) {
		t.Errorf("the %s Dialect's statements of version 1 were edited:\n code     %q\n released %q", e.Name, code, released)
	}
	db, open := e.Empty(t)
	BuildLegacy(t, db, e.Dialect)
	must(t, db.Close())
	st, err := open()
	must(t, err)
	defer st.Close()
	raw := DB(t, st)
	var v, lost int64
	must(t, raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v))
	must(t, raw.QueryRow(`SELECT associated_lost FROM state WHERE id = 1`).Scan(&lost))
	if v != int64(sqlstore.SchemaVersion()) || lost != 4 {
		t.Fatalf("migrated to version %d with associated_lost %d, want %d and the 4 reports stored", v, lost, sqlstore.SchemaVersion())
	}
	op := seams.Operator("hotline", "tester")
	c, i, s, r := Associated()
	file := fileReports(t, r)
	// What version 2 kept: the reports without their flags.
	kept := make([]seams.Report, len(file))
	for k := range file {
		kept[k] = file[k].Clone()
		for j := range kept[k].IPs {
			kept[k].IPs[j].Associated = false
		}
		for j := range kept[k].Devices {
			kept[k].Devices[j].Associated = false
		}
	}
	storedEqual(t, st, op, kept, "after the migration")
	if _, err := st.VerifyAudit(ctx(), op); err != nil {
		t.Errorf("the audit log of the migrated store: %v", err)
	}
	fs := allFindings(t, st, op, seams.FindingQuery{})
	if got := strings.Join(pairs(fs), ", "); got != "ct-2001 c-alpha tied, ct-2001 c-beta tied, ct-2002 c-alpha tied, ct-2002 c-beta potential, ct-2003 c-beta potential" {
		t.Fatalf("findings after the migration: %s", got)
	}
	reviewed := findingOf(t, st, op, "ct-2001", "c-alpha")
	if reviewed.Review.Mark != seams.MarkConfirmed || reviewed.ReviewStale() {
		t.Errorf("the review of ct-2001 at c-alpha after the migration: %+v", reviewed.Review)
	}

	// Evidence stored without the new fields digests as it did: a full
	// run finds what version 2 found and changes nothing.
	ho := hunt.NewOptions()
	ho.Full = true
	run, err := hunt.Run(ctx(), st, op, ho)
	must(t, err)
	if run.Scanned != 4 || len(run.Counts) != 0 {
		t.Errorf("a full run after the migration: %d reports, changes %v; want 4 and none", run.Scanned, run.Counts)
	}

	// A report stored then, loaded again with other content and flags, is
	// another report: rejected, not restored.
	other := file[0].Clone()
	other.IPs[0].Port++
	lr, rej, err := st.PutReports(ctx(), op, seams.ReportBatch{File: "other.xml", Lines: []int{1}}, []seams.Report{other})
	must(t, err)
	if len(rej) != 1 || !strings.Contains(rej[0].Reason, "already stored with other content") || lr.Changed() {
		t.Errorf("other content with flags: %+v %v, want it rejected", lr, rej)
	}
	storedEqual(t, st, op, kept, "after other content was rejected")

	// Loading the file again restores the flags of the 3 reports that
	// have any; once.
	res := loadReports(t, st, op, load.NewOptions(), r)
	if res.Updated != 3 || res.Unchanged != 1 || res.New != 0 || res.Rejected != 0 {
		t.Errorf("load after the migration: %+v, want 3 updated (flags restored) and 1 unchanged", res)
	}
	storedEqual(t, st, op, file, "after the flags were restored")
	res = loadReports(t, st, op, load.NewOptions(), r)
	if res.Unchanged != 4 || res.Changed() {
		t.Errorf("load once more: %+v, want all unchanged", res)
	}
	entries, err := st.AuditEntries(ctx(), op, seams.AuditQuery{Action: "reports.restore"})
	must(t, err)
	if len(entries) != 1 || !strings.Contains(entries[0].Detail, "3 reports") {
		t.Errorf("audit of the restore: %+v", entries)
	}

	// The next run matches every report again and revises the findings
	// whose evidence is an associated account's; the store then holds
	// what `seams xref` finds in the same files.
	run = xrefStore(t, st, op)
	if !run.Full {
		t.Errorf("the run after flags were restored is incremental: their reports' findings would keep the flags lost")
	}
	want := []string{"ct-2001 c-alpha revised", "ct-2001 c-beta revised", "ct-2002 c-alpha revised", "ct-2002 c-beta revised"}
	if got := changes(t, st, op, run.ID); !slices.Equal(got, want) {
		t.Errorf("run after the restore changed %v, want %v", got, want)
	}
	wantLines, _ := XrefLines(t, c, i, s, []string{r})
	diffLines(t, "the migrated store's findings against xref's", findingLines(t, st, op), wantLines)
	if f := findingOf(t, st, op, "ct-2001", "c-alpha"); f.Review.Mark != seams.MarkConfirmed || !f.ReviewStale() {
		t.Errorf("the review of the revised finding: %+v, stale %v; want it kept and stale", f.Review, f.ReviewStale())
	}
	if _, err := st.VerifyAudit(ctx(), op); err != nil {
		t.Errorf("the audit log at the end: %v", err)
	}
}
