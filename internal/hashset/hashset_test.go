package hashset

import (
	"math/rand/v2"
	"testing"
)

// TestSetAndMap check both against a Go map on many random keys, with
// repeats, the zero key, and keys crowded into one shard.
func TestSetAndMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Set
	var m Map[int32]
	ref := map[Key]int32{}
	var seen []Key
	for i := range 200_000 {
		var k Key
		switch {
		case i%7 == 0 && len(seen) > 0:
			k = seen[rng.IntN(len(seen))]
		case i%11 == 0:
			k = Key{0x42 << 56, rng.Uint64()}
		case i == 5:
			k = Key{}
		default:
			k = Key{rng.Uint64(), rng.Uint64()}
		}
		want, present := ref[fix(k)]
		if got := s.Insert(k); got != present {
			t.Fatalf("Set.Insert #%d %x = %v, want %v", i, k, got, present)
		}
		v, found := m.PutIfAbsent(k, int32(i))
		if found != present || found && v != want || !found && v != int32(i) {
			t.Fatalf("Map.PutIfAbsent #%d %x = %d, %v; want %d, %v", i, k, v, found, want, present)
		}
		if !present {
			ref[fix(k)] = int32(i)
		}
		seen = append(seen, k)
	}
	if s.Len() != len(ref) {
		t.Errorf("Len = %d, want %d", s.Len(), len(ref))
	}
}

// TestInsertMany checks the batch insert against Insert, with repeats
// inside a batch, and after Reserve.
func TestInsertMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var one, many Set
	many.Reserve(5000)
	for range 50 {
		keys := make([]Key, rng.IntN(300))
		for i := range keys {
			if i > 0 && rng.IntN(5) == 0 {
				keys[i] = keys[rng.IntN(i)]
			} else {
				keys[i] = Key{rng.Uint64() % 4000, rng.Uint64() % 3}
			}
		}
		present := make([]bool, len(keys))
		many.InsertMany(keys, present)
		for i, k := range keys {
			if want := one.Insert(k); present[i] != want {
				t.Fatalf("key %d %x: InsertMany says present=%v, Insert %v", i, k, present[i], want)
			}
		}
	}
	if one.Len() != many.Len() {
		t.Errorf("Len %d != %d", many.Len(), one.Len())
	}
}
