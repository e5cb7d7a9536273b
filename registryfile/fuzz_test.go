package registryfile

import (
	"bytes"
	"net/netip"
	"os"
	"testing"

	"github.com/seams-dev/seams"
)

// FuzzRead detects and reads any bytes as each kind of registry file. It
// must not panic; a format the kind does not take is an error with nothing
// read; the compounds an indicators file adds are new and unique, and
// every indicator returned names a known or an added compound; every
// rejection names the file.
func FuzzRead(f *testing.F) {
	for _, p := range []string{small + "compounds.csv", small + "indicators.csv", small + "shared.txt",
		"../stix/testdata/small.bundle.json", "../misp/testdata/small.misp.json", "../misp/testdata/warninglist.json",
		"testdata/compounds.ftm.json", "testdata/shared.warninglist.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for k := range 3 {
			f.Add(uint8(k), b)
		}
	}
	known := map[string]int{"c-jinbei": 0, "c-kkpark": 1}
	f.Fuzz(func(t *testing.T, k uint8, b []byte) {
		kind := []Kind{Compounds, Indicators, Shared}[k%3]
		format := Detect(kind, head(b))
		reject := func(e *seams.RecordError) {
			if e.File != "fuzz" {
				t.Fatalf("rejection names file %q: %v", e.File, e)
			}
		}
		var err error
		var n int
		switch kind {
		case Compounds:
			var cs []seams.Compound
			cs, err = ReadCompounds(format, bytes.NewReader(b), "fuzz", reject)
			n = len(cs)
		case Indicators:
			var added []seams.Compound
			var inds []seams.Indicator
			added, inds, err = ReadIndicators(format, bytes.NewReader(b), "fuzz", known, reject)
			n = len(added) + len(inds)
			ids := map[string]bool{}
			for _, c := range added {
				if _, ok := known[c.ID]; ok || ids[c.ID] {
					t.Fatalf("compound %q added though known or added before", c.ID)
				}
				ids[c.ID] = true
			}
			for _, in := range inds {
				if _, ok := known[in.Compound]; !ok && !ids[in.Compound] {
					t.Fatalf("indicator %q names unknown compound %q", in.Value, in.Compound)
				}
			}
		case Shared:
			var ps []netip.Prefix
			var asns []uint32
			ps, asns, err = ReadShared(format, bytes.NewReader(b), "fuzz", reject)
			n = len(ps) + len(asns)
			for _, p := range ps {
				if !p.IsValid() || p.Masked() != p {
					t.Fatalf("shared prefix %v is not canonical", p)
				}
			}
		}
		if !Takes(kind, format) && (err == nil || n > 0) {
			t.Fatalf("%s read as %s: err %v, %d records", format, kind, err, n)
		}
	})
}
