package derive

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/seams-dev/seams/internal/gen"
)

// BenchmarkDerive measures a whole derivation, both passes, of a generated
// data set (12 compounds, one more for every 200,000 observations beyond
// 2,400,000): SEAMS_BENCH_OBS observations (default
// 1,000,000) in SEAMS_BENCH_FORMAT (default jsonl). One op is one run;
// obs/s is observations read per second of the run. The data set is
// generated once, outside the timing, into SEAMS_BENCH_DIR if set (kept, so
// that a long measurement need not generate it again) or a temporary
// folder.
//
//	SEAMS_BENCH_OBS=10000000 go test ./derive -run '^$' -bench Derive -benchtime 1x
func BenchmarkDerive(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("SEAMS_BENCH_OBS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	format := os.Getenv("SEAMS_BENCH_FORMAT")
	if format == "" {
		format = "jsonl"
	}
	dir := os.Getenv("SEAMS_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	dir = filepath.Join(dir, "derive-bench-"+strconv.Itoa(n)+"-"+format)
	o := gen.ObservationOptions{Seed: 1, Compounds: max(12, n/200_000), Observations: n, Reports: 0, Format: format}
	obs := filepath.Join(dir, "observations."+format)
	if _, err := os.Stat(obs); err != nil {
		if _, err := gen.GenerateObservations(dir, o); err != nil {
			b.Fatal(err)
		}
	}
	opts := NewOptions()
	opts.Compounds, opts.Footprints, opts.Observations = filepath.Join(dir, "compounds.csv"), filepath.Join(dir, "footprints.geojson"), []string{obs}
	opts.Out = filepath.Join(b.TempDir(), "out")
	fi, _ := os.Stat(obs)
	b.SetBytes(fi.Size())
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		s, err := Run(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if s.Observations.Read != n {
			b.Fatalf("read %d of %d", s.Observations.Read, n)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapSys)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-sys")
}
