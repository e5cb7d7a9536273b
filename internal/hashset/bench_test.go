package hashset

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkInsertMany inserts 10 million random keys, 3,400 at a time (a
// chunk of reports), into a set reserved for them: the duplicate-id check
// of a run of 10 million reports.
func BenchmarkInsertMany(b *testing.B) {
	const n, batch = 10_000_000, 3400
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = Key{rng.Uint64(), rng.Uint64()}
	}
	present := make([]bool, batch)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var s Set
		s.Reserve(n)
		b.StartTimer()
		for i := 0; i < n; i += batch {
			end := min(i+batch, n)
			s.InsertMany(keys[i:end], present[:end-i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/key")
}
