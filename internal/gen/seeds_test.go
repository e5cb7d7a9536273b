package gen_test

import (
	"testing"

	"github.com/seams-dev/seams/internal/gen"
)

// TestTruthManySeeds checks the truth against the brute-force matcher over
// many seeds and shapes: one compound or many, few indicators or a registry
// so dense for its compounds that addresses are re-used over and over.
func TestTruthManySeeds(t *testing.T) {
	for seed := uint64(100); seed < 112; seed++ {
		o := gen.Options{Seed: seed, Compounds: 1 + int(seed%45), Indicators: 50 + int(seed*37%4000), Reports: 4000,
			TiedRate: 0.02, PotentialRate: 0.05, BadRate: 0.03}
		f, d := generate(t, o)
		compareFindings(t, match(d, gen.TruthDrift, map[string]int{}), readTruth(t, f.Truth))
	}
}

func TestTruthDenseRegistry(t *testing.T) {
	o := gen.Options{Seed: 9, Compounds: 2, Indicators: 30000, Reports: 3000, TiedRate: 0.05, PotentialRate: 0.1}
	f, d := generate(t, o)
	got, want := match(d, gen.TruthDrift, map[string]int{}), readTruth(t, f.Truth)
	compareFindings(t, got, want)
	addrs := map[string]int{}
	for _, ind := range d.indicators {
		if ind.Addr.IsValid() {
			addrs[ind.Addr.String()]++
		}
	}
	t.Logf("%d indicators, %d distinct addresses, %d findings", o.Indicators, len(addrs), len(want))
}
