package storetest_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/internal/storetest"
	"github.com/seams-dev/seams/sqlite"
)

// The benchmarks load and cross-reference a data set of `seams gen` of
// SEAMS_BENCH_REPORTS reports (default 20,000; the figures in
// docs/store.md used 1,000,000 with -benchtime 1x), 100,000 indicators
// (scaled down for small sets) and 200 compounds.

var (
	benchOnce  sync.Once
	benchFiles gen.Files
	benchErr   error
)

func benchSet(b *testing.B) (gen.Files, int) {
	n := 20000
	if s := os.Getenv("SEAMS_BENCH_REPORTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("SEAMS_BENCH_REPORTS=%q", s)
		}
	}
	benchOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "seams-bench-"+strconv.Itoa(n))
		o := gen.DefaultOptions()
		o.Reports, o.Indicators, o.Compounds = n, min(100000, max(2000, n/10)), 200
		benchFiles, benchErr = gen.Generate(dir, o)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFiles, n
}

type benchEngine struct {
	name string
	new  func(b *testing.B) seams.Store
}

func benchEngines(b *testing.B) []benchEngine {
	es := []benchEngine{{"sqlite", func(b *testing.B) seams.Store {
		st, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.NewOptions())
		if err != nil {
			b.Fatal(err)
		}
		return st
	}}}
	if base := os.Getenv("SEAMS_TEST_POSTGRES"); base != "" {
		es = append(es, benchEngine{"postgres", func(b *testing.B) seams.Store {
			st, _ := NewPostgres(b, base)
			return st
		}})
	}
	return es
}

func loadRegistry(b *testing.B, st seams.Store, f gen.Files) {
	ctx, p := context.Background(), storetest.Operator
	if _, err := load.Compounds(ctx, st, p, f.Compounds, load.NewOptions()); err != nil {
		b.Fatal(err)
	}
	if _, err := load.Indicators(ctx, st, p, f.Indicators, load.NewOptions()); err != nil {
		b.Fatal(err)
	}
	if _, err := load.Shared(ctx, st, p, f.Shared, load.NewOptions()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoad measures seams load of the report file into a store that
// holds the registry: reports/s.
func BenchmarkLoad(b *testing.B) {
	f, n := benchSet(b)
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st := e.new(b)
				loadRegistry(b, st, f)
				b.StartTimer()
				res, err := load.Reports(context.Background(), st, storetest.Operator, []string{f.Reports}, load.NewOptions())
				if err != nil {
					b.Fatal(err)
				}
				if res.New < n/2 {
					b.Fatalf("stored %d of %d reports", res.New, n)
				}
				b.StopTimer()
				st.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkXrefStore measures the first seams xref --store over the loaded
// reports (a full run that stores every finding): reports/s.
func BenchmarkXrefStore(b *testing.B) {
	f, n := benchSet(b)
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				st := e.new(b)
				loadRegistry(b, st, f)
				if _, err := load.Reports(context.Background(), st, storetest.Operator, []string{f.Reports}, load.NewOptions()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				run, err := hunt.Run(context.Background(), st, storetest.Operator, hunt.NewOptions())
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				b.ReportMetric(float64(run.Counts[seams.ChangeNew]), "findings")
				// A second run with nothing new: what a later xref --store
				// costs when neither reports nor registry changed.
				start := time.Now()
				if _, err := hunt.Run(context.Background(), st, storetest.Operator, hunt.NewOptions()); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "idle-run-ms")
				st.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}
