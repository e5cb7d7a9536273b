package psi

import (
	"fmt"
	"github.com/seams-dev/seams"
	"net/netip"
	"testing"
	"time"
)

// benchItems returns n distinct ip-day items.
func benchItems(n int) [][]byte {
	items := make([][]byte, n)
	for i := range items {
		a := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		items[i] = AppendIPDay(nil, a, Day(19800+i%365))
	}
	return items
}

const benchBatch = 1024

// BenchmarkHolderFullEvaluate: the holder's cost per item of its table
// (hash to group, one scalar multiplication, SHA-512), one core.
func BenchmarkHolderFullEvaluate(b *testing.B) {
	key, _ := NewKey(1, time.Now())
	items := benchItems(4096)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; b.Loop(); i++ {
		key.FullEvaluate(items[i%len(items)])
	}
	perItem(b, cpu0, 1)
}

// BenchmarkHolderEvaluate: the holder's cost per item a querier sends
// (decode, one scalar multiplication, encode), one core; per item.
func BenchmarkHolderEvaluate(b *testing.B) {
	key, _ := NewKey(1, time.Now())
	bl, _ := Blind(benchItems(benchBatch))
	out := make([]byte, len(bl.Elements))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		key.Evaluate(out, bl.Elements)
	}
	perItem(b, cpu0, benchBatch)
}

// BenchmarkQuerierBlind and BenchmarkQuerierFinalize: the querier's cost
// per item, one core.
func BenchmarkQuerierBlind(b *testing.B) {
	items := benchItems(benchBatch)
	cpu0 := cpuSeconds()
	for b.Loop() {
		Blind(items)
	}
	perItem(b, cpu0, benchBatch)
}

func BenchmarkQuerierFinalize(b *testing.B) {
	key, _ := NewKey(1, time.Now())
	bl, _ := Blind(benchItems(benchBatch))
	ev := make([]byte, len(bl.Elements))
	key.Evaluate(ev, bl.Elements)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		bl.Finalize(ev)
	}
	perItem(b, cpu0, benchBatch)
}

// BenchmarkQuerierOpen: looking an output up in a table of a million
// entries (HKDF, binary search), per item that matches nothing.
func BenchmarkQuerierOpen(b *testing.B) {
	t := &Table{Epoch: 1, entries: make([]byte, 1<<20*EntrySize)}
	for i := range t.Len() {
		e := t.entry(i)
		e[0], e[1], e[2] = byte(i>>16), byte(i>>8), byte(i)
	}
	out := make([]byte, 64)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; b.Loop(); i++ {
		out[0] = byte(i)
		t.Open(out)
	}
	perItem(b, cpu0, 1)
}

func BenchmarkTableBuild(b *testing.B) {
	for _, n := range []int{10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cpu0 := cpuSeconds()
			for b.Loop() {
				key, _ := NewKey(1, time.Now())
				bu := NewBuilder(key, NewExpandOptions(), DefaultLabelFields, nil)
				bu.arena = nil
				for _, it := range benchItems(n) {
					bu.arena = append(bu.arena, it...)
					bu.items = append(bu.items, bItem{off: uint32(len(bu.arena) - len(it)), end: uint32(len(bu.arena))})
				}
				bu.labels = []Label{{Compound: "c", Country: "KH", Kind: 1}}
				bu.cs = []seams.Compound{{}}
				if _, err := bu.Build(1); err != nil {
					b.Fatal(err)
				}
			}
			perItem(b, cpu0, n)
		})
	}
}

// perItem reports the wall-clock and CPU time per item of b's loop (each
// op handles n items). The CPU time is what a shared machine does not
// skew: the figures in docs/psi.md are CPU time.
func perItem(b *testing.B, cpu0 float64, n int) {
	items := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/item")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(cpu*1e9/items, "cpu-ns/item")
	}
}
