package xref

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/seams-dev/seams/internal/gen"
)

// BenchmarkRun measures a whole run over a generated data set:
// SEAMS_BENCH_REPORTS report lines (default 200,000) against 2,000
// indicators of 40 compounds. One op is one run; MB/s is report bytes read
// per second. The data set is generated once, outside the timing, into
// SEAMS_BENCH_DIR if set (kept for the next measurement) or a temporary
// folder.
//
//	go test ./xref -run '^$' -bench Run -count 6
func BenchmarkRun(b *testing.B) {
	n := 200_000
	if s := os.Getenv("SEAMS_BENCH_REPORTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	dir := os.Getenv("SEAMS_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	dir = filepath.Join(dir, "xref-bench-"+strconv.Itoa(n))
	g := gen.DefaultOptions()
	g.Seed, g.Reports = 1, n
	files := gen.Files{Compounds: filepath.Join(dir, "compounds.csv"), Indicators: filepath.Join(dir, "indicators.csv"),
		Reports: filepath.Join(dir, "reports.jsonl")}
	if _, err := os.Stat(files.Reports); err != nil {
		if files, err = gen.Generate(dir, g); err != nil {
			b.Fatal(err)
		}
	}
	o := NewOptions()
	o.Compounds, o.Indicators, o.Reports = files.Compounds, files.Indicators, []string{files.Reports}
	o.Out = filepath.Join(b.TempDir(), "out")
	fi, err := os.Stat(files.Reports)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		s, err := Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if s.Reports == 0 {
			b.Fatal("no report read")
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}
