package idset

import (
	"math/rand/v2"
	"testing"

	"github.com/seams-dev/seams/internal/hashset"
)

// ids makes n ids of which about dupRate repeat an earlier one, and the
// reference answers.
func ids(seed uint64, n int, dupRate float64) ([]hashset.Key, []bool) {
	r := rand.New(rand.NewPCG(seed, 1))
	keys := make([]hashset.Key, n)
	want := make([]bool, n)
	seen := map[hashset.Key]bool{}
	for i := range keys {
		if i > 0 && r.Float64() < dupRate {
			keys[i] = keys[r.IntN(i)]
		} else {
			keys[i] = hashset.Key{r.Uint64(), r.Uint64()}
		}
		want[i] = seen[keys[i]]
		seen[keys[i]] = true
	}
	return keys, want
}

// check feeds keys to c in chunks of random sizes and returns its answers.
func check(t *testing.T, c *Checker, keys []hashset.Key, seed uint64) []bool {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	got := make([]bool, len(keys))
	for i := 0; i < len(keys); {
		n := min(1+r.IntN(3000), len(keys)-i)
		if err := c.Check(keys[i:i+n], got[i:i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	return got
}

func TestChecker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		dupRate float64
		budget  int
		expect  int
		spills  bool
		rerun   bool
	}{
		{"within budget", 50_000, 0.05, DefaultBudget, 50_000, false, false},
		{"within budget, unsized", 50_000, 0.05, DefaultBudget, 0, false, false},
		{"beyond budget, no duplicates", 100_000, 0, MinBudget, 100_000, true, false},
		{"beyond budget, duplicates", 100_000, 0.01, MinBudget, 0, true, true},
		{"beyond budget, mostly duplicates", 100_000, 0.9, MinBudget, 100_000, true, true},
		{"far beyond budget", 400_000, 0.001, MinBudget, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, want := ids(uint64(tc.n), tc.n, tc.dupRate)
			c := New(tc.budget, t.TempDir(), tc.expect)
			got := check(t, c, keys, 1)
			if c.Spilled() != tc.spills {
				t.Fatalf("spilled = %v, want %v", c.Spilled(), tc.spills)
			}
			spillAt := c.spillAt
			if tc.spills && c.set.Bytes() > tc.budget {
				t.Errorf("set grew to %d bytes, budget %d", c.set.Bytes(), tc.budget)
			}
			d, err := c.Finish()
			if err != nil {
				t.Fatal(err)
			}
			// Before the spill, every answer is exact; after it, none is
			// a duplicate, and Finish names exactly those that were.
			var missed []int64
			for i := range keys {
				switch {
				case !tc.spills || int64(i) < spillAt:
					if got[i] != want[i] {
						t.Fatalf("id %d: dup = %v, want %v", i, got[i], want[i])
					}
				case got[i]:
					t.Fatalf("id %d beyond the budget answered dup", i)
				case want[i]:
					missed = append(missed, int64(i))
				}
			}
			if (d != nil) != tc.rerun {
				t.Fatalf("Finish returned %v, want a rerun %v", d, tc.rerun)
			}
			if d == nil {
				if len(missed) > 0 {
					t.Fatalf("%d duplicates missed and not returned", len(missed))
				}
				return
			}
			defer d.Close()
			if d.Len() != int64(len(missed)) {
				t.Fatalf("Dups.Len = %d, want %d", d.Len(), len(missed))
			}
			// The second pass is exact everywhere, whatever the chunking;
			// twice, to check that Known rewinds Dups.
			for pass := range 2 {
				k := Known(tc.budget, tc.expect, d)
				got2 := check(t, k, keys, uint64(3+pass))
				for i := range keys {
					if got2[i] != want[i] {
						t.Fatalf("second pass %d, id %d: dup = %v, want %v", pass, i, got2[i], want[i])
					}
				}
				if d2, err := k.Finish(); err != nil || d2 != nil {
					t.Fatalf("Known.Finish = %v, %v; want nil, nil", d2, err)
				}
			}
		})
	}
}

func TestCheckerBadDir(t *testing.T) {
	keys, _ := ids(7, 50_000, 0)
	c := New(MinBudget, t.TempDir()+"/missing", 0)
	got := make([]bool, len(keys))
	if err := c.Check(keys, got); err == nil {
		t.Fatal("spilling into a missing directory: no error")
	}
}
