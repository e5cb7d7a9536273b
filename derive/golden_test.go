package derive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/golden"
)

func TestMain(m *testing.M) { golden.Main(m, "testdata/golden/*") }

// TestGolden derives the registry of the hand-made world of these tests
// and compares every output with testdata/golden; go test ./derive -update
// rewrites them after a deliberate change. Paths of the run's folder read
// DIR.
func TestGolden(t *testing.T) {
	o := append(addressWorld(), dwellWorld()...)
	w := newWorld(t, o)
	bad := filepath.Join(w.dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"device\":\"x\"}\n\n[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.opts.Observations = append(w.opts.Observations, bad)
	r := w.run(t)
	for _, name := range []string{IndicatorsFile, SharedFile, ProvenanceFile, SummaryFile, RejectedFile} {
		golden.Check(t, filepath.Join("testdata", "golden", name), []byte(strings.ReplaceAll(r.raw[name], w.dir, "DIR")))
	}
}
