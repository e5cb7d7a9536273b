package gen

import (
	"bufio"
	"fmt"
	"io"
	"testing"
)

// benchRegistries caches registries across the runs the benchmark framework
// makes with growing b.N: a million indicators take seconds to build.
var benchRegistries = map[int]*registry{}

// BenchmarkGenerateReports measures report generation alone (the registry is
// built beforehand), writing to io.Discard through the same 1 MiB buffer
// Generate uses, so that the disk does not set the figure. One op is one
// report.
func BenchmarkGenerateReports(b *testing.B) {
	for _, n := range []int{2000, 1_000_000} {
		b.Run(fmt.Sprintf("indicators=%d", n), func(b *testing.B) {
			o := DefaultOptions()
			o.Indicators = n
			reg := benchRegistries[n]
			if reg == nil {
				var err error
				if reg, err = newRegistryFor(&o); err != nil {
					b.Fatal(err)
				}
				benchRegistries[n] = reg
			}
			o.Reports = b.N
			g := newReportGen(reg, newRNG(o.Seed, streamReports), &o)
			w := bufio.NewWriterSize(io.Discard, 1<<20)
			truth := bufio.NewWriterSize(io.Discard, 1<<16)
			b.ReportAllocs()
			b.ResetTimer()
			if err := g.run(b.N, w, truth); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.SetBytes(g.bytesOut / int64(b.N))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
			b.ReportMetric(float64(g.bytesOut)/float64(b.N), "bytes/report")
		})
	}
}

// BenchmarkGenerateRegistry measures building a registry of a million
// indicators, the largest the options promise.
func BenchmarkGenerateRegistry(b *testing.B) {
	o := DefaultOptions()
	o.Indicators = 1_000_000
	for b.Loop() {
		if _, err := newRegistryFor(&o); err != nil {
			b.Fatal(err)
		}
	}
}
