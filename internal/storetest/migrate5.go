package storetest

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
)

// docDBs are the synthetic databases of package mmdb's tests, which know
// the documentation ranges the hand-made sets use.
func docDBs() (asn, geo string) {
	dir := filepath.Join(repoRoot(), "mmdb", "testdata")
	return filepath.Join(dir, "doc-asn.mmdb"), filepath.Join(dir, "doc-geo.mmdb")
}

// testMigrateV4 opens a store as schema version 4 left it (its runs with
// no build or parameters, its findings with no signals or cap) and checks
// that version 5 keeps everything: the runs read as having had their
// drift alone (no cap, no enrichment), the findings as they were; the
// first run with the default cap is a retro-hunt that changes nothing
// where no indicator is over it; one with enrichment revises the findings
// with an address, and the store then holds what seams xref writes with
// the same databases.
func testMigrateV4(t *testing.T, e Engine) {
	st, reopen := e.New(t)
	p := Operator
	c, i, s, r := Small()
	loadRegistry(t, st, p, c, i, s, load.NewOptions())
	loadReports(t, st, p, load.NewOptions(), r...)
	old := hunt.NewOptions()
	old.MaxReportsPerIndicator = 0 // what a store's run of version 4 did
	first, err := hunt.Run(ctx(), st, p, old)
	must(t, err)
	before := findingLines(t, st, p)
	for _, q := range append(append(append(append(append(slices.Clone(undoSummaryCounts), undoRecordTime...), undoCoalition...), undoIndicatorDrift...), undoV5...), `DELETE FROM schema_migrations WHERE version >= 5`) {
		_, err := DB(t, st).Exec(q)
		must(t, err)
	}
	must(t, st.Close())

	st, err = reopen()
	must(t, err)
	defer st.Close()
	var v int
	must(t, DB(t, st).QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v))
	if v != sqlstore.SchemaVersion() {
		t.Fatalf("schema version %d after reopening, want %d", v, sqlstore.SchemaVersion())
	}
	runs, err := st.Runs(ctx(), p, 10)
	must(t, err)
	want := seams.StoreRunParameters{Drift: defaultDrift.String(), LiftCap: []string{}, SharedASN: []uint32{}, SharedPresets: []string{}, Databases: []seams.DatabaseInfo{}}
	if len(runs) != 1 || runs[0].ID != first.ID || fmt.Sprintf("%+v", runs[0].Parameters) != fmt.Sprintf("%+v", want) ||
		runs[0].Seams != (seams.Build{}) || len(runs[0].OverCorrelated) != 0 {
		t.Fatalf("the run of version 4 reads as %+v", runs)
	}
	diffLines(t, "findings after the migration", findingLines(t, st, p), before)

	// The default cap is a new parameter: a retro-hunt, which changes
	// nothing (no indicator of the small set is over 500).
	run, err := hunt.Run(ctx(), st, p, hunt.NewOptions())
	must(t, err)
	if !run.Full || len(run.Counts) != 0 || run.Parameters.MaxReportsPerIndicator != 500 {
		t.Errorf("first run after the migration: full %v, changes %v, parameters %+v; want a full run changing nothing", run.Full, run.Counts, run.Parameters)
	}
	// With enrichment: a retro-hunt that revises the findings whose
	// evidence has an address, and the store holds what xref writes.
	asn, geo := docDBs()
	o := hunt.NewOptions()
	o.Enrich = enrich.Options{ASNDB: []string{asn}, GeoDB: []string{geo}}
	run, err = hunt.Run(ctx(), st, p, o)
	must(t, err)
	if !run.Full || run.Counts[seams.ChangeRevised] == 0 {
		t.Errorf("the run with enrichment: full %v, changes %v; want findings revised", run.Full, run.Counts)
	}
	xo := r2x(c, i, s, r, t.TempDir())
	xo.ASNDB, xo.GeoDB = []string{asn}, []string{geo}
	wantLines, _ := xrefRun(t, xo)
	diffLines(t, "the enriched store against xref", findingLines(t, st, p), wantLines)
	// And the same again: incremental, idle.
	run, err = hunt.Run(ctx(), st, p, o)
	must(t, err)
	if run.Full || len(run.Counts) != 0 {
		t.Errorf("the same run again: full %v, changes %v", run.Full, run.Counts)
	}
}
