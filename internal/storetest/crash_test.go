package storetest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/sqlstore"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/postgres"
	"github.com/seams-dev/seams/sqlite"
)

// The crash tests run a load and a cross-reference in a child process (this
// test binary again), kill it with SIGKILL inside a transaction, at a
// failpoint of package sqlstore, and then check from the parent that what
// was committed is whole, what was not left no trace, and that doing the
// work again completes it.

const crashBatch = 500

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	what := os.Getenv("SEAMS_CRASH_CHILD")
	if what == "" {
		t.Skip("only run as the child of a crash test")
	}
	at, _ := strconv.Atoi(os.Getenv("SEAMS_CRASH_AT"))
	n := 0
	sqlstore.Failpoint = func(name string) {
		if name == os.Getenv("SEAMS_CRASH_POINT") {
			if n++; n == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
	}
	st := openFor(t, os.Getenv("SEAMS_CRASH_STORE"))
	ctx := context.Background()
	var err error
	switch what {
	case "load":
		o := load.NewOptions()
		o.Batch = crashBatch
		_, err = load.Reports(ctx, st, storetest.Operator, []string{os.Getenv("SEAMS_CRASH_FILE")}, o)
	case "xref":
		_, err = hunt.Run(ctx, st, storetest.Operator, hunt.NewOptions())
	}
	if err != nil {
		t.Fatal(err)
	}
	// Reaching here means the failpoint never fired: the parent sees a
	// normal exit and fails.
}

// openFor opens the store a child names: sqlite:DIR or a postgres URL.
func openFor(t testing.TB, name string) seams.Store {
	ctx := context.Background()
	var st seams.Store
	var err error
	if dir, ok := cutPrefix(name, "sqlite:"); ok {
		st, err = sqlite.Open(ctx, dir, sqlite.NewOptions())
	} else {
		st, err = postgres.Open(ctx, name, postgres.NewOptions())
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// crash runs the child and checks that it was killed.
func crash(t *testing.T, what, store, file, point string, at int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SEAMS_CRASH_CHILD="+what, "SEAMS_CRASH_STORE="+store, "SEAMS_CRASH_FILE="+file,
		"SEAMS_CRASH_POINT="+point, "SEAMS_CRASH_AT="+strconv.Itoa(at))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child %s was not killed at %s #%d (%v):\n%s", what, point, at, err, out)
	}
}

// storeName returns how a child opens the store of an engine test: the
// sqlite engine's data directory, or the PostgreSQL schema's URL.
type crashEngine struct {
	name string
	new  func(t *testing.T) (st seams.Store, child string)
}

func crashEngines(t *testing.T) []crashEngine {
	es := []crashEngine{{"sqlite", func(t *testing.T) (seams.Store, string) {
		dir := t.TempDir()
		st, err := sqlite.Open(context.Background(), dir, sqlite.NewOptions())
		if err != nil {
			t.Fatal(err)
		}
		return st, "sqlite:" + dir
	}}}
	if base := os.Getenv("SEAMS_TEST_POSTGRES"); base != "" {
		es = append(es, crashEngine{"postgres", func(t *testing.T) (seams.Store, string) {
			st, _, dsn := newPostgresDSN(t, base)
			return st, dsn
		}})
	} else {
		t.Log("SEAMS_TEST_POSTGRES is not set: the crash tests run against SQLite only")
	}
	return es
}

func TestCrashDuringLoadAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("crash tests re-exec the test binary")
	}
	dir := t.TempDir()
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports, o.TiedRate, o.PotentialRate, o.BadRate = 3, 20, 800, 4000, 0.03, 0.06, 0.01
	files, err := gen.Generate(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	// What the file holds: the reports a complete load stores.
	want := readReports(t, files.Reports)
	wantLines, _ := storetest.XrefLines(t, files.Compounds, files.Indicators, files.Shared, []string{files.Reports})
	for _, e := range crashEngines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			st, child := e.new(t)
			p := storetest.Operator
			for _, step := range []func() (load.Result, error){
				func() (load.Result, error) { return load.Compounds(ctx, st, p, files.Compounds, load.NewOptions()) },
				func() (load.Result, error) { return load.Indicators(ctx, st, p, files.Indicators, load.NewOptions()) },
				func() (load.Result, error) { return load.Shared(ctx, st, p, files.Shared, load.NewOptions()) },
			} {
				if _, err := step(); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()

			// Killed inside the transaction of the fourth batch: three
			// batches committed.
			crash(t, "load", child, files.Reports, "reports.insert", 4)
			st = openFor(t, child)
			defer st.Close()
			db := storetest.DB(t, st)
			stored := storedReports(t, st)
			if len(stored) != 3*crashBatch {
				t.Fatalf("after the crash the store holds %d reports, want the %d of three committed batches", len(stored), 3*crashBatch)
			}
			for id, r := range stored {
				w, ok := want[id]
				if !ok || !w.Equal(&r.Report) {
					t.Fatalf("stored report %s is not the one in the file (half written?)\nstored %+v\nfile   %+v", id, r.Report, w)
				}
			}
			orphans(t, db)
			verify(t, st)

			// Loading again stores the rest and only the rest.
			lo := load.NewOptions()
			lo.Batch = crashBatch
			res, err := load.Reports(ctx, st, p, []string{files.Reports}, lo)
			if err != nil {
				t.Fatal(err)
			}
			if res.Unchanged != 3*crashBatch || res.New != len(want)-3*crashBatch {
				t.Errorf("load after the crash: %+v, want %d already stored and %d new", res, 3*crashBatch, len(want)-3*crashBatch)
			}
			if n := len(storedReports(t, st)); n != len(want) {
				t.Errorf("the store holds %d reports, want the file's %d", n, len(want))
			}
			st.Close()

			// Killed halfway through writing the run's changes.
			crash(t, "xref", child, "", "run.write", 1)
			st = openFor(t, child)
			defer st.Close()
			db = storetest.DB(t, st)
			for _, table := range []string{"runs", "findings", "finding_versions"} {
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("after a run killed before its commit, %s holds %d rows", table, n)
				}
			}
			verify(t, st)
			run, err := hunt.Run(ctx, st, p, hunt.NewOptions())
			if err != nil {
				t.Fatal(err)
			}
			runs, err := st.Runs(ctx, p, 10)
			if err != nil {
				t.Fatal(err)
			}
			// (PostgreSQL does not hand out the killed run's id again.)
			if !run.Full || len(runs) != 1 || runs[0].ID != run.ID {
				t.Errorf("run after the crash: %+v, runs %d: want the only run, full", run, len(runs))
			}
			got := storetest.FindingLines(t, st, p)
			if !slices.Equal(got, wantLines) {
				t.Errorf("after the crash and a new run the store holds %d findings, xref finds %d (or they differ)", len(got), len(wantLines))
			}
			verify(t, st)
		})
	}
}

func readReports(t *testing.T, path string) map[string]seams.Report {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := jsonl.NewReader(f, path)
	out := map[string]seams.Report{}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Whole == nil {
			// The id is the reader's until the next record: key by the
			// clone's.
			if _, dup := out[rec.Report.ID]; !dup {
				r := rec.Report.Clone()
				out[r.ID] = r
			}
		}
	}
}

func storedReports(t *testing.T, st seams.Store) map[string]seams.StoredReport {
	out := map[string]seams.StoredReport{}
	q := seams.ReportQuery{Limit: 1000}
	for {
		page, err := st.Reports(context.Background(), storetest.Operator, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reports {
			out[r.ID] = r
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// orphans checks that no event or device lacks its report.
func orphans(t *testing.T, db *sql.DB) {
	for _, table := range []string{"report_ips", "report_devices"} {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM %s e LEFT JOIN reports r ON r.seq = e.report WHERE r.seq IS NULL`, table)
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows of %s belong to no report", n, table)
		}
	}
}

func verify(t *testing.T, st seams.Store) {
	if _, err := st.VerifyAudit(context.Background(), storetest.Operator); err != nil {
		t.Errorf("audit log after the crash: %v", err)
	}
}
