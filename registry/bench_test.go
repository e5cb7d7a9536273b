package registry

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
)

// writeBenchIndicators writes an indicators file of n rows shaped like the
// output of seams gen (compounds in runs, mostly ip, some device and cidr,
// dates and instants, words and numbers for confidence) to a temporary
// directory, and returns its path and the compounds it names.
func writeBenchIndicators(b *testing.B, n int) (string, []seams.Compound) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "indicators.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("compound,kind,value,first_seen,last_seen,confidence,source\n")
	const nCompounds = 200
	compounds := make([]seams.Compound, nCompounds)
	for i := range compounds {
		compounds[i] = seams.Compound{ID: fmt.Sprintf("c-compound%03d", i), Name: "C", Country: "KH"}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	confs := []string{"", "high", "medium", "low", "0.5", "0.75", "0.9"}
	// First octets of public unicast space, none of it special-purpose.
	octets := []int{36, 43, 45, 61, 101, 103, 110, 116, 120, 136, 175, 180, 202, 210}
	sources := []string{"partner-a", "partner-b", "partner-c", "osint-synthetic", "hotline-synthetic"}
	// Windows open in 2024 and close in 2025, so that first <= last.
	edge := func(year int) string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return fmt.Sprintf("%d-%02d-%02d", year, 1+rng.IntN(12), 1+rng.IntN(28))
		}
		return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02dZ", year, 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60))
	}
	for i := range n {
		c := compounds[i*nCompounds/n].ID
		var kind, value string
		switch r := rng.IntN(100); {
		case r < 82:
			kind, value = "ip", fmt.Sprintf("%d.%d.%d.%d", octets[rng.IntN(len(octets))], rng.IntN(256), rng.IntN(256), rng.IntN(256))
			if r < 10 {
				value = "::ffff:" + value
			}
		case r < 84:
			kind, value = "cidr", fmt.Sprintf("%d.%d.%d.%d/29", octets[rng.IntN(len(octets))], rng.IntN(256), rng.IntN(256), rng.IntN(32)*8)
		default:
			kind, value = "device", fmt.Sprintf("imei:%015d", rng.Int64N(1e15))
		}
		fmt.Fprintf(w, "%s,%s,%s,%s,%s,%s,%s\n", c, kind, value, edge(2024), edge(2025), confs[rng.IntN(len(confs))], sources[rng.IntN(len(sources))])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, compounds
}

// BenchmarkScanIndicators measures loading a 200k-row indicators file as
// xref does: ScanIndicators from the file into a match.Builder, then Build.
func BenchmarkScanIndicators(b *testing.B) {
	path, compounds := writeBenchIndicators(b, 200_000)
	ids := make(map[string]int, len(compounds))
	for i, c := range compounds {
		ids[c.ID] = i
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		bld, err := match.NewBuilder(compounds)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		err = ScanIndicators(f, path, ids, failRejectB(b), func(in *seams.Indicator) error {
			n++
			return bld.Add(in)
		})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bld.Build(); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no indicators")
		}
	}
}

func failRejectB(b *testing.B) Reject {
	return func(e *seams.RecordError) { b.Fatalf("rejected %v", e) }
}
