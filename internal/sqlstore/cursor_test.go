package sqlstore

import (
	"slices"
	"testing"
)

// FuzzFindingCursor: a cursor of findings is accepted only in the form
// an order writes, and what is accepted writes back as itself, for every
// order.
func FuzzFindingCursor(f *testing.F) {
	for _, s := range []string{"", "f12", "fbo:12", "fat:2.1.1714601643000000000.3", "fbr:0.0.7", "fan:5", "f-1", "fat:2.1", "fxt:1.2.3.4", "r12", "fat:2.1.9223372036854775807.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		for sort, o := range findingOrders {
			before, k, err := o.parse(c)
			if err != nil || k == nil {
				continue
			}
			if len(k) != len(o.keys) {
				t.Fatalf("sort %q: cursor %q gives a key of %d values, want %d", sort, c, len(k), len(o.keys))
			}
			back := o.cursor(before, k)
			b2, k2, err := o.parse(back)
			if err != nil || b2 != before || !slices.Equal(k2, k) {
				t.Fatalf("sort %q: cursor %q read as %v %v, written %q, read back %v %v %v", sort, c, before, k, back, b2, k2, err)
			}
		}
	})
}
