package csvreport

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestMemoryAccounting checks that what the reader counts against
// Options.Memory is what its rows take on the heap (within a quarter), so
// that --csv-memory bounds the memory of the grouping: a reader that
// undercounts holds several times its budget.
func TestMemoryAccounting(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 20 MB")
	}
	var b strings.Builder
	b.WriteString(strings.Join(Columns[:], ",") + "\n")
	for i := 0; b.Len() < 20<<20; i++ {
		fmt.Fprintf(&b, "r-%08d,2024-05-02T08:00:00Z,sextortion,203.0.%d.%d,2024-05-01T22:14:03Z,login,%d,false,,\n", i/3, i%256, i/256%256, 1024+i%50000)
		if i%7 == 0 {
			fmt.Fprintf(&b, "r-%08d,,,,2024-05-01T22:10:00Z,,,,imei,3582400%08d\n", i/3, i)
		}
	}
	text := b.String()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(strings.NewReader(text), "mem.csv", Options{Memory: 1 << 40})
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	counted := r.mem.size
	runtime.KeepAlive(r)
	if r.mem.n < 100_000 {
		t.Fatalf("only %d rows", r.mem.n)
	}
	if ratio := float64(heap) / float64(counted); ratio > 1.25 || ratio < 0.5 {
		t.Errorf("the rows take %d bytes on the heap and the reader counts %d (ratio %.2f): the budget would not hold", heap, counted, ratio)
	}
}
