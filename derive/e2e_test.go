package derive

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/xref"
)

// chainResult is what xref made of the planted reports, by category.
type chainResult struct {
	planted  map[string]int            // category -> reports
	expected map[string]int            // category -> reports that must find their tier
	met      map[string]int            // category -> reports that found it
	findings map[string]map[string]int // category -> tier -> reports with a finding of it
	extra    []string                  // findings on reports planted to find nothing
}

func (c *chainResult) String() string {
	var cats []string
	for k := range c.planted {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	var b strings.Builder
	for _, k := range cats {
		fmt.Fprintf(&b, "  %-14s planted %4d", k, c.planted[k])
		if c.expected[k] > 0 {
			fmt.Fprintf(&b, "  as expected %4d of %4d", c.met[k], c.expected[k])
		}
		fmt.Fprintf(&b, "  findings %v\n", c.findings[k])
	}
	return b.String()
}

// runChain cross-references the generated reports against a derived
// registry with xref, unchanged, at the given drift.
func runChain(t testing.TB, f gen.ObservationFiles, opts *Options, drift time.Duration, minConfidence float64) *chainResult {
	t.Helper()
	xo := xref.NewOptions()
	xo.Compounds = f.Compounds
	xo.Indicators = filepath.Join(opts.Out, IndicatorsFile)
	xo.Shared = filepath.Join(opts.Out, SharedFile)
	xo.Reports = []string{f.Reports}
	xo.Out = filepath.Join(opts.Out, fmt.Sprintf("xref-%s-%g", drift, minConfidence))
	xo.Drift = drift
	xo.MinConfidence = minConfidence
	xs, err := xref.Run(context.Background(), xo)
	if err != nil {
		t.Fatal(err)
	}
	if xs.Rejected != 0 {
		t.Fatalf("xref rejected %d records of the derived registry or the reports", xs.Rejected)
	}
	readLines := func(path string, fn func([]byte)) {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fn(sc.Bytes())
		}
	}
	type rec struct{ Report, Compound, Tier, Category string }
	category := map[string]string{}
	c := &chainResult{planted: map[string]int{}, expected: map[string]int{}, met: map[string]int{}, findings: map[string]map[string]int{}}
	readLines(f.Planted, func(b []byte) {
		var v rec
		json.Unmarshal(b, &v)
		category[v.Report] = v.Category
		c.planted[v.Category]++
	})
	want := map[[2]string]string{}
	readLines(f.Truth, func(b []byte) {
		var v rec
		json.Unmarshal(b, &v)
		want[[2]string{v.Report, v.Compound}] = v.Tier
		c.expected[v.Category]++
	})
	got := map[[2]string]string{}
	readLines(filepath.Join(xo.Out, xref.FindingsFile), func(b []byte) {
		var v rec
		json.Unmarshal(b, &v)
		got[[2]string{v.Report, v.Compound}] = v.Tier
		cat := category[v.Report]
		if cat == "" {
			cat = "background"
		}
		if c.findings[cat] == nil {
			c.findings[cat] = map[string]int{}
		}
		c.findings[cat][v.Tier]++
		if _, ok := want[[2]string{v.Report, v.Compound}]; !ok {
			c.extra = append(c.extra, fmt.Sprintf("%s (%s) %s %s", v.Report, cat, v.Compound, v.Tier))
		}
	})
	for k, tier := range want {
		if got[k] == tier {
			c.met[category[k[0]]]++
		}
	}
	return c
}

// TestDeriveThenXref is the whole chain: footprints, observations and
// reports from the generator; derive makes the registry; xref, with its
// defaults, cross-references the reports against it. Every report planted
// on a member's device or a compound's IPv4 address at the time of its use
// is tied to its compound; one on a privacy address of a compound's /64 is
// potentially associated (xref's rule for cidr evidence); and no report
// planted on a rider, a centroid phone, a neighbour, a visitor, a carrier
// or satellite address at the time members used it, or a compound's
// address during a later household's lease or between two of its own
// leases, makes any finding. xref's default drift of 90 days would make a
// report on an address within 90 days of a derived window evidence
// (ip-drift, potential); derive writes drift 0 on its addresses, whose
// windows it observed lease by lease, so the defaults find what --drift 0
// finds. The registry without its drift column is run too, and must find
// something on those reports: the bound is what keeps them out.
func TestDeriveThenXref(t *testing.T) {
	o := gen.ObservationOptions{Seed: 3, Compounds: 12, Observations: 1_000_000, Reports: 5000, BadRate: 0.001}
	f, opts, s := generated(t, o, nil)
	if s.DeviceIndicators == 0 || s.IPIndicators == 0 || s.CIDRIndicators == 0 || s.SharedAddresses == 0 {
		t.Fatalf("derived too little: %+v", s)
	}
	defaults := xref.NewOptions().Drift
	c := runChain(t, f, opts, defaults, 0)
	t.Logf("xref with its defaults (--drift %s):\n%s", defaults, c)
	for cat, n := range c.expected {
		if c.met[cat] != n {
			t.Errorf("%s: %d of %d planted reports found as planted", cat, c.met[cat], n)
		}
	}
	for _, cat := range []string{"member-device", "compound-ip", "compound-ipv6"} {
		if c.expected[cat] < 20 {
			t.Errorf("only %d reports planted as %s", c.expected[cat], cat)
		}
	}
	for _, cat := range []string{"rider", "centroid", "neighbour", "visitor", "carrier", "satellite", "lease-after", "lease-gap"} {
		if c.planted[cat] == 0 {
			t.Errorf("no report planted as %s", cat)
		}
	}
	for i, e := range c.extra {
		if i < 10 {
			t.Errorf("finding not planted: %s", e)
		}
	}
	if len(c.extra) > 10 {
		t.Errorf("... %d findings not planted in all", len(c.extra))
	}

	// --drift 0 finds the same: on a derived registry the run's drift
	// changes nothing.
	c0 := runChain(t, f, opts, 0, 0)
	if c0.String() != c.String() || len(c0.extra) != len(c.extra) {
		t.Errorf("xref --drift 0 finds otherwise:\n%s", c0)
	}

	// Before: the registry without its drift column, with the defaults.
	b, err := os.ReadFile(filepath.Join(opts.Out, IndicatorsFile))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		rows = append(rows, l[:strings.LastIndexByte(l, ',')])
	}
	before := *opts
	before.Out = filepath.Join(opts.Out, "without-drift")
	if err := os.MkdirAll(before.Out, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(before.Out, IndicatorsFile), []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(opts.Out, SharedFile), filepath.Join(before.Out, SharedFile)); err != nil {
		t.Fatal(err)
	}
	cb := runChain(t, f, &before, defaults, 0)
	t.Logf("before (no drift column), xref with its defaults:\n%s", cb)
	if len(cb.findings["lease-after"])+len(cb.findings["lease-gap"]) == 0 {
		t.Error("without the drift bounds no report in a later lease or a lease gap makes a finding: the test shows nothing")
	}
}
