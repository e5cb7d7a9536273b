package derive

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden derives the registry of the hand-made world of these tests
// and compares every output with testdata/golden; go test ./derive -update
// rewrites them after a deliberate change. Paths of the run's folder read
// DIR.
func TestGolden(t *testing.T) {
	o := append(addressWorld(), dwellWorld()...)
	w := newWorld(t, o)
	bad := filepath.Join(w.dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"device\":\"x\"}\n\n[]\n"), 0o600)
	w.opts.Observations = append(w.opts.Observations, bad)
	r := w.run(t)
	for _, name := range []string{IndicatorsFile, SharedFile, ProvenanceFile, SummaryFile, RejectedFile} {
		got := strings.ReplaceAll(r.raw[name], w.dir, "DIR")
		path := filepath.Join("testdata", "golden", name)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./derive -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n%s\nwant:\n%s", name, path, got, want)
		}
	}
}
