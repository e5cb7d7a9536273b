package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/stix"
	"github.com/seams-dev/seams/xref"
)

const small = "../testdata/small"

// xrefSmall runs the cross-reference on the foundation's small data set and
// returns its output directory.
func xrefSmall(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	o := xref.NewOptions()
	o.Compounds = filepath.Join(small, "compounds.csv")
	o.Indicators = filepath.Join(small, "indicators.csv")
	o.Reports = []string{filepath.Join(small, "reports.jsonl"), filepath.Join(small, "reports2.jsonl")}
	o.Shared = filepath.Join(small, "shared.txt")
	o.Out = dir
	if _, err := xref.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return dir
}

// findingsOf reads the findings of an xref output directory.
func findingsOf(t *testing.T, dir string) []seams.Finding {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fs []seams.Finding
	if err := ReadFindings(f, "findings.jsonl", func(x *seams.Finding) error { fs = append(fs, *x); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		t.Fatal("the small data set gave no findings")
	}
	return fs
}

func run(t *testing.T, o Options) (*Result, []byte) {
	t.Helper()
	o.Out = filepath.Join(t.TempDir(), "out")
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(o.Out); st.Mode().Perm() != 0o600 {
		t.Errorf("output mode %v, want 0600", st.Mode().Perm())
	}
	return res, b
}

// TestReadFindingsAgainstGolden: the findings reader reads back exactly
// what jsonl.AppendFinding wrote (checked by rewriting every finding).
func TestReadFindingsRoundTrip(t *testing.T) {
	dir := xrefSmall(t)
	raw, _ := os.ReadFile(filepath.Join(dir, FindingsFile))
	var again bytes.Buffer
	for _, f := range findingsOf(t, dir) {
		again.WriteString(findingLine(&f))
	}
	if again.String() != string(raw) {
		t.Errorf("findings read and rewritten differ from the file:\n%s\nwant:\n%s", again.String(), raw)
	}
}

func TestCSV(t *testing.T) {
	dir := xrefSmall(t)
	fs := findingsOf(t, dir)
	res, b := run(t, Options{Format: CSV, From: dir, Compounds: filepath.Join(small, "compounds.csv")})
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(Header, ",") {
		t.Errorf("header %v", recs[0])
	}
	var want []Row
	for i := range fs {
		want = Rows(want, &fs[i], nil)
	}
	if len(recs)-1 != len(want) || res.Rows != len(want) || res.Findings != len(fs) {
		t.Fatalf("%d rows (result %d) for %d evidence items", len(recs)-1, res.Rows, len(want))
	}
	for i, r := range recs[1:] {
		w := want[i]
		if r[0] != w.Report || r[1] != w.Compound || r[4] != w.Tier || r[5] != w.Rule || r[7] != w.Indicator {
			t.Errorf("row %d: %v, want %+v", i, r, w)
		}
		if r[2] == "" || r[3] == "" {
			t.Errorf("row %d: compound name and country missing with --compounds: %v", i, r)
		}
	}
	if !bytes.Contains(b, []byte("\r\n")) {
		t.Error("CSV lines do not end in CRLF (RFC 4180)")
	}
}

func TestCSVFormulaInjection(t *testing.T) {
	in, _ := seams.ParseIndicatorValue(seams.KindDevice, "imei:=HYPERLINK(\"http://x.example\")")
	d, _ := seams.ParseDeviceID("idfa:@SUM(1+1)")
	f := seams.Finding{Report: "-2+3", Compound: "c-x", Tier: seams.TierTied, Evidence: []seams.Evidence{
		{Rule: seams.RuleDevice, Indicator: &in, Observed: seams.Observation{Device: d, Event: "+cmd|' /C calc'!A0"}},
	}}
	var buf bytes.Buffer
	cw, _ := NewCSVWriter(&buf)
	for _, r := range Rows(nil, &f, nil) {
		cw.Write(&r)
	}
	cw.Flush()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, cell := range recs[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q starts like a formula", cell)
		}
	}
	if recs[1][0] != "'-2+3" || recs[1][15] != "'+cmd|' /C calc'!A0" {
		t.Errorf("cells not prefixed: %q", recs[1])
	}
	for v, want := range map[string]string{"": "", "a=b": "a=b", "=1": "'=1", "\tx": "'\tx", "2001:db8::1": "2001:db8::1"} {
		if got := SafeCell(v); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestParquet(t *testing.T) {
	dir := xrefSmall(t)
	fs := findingsOf(t, dir)
	_, b := run(t, Options{Format: Parquet, From: dir})
	r := parquet.NewGenericReader[Row](bytes.NewReader(b))
	defer r.Close()
	got := make([]Row, r.NumRows())
	if n, err := r.Read(got); n != len(got) || (err != nil && err.Error() != "EOF") {
		t.Fatalf("read %d of %d rows: %v", n, len(got), err)
	}
	var want []Row
	names := map[string]seams.Compound{}
	for _, c := range summaryCompounds(t, dir) {
		names[c.ID] = c
	}
	for i := range fs {
		want = Rows(want, &fs[i], names)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	micro := func(v time.Time) time.Time {
		if v.IsZero() {
			return v
		}
		return v.UTC().Truncate(time.Microsecond)
	}
	for i := range want {
		w := want[i]
		w.FirstSeen, w.LastSeen, w.ObservedAt = micro(w.FirstSeen), micro(w.LastSeen), micro(w.ObservedAt)
		g := got[i]
		g.FirstSeen, g.LastSeen, g.ObservedAt = micro(g.FirstSeen), micro(g.LastSeen), micro(g.ObservedAt)
		gc, gd, wc, wd := deref(g.Confidence), deref(g.DriftSeconds), deref(w.Confidence), deref(w.DriftSeconds)
		g.Confidence, g.DriftSeconds, w.Confidence, w.DriftSeconds = nil, nil, nil, nil
		if fmt.Sprintf("%v %v %v", g, gc, gd) != fmt.Sprintf("%v %v %v", w, wc, wd) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// Nulls are nulls: a potential cidr row has no drift, a device row no ip.
	schema := r.Schema().String()
	for _, col := range []string{"optional double drift_seconds", "optional int64 observed_at (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))"} {
		if !strings.Contains(schema, col) {
			t.Errorf("schema lacks %q:\n%s", col, schema)
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func summaryCompounds(t *testing.T, dir string) []seams.Compound {
	cs, err := loadCompounds(Options{From: dir}, &Result{})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestSTIXAndMISP(t *testing.T) {
	dir := xrefSmall(t)
	fs := findingsOf(t, dir)
	o := Options{From: dir, Org: "Hotline Example", Compounds: filepath.Join(small, "compounds.csv"), Indicators: filepath.Join(small, "indicators.csv")}

	o.Format = STIX
	res, a := run(t, o)
	_, b := run(t, o)
	if !bytes.Equal(a, b) {
		t.Error("two STIX exports of the same data differ")
	}
	if res.Time.IsZero() || res.Rejected == 0 { // the small registry has bad rows on purpose
		t.Errorf("result %+v", res)
	}
	_, ins, err := stix.ReadBundle(bytes.NewReader(a), "x.json", nil)
	if err != nil || len(ins) == 0 {
		t.Fatalf("bundle reads back %d indicators: %v", len(ins), err)
	}
	sightings := map[string]bool{}
	for _, f := range fs {
		for _, ev := range f.Evidence {
			sightings[f.Report+" "+stix.IndicatorID(f.Compound, ev.Indicator)] = true
		}
	}
	if n := bytes.Count(a, []byte(`"type":"sighting"`)); n != len(sightings) {
		t.Errorf("%d sightings, want one per finding and indicator: %d", n, len(sightings))
	}

	o.Format = MISP
	res, m := run(t, o)
	feed, err := misp.Decode(bytes.NewReader(m), "m.json", misp.DefaultLimits(), func(e *seams.RecordError) { t.Errorf("rejected: %v", e) })
	if err != nil {
		t.Fatal(err)
	}
	dated := 0
	for _, f := range fs {
		for _, ev := range f.Evidence {
			if !ev.Observed.At.IsZero() {
				dated++
			}
		}
	}
	if len(feed.Sightings) != dated || res.Objects == 0 {
		t.Errorf("%d MISP sightings, want %d (result %+v)", len(feed.Sightings), dated, res)
	}

	o.Format = GSE
	res, g := run(t, o)
	if lines := bytes.Count(g, []byte("\n")); lines != res.Objects || lines == 0 || bytes.Contains(g, []byte("imei")) {
		t.Errorf("%d signal lines, result %+v", lines, res)
	}
}

func TestRunErrors(t *testing.T) {
	dir := xrefSmall(t)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no org", Options{Format: STIX, From: dir}, "needs the reporting organisation"},
		{"indicators alone", Options{Format: CSV, From: dir, Indicators: "x.csv"}, "needs the compounds file"},
		{"not a run", Options{Format: CSV, From: t.TempDir()}, "is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Out = filepath.Join(t.TempDir(), "out")
			if _, err := Run(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(tc.o.Out); err == nil {
				t.Error("a failed export left its output")
			}
		})
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, FindingsFile), []byte(`{"report":"r","compound":"c","tier":"tied","evidence":[]}`+"\n"), 0o600)
	_, err := Run(context.Background(), Options{Format: CSV, From: bad, Compounds: filepath.Join(small, "compounds.csv"), Out: filepath.Join(bad, "o")})
	if err == nil || !strings.Contains(err.Error(), "findings.jsonl:1: finding without evidence") {
		t.Errorf("bad findings: %v", err)
	}
}

func FuzzReadFindings(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(small, "golden", FindingsFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var fs []seams.Finding
		if err := ReadFindings(bytes.NewReader(b), "f.jsonl", func(x *seams.Finding) error { fs = append(fs, *x); return nil }); err != nil {
			return
		}
		// What reads, writes back and reads the same.
		var buf bytes.Buffer
		for i := range fs {
			buf.WriteString(findingLine(&fs[i]))
		}
		var again []seams.Finding
		if err := ReadFindings(&buf, "g.jsonl", func(x *seams.Finding) error { again = append(again, *x); return nil }); err != nil {
			t.Fatalf("rewritten findings do not read: %v", err)
		}
		if len(again) != len(fs) {
			t.Fatalf("%d findings back, want %d", len(again), len(fs))
		}
	})
}

func findingLine(f *seams.Finding) string { return string(jsonl.AppendFinding(nil, f)) }

// TestReadFindingsKeepsEnrichment reads findings.jsonl of enriched and capped
// runs and writes every finding back with jsonl.AppendFinding: the same
// bytes, so that nothing xref writes is lost on the way to an export.
func TestReadFindingsKeepsEnrichment(t *testing.T) {
	dir := t.TempDir()
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared = filepath.Join(small, "compounds.csv"), filepath.Join(small, "indicators.csv"), filepath.Join(small, "shared.txt")
	o.Reports = []string{filepath.Join(small, "reports.jsonl"), filepath.Join(small, "reports2.jsonl")}
	o.ASNDB, o.GeoDB = []string{"../mmdb/testdata/doc-asn.mmdb"}, []string{"../mmdb/testdata/doc-geo.mmdb"}
	o.MaxReportsPerIndicator = 2 // caps some
	o.Out = dir
	if _, err := xref.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, xref.FindingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(want, []byte(`"capped"`)) || !bytes.Contains(want, []byte(`"as_org"`)) || !bytes.Contains(want, []byte(`"signals"`)) {
		t.Fatalf("the run wrote no capped, enriched or signalled finding to check:\n%s", want)
	}
	var got []byte
	if err := ReadFindings(bytes.NewReader(want), "findings.jsonl", func(f *seams.Finding) error {
		got = jsonl.AppendFinding(got, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("findings read and written back differ:\n%s\nwant:\n%s", got, want)
	}
	// And the CSV carries what enrichment and capping added.
	var rows []Row
	if err := ReadFindings(bytes.NewReader(want), "findings.jsonl", func(f *seams.Finding) error {
		rows = Rows(rows, f, nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var asn, capped, signals bool
	for _, r := range rows {
		asn = asn || r.ObservedASN != 0 && r.ObservedASOrg != ""
		capped = capped || strings.Contains(r.Capped, "reports > 2")
		signals = signals || r.Signals != ""
	}
	if !asn || !capped || !signals {
		t.Errorf("rows lack enrichment (%v), capping (%v) or signals (%v)", asn, capped, signals)
	}
}
