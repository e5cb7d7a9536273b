package runread

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/xref"
)

const small = "../../testdata/small/"

func TestRun(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "output folder of seams xref") {
		t.Errorf("a folder without a run: %v", err)
	}
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared = small+"compounds.csv", small+"indicators.csv", small+"shared.txt"
	o.Reports = []string{small + "reports.jsonl", small + "reports2.jsonl"}
	o.Out = filepath.Join(t.TempDir(), "out")
	sum, err := xref.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	run, err := Open(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if _, err := run.Findings(func(*seams.Finding) error { n++; return nil }); err != nil || n != sum.Findings {
		t.Errorf("%d findings read, summary says %d (%v)", n, sum.Findings, err)
	}
	// Every accepted report once, the first of a repeated id.
	ids := map[string]int{}
	ins, err := run.Reports(context.Background(), o.Reports, func(r *Report) error {
		ids[r.ID]++
		if r.ID == "r-tied-ip" && (r.File != o.Reports[0] || r.Line != 1) {
			t.Errorf("r-tied-ip read from %s:%d, want the first file's line 1", r.File, r.Line)
		}
		return nil
	})
	if err != nil || len(ins) != 2 {
		t.Fatal(err)
	}
	if len(ids) != sum.Reports {
		t.Errorf("%d reports read, the run accepted %d", len(ids), sum.Reports)
	}
	cs, _, err := run.Compounds(context.Background(), "")
	if err != nil || len(cs) == 0 {
		t.Fatalf("compounds: %v", err)
	}
	other := filepath.Join(t.TempDir(), "compounds.csv")
	os.WriteFile(other, []byte("id,name,country\nc-x,X,KH\n"), 0o600)
	if _, _, err := run.Compounds(context.Background(), other); !errors.Is(err, ErrNotRunInput) {
		t.Errorf("another compounds file: %v", err)
	}
}
