package sharedlist

import (
	"net/netip"
	"slices"
	"testing"
)

// TestPresetIndexListing checks Listing against a slow twin: each preset's
// entries searched one by one, on every entry's own address and AS number
// and on documentation addresses no preset lists.
func TestPresetIndexListing(t *testing.T) {
	idx, err := LoadPresets()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != len(Names()) {
		t.Fatalf("%d presets indexed, %d named", len(idx), len(Names()))
	}
	slow := func(addr netip.Addr, asn uint32) []string {
		out := []string{}
		for _, n := range Names() {
			l, _ := Preset(n)
			for _, e := range l.Entries {
				if e.ASN != 0 && e.ASN == asn || e.Prefix.IsValid() && e.Prefix.Contains(addr) {
					out = append(out, n)
					break
				}
			}
		}
		return out
	}
	type query struct {
		addr netip.Addr
		asn  uint32
	}
	qs := []query{{netip.MustParseAddr("192.0.2.1"), 0}, {netip.MustParseAddr("2001:db8::1"), 64496}}
	for _, l := range idx {
		for _, e := range l.Entries {
			if e.ASN != 0 {
				qs = append(qs, query{netip.MustParseAddr("198.51.100.1"), e.ASN})
			} else {
				qs = append(qs, query{e.Prefix.Addr(), 0})
			}
		}
	}
	listed := 0
	for _, q := range qs {
		got, want := idx.Listing(q.addr, q.asn), slow(q.addr, q.asn)
		if !slices.Equal(got, want) {
			t.Errorf("Listing(%s, %d) = %v, want %v", q.addr, q.asn, got, want)
		}
		if len(got) > 0 {
			listed++
		}
	}
	// Not vacuous: entries were found, and the documentation addresses not.
	if listed != len(qs)-2 {
		t.Errorf("%d of %d queries listed, want all but the two documentation addresses", listed, len(qs))
	}
}
