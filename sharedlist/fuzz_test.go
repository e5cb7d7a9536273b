package sharedlist

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: any file is parsed or refused without panicking, and a list
// parsed holds what its invariants say; written back in the list format it
// parses to the same entries.
func FuzzParse(f *testing.F) {
	f.Add(goodList)
	for _, n := range Names() {
		b, _ := presetFS.ReadFile("presets/" + n + ".txt")
		f.Add(string(b))
	}
	f.Add("# name: t\n# date: 2026-12-02\n# source: s\n::ffff:203.0.113.0/120\n")
	f.Fuzz(func(t *testing.T, in string) {
		l, err := Parse(strings.NewReader(in), "fuzz.txt")
		if err != nil {
			return
		}
		if l.Name == "" || l.Date == "" || len(l.Sources) == 0 || len(l.Entries) != len(l.ASNs)+len(l.Prefixes) {
			t.Fatalf("invariants: %+v", l)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# name: %s\n# date: %s\n# source: %s\n", l.Name, l.Date, l.Sources[0])
		for _, e := range l.Entries {
			if e.ASN == 0 && (!e.Prefix.IsValid() || e.Prefix.Masked() != e.Prefix) {
				t.Fatalf("entry %+v", e)
			}
			b.WriteString(e.String() + "\n")
		}
		l2, err := Parse(strings.NewReader(b.String()), "again.txt")
		if err != nil {
			t.Fatalf("written back: %v\n%s", err, b.String())
		}
		if len(l2.Entries) != len(l.Entries) {
			t.Fatalf("written back: %d entries, had %d", len(l2.Entries), len(l.Entries))
		}
		for i := range l.Entries {
			if l2.Entries[i].ASN != l.Entries[i].ASN || l2.Entries[i].Prefix != l.Entries[i].Prefix {
				t.Fatalf("entry %d: %s became %s", i, l.Entries[i], l2.Entries[i])
			}
		}
	})
}

// FuzzParseASN: an AS number accepted prints back ("AS" + digits) to the
// same number, and is never reserved.
func FuzzParseASN(f *testing.F) {
	for _, s := range []string{"AS14593", "as13335", "64500", "AS0", "AS4294967295", "AS4294967296", " 5 ", "+5", "AS-1", "ASN1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseASN(s)
		if err != nil {
			return
		}
		if n == 0 || n == 1<<32-1 {
			t.Fatalf("%q: reserved AS%d accepted", s, n)
		}
		m, err := ParseASN("AS" + strconv.FormatUint(uint64(n), 10))
		if err != nil || m != n {
			t.Fatalf("%q: AS%d does not round-trip: %d, %v", s, n, m, err)
		}
		if lst, err := ParseASNs(s + "," + s); err != nil || len(lst) != 1 {
			t.Fatalf("ParseASNs(%q twice) = %v, %v", s, lst, err)
		}
	})
}
