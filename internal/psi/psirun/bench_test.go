package psirun

import (
	"context"
	"flag"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/psi/psinet"
)

var (
	benchReports    = flag.Int("psi.reports", 20000, "reports of BenchmarkQueryE2E")
	benchIndicators = flag.Int("psi.indicators", 1400, "indicators of BenchmarkQueryE2E (about 74 items each)")
	benchDir        = flag.String("psi.dir", "", "where BenchmarkQueryE2E generates its data (default a temporary folder)")
)

// BenchmarkQueryE2E: a holder and a querier in one process on loopback,
// over generated data: the holder's table build, then the querier's run
// (items, the protocol, xref). It reports wall-clock and CPU seconds of
// each phase and per item, and bytes on the wire per item.
//
//	go test ./psi/psirun -run XXX -bench E2E -benchtime 1x -psi.reports 100000 -psi.indicators 13600
func BenchmarkQueryE2E(b *testing.B) {
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	}
	o := gen.DefaultOptions()
	o.Seed, o.Compounds, o.Indicators, o.Reports = 5, 40, *benchIndicators, *benchReports
	f, err := gen.Generate(filepath.Join(dir, "gen"), o)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	reg, err := LoadRegistry(ctx, RegistryFiles{Compounds: f.Compounds, Indicators: f.Indicators, Shared: f.Shared}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		runtime.GC()
		cpu0, t0 := cpuSeconds(), time.Now()
		ho := psinet.NewHolderOptions()
		ho.RatePerSec = 0
		c, h := holderOn(b, reg, ho)
		buildWall, buildCPU := time.Since(t0).Seconds(), cpuSeconds()-cpu0
		entries := h.Table().Len()
		qo := NewQueryOptions()
		qo.Reports, qo.Out = []string{f.Reports}, filepath.Join(dir, "out")
		cpu1, t1 := cpuSeconds(), time.Now()
		res, err := Query(ctx, c, qo)
		if err != nil {
			b.Fatal(err)
		}
		queryWall, queryCPU := time.Since(t1).Seconds(), cpuSeconds()-cpu1
		st := res.Stats
		items := float64(st.Items)
		b.ReportMetric(float64(entries), "holder-items")
		b.ReportMetric(buildWall, "build-s")
		b.ReportMetric(buildCPU*1e6/float64(entries), "build-cpu-us/item")
		b.ReportMetric(items, "querier-items")
		b.ReportMetric(float64(res.Summary.Reports), "reports")
		b.ReportMetric(queryWall, "query-s")
		b.ReportMetric(st.Seconds.Items, "items-s")
		b.ReportMetric(st.Seconds.Xref, "xref-s")
		b.ReportMetric(queryCPU*1e6/items, "query-cpu-us/item")
		b.ReportMetric(float64(st.BytesSent-int64(0))/items, "sent-B/item")
		b.ReportMetric(float64(st.BytesRecv)/items, "recv-B/item")
		b.ReportMetric(float64(st.MatchedItems), "matched")
	}
}
