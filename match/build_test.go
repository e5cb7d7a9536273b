package match

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seams-dev/seams"
)

// TestSortKeys4 checks the radix sort of Build against a stable comparison
// sort, on keys with many repeats (so that the order of equal keys shows)
// and on keys that share bytes (so that passes are skipped).
func TestSortKeys4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name string
		n    int
		key  func() uint64
	}{
		{"few keys", 100, func() uint64 { return rng.Uint64N(1 << 40) }},
		{"random", 50_000, func() uint64 { return rng.Uint64N(1 << 40) }},
		{"repeats", 50_000, func() uint64 { return rng.Uint64N(300) << 20 }},
		{"one /16, host routes", 50_000, func() uint64 { return (0x24170000|rng.Uint64N(1<<16))<<8 | 32 }},
		{"all the same", 5_000, func() uint64 { return 0x2417000020 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]key4, tc.n)
			for i := range keys {
				keys[i] = key4{k: tc.key(), ord: uint32(i)}
			}
			want := slices.Clone(keys)
			slices.SortStableFunc(want, func(a, b key4) int { return cmp.Compare(a.k, b.k) })
			sortKeys4(keys)
			if !slices.Equal(keys, want) {
				t.Fatal("radix sort differs from the stable sort")
			}
		})
	}
}

// TestSortDevs checks the sort of devices against a comparison sort by
// hash, value and order added, with hashes that collide.
func TestSortDevs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{100, 20_000} {
		devs := make([]devKey, n)
		for i := range devs {
			// Few hashes, each shared by several values: the collisions a
			// real hash almost never has.
			v := string(rune('a' + rng.IntN(20)))
			devs[i] = devKey{h: rng.Uint64N(50) << 40, v: v, ord: uint32(i)}
		}
		want := slices.Clone(devs)
		slices.SortFunc(want, func(a, c devKey) int {
			if a.h != c.h {
				return cmp.Compare(a.h, c.h)
			}
			if n := cmp.Compare(a.v, c.v); n != 0 {
				return n
			}
			return cmp.Compare(a.ord, c.ord)
		})
		sortDevs(devs)
		if !slices.Equal(devs, want) {
			t.Fatalf("%d devices: sort differs from the comparison sort", n)
		}
	}
}

// TestLineOfRecord: Line gives every record's line, as Indicator does,
// records being in the index's order, not the order added.
func TestLineOfRecord(t *testing.T) {
	b, err := NewBuilder([]seams.Compound{{ID: "c-a", Country: "KH"}})
	if err != nil {
		t.Fatal(err)
	}
	// Added in an order the index does not keep (addresses are grouped by
	// prefix, devices apart).
	for i, v := range []struct{ kind, value string }{{"ip", "203.0.113.9"}, {"device", "imei:358240051111110"}, {"ip", "192.0.2.1"},
		{"cidr", "198.51.100.0/24"}, {"ip", "203.0.113.1"}} {
		in := ind("c-a", v.kind, v.value, "2024-01-01", "2024-12-31")
		in.Line = 10 + i
		if err := b.Add(&in); err != nil {
			t.Fatal(err)
		}
	}
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int]bool{}
	for ref := range int32(x.Records()) {
		if got, want := x.Line(ref), x.Indicator(ref).Line; got != want {
			t.Errorf("record %d: Line %d, Indicator's %d", ref, got, want)
		}
		lines[x.Line(ref)] = true
	}
	if len(lines) != 5 {
		t.Errorf("the index's records have %d distinct lines: the test tests nothing", len(lines))
	}
}
