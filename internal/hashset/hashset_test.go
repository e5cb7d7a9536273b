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

// TestInsertWithin checks that a set under a budget holds what fits, says
// which keys did not, never grows past the budget, and that All yields
// exactly the keys held.
func TestInsertWithin(t *testing.T) {
	const budget = 256 * 256 * 16 // room for 256 slots a shard
	rng := rand.New(rand.NewPCG(3, 4))
	var s Set
	s.ReserveWithin(1_000_000, budget)
	if s.Bytes() > budget {
		t.Fatalf("ReserveWithin made %d bytes of tables, budget %d", s.Bytes(), budget)
	}
	held := map[Key]bool{}
	var keys []Key
	refused := 0
	for i := range 100_000 {
		k := Key{rng.Uint64(), rng.Uint64()}
		if i%5 == 0 && len(keys) > 0 {
			k = keys[rng.IntN(len(keys))]
		}
		present, ok := s.InsertWithin(k, budget)
		switch {
		case !ok && held[k]:
			t.Fatalf("#%d: a key already held was refused", i)
		case !ok:
			refused++
		case present != held[k]:
			t.Fatalf("#%d: present = %v, want %v", i, present, held[k])
		default:
			held[k] = true
			keys = append(keys, k)
		}
		if s.Bytes() > budget {
			t.Fatalf("#%d: tables grew to %d bytes, budget %d", i, s.Bytes(), budget)
		}
	}
	if refused == 0 || len(held) < budget/16*7/10 {
		t.Fatalf("held %d keys, refused %d: want the budget filled, then refusals", len(held), refused)
	}
	n := 0
	for k := range s.All() {
		if !held[k] {
			t.Fatalf("All yielded %x, which is not held", k)
		}
		n++
	}
	if n != len(held) || s.Len() != n {
		t.Fatalf("All yielded %d keys, Len %d, held %d", n, s.Len(), len(held))
	}
}
