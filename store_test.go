package seams

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestParseSearch(t *testing.T) {
	for _, c := range []struct {
		kind, in string
		want     SearchKind
		text     string
	}{
		{"", "203.0.113.7", SearchIP, "203.0.113.7"},
		{"", " ::ffff:192.0.2.10 ", SearchIP, "192.0.2.10"},
		{"", "2001:db8::1", SearchIP, "2001:db8::1"},
		{"", "198.51.100.0/24", SearchPrefix, "198.51.100.0/24"},
		{"", "imei:358240051111110", SearchDevice, "imei:358240051111110"},
		{"", "IDFA: AAAA-BBBB", SearchDevice, "idfa:AAAA-BBBB"},
		{"", "r-tied-ip", SearchReport, "r-tied-ip"},
		{"", "198.51.100.1/24", SearchReport, "198.51.100.1/24"}, // not a canonical prefix: an id
		{"report", "203.0.113.7", SearchReport, "203.0.113.7"},
		{"device", "a:b", SearchDevice, "a:b"},
	} {
		q, err := ParseSearch(c.kind, c.in)
		if err != nil || q.Kind != c.want || q.String() != c.text {
			t.Errorf("ParseSearch(%q, %q) = %v %q, %v; want %v %q", c.kind, c.in, q.Kind, q.String(), err, c.want, c.text)
		}
	}
	for _, c := range []struct{ kind, in string }{{"ip", "x"}, {"prefix", "198.51.100.1/24"}, {"device", "x"}, {"", ""}, {"", "a\x00b"}, {"color", "x"}} {
		if _, err := ParseSearch(c.kind, c.in); err == nil {
			t.Errorf("ParseSearch(%q, %q) accepted", c.kind, c.in)
		}
	}
}

// FuzzParseSearch holds ParseSearch to never panic and to read its own
// output back as the same query.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "198.51.100.0/24", "imei:1", "r-1", "2001:db8::/32", "::ffff:1.2.3.4"} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, kind, s string) {
		q, err := ParseSearch(kind, s)
		if err != nil {
			return
		}
		again, err := ParseSearch(string(q.Kind), q.String())
		if err != nil || again.String() != q.String() || again.Kind != q.Kind {
			t.Fatalf("ParseSearch(%q, %q) = %v %q; reading it back gives %v %q, %v", kind, s, q.Kind, q.String(), again.Kind, again.String(), err)
		}
	})
}

// TestStoredEvidenceRoundTrip: evidence kept by a store (Evidence.Stored)
// and resolved again (StoredFinding.Resolve) is the evidence a run made,
// every field of it (found by reflection, so that a field added to
// Evidence and forgotten on the way fails here), except Ref, which names
// the indicator in one run's index only.
func TestStoredEvidenceRoundTrip(t *testing.T) {
	in := &Indicator{Compound: "c-alpha", Kind: KindIP, Value: "203.0.113.100"}
	e := Evidence{Rule: RuleIPDrift, Indicator: in, Drift: time.Hour, Ref: 3,
		Observed: Observation{IP: netip.MustParseAddr("203.0.113.100"), At: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Event: "login",
			Port: 51234, Proxy: true, Associated: true, Net: AddrInfo{ASN: 64500, Org: "Example", Country: "KH", City: "Example City"}},
		Shared: netip.MustParsePrefix("203.0.113.96/27"), SharedWhy: "AS64500 Example Satellite, listed in shared-asn"}
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("the test leaves Evidence.%s zero: set it", v.Type().Field(i).Name)
		}
	}
	sf := StoredFinding{ID: 1, Report: "r-1", Compound: "c-alpha", Tier: TierPotential, Evidence: []StoredEvidence{e.Stored(42)}}
	f, err := sf.Resolve(map[int64]*Indicator{42: in})
	if err != nil {
		t.Fatal(err)
	}
	want := e
	want.Ref = 0
	if len(f.Evidence) != 1 || !reflect.DeepEqual(f.Evidence[0], want) {
		t.Errorf("stored and resolved:\n got %+v\nwant %+v", f.Evidence, want)
	}
	if _, err := sf.Resolve(map[int64]*Indicator{}); err == nil {
		t.Error("Resolve without the indicator succeeded")
	}
}

func TestStoreRunParametersSame(t *testing.T) {
	db := func(file, built string, networks int) DatabaseInfo {
		return DatabaseInfo{Role: "asn", File: file, Type: "GeoLite2-ASN", Built: built, Networks: networks, Provides: []string{"asn"}}
	}
	base := StoreRunParameters{Drift: "2160h0m0s", MaxReportsPerIndicator: 500, LiftCap: []string{"203.0.113.7"}, SharedASN: []uint32{64500},
		SharedPresets: []string{"satellite"}, Databases: []DatabaseInfo{db("/srv/asn.mmdb", "2026-11-24", 500000)}}
	for _, tc := range []struct {
		name string
		edit func(*StoreRunParameters)
		same bool
	}{
		{"identical", func(*StoreRunParameters) {}, true},
		{"the database under another path", func(p *StoreRunParameters) { p.Databases = []DatabaseInfo{db("asn.mmdb", "2026-11-24", 500000)} }, true},
		{"empty lists and nil lists", func(p *StoreRunParameters) { p.LiftCap, p.SharedASN = []string{"203.0.113.7"}, []uint32{64500} }, true},
		{"drift", func(p *StoreRunParameters) { p.Drift = "720h0m0s" }, false},
		{"limit", func(p *StoreRunParameters) { p.MaxReportsPerIndicator = 400 }, false},
		{"lift list", func(p *StoreRunParameters) { p.LiftCap = nil }, false},
		{"shared ASNs", func(p *StoreRunParameters) { p.SharedASN = []uint32{64500, 64501} }, false},
		{"presets", func(p *StoreRunParameters) { p.SharedPresets = []string{"satellite", "cdn"} }, false},
		{"another build of the database", func(p *StoreRunParameters) { p.Databases = []DatabaseInfo{db("/srv/asn.mmdb", "2026-12-01", 500000)} }, false},
		{"another size", func(p *StoreRunParameters) { p.Databases = []DatabaseInfo{db("/srv/asn.mmdb", "2026-11-24", 500001)} }, false},
		{"a database more", func(p *StoreRunParameters) { p.Databases = append(p.Databases, db("geo.mmdb", "2026-11-24", 9)) }, false},
		{"no database", func(p *StoreRunParameters) { p.Databases = nil }, false},
	} {
		p := base
		p.LiftCap, p.SharedASN, p.SharedPresets, p.Databases = slices.Clone(base.LiftCap), slices.Clone(base.SharedASN), slices.Clone(base.SharedPresets), slices.Clone(base.Databases)
		tc.edit(&p)
		if got := p.Same(base); got != tc.same || base.Same(p) != tc.same {
			t.Errorf("%s: Same %v, want %v", tc.name, got, tc.same)
		}
	}
	none := StoreRunParameters{Drift: "2160h0m0s", LiftCap: []string{}, SharedASN: []uint32{}, SharedPresets: []string{}, Databases: []DatabaseInfo{}}
	if !none.Same(StoreRunParameters{Drift: "2160h0m0s"}) {
		t.Error("empty lists differ from nil ones")
	}
}
