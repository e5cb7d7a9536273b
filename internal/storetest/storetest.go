// Package storetest is the behavioural test suite that every engine of
// seams.Store must pass: loads and their idempotence, indicator versions,
// cross-reference runs (incremental and retro-hunt) and what they record,
// review marks, tokens and roles, per-organisation visibility, the audit
// chain and its tamper detection, queries, summaries and search, and the
// differential test that holds stored findings to what `seams xref` writes
// for the same files. The sqlite and postgres packages run it from their
// tests; so does this package's own test, against both.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
)

// Engine is a store engine under test.
type Engine struct {
	Name string
	// New returns a fresh, empty store, and a function that opens the
	// same database again, as a restart would.
	New func(t testing.TB) (seams.Store, func() (seams.Store, error))
	// Unguard is SQL that drops the engine's append-only guard on the
	// audit table, as an attacker with write access to the database could.
	Unguard string
	// Dialect is the engine's rendering of the schema.
	Dialect *sqlstore.Dialect
	// Empty returns an empty database of the engine, not a store yet, and
	// a function that opens a store on it (migrating it), for the tests
	// that build a store as an earlier seams left it. The caller closes
	// the database before opening the store.
	Empty func(t testing.TB) (*sql.DB, func() (seams.Store, error))
}

// DB returns the database under a store of package sqlstore.
func DB(t testing.TB, st seams.Store) *sql.DB {
	t.Helper()
	d, ok := st.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("store %T does not expose its database", st)
	}
	return d.DB()
}

// Run runs the whole suite against e.
func Run(t *testing.T, e Engine) {
	tests := []struct {
		name string
		fn   func(*testing.T, Engine)
	}{
		{"Migrations", testMigrations},
		{"MigrateV2", testMigrateV2},
		{"AssociatedStored", testAssociatedStored},
		{"EvidenceFields", testEvidenceFields},
		{"LoadIdempotent", testLoadIdempotent},
		{"ReportConflicts", testReportConflicts},
		{"IndicatorVersions", testIndicatorVersions},
		{"RetroHunt", testRetroHunt},
		{"Incremental", testIncremental},
		{"ReviewSurvives", testReviewSurvives},
		{"Tokens", testTokens},
		{"Roles", testRoles},
		{"Visibility", testVisibility},
		{"SummaryCounts", testSummaryCounts},
		{"ConcurrentReadsAudited", testConcurrentReadsAudited},
		{"Audit", testAudit},
		{"AuditTamper", testAuditTamper},
		{"FindingQueries", testFindingQueries},
		{"FindingDetail", testFindingDetail},
		{"Search", testSearch},
		{"CompoundStats", testCompoundStats},
		{"SummarySlowTwin", testSummarySlowTwin},
		{"DifferentialSmall", testDifferentialSmall},
		{"DifferentialFormats", testDifferentialFormats},
		{"DifferentialGenerated", testDifferentialGenerated},
		{"Partners", testPartners},
		{"MigrationUndated", testMigrationUndated},
		{"DifferentialAssociated", testDifferentialAssociated},
		{"DifferentialCapped", testDifferentialCapped},
		{"CappedAcrossOrgs", testCappedAcrossOrgs},
		{"MigrateV4", testMigrateV4},
		{"DifferentialDrift", testDifferentialDrift},
		{"SharedSpaceOwners", testSharedSpaceOwners},
		{"CompoundOwners", testCompoundOwners},
		{"UnchangedLoadAudit", testUnchangedLoadAudit},
		{"AuditState", testAuditState},
		{"AuditCheckpoint", testAuditCheckpoint},
		{"RunsScoped", testRunsScoped},
		{"DifferentialSharedASN", testDifferentialSharedASN},
		{"AsOf", testAsOf},
		{"Decay", testDecay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, e) })
	}
}

// Operator is the principal the tests act as unless they say otherwise.
var Operator = seams.Operator("org-a", "tester")

// Small returns the paths of the hand-made data set in testdata/small.
func Small() (compounds, indicators, shared string, reports []string) {
	dir := filepath.Join(repoRoot(), "testdata", "small")
	return filepath.Join(dir, "compounds.csv"), filepath.Join(dir, "indicators.csv"), filepath.Join(dir, "shared.txt"),
		[]string{filepath.Join(dir, "reports.jsonl"), filepath.Join(dir, "reports2.jsonl")}
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func ctx() context.Context { return context.Background() }

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// write writes a file in a temporary directory and returns its path.
func write(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	must(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// loadRegistry loads compounds, indicators and (when given) shared space.
func loadRegistry(t testing.TB, st seams.Store, p seams.Principal, compounds, indicators, shared string, o load.Options) {
	t.Helper()
	if compounds != "" {
		_, err := load.Compounds(ctx(), st, p, compounds, o)
		must(t, err)
	}
	if indicators != "" {
		_, err := load.Indicators(ctx(), st, p, indicators, o)
		must(t, err)
	}
	if shared != "" {
		_, err := load.Shared(ctx(), st, p, shared, o)
		must(t, err)
	}
}

func loadReports(t testing.TB, st seams.Store, p seams.Principal, o load.Options, paths ...string) load.Result {
	t.Helper()
	res, err := load.Reports(ctx(), st, p, paths, o)
	must(t, err)
	return res
}

func xrefStore(t testing.TB, st seams.Store, p seams.Principal) seams.Run {
	t.Helper()
	run, err := hunt.Run(ctx(), st, p, hunt.NewOptions())
	must(t, err)
	return run
}

// allFindings pages through every finding matching q.
func allFindings(t testing.TB, st seams.Store, p seams.Principal, q seams.FindingQuery) []seams.StoredFinding {
	t.Helper()
	var out []seams.StoredFinding
	for i := 0; ; i++ {
		page, err := st.Findings(ctx(), p, q)
		must(t, err)
		out = append(out, page.Findings...)
		if page.Next == "" {
			return out
		}
		if i > 100000 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = page.Next
	}
}

// FindingLines returns the findings visible to p as findings.jsonl lines,
// sorted: the form a cross-reference run writes.
func FindingLines(t testing.TB, st seams.Store, p seams.Principal) []string {
	return findingLines(t, st, p)
}

func findingLines(t testing.TB, st seams.Store, p seams.Principal) []string {
	t.Helper()
	fs := allFindings(t, st, p, seams.FindingQuery{Limit: 1000})
	var ids []int64
	for i := range fs {
		ids = append(ids, fs[i].Indicators()...)
	}
	inds := map[int64]*seams.Indicator{}
	for chunk := range slices.Chunk(ids, 5000) {
		page, err := st.Indicators(ctx(), p, seams.IndicatorQuery{IDs: chunk})
		must(t, err)
		for i := range page.Indicators {
			inds[page.Indicators[i].ID] = &page.Indicators[i].Indicator
		}
	}
	var lines []string
	for i := range fs {
		f, err := fs[i].Resolve(inds)
		must(t, err)
		lines = append(lines, string(jsonl.AppendFinding(nil, &f)))
	}
	sort.Strings(lines)
	return lines
}

// pairs returns "report compound tier" of each finding, sorted.
func pairs(fs []seams.StoredFinding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Report+" "+f.Compound+" "+f.Tier.String())
	}
	sort.Strings(out)
	return out
}

func diffLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	n := 0
	for _, l := range want {
		if !g[l] && n < 10 {
			t.Errorf("%s: missing %s", what, strings.TrimSpace(l))
			n++
		}
	}
	for _, l := range got {
		if !w[l] && n < 20 {
			t.Errorf("%s: unexpected %s", what, strings.TrimSpace(l))
			n++
		}
	}
	if len(got) != len(want) && n == 0 {
		t.Errorf("%s: %d lines, want %d (duplicates)", what, len(got), len(want))
	}
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// defaultDrift keeps the suite's expectations tied to the contract's
// default.
var defaultDrift = match.DefaultDrift

var _ = fmt.Sprint
