package xref

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/idset"
)

// TestIDMemory runs the same reports with the id check in memory and with
// the smallest budget, which spills most ids to disk, and expects the same
// bytes: with no repeat beyond the budget (one pass), and with repeats of
// early reports at the end of the file, caught only after the spill (two
// passes). Both in one file and split over two, gzip among them.
func TestIDMemory(t *testing.T) {
	g := gen.DefaultOptions()
	g.Reports, g.Indicators, g.Compounds = 40_000, 2_000, 20
	g.TiedRate, g.PotentialRate = 0.05, 0.05
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	plain := readFile(t, f.Reports)
	lines := bytes.SplitAfter(plain, []byte("\n"))
	// Repeats: every 97th of the first 10,000 lines again, at the end
	// (their ids repeat ids far before them, beyond the budget's 13,000 or
	// so ids), and some of them changed, so that which one stands shows.
	var repeats []byte
	for i := 0; i < 10_000; i += 97 {
		l := lines[i]
		if i%2 == 0 {
			l = bytes.Replace(l, []byte(`"received":"`), []byte(`"received":"2`), 1)
		}
		repeats = append(repeats, l...)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withRepeats := write("repeats.jsonl", append(bytes.Clone(plain), repeats...))
	half := bytes.Join(lines[:20_000], nil)
	first := write("first.jsonl", half)
	second := write("second.jsonl.gz", gzipBytes(t, append(bytes.Join(lines[20_000:], nil), repeats...)))

	for _, tc := range []struct {
		name    string
		reports []string
	}{
		{"no repeats", []string{f.Reports}},
		{"repeats", []string{withRepeats}},
		{"repeats over two files", []string{first, second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var outs [2]map[string][]byte
			for k, budget := range []int{0, idset.MinBudget} {
				o := NewOptions()
				o.Compounds, o.Indicators, o.Shared = f.Compounds, f.Indicators, f.Shared
				o.Reports = tc.reports
				o.Out = t.TempDir()
				o.IDMemory = budget
				o.Readers.CSV.TempDir = t.TempDir()
				o.Workers, o.ChunkSize = 2, 64<<10
				var log bytes.Buffer
				o.Logger = slog.New(slog.NewTextHandler(&log, nil))
				s, err := Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				if s.Findings == 0 {
					t.Fatal("no findings: the test data proves nothing")
				}
				// The second pass happens exactly when ids repeat beyond
				// the budget.
				again := bytes.Contains(log.Bytes(), []byte("reading the reports again"))
				if want := budget > 0 && tc.name != "no repeats"; again != want {
					t.Errorf("budget %d: read the reports twice = %v, want %v", budget, again, want)
				}
				outs[k] = map[string][]byte{}
				for _, name := range []string{FindingsFile, SummaryFile, RejectedFile} {
					outs[k][name] = readFile(t, filepath.Join(o.Out, name))
				}
				// Nothing is left in the spill directory.
				if ents, _ := os.ReadDir(o.Readers.CSV.TempDir); len(ents) > 0 {
					t.Errorf("budget %d: %d files left in the temporary directory", budget, len(ents))
				}
			}
			for name, want := range outs[0] {
				if got := outs[1][name]; !bytes.Equal(got, want) {
					t.Errorf("%s with the smallest id budget differs from the one in memory", name)
				}
			}
			if tc.name != "no repeats" && bytes.Count(outs[0][RejectedFile], []byte("the first one stands")) < 100 {
				t.Errorf("the repeats were not rejected:\n%.2000s", outs[0][RejectedFile])
			}
		})
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
