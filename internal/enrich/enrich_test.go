package enrich

import (
	"net/netip"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
)

// The synthetic databases of package mmdb's tests, in documentation space:
//
//	192.0.2.0/24      AS64496 Example Fixed Line   KH Phnom Penh
//	198.51.100.0/25   AS64497 Example Mobile       MM Myawaddy
//	198.51.100.128/25 AS64498 Example Satellite    MM Myawaddy
//	203.0.113.0/24    AS64499 Example Hosting      LA (first half)
const (
	docASN = "../../mmdb/testdata/doc-asn.mmdb"
	docGeo = "../../mmdb/testdata/doc-geo.mmdb"
)

func indicator(t *testing.T, compound string, kind seams.Kind, value string) seams.Indicator {
	t.Helper()
	in, err := seams.ParseIndicatorValue(kind, value)
	if err != nil {
		t.Fatal(err)
	}
	in.Compound = compound
	in.Window, err = seams.ParseWindow("2024-01-01", "2024-12-31")
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// build makes an index over one Enrichment of d: the indicators given,
// each of compound index 0 ("c-a", KH).
func build(t *testing.T, e *Enrichment, inds ...seams.Indicator) *match.Index {
	t.Helper()
	b, err := match.NewBuilder([]seams.Compound{{ID: "c-a", Name: "A", Country: "KH"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range inds {
		if err := e.Add(b, 0, &inds[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Finish(b); err != nil {
		t.Fatal(err)
	}
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestBuildsShareDatabases: two indexes built over one Databases keep
// their own state (asn indicators, the compounds' own ASes, lists, what
// could not be used), and closing a build leaves the databases open for
// the other.
func TestBuildsShareDatabases(t *testing.T) {
	d, err := OpenDatabases(Options{ASNDB: []string{docASN}, GeoDB: []string{docGeo}, SharedASN: []uint32{64498}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.On() || len(d.Info()) != 2 {
		t.Fatalf("databases: on %v, info %+v", d.On(), d.Info())
	}
	// Scope one: an ip indicator on AS64496 and the whole AS64497.
	one := d.NewBuild()
	x1 := build(t, one, indicator(t, "c-a", seams.KindIP, "192.0.2.10"), indicator(t, "c-a", seams.KindASN, "AS64497"))
	// Scope two: an ip indicator on AS64499 only.
	two := d.NewBuild()
	x2 := build(t, two, indicator(t, "c-a", seams.KindIP, "203.0.113.7"))
	one.Close() // a build's Close leaves the databases to d

	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	report := seams.Report{ID: "r", IPs: []seams.IPEvent{{Addr: netip.MustParseAddr("198.51.100.9"), At: at}, {Addr: netip.MustParseAddr("203.0.113.7"), At: at}}}
	compoundOf := func(string) (int, *seams.Compound) { return 0, &seams.Compound{ID: "c-a", Country: "KH"} }

	f1 := match.NewMatcher(x1, match.DefaultDrift).Match(&report)
	if len(f1) != 1 || len(f1[0].Evidence) != 1 || f1[0].Evidence[0].Rule != seams.RuleASN {
		t.Fatalf("scope one: %+v, want the asn evidence of AS64497 alone", f1)
	}
	one.Enrich(f1, compoundOf)
	if n := f1[0].Evidence[0].Observed.Net; n.ASN != 64497 || n.Country != "MM" {
		t.Errorf("scope one: observed %+v, want AS64497 in MM", n)
	}
	// AS64497 is not the AS of an address indicator of scope one: foreign.
	if !f1[0].Signals.ForeignASN || !f1[0].Signals.CrossBorder {
		t.Errorf("scope one: signals %+v, want foreign-asn and cross-border", f1[0].Signals)
	}

	f2 := match.NewMatcher(x2, match.DefaultDrift).Match(&report)
	if len(f2) != 1 || len(f2[0].Evidence) != 1 || f2[0].Evidence[0].Rule != seams.RuleIP {
		t.Fatalf("scope two: %+v, want the ip evidence alone (scope one's AS is not in it)", f2)
	}
	two.Enrich(f2, compoundOf)
	if n := f2[0].Evidence[0].Observed.Net; n.ASN != 64499 {
		t.Errorf("scope two: observed %+v, want AS64499", n)
	}
	// Its own address is on AS64499: not foreign, as it would be with
	// scope one's ASes.
	if f2[0].Signals.ForeignASN {
		t.Errorf("scope two: foreign-asn set: the compound's ASes of another build leaked in")
	}
	for i, e := range []*Enrichment{one, two} {
		if l := e.Lists(); len(l) != 1 || l[0].Name != "shared-asn" || l[0].Prefixes != 1 {
			t.Errorf("build %d: lists %+v, want shared-asn with AS64498's one network", i, l)
		}
		if len(e.Unusable()) != 0 {
			t.Errorf("build %d: unusable %+v", i, e.Unusable())
		}
	}
}

// TestUnusableByBuild: without an ASN database, each build says what it
// could not use of its own indicators.
func TestUnusableByBuild(t *testing.T) {
	d, err := OpenDatabases(Options{GeoDB: []string{docGeo}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	one, two := d.NewBuild(), d.NewBuild()
	build(t, one, indicator(t, "c-a", seams.KindASN, "AS64497"), indicator(t, "c-a", seams.KindASN, "AS64499"))
	build(t, two, indicator(t, "c-a", seams.KindIP, "192.0.2.10"))
	if u := one.Unusable(); len(u) != 1 || u[0].Count != 2 || u[0].What != "asn indicators" {
		t.Errorf("build one: unusable %+v, want 2 asn indicators", u)
	}
	if u := two.Unusable(); len(u) != 0 {
		t.Errorf("build two: unusable %+v, want none", u)
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := OpenDatabases(Options{SharedASN: []uint32{64496}}); err == nil {
		t.Error("shared ASNs without an ASN database: no error")
	}
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.On() || e.Databases() != nil {
		t.Errorf("no databases: on %v, %+v", e.On(), e.Databases())
	}
	var zero Enrichment
	if zero.On() || zero.Databases() != nil {
		t.Error("the zero Enrichment is on")
	}
	zero.Close()
}
