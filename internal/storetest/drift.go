package storetest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/stix"
)

// undoIndicatorDrift takes a store back before schemaIndicatorDrift (both
// engines): the tests that migrate an earlier store undo it before the
// steps they undo, later steps first.
var undoIndicatorDrift = []string{`ALTER TABLE indicators DROP COLUMN drift_ns`}

// testDifferentialDrift is the differential test of indicators with drift
// bounds of their own (testdata/drift: drift 0 beside an indicator without
// a bound at the same address, a bound of 7d, a prefix with 0), as the CSV
// and as a STIX 2.1 bundle: the store's run makes the findings seams xref
// makes with its default drift, and the store holds the bounds.
func testDifferentialDrift(t *testing.T, e Engine) {
	dir := filepath.Join(repoRoot(), "testdata", "drift")
	c, i := filepath.Join(dir, "compounds.csv"), filepath.Join(dir, "indicators.csv")
	_, _, s, _ := Small()
	reports := []string{filepath.Join(dir, "reports.jsonl")}
	reg := smallRegistry(t, c, i)
	var bundle bytes.Buffer
	must(t, stix.WriteBundle(&bundle, &stix.Export{Org: "Hotline Example", Time: time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC),
		Compounds: reg.compounds, Indicators: reg.indicators}))
	b := filepath.Join(t.TempDir(), "registry.stix.json")
	must(t, os.WriteFile(b, bundle.Bytes(), 0o600))

	base := func() registryView {
		st, _ := e.New(t)
		defer st.Close()
		loadRegistry(t, st, Operator, c, i, s, load.NewOptions())
		return storedRegistry(t, st)
	}()
	bounds := 0
	for _, l := range base.indicators {
		if strings.Contains(l, " drift=") && !strings.Contains(l, " drift=-") {
			bounds++
		}
	}
	if bounds != 3 {
		t.Fatalf("the store holds %d drift bounds of testdata/drift's 3:\n%q", bounds, base.indicators)
	}
	for _, tc := range []struct{ name, compounds, indicators string }{
		{"csv", c, i},
		{"stix", "", b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := e.New(t)
			defer st.Close()
			differential(t, st, tc.compounds, tc.indicators, s, reports)
			if got := storedRegistry(t, st); !slices.Equal(got.indicators, base.indicators) {
				t.Errorf("stored indicators differ from those of the CSV:\n got %q\nwant %q", got.indicators, base.indicators)
			}
		})
	}
}
