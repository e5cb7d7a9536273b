package pseudonym

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/xref"
)

// set is the files of one xref run.
type set struct {
	compounds, indicators, shared string
	reports                       []string
	db                            string // ASN and location database, or ""
}

// run is what xref made of a set.
type run struct {
	findings []byte
	summary  seams.Summary
}

func runXref(t *testing.T, s set, sharedASN []uint32, maxPerIndicator int) run {
	t.Helper()
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared, o.Reports = s.compounds, s.indicators, s.shared, s.reports
	if s.db != "" {
		o.ASNDB, o.GeoDB = []string{s.db}, []string{s.db}
		o.SharedASN = sharedASN
	}
	o.MaxReportsPerIndicator = maxPerIndicator
	o.Out = t.TempDir()
	if _, err := xref.Run(context.Background(), o); err != nil {
		t.Fatalf("xref: %v", err)
	}
	f, err := os.ReadFile(filepath.Join(o.Out, xref.FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	var r run
	r.findings = f
	b, err := os.ReadFile(filepath.Join(o.Out, xref.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r.summary); err != nil {
		t.Fatal(err)
	}
	return r
}

// pseudonymizeSet rewrites a set with k into a new folder, and returns the
// set of the files written and how many records were rejected.
func pseudonymizeSet(t *testing.T, k Key, s set) (set, int) {
	t.Helper()
	dir := t.TempDir()
	in := Inputs{Compounds: s.compounds, Indicators: s.indicators, Shared: s.shared, Reports: s.reports}
	if s.db != "" {
		in.DBs = []string{s.db}
	}
	rejected := 0
	outs, err := Rewrite(context.Background(), NewPseudonymizer(k), in, dir, nil, func(*seams.RecordError) { rejected++ })
	if err != nil {
		t.Fatalf("pseudonymize: %v", err)
	}
	counted := 0
	p := set{compounds: s.compounds}
	for _, o := range outs {
		switch o.Kind {
		case "indicators":
			p.indicators = o.Path
		case "shared":
			p.shared = o.Path
		case "reports":
			p.reports = append(p.reports, o.Path)
		case "database":
			p.db = o.Path
		}
		counted += o.Counts.Rejected + o.Counts.Parts
		if o.Counts.Records != o.Counts.Written+o.Counts.Rejected && o.Kind != "shared" {
			t.Errorf("%s: %d records read, %d written, %d rejected: some were lost", o.Input, o.Counts.Records, o.Counts.Written, o.Counts.Rejected)
		}
	}
	if counted != rejected {
		t.Errorf("%d rejections handed out, %d counted", rejected, counted)
	}
	return p, rejected
}

// reverser returns a Reverser of k that knows the devices of the clear set.
func reverser(t *testing.T, k Key, s set) *Reverser {
	t.Helper()
	rv := NewReverser(k)
	inds, err := ReadIndicators(context.Background(), s.compounds, s.indicators, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inds {
		if in.Kind == seams.KindDevice {
			rv.LearnDevice(in.Device)
		}
	}
	for _, name := range s.reports {
		rd, err := reportfile.Open(name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if err != nil {
				break
			}
			for _, d := range rec.Report.Devices {
				rv.LearnDevice(d.ID)
			}
		}
		rd.Close()
	}
	return rv
}

// mapFindings rewrites a findings file's bytes with m.
func mapFindings(t *testing.T, m Mapper, b []byte) ([]byte, Counts) {
	t.Helper()
	var out bytes.Buffer
	c, err := RewriteFindings(m, bytes.NewReader(b), "findings.jsonl", &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), c
}

// checkOneToOne is the heart of it: xref on the pseudonymised set gives
// the findings of xref on the clear set, mapped through the keyed
// functions, both ways, byte for byte; and the same counts.
func checkOneToOne(t *testing.T, k Key, clear set, sharedASN []uint32, maxPerIndicator int) (run, run) {
	t.Helper()
	want := runXref(t, clear, sharedASN, maxPerIndicator)
	pseudo, pzRejected := pseudonymizeSet(t, k, clear)
	got := runXref(t, pseudo, sharedASN, maxPerIndicator)

	if bytes.Equal(got.findings, want.findings) {
		t.Fatal("the pseudonymised run's findings are the clear ones: nothing was pseudonymised")
	}
	back, c := mapFindings(t, reverser(t, k, clear), got.findings)
	if c.Unknown != 0 {
		t.Errorf("%d devices of the findings could not be reversed", c.Unknown)
	}
	if !bytes.Equal(back, want.findings) {
		t.Errorf("the pseudonymised run's findings, reversed, differ from the clear run's:\n%s", firstDiff(back, want.findings))
	}
	fwd, _ := mapFindings(t, NewPseudonymizer(k), want.findings)
	if !bytes.Equal(fwd, got.findings) {
		t.Errorf("the clear run's findings, pseudonymised, differ from the pseudonymised run's:\n%s", firstDiff(fwd, got.findings))
	}

	w, g := want.summary, got.summary
	type counts struct {
		Reports, Events, Devices, Tied, Potential, CompoundsTied, Unroutable, Undated, Findings int
		ByCompound                                                                              []seams.CompoundCount
		ByCountry                                                                               []seams.CountryCount
		ByASN                                                                                   []seams.ASNCount
		Signals                                                                                 *seams.SignalCounts
		Registry                                                                                seams.RegistryCounts
		OverCorrelated                                                                          int
	}
	cw := counts{w.Reports, w.Events, w.Devices, w.TiedReports, w.PotentialReports, w.CompoundsTied, w.Unroutable, w.Undated, w.Findings, w.ByCompound, w.ByCountry, w.ByASN, w.Signals, w.Registry, len(w.OverCorrelated)}
	cg := counts{g.Reports, g.Events, g.Devices, g.TiedReports, g.PotentialReports, g.CompoundsTied, g.Unroutable, g.Undated, g.Findings, g.ByCompound, g.ByCountry, g.ByASN, g.Signals, g.Registry, len(g.OverCorrelated)}
	if !reflect.DeepEqual(cw, cg) {
		t.Errorf("summary counts differ:\nclear  %+v\npseudo %+v", cw, cg)
	}
	// Every record is accounted for: what the clear run rejected, the
	// pseudonymisation rejected or the pseudonymised run did.
	if w.Rejected != pzRejected+g.Rejected {
		t.Errorf("the clear run rejected %d records; pseudonymize %d and the pseudonymised run %d", w.Rejected, pzRejected, g.Rejected)
	}
	return want, got
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n got  " + x + "\n want " + y
		}
	}
	return "(same lines)"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// ruleCounts counts the evidence of each rule, tier, shared, capped and
// signal in a findings file, so that a test can say what it reached.
func ruleCounts(t *testing.T, b []byte) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := jsonl.ReadFindings(bytes.NewReader(b), "findings", func(f *seams.Finding) error {
		n["tier "+f.Tier.String()]++
		if len(f.Capped) > 0 {
			n["capped"]++
		}
		if f.Signals.Any() {
			n["signals"]++
		}
		for _, e := range f.Evidence {
			n["rule "+e.Rule.String()]++
			if e.Shared.IsValid() {
				n["shared"]++
				if e.SharedWhy != "" {
					n["shared_why"]++
				}
			}
			if e.Observed.IP.Is6() {
				n["ipv6"]++
			}
			if e.Observed.Net.ASN != 0 {
				n["enriched"]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestXrefOneToOnePartners: the partners set (hand-made from the
// formats' documentation: CyberTipline XML in three encodings, CSV, JSON
// Lines; every rule, undated events, proxies, shared space, IPv6) gives the
// same findings pseudonymised, whatever format its reports came in.
func TestXrefOneToOnePartners(t *testing.T) {
	const p = "../../testdata/partners/"
	k := testKey(t, 3)
	for _, reports := range [][]string{
		{p + "reports.jsonl"},
		{p + "reports.xml", p + "reports-latin1.xml", p + "reports-utf16.xml"},
		{p + "reports.csv"},
	} {
		t.Run(filepath.Base(reports[0]), func(t *testing.T) {
			clear := set{compounds: p + "compounds.csv", indicators: p + "indicators.csv", shared: p + "shared.txt", reports: reports}
			want, _ := checkOneToOne(t, k, clear, nil, xref.DefaultMaxReportsPerIndicator)
			n := ruleCounts(t, want.findings)
			for _, w := range []string{"rule ip", "rule ip-undated", "rule ip-drift", "rule cidr", "rule device", "shared", "ipv6", "tier tied", "tier potential"} {
				if n[w] == 0 {
					t.Errorf("the clear run has no %s: the comparison did not test it (%v)", w, n)
				}
			}
		})
	}
}

// TestXrefOneToOneGenerated: a generated set (real regional address
// ranges, private addresses among the events, malformed lines), with an
// asn indicator, the generator's IP database pseudonymised for the asn
// rule, enrichment and --shared-asn, and a low over-correlation limit so
// that findings are capped.
func TestXrefOneToOneGenerated(t *testing.T) {
	dir := t.TempDir()
	files, err := gen.Generate(dir, gen.Options{Seed: 5, Compounds: 20, Indicators: 1500, Reports: 4000,
		TiedRate: 0.05, PotentialRate: 0.1, BadRate: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	// An asn indicator on the generator's Cambodian carrier, and the
	// generator's first compound for it.
	cb, _ := os.ReadFile(files.Compounds)
	first := strings.SplitN(strings.Split(string(cb), "\n")[1], ",", 2)[0]
	f, err := os.OpenFile(files.Indicators, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(first + ",asn,AS38623,2024-01-01,2025-12-31,low,test\n")
	f.WriteString(first + ",ip,10.1.2.3,,,,test\n") // rejected: private
	// A device in more reports than the limit below: its findings are
	// capped.
	f.WriteString(first + ",device,IMEI:990000000000017,,,,test\n")
	f.Close()
	r, err := os.OpenFile(files.Reports, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r.WriteString(`{"id":"capped-` + itoa(i) + `","ips":[{"ip":"10.9.8.7","at":"2024-06-01T00:00:00Z"},{"ip":"100.64.1.2"}],"devices":[{"type":"imei","value":"990000000000017"}]}` + "\n")
	}
	r.Close()
	clear := set{compounds: files.Compounds, indicators: files.Indicators, shared: files.Shared,
		reports: []string{files.Reports}, db: files.IPDB}
	want, _ := checkOneToOne(t, testKey(t, 4), clear, []uint32{14593}, 3)
	n := ruleCounts(t, want.findings)
	for _, w := range []string{"rule ip", "rule ip-drift", "rule cidr", "rule device", "rule asn", "shared", "shared_why",
		"tier tied", "tier potential", "capped", "enriched", "signals"} {
		if n[w] == 0 {
			t.Errorf("the clear run has no %s: the comparison did not test it (%v)", w, n)
		}
	}
	if want.summary.Unroutable == 0 {
		t.Error("no unroutable event: private addresses were not tested")
	}
}
