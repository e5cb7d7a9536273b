package storetest

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
	"github.com/seams-dev/seams/reportfile"
)

// Partners returns the paths of the partners set in testdata/partners: the
// same reports as CyberTipline XML the way providers write it, as JSON
// Lines and as CSV (issue 14).
func Partners() (compounds, indicators, shared string, xml, jsonl, csv []string) {
	dir := filepath.Join(repoRoot(), "testdata", "partners")
	f := func(name string) string { return filepath.Join(dir, name) }
	return f("compounds.csv"), f("indicators.csv"), f("shared.txt"),
		[]string{f("reports.xml"), f("reports-latin1.xml"), f("reports-utf16.xml")},
		[]string{f("reports.jsonl")}, []string{f("reports.csv")}
}

// testPartners loads the partners set's XML into the store and runs the
// store's cross-reference: the findings are those `seams xref` writes for
// the XML, and for the JSON Lines and CSV of the same reports; the stored
// reports keep what the XML said, the annotation flags in the incident and
// the events without a time.
func testPartners(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	p := Operator
	c, i, s, xml, jsonl, csv := Partners()
	differential(t, st, c, i, s, xml)
	got := findingLines(t, st, p)
	for _, other := range [][]string{jsonl, csv} {
		want, _ := XrefLines(t, c, i, s, other)
		diffLines(t, fmt.Sprintf("stored findings of the XML against xref's of %s", filepath.Base(other[0])), got, want)
	}

	// Every stored report is the report of the JSON Lines, field by field.
	want := readReports(t, jsonl...)
	var ids []string
	for _, r := range want {
		ids = append(ids, r.ID)
	}
	page, err := st.Reports(ctx(), p, seams.ReportQuery{IDs: ids, Limit: 1000})
	must(t, err)
	stored := map[string]seams.Report{}
	for _, r := range page.Reports {
		stored[r.ID] = r.Report
	}
	for _, w := range want {
		g, ok := stored[w.ID]
		if !ok {
			t.Errorf("report %s was not stored", w.ID)
			continue
		}
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("stored report\n %+v\nwant\n %+v", g, w)
		}
	}
	if r := stored["p-undated"]; len(r.IPs) != 4 || !r.IPs[0].At.IsZero() || r.IPs[3].At.IsZero() {
		t.Errorf("p-undated stored as %+v, want its first three events without a time", r)
	}

	// The flag shows in the finding, and undated evidence keeps no time.
	if f := findingOf(t, st, p, "p-annotations", "c-jinbei"); f.Incident != "Online Enticement of Children for Sexual Acts; sextortion" || f.Tier != seams.TierTied {
		t.Errorf("p-annotations at c-jinbei: incident %q tier %s", f.Incident, f.Tier)
	}
	f := findingOf(t, st, p, "p-undated", "c-kkpark")
	if f.Tier != seams.TierPotential || len(f.Evidence) != 1 || f.Evidence[0].Rule != seams.RuleIPUndated || !f.Evidence[0].Observed.At.IsZero() || !f.At.IsZero() {
		t.Errorf("p-undated at c-kkpark: %+v", f)
	}
	// A full second run re-evaluates every report and changes nothing:
	// undated evidence reads back and digests as it was stored.
	o := hunt.NewOptions()
	o.Full = true
	run, err := hunt.Run(ctx(), st, p, o)
	must(t, err)
	if run.Scanned != len(want) {
		t.Errorf("the full run scanned %d reports, want %d", run.Scanned, len(want))
	}
	for k, n := range run.Counts {
		if n != 0 {
			t.Errorf("a full second run made %d changes of kind %s", n, k)
		}
	}
}

// readReports reads report files through package reportfile.
func readReports(t testing.TB, paths ...string) []seams.Report {
	t.Helper()
	var out []seams.Report
	for _, path := range paths {
		in, err := reportfile.Open(path, "", nil)
		must(t, err)
		for {
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			must(t, err)
			if rec.Whole == nil {
				out = append(out, rec.Report.Clone())
			}
		}
		must(t, in.Close())
	}
	return out
}

// testMigrationUndated takes a store back to schema 2, where every stored
// ip event has a time (report_ips.at_ns NOT NULL), and opens it again:
// migration 3 keeps every event and lets an event without a time in.
func testMigrationUndated(t *testing.T, e Engine) {
	st, reopen := e.New(t)
	p := Operator
	c, i, s, _, _, _ := Partners()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	dated := write(t, "dated.jsonl", `{"id":"old-1","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":443},{"ip":"198.51.100.77","at":"2024-05-15T12:00:00Z","proxy":true}]}`+"\n")
	loadReports(t, st, p, load.NewOptions(), dated)
	before := readStored(t, st, "old-1")

	db := DB(t, st)
	var down []string
	switch e.Name {
	case "sqlite":
		down = []string{
			`CREATE TABLE report_ips_v2 (report INTEGER NOT NULL REFERENCES reports (seq), n INTEGER NOT NULL, addr BLOB NOT NULL,
				at_ns INTEGER NOT NULL, event TEXT NOT NULL, port INTEGER NOT NULL, proxy INTEGER NOT NULL, PRIMARY KEY (report, n)) WITHOUT ROWID`,
			`INSERT INTO report_ips_v2 SELECT report, n, addr, at_ns, event, port, proxy FROM report_ips`,
			`DROP TABLE report_ips`,
			`ALTER TABLE report_ips_v2 RENAME TO report_ips`,
			`CREATE INDEX report_ips_addr ON report_ips (addr)`,
			`ALTER TABLE report_devices DROP COLUMN associated`,
			`ALTER TABLE state DROP COLUMN associated_lost`,
		}
		down = append(down, undoSummaryCounts...)
		down = append(down, undoRecordTime...)
		down = append(down, undoIndicatorDrift...)
		down = append(down, undoV5...)
	case "postgres":
		down = []string{`ALTER TABLE report_ips DROP COLUMN associated`, `ALTER TABLE report_devices DROP COLUMN associated`,
			`ALTER TABLE state DROP COLUMN associated_lost`, `ALTER TABLE report_ips ALTER COLUMN at_ns SET NOT NULL`}
		down = append(down, undoSummaryCounts...)
		down = append(down, undoRecordTime...)
		down = append(down, undoIndicatorDrift...)
		down = append(down, undoV5...)
	default:
		t.Skipf("no schema 2 for engine %s", e.Name)
	}
	// Versions 3 (this test's), 4 (associated flags), 5 (the cap and
	// enrichment of runs) and 6 (shared space and compounds by owner) are
	// undone.
	down = append(append([]string{}, undoCoalition...), down...)
	down = append(down, `DELETE FROM schema_migrations WHERE version >= 3`)
	for _, q := range down {
		_, err := db.Exec(q)
		must(t, err)
	}
	// Schema 2 indeed: an event without a time cannot be stored.
	undated := write(t, "undated.jsonl", `{"id":"new-1","ips":[{"ip":"203.0.113.7"}]}`+"\n")
	if _, err := load.Reports(ctx(), st, p, []string{undated}, load.NewOptions()); err == nil {
		t.Fatal("schema 2 stored an event without a time: the downgrade did not take")
	}
	must(t, st.Close())

	st, err := reopen()
	must(t, err)
	defer st.Close()
	var v int
	must(t, DB(t, st).QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v))
	if v != sqlstore.SchemaVersion() {
		t.Fatalf("schema version %d after reopening, want %d", v, sqlstore.SchemaVersion())
	}
	if after := readStored(t, st, "old-1"); fmt.Sprintf("%+v", after) != fmt.Sprintf("%+v", before) {
		t.Errorf("migration changed a stored report:\n %+v\nwant\n %+v", after, before)
	}
	loadReports(t, st, p, load.NewOptions(), undated)
	if r := readStored(t, st, "new-1"); len(r.IPs) != 1 || !r.IPs[0].At.IsZero() {
		t.Errorf("after the migration, the undated report is stored as %+v", r)
	}
	xrefStore(t, st, p)
	if f := findingOf(t, st, p, "new-1", "c-jinbei"); f.Tier != seams.TierPotential || f.Evidence[0].Rule != seams.RuleIPUndated {
		t.Errorf("new-1 at c-jinbei: %+v", f)
	}
	if f := findingOf(t, st, p, "old-1", "c-jinbei"); f.Tier != seams.TierTied {
		t.Errorf("old-1 at c-jinbei: %+v", f)
	}
}

func readStored(t testing.TB, st seams.Store, id string) seams.Report {
	t.Helper()
	page, err := st.Reports(ctx(), Operator, seams.ReportQuery{IDs: []string{id}})
	must(t, err)
	if len(page.Reports) != 1 {
		t.Fatalf("report %s: %d stored", id, len(page.Reports))
	}
	return page.Reports[0].Report
}
