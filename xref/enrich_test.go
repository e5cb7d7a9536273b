package xref

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

// The synthetic databases of package mmdb's tests, in documentation space:
//
//	192.0.2.0/24      AS64496 Example Fixed Line   KH Phnom Penh
//	198.51.100.0/25   AS64497 Example Mobile       MM Myawaddy
//	198.51.100.128/25 AS64498 Example Satellite    MM Myawaddy
//	203.0.113.0/24    AS64499 Example Hosting      LA (first half)
const (
	docASN = "../mmdb/testdata/doc-asn.mmdb"
	docGeo = "../mmdb/testdata/doc-geo.mmdb"
)

// enrichCase: compound c-a (KH) has 192.0.2.10 (AS64496, KH) and the
// whole AS64497; c-b (MM) has 203.0.113.7 (AS64499, LA).
func enrichCase(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := NewOptions()
	o.Compounds = write("compounds.csv", "id,name,country\nc-a,Compound A,KH\nc-b,Compound B,MM\n")
	o.Indicators = write("indicators.csv", "compound,kind,value,first_seen,last_seen\n"+
		"c-a,ip,192.0.2.10,2024-01-01,2024-12-31\n"+
		"c-a,asn,AS64497,2024-01-01,2024-12-31\n"+
		"c-b,ip,203.0.113.7,2024-01-01,2024-12-31\n"+
		"c-b,ip,198.51.100.200,2024-01-01,2024-12-31\n")
	ev := func(ip string) string { return `{"ip":"` + ip + `","at":"2024-05-01T22:14:03Z"}` }
	o.Reports = []string{write("reports.jsonl", strings.Join([]string{
		`{"id":"r-home","ips":[` + ev("192.0.2.10") + `]}`,                              // c-a tied, at home
		`{"id":"r-asn","ips":[` + ev("198.51.100.9") + `]}`,                             // c-a potential by AS64497
		`{"id":"r-abroad","ips":[` + ev("203.0.113.7") + `]}`,                           // c-b tied, address in LA
		`{"id":"r-sat","ips":[` + ev("198.51.100.200") + `]}`,                           // c-b, shared when AS64498 is
		`{"id":"r-none","ips":[` + ev("192.0.2.77") + `]}`,                              // nothing
		`{"id":"r-asn-late","ips":[{"ip":"198.51.100.9","at":"2025-05-01T00:00:00Z"}]}`, // outside the AS window
		`{"id":"r-roam","ips":[` + ev("192.0.2.10") + `,` + ev("203.0.113.50") + `]}`,   // c-a tied, and a login from LA on AS64499
	}, "\n")+"\n")}
	o.Out = filepath.Join(dir, "out")
	return o
}

type enrichedFinding struct {
	Report, Compound, Tier string
	Signals                []string
	Evidence               []struct {
		Rule      string
		Indicator struct{ Kind, Value string }
		Observed  struct {
			IP      string
			ASN     uint32
			AsOrg   string `json:"as_org"`
			Country string
			City    string
		}
		Shared    string
		SharedWhy string `json:"shared_why"`
	}
}

func readEnriched(t *testing.T, o Options) map[string]enrichedFinding {
	t.Helper()
	out := map[string]enrichedFinding{}
	for _, l := range strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(o.Out, FindingsFile)))), "\n") {
		if l == "" {
			continue
		}
		var f enrichedFinding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out[f.Report+" "+f.Compound] = f
	}
	return out
}

func TestEnrichment(t *testing.T) {
	o := enrichCase(t)
	o.ASNDB, o.GeoDB = []string{docASN}, []string{docGeo}
	o.SharedASN = []uint32{64498}
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := readEnriched(t, o)
	if len(got) != 5 {
		t.Fatalf("%d findings, want 5: %+v", len(got), got)
	}
	home := got["r-home c-a"]
	if home.Tier != "tied" || len(home.Signals) != 0 {
		t.Errorf("r-home: %s %v, want tied without signals", home.Tier, home.Signals)
	}
	if ob := home.Evidence[0].Observed; ob.ASN != 64496 || ob.AsOrg != "Example Fixed Line (synthetic)" || ob.Country != "KH" || ob.City != "Phnom Penh" {
		t.Errorf("r-home observed %+v, want AS64496 Example Fixed Line, KH, Phnom Penh", ob)
	}
	asn := got["r-asn c-a"]
	if asn.Tier != "potential" || asn.Evidence[0].Rule != "asn" || asn.Evidence[0].Indicator.Value != "AS64497" {
		t.Errorf("r-asn: %+v, want potential by rule asn, indicator AS64497", asn)
	}
	// Matched only by AS64497, where c-a has no known address (its one
	// address indicator is on AS64496): foreign-asn.
	if strings.Join(asn.Signals, ",") != "cross-border,foreign-asn" {
		t.Errorf("r-asn signals %v, want cross-border (MM for a KH compound) and foreign-asn", asn.Signals)
	}
	// Tied at home; its other address, in LA, is no evidence: no signal.
	roam := got["r-roam c-a"]
	if roam.Tier != "tied" || len(roam.Signals) != 0 {
		t.Errorf("r-roam: %s %v, want tied without signals", roam.Tier, roam.Signals)
	}
	abroad := got["r-abroad c-b"]
	if abroad.Tier != "tied" || strings.Join(abroad.Signals, ",") != "cross-border" {
		t.Errorf("r-abroad: %s %v, want tied, cross-border (LA for an MM compound)", abroad.Tier, abroad.Signals)
	}
	sat := got["r-sat c-b"]
	if sat.Tier != "potential" || sat.Evidence[0].Shared != "198.51.100.128/25" ||
		sat.Evidence[0].SharedWhy != "AS64498 Example Satellite (synthetic), listed in shared-asn" {
		t.Errorf("r-sat: %+v, want potential, shared by AS64498 with the reason", sat)
	}
	if _, ok := got["r-asn-late c-a"]; ok {
		t.Error("an event outside the asn indicator's window matched")
	}

	if s.Signals == nil || s.Signals.CrossBorder != 2 || s.Signals.ForeignASN != 1 {
		t.Errorf("signals %+v, want 2 cross-border (r-asn, r-abroad), 1 foreign-asn (r-asn)", s.Signals)
	}
	// by_asn counts the ASes of evidence: r-roam's second address is no
	// evidence.
	wantASN := []seams.ASNCount{
		{ASN: 64496, Org: "Example Fixed Line (synthetic)", Tied: 2},
		{ASN: 64499, Org: "Example Hosting (synthetic)", Tied: 1},
		{ASN: 64497, Org: "Example Mobile (synthetic)", Potential: 1},
		{ASN: 64498, Org: "Example Satellite (synthetic)", Potential: 1},
	}
	if len(s.ByASN) != len(wantASN) {
		t.Fatalf("by_asn %+v, want %+v", s.ByASN, wantASN)
	}
	for i := range wantASN {
		if s.ByASN[i] != wantASN[i] {
			t.Errorf("by_asn[%d] = %+v, want %+v", i, s.ByASN[i], wantASN[i])
		}
	}
	if len(s.Databases) != 2 || s.Databases[0].Role != "asn" || s.Databases[1].Role != "geo" || s.Databases[0].Built == "" {
		t.Errorf("databases %+v, want the asn and geo files with their dates", s.Databases)
	}
	if len(s.SharedLists) != 1 || s.SharedLists[0].Name != "shared-asn" || s.SharedLists[0].Prefixes != 1 || s.SharedLists[0].ASNs != 1 {
		t.Errorf("shared_lists %+v, want shared-asn with one AS and its one network", s.SharedLists)
	}
	if s.Registry.ASNIndicators != 1 || len(s.Unusable) != 0 {
		t.Errorf("registry %+v unusable %+v, want one asn indicator in use", s.Registry, s.Unusable)
	}
}

// TestEnrichmentOff: without databases, the asn indicator is unusable and
// said so once; nothing is enriched; shared ASNs are a usage error.
func TestEnrichmentOff(t *testing.T) {
	o := enrichCase(t)
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Unusable) != 1 || s.Unusable[0].What != "asn indicators" || s.Unusable[0].Count != 1 {
		t.Errorf("unusable %+v, want the one asn indicator", s.Unusable)
	}
	if s.Signals != nil || s.ByASN != nil || s.Databases != nil {
		t.Errorf("enrichment output without databases: %+v %+v %+v", s.Signals, s.ByASN, s.Databases)
	}
	got := readEnriched(t, o)
	if _, ok := got["r-asn c-a"]; ok {
		t.Error("an asn indicator matched without an ASN database")
	}
	if f := got["r-home c-a"]; f.Evidence[0].Observed.ASN != 0 || len(f.Signals) != 0 {
		t.Errorf("r-home enriched without databases: %+v", f)
	}

	o = enrichCase(t)
	o.SharedASN = []uint32{64498}
	var fe *FieldError
	if _, err := Run(context.Background(), o); !errors.As(err, &fe) || fe.Field != "SharedASN" || !strings.Contains(err.Error(), "ASN database") {
		t.Errorf("shared ASNs without an ASN database: %v, want a usage error on SharedASN", err)
	}
}

// TestSharedPreset turns on an embedded list: its prefixes are shared with
// the list's name as the reason.
func TestSharedPreset(t *testing.T) {
	o := enrichCase(t)
	o.SharedPresets = "public-dns"
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.SharedLists) != 1 || s.SharedLists[0].Name != "preset public-dns" || s.SharedLists[0].Source == "" || s.SharedLists[0].Date == "" {
		t.Errorf("shared_lists %+v, want the public-dns preset with source and date", s.SharedLists)
	}
	o = enrichCase(t)
	o.SharedPresets = "no-such-list"
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "no-such-list") {
		t.Errorf("unknown preset: %v, want an error naming it", err)
	}
}

// TestPresetOfASesNeedsASNDB: a preset that lists ASes cannot be used
// without an ASN database, and says so rather than shares nothing.
func TestPresetOfASesNeedsASNDB(t *testing.T) {
	o := enrichCase(t)
	o.SharedPresets = "satellite"
	var fe *FieldError
	if _, err := Run(context.Background(), o); !errors.As(err, &fe) || fe.Field != "SharedPresets" || !strings.Contains(err.Error(), "ASN database") || !errors.Is(err, ErrUsage) {
		t.Errorf("satellite preset without an ASN database: %v, want a usage error on SharedPresets", err)
	}
}
