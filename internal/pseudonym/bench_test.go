package pseudonym

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/reportfile"
)

// BenchmarkRewriteReports pseudonymises generated reports (JSON Lines, the
// generator's regional addresses): MB/s of reports read.
func BenchmarkRewriteReports(b *testing.B) {
	dir := b.TempDir()
	files, err := gen.Generate(dir, gen.Options{Seed: 1, Compounds: 40, Indicators: 2000, Reports: 20000,
		TiedRate: 0.005, PotentialRate: 0.02})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(files.Reports)
	if err != nil {
		b.Fatal(err)
	}
	k := testKey(b, 1)
	b.SetBytes(int64(len(data)))
	addrs := 0
	for b.Loop() {
		rd, err := reportfile.NewReader(reportfile.JSONL, bytes.NewReader(data), filepath.Base(files.Reports))
		if err != nil {
			b.Fatal(err)
		}
		// A new Pseudonymizer each round: its prefix cache starts empty,
		// as for one file.
		c, err := RewriteReports(NewPseudonymizer(k), rd, io.Discard, func(*seams.RecordError) {})
		if err != nil {
			b.Fatal(err)
		}
		addrs = c.Addrs
	}
	b.ReportMetric(float64(addrs)*float64(b.N)/b.Elapsed().Seconds(), "addrs/s")
}
