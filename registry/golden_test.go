package registry

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
)

// The hand-made registry under testdata: every kind of row, good and bad.
const (
	compoundsFile  = "compounds.csv"
	indicatorsFile = "indicators.csv"
	sharedFile     = "shared.txt"
)

func openTestdata(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readTestRegistry reads the three test files.
func readTestRegistry(t *testing.T) (cs []seams.Compound, crej collector, inds []seams.Indicator, irej collector, shared []string, srej collector) {
	t.Helper()
	cs, err := ReadCompounds(openTestdata(t, compoundsFile), compoundsFile, crej.reject)
	if err != nil {
		t.Fatal(err)
	}
	index := make(map[string]int)
	for i, c := range cs {
		index[c.ID] = i
	}
	inds, err = ReadIndicators(openTestdata(t, indicatorsFile), indicatorsFile, index, irej.reject)
	if err != nil {
		t.Fatal(err)
	}
	prefixes, err := ReadShared(openTestdata(t, sharedFile), sharedFile, srej.reject)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefixes {
		shared = append(shared, p.String())
	}
	return
}

func dumpRejected(b *strings.Builder, rej collector) {
	fmt.Fprintf(b, "# rejected: %d\n", len(rej))
	for _, e := range rej {
		fmt.Fprintf(b, "%s\n\traw: %q\n", e.Error(), e.Raw)
	}
}

func dumpCompounds(cs []seams.Compound, rej collector) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# accepted: %d\n", len(cs))
	for _, c := range cs {
		fmt.Fprintf(&b, "%s name=%q aliases=%q country=%s province=%q", c.ID, c.Name, c.Aliases, c.Country, c.Province)
		if c.HasLocation {
			fmt.Fprintf(&b, " at=%g,%g", c.Lat, c.Lon)
		}
		fmt.Fprintf(&b, " status=%q\n", c.Status)
	}
	dumpRejected(&b, rej)
	return b.String()
}

func dumpIndicators(inds []seams.Indicator, rej collector) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# accepted: %d\n", len(inds))
	for _, ind := range inds {
		fmt.Fprintf(&b, "%s:%d: %s %s %s", ind.File, ind.Line, ind.Compound, ind.Kind, ind.Value)
		switch ind.Kind {
		case seams.KindIP:
			fmt.Fprintf(&b, " addr=%s", ind.Addr)
		case seams.KindCIDR:
			fmt.Fprintf(&b, " prefix=%s", ind.Prefix)
		case seams.KindDevice:
			fmt.Fprintf(&b, " device=%q/%q", ind.Device.Type, ind.Device.Value)
		}
		fmt.Fprintf(&b, " window=%s", ind.Window)
		if ind.HasConfidence {
			fmt.Fprintf(&b, " confidence=%g", ind.Confidence)
		}
		fmt.Fprintf(&b, " source=%q\n", ind.Source)
	}
	dumpRejected(&b, rej)
	return b.String()
}

func dumpShared(shared []string, rej collector) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# accepted: %d\n%s", len(shared), strings.Join(append(shared, ""), "\n"))
	dumpRejected(&b, rej)
	return b.String()
}

// TestGolden compares what the readers make of the test registry with the
// golden files; run with -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	cs, crej, inds, irej, shared, srej := readTestRegistry(t)
	for name, got := range map[string]string{
		"compounds.golden":  dumpCompounds(cs, crej),
		"indicators.golden": dumpIndicators(inds, irej),
		"shared.golden":     dumpShared(shared, srej),
	} {
		t.Run(name, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", name), []byte(got))
		})
	}
}

// dataLines returns the numbers of the lines of a test file that hold a
// record: every non-blank line after the first for CSV (the test files have
// no quoted newlines), every line that is neither blank nor a comment for a
// shared list.
func dataLines(t *testing.T, name string, csv bool) []int {
	t.Helper()
	sc := bufio.NewScanner(openTestdata(t, name))
	var lines []int
	for n := 1; sc.Scan(); n++ {
		s := bytes.TrimSpace(sc.Bytes())
		if len(s) == 0 || csv && n == 1 || !csv && s[0] == '#' {
			continue
		}
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestEveryRecordAccounted checks that nothing read disappears: every data
// line of each test file is either returned or rejected, exactly once.
func TestEveryRecordAccounted(t *testing.T) {
	cs, crej, inds, irej, shared, srej := readTestRegistry(t)
	check := func(name string, want []int, accepted []int, acceptedCount int, rej collector) {
		t.Helper()
		if acceptedCount+len(rej) != len(want) {
			t.Errorf("%s: %d accepted + %d rejected, want %d data lines", name, acceptedCount, len(rej), len(want))
		}
		seen := make(map[int]bool)
		for _, l := range accepted {
			seen[l] = true
		}
		for _, e := range rej {
			if e.File != name || e.Reason == "" || e.Raw == "" {
				t.Errorf("%s: incomplete rejected record %+v", name, *e)
			}
			if seen[e.Line] {
				t.Errorf("%s: line %d accounted for twice", name, e.Line)
			}
			seen[e.Line] = true
		}
		for _, l := range want {
			if !seen[l] && accepted != nil {
				t.Errorf("%s: line %d neither accepted nor rejected", name, l)
			}
		}
	}
	// Compounds carry no line, so only the count and the rejected lines are
	// checked; indicators are checked line by line.
	check(compoundsFile, dataLines(t, compoundsFile, true), nil, len(cs), crej)
	var lines []int
	for _, ind := range inds {
		lines = append(lines, ind.Line)
	}
	check(indicatorsFile, dataLines(t, indicatorsFile, true), lines, len(inds), irej)
	check(sharedFile, dataLines(t, sharedFile, false), nil, len(shared), srej)
	if len(crej) == 0 || len(irej) == 0 || len(srej) == 0 || len(cs) == 0 || len(inds) == 0 || len(shared) == 0 {
		t.Error("each test file should have both accepted and rejected records")
	}
}
