package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/misp"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/stix"
	"github.com/seams-dev/seams/xref"
)

const small = "../../testdata/small"

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
	if err := jsonl.ReadFindings(f, "findings.jsonl", func(x *seams.Finding) error { fs = append(fs, *x); return nil }); err != nil {
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
		{Rule: seams.RuleDevice, Indicator: &in, Observed: seams.Observation{Device: d, Event: " =1+1"}},
		{Rule: seams.RuleDevice, Indicator: &in, Observed: seams.Observation{Device: d, Event: "\r\n\t @A1"}},
		{Rule: seams.RuleDevice, Indicator: &in, Observed: seams.Observation{Device: d, Event: "\u00a0-1"}},
	}}
	var buf bytes.Buffer
	cw, _ := NewCSVWriter(&buf, CSVOptions{})
	for _, r := range Rows(nil, &f, nil) {
		cw.Write(&r)
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	recs, err := readRFC4180(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if startsLikeFormula(cell) {
				t.Errorf("cell %q starts like a formula", cell)
			}
		}
	}
	if recs[1][0] != "'-2+3" || recs[1][15] != "'+cmd|' /C calc'!A0" || recs[2][15] != "' =1+1" ||
		recs[3][15] != "'\r\n\t @A1" || recs[4][15] != "'\u00a0-1" {
		t.Errorf("cells not prefixed: %q", recs[1:])
	}
	for v, want := range map[string]string{"": "", "a=b": "a=b", "=1": "'=1", "\tx": "'\tx", "2001:db8::1": "2001:db8::1",
		" =1": "' =1", "  \n+1": "'  \n+1", "\u3000@x": "'\u3000@x", "'=1": "''=1", "'x": "''x", " x": " x", "a -1": "a -1", "\n": "\n"} {
		if got := SafeCell(v); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", v, got, want)
		}
		if back := UnguardCell(SafeCell(v)); back != v {
			t.Errorf("UnguardCell(SafeCell(%q)) = %q", v, back)
		}
	}
}

// startsLikeFormula reports whether a spreadsheet could take a cell for a
// formula: after any white space it starts with = + - @, or it starts with
// a tab or carriage return.
func startsLikeFormula(cell string) bool {
	if cell == "" {
		return false
	}
	if cell[0] == '\t' || cell[0] == '\r' {
		return true
	}
	t := strings.TrimLeftFunc(cell, unicode.IsSpace)
	return t != "" && strings.ContainsRune("=+-@", rune(t[0]))
}

// readRFC4180 parses CSV exactly as RFC 4180 defines it: records ending
// in CRLF, cells separated by commas, a quoted cell holding any bytes with
// "" for a quote. It is strict (a bare cell with a quote, CR or LF is an
// error) and keeps every byte of a quoted cell, which encoding/csv does not
// (it drops a CR before LF inside a cell).
func readRFC4180(b []byte) ([][]string, error) {
	var recs [][]string
	var rec []string
	for i := 0; i < len(b); {
		var cell []byte
		if b[i] == '"' {
			i++
			for {
				if i >= len(b) {
					return nil, fmt.Errorf("record %d: unterminated quoted cell", len(recs))
				}
				if b[i] == '"' {
					if i+1 < len(b) && b[i+1] == '"' {
						cell = append(cell, '"')
						i += 2
						continue
					}
					i++
					break
				}
				cell = append(cell, b[i])
				i++
			}
		} else {
			for i < len(b) && b[i] != ',' && b[i] != '\r' {
				if b[i] == '"' || b[i] == '\n' {
					return nil, fmt.Errorf("record %d: %q in a bare cell", len(recs), b[i])
				}
				cell = append(cell, b[i])
				i++
			}
		}
		rec = append(rec, string(cell))
		switch {
		case i < len(b) && b[i] == ',':
			i++
			if i == len(b) {
				return nil, fmt.Errorf("record %d: ends after a comma", len(recs))
			}
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			i += 2
			recs, rec = append(recs, rec), nil
		default:
			return nil, fmt.Errorf("record %d: cell not followed by a comma or CRLF", len(recs))
		}
	}
	if rec != nil {
		return nil, fmt.Errorf("record %d: no CRLF at the end", len(recs))
	}
	return recs, nil
}

// rowOfCSV decodes a CSV record of the findings export back into a Row:
// the inverse of CSVWriter.Write.
func rowOfCSV(t *testing.T, rec []string) Row {
	t.Helper()
	if len(rec) != len(Header) {
		t.Fatalf("record of %d cells, want %d", len(rec), len(Header))
	}
	c := make([]string, len(rec))
	for i := range rec {
		c[i] = UnguardCell(rec[i])
	}
	tm := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fl := func(s string) *float64 {
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	n := func(s string) uint64 {
		if s == "" {
			return 0
		}
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return Row{Report: c[0], Compound: c[1], CompoundName: c[2], Country: c[3], Tier: c[4], Rule: c[5],
		IndicatorKind: c[6], Indicator: c[7], FirstSeen: tm(c[8]), LastSeen: tm(c[9]), Confidence: fl(c[10]),
		Source: c[11], ObservedIP: c[12], ObservedDevice: c[13], ObservedAt: tm(c[14]), Event: c[15],
		Port: int32(n(c[16])), Proxy: c[17] == "true", DriftSeconds: fl(c[18]), Shared: c[19], SharedWhy: c[20],
		Associated: c[21] == "true", ObservedASN: uint32(n(c[22])), ObservedASOrg: c[23], ObservedCC: c[24],
		ObservedCity: c[25], Signals: c[26], Capped: c[27]}
}

// canon renders a row with every field spelled out, times in UTC, for
// comparing rows read from different files.
func canon(r Row) string {
	tm := func(v time.Time) string {
		if v.IsZero() {
			return "-"
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	times := fmt.Sprintf("first=%s last=%s at=%s", tm(r.FirstSeen), tm(r.LastSeen), tm(r.ObservedAt))
	r.FirstSeen, r.LastSeen, r.ObservedAt = time.Time{}, time.Time{}, time.Time{}
	c, d := deref(r.Confidence), deref(r.DriftSeconds)
	r.Confidence, r.DriftSeconds = nil, nil
	return fmt.Sprintf("%q %s confidence=%v drift=%v", fmt.Sprintf("%+v", r), times, c, d)
}

// awkwardRun writes, as xref would, a findings.jsonl and summary.json whose
// cells hold what breaks CSV: CR, LF and CRLF, quotes, commas, leading
// white space before = + - @, a leading ', non-ASCII text, and times finer
// than a microsecond.
func awkwardRun(t *testing.T) (string, []seams.Finding) {
	t.Helper()
	dir := t.TempDir()
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v.UTC() }
	ip, _ := seams.ParseIndicatorValue(seams.KindIP, "203.0.113.7")
	ip.Compound, ip.Source = "c-jinbei", " =partner, \"east\"\r\n"
	ip.Window, _ = seams.ParseWindow("2024-03-03", "2024-06-09")
	ip.Confidence, ip.HasConfidence = 0.85, true
	cidr, _ := seams.ParseIndicatorValue(seams.KindCIDR, "198.51.100.0/24")
	cidr.Compound, cidr.Source = "c-jinbei", "'quoted already"
	cidr.Window, _ = seams.ParseWindow("2024-01-01T00:00:00.123456789Z", "")
	dev, _ := seams.ParseIndicatorValue(seams.KindDevice, "idfa:@SUM(1+1)")
	dev.Compound, dev.Source = "c-jinbei", "ünïcødé – 中文 ✓"
	fs := []seams.Finding{
		{Report: "r-1\r\nsecond line", Compound: "c-jinbei", Tier: seams.TierTied, Signals: seams.Signals{CrossBorder: true},
			Evidence: []seams.Evidence{
				{Rule: seams.RuleIP, Indicator: &ip, Observed: seams.Observation{IP: netip.MustParseAddr("203.0.113.7"),
					At: at("2024-05-01T22:14:03.123456789Z"), Event: "login\rcr only", Port: 51234, Proxy: true,
					Net: seams.AddrInfo{ASN: 64500, Org: "Org, Inc.\n", Country: "KH", City: "São Paulo"}}},
				{Rule: seams.RuleIPDrift, Indicator: &ip, Observed: seams.Observation{IP: netip.MustParseAddr("203.0.113.7"),
					At: at("2024-06-10T01:00:00Z"), Event: "  @SUM(A1)"}, Drift: time.Hour},
			}},
		{Report: "\t-2", Compound: "c-jinbei", Tier: seams.TierPotential, Evidence: []seams.Evidence{
			{Rule: seams.RuleCIDR, Indicator: &cidr, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.23"),
				At: at("2024-07-01T00:00:00Z"), Event: "\u00a0+1\n\n", Associated: true},
				Shared: netip.MustParsePrefix("198.51.100.0/24"), SharedWhy: "why\r\n=1"},
		}},
		{Report: "r-3 \"q\", c", Compound: "c-jinbei", Tier: seams.TierTied, Evidence: []seams.Evidence{
			{Rule: seams.RuleDevice, Indicator: &dev, Observed: seams.Observation{Device: dev.Device, Event: "line\nfeed"}},
		}},
	}
	var b []byte
	for i := range fs {
		b = jsonl.AppendFinding(b, &fs[i])
	}
	if err := os.WriteFile(filepath.Join(dir, FindingsFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum, _ := json.Marshal(seams.Summary{ByCompound: []seams.CompoundCount{{Compound: "c-jinbei", Name: "Jinbei \"East\"\r\nBlock, 中", Country: "KH"}}})
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), sum, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, fs
}

// TestCSVAndParquetSameRows: the CSV and Parquet exports of the same
// findings, each read back (the CSV by RFC 4180 to the byte, its guard
// prefixes taken off; the Parquet by parquet-go), hold the same rows and
// values, which are those Rows makes of the findings.
func TestCSVAndParquetSameRows(t *testing.T) {
	dir, fs := awkwardRun(t)
	_, c := run(t, Options{Format: CSV, From: dir})
	_, p := run(t, Options{Format: Parquet, From: dir})

	recs, err := readRFC4180(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(Header, ",") {
		t.Fatalf("header %q", recs[0])
	}
	pr := parquet.NewGenericReader[Row](bytes.NewReader(p))
	defer pr.Close()
	prows := make([]Row, pr.NumRows())
	if n, err := pr.Read(prows); n != len(prows) || (err != nil && err.Error() != "EOF") {
		t.Fatalf("read %d of %d parquet rows: %v", n, len(prows), err)
	}
	names := map[string]seams.Compound{"c-jinbei": {ID: "c-jinbei", Name: "Jinbei \"East\"\r\nBlock, 中", Country: "KH"}}
	var want []Row
	for i := range fs {
		want = Rows(want, &fs[i], names)
	}
	if len(recs)-1 != len(want) || len(prows) != len(want) {
		t.Fatalf("%d CSV rows, %d Parquet rows, want %d", len(recs)-1, len(prows), len(want))
	}
	for i := range want {
		w, fromCSV, fromParquet := canon(want[i]), canon(rowOfCSV(t, recs[i+1])), canon(prows[i])
		if fromCSV != w {
			t.Errorf("CSV row %d:\n got %s\nwant %s", i, fromCSV, w)
		}
		if fromParquet != w {
			t.Errorf("Parquet row %d:\n got %s\nwant %s", i, fromParquet, w)
		}
	}
	// The cells that break CSV writers are met, byte for byte.
	for _, cell := range []string{"\"r-1\r\nsecond line\"", "\"Jinbei \"\"East\"\"\r\nBlock, 中\"", "login\rcr only",
		",'  @SUM(A1),", "\r\n'\t-2,", "''quoted already", "\"' =partner, \"\"east\"\"\r\n\"", "2024-05-01T22:14:03.123456Z"} {
		if !bytes.Contains(c, []byte(cell)) {
			t.Errorf("the CSV lacks the cell %q", cell)
		}
	}
	if bytes.HasPrefix(c, []byte("\uFEFF")) {
		t.Error("a byte-order mark without BOM")
	}
}

func TestCSVByteOrderMark(t *testing.T) {
	dir, _ := awkwardRun(t)
	_, c := run(t, Options{Format: CSV, From: dir, BOM: true})
	if !bytes.HasPrefix(c, []byte("\xEF\xBB\xBFreport,compound,")) {
		t.Errorf("CSV with BOM begins %q", c[:min(len(c), 20)])
	}
	recs, err := readRFC4180(bytes.TrimPrefix(c, []byte("\xEF\xBB\xBF")))
	if err != nil || len(recs) != 5 {
		t.Errorf("%d records after the BOM: %v", len(recs), err)
	}
	if _, err := Run(context.Background(), Options{Format: Parquet, From: dir, BOM: true, Out: filepath.Join(t.TempDir(), "p")}); err == nil ||
		!strings.Contains(err.Error(), "byte-order mark is for csv") {
		t.Errorf("BOM with parquet: %v", err)
	}
}

// TestReadRFC4180 checks the test's own CSV reader against encoding/csv on
// what both read the same (no CR in a cell), and on what it must refuse.
func TestReadRFC4180(t *testing.T) {
	in := "a,\"b,\"\"c\"\"\",\r\n\"x\ny\",,\"\"\r\n"
	got, err := readRFC4180([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := csv.NewReader(strings.NewReader(in)).ReadAll()
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("got %q, encoding/csv %q", got, want)
	}
	if got, _ := readRFC4180([]byte("\"a\r\nb\"\r\n")); len(got) != 1 || got[0][0] != "a\r\nb" {
		t.Errorf("CRLF in a cell: %q", got)
	}
	for _, bad := range []string{"a\nb\r\n", "a\"b\r\n", "\"a\r\n", "a,b", "\"a\"b\r\n", "a,"} {
		if _, err := readRFC4180([]byte(bad)); err == nil {
			t.Errorf("%q read without error", bad)
		}
	}
}

// FuzzCSVCells: any two cell values, written as a row, read back by RFC
// 4180 to the same bytes once the guard is taken off, and no cell starts
// like a formula.
func FuzzCSVCells(f *testing.F) {
	for _, s := range [][2]string{{"r-1", "login"}, {"a\r\nb", " =1"}, {"'x", "\"q\",\r"}, {"\t@", "中文\n"}, {"", "\u00a0-1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		cw, _ := NewCSVWriter(&buf, CSVOptions{})
		if err := cw.Write(&Row{Report: a, Event: b, Tier: "tied"}); err != nil {
			t.Fatal(err)
		}
		if err := cw.Flush(); err != nil {
			t.Fatal(err)
		}
		recs, err := readRFC4180(buf.Bytes())
		if err != nil || len(recs) != 2 || len(recs[1]) != len(Header) {
			t.Fatalf("%q: %d records: %v", buf.String(), len(recs), err)
		}
		if UnguardCell(recs[1][0]) != a || UnguardCell(recs[1][15]) != b {
			t.Fatalf("cells %q %q, want %q %q", recs[1][0], recs[1][15], a, b)
		}
		if startsLikeFormula(recs[1][0]) || startsLikeFormula(recs[1][15]) {
			t.Fatalf("cells %q %q start like a formula", recs[1][0], recs[1][15])
		}
	})
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
	cs, err := loadCompounds(context.Background(), Options{From: dir}, &Result{})
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

// TestSTIXReexportOtherCompounds: the same run exported with the compounds
// file and without it (the compounds then come from summary.json, without
// aliases, coordinates or status), with the default time, has no object
// whose id and modified are those of an object of the other export but
// whose content differs.
func TestSTIXReexportOtherCompounds(t *testing.T) {
	dir := xrefSmall(t)
	o := Options{Format: STIX, From: dir, Org: "Hotline Example"}
	r1, a := run(t, o)
	o.Compounds = filepath.Join(small, "compounds.csv")
	r2, b := run(t, o)
	if !r1.Time.Equal(r2.Time) {
		t.Fatalf("export times %s and %s: the case needs one time", r1.Time, r2.Time)
	}
	objs := func(raw []byte) map[string]map[string]any {
		var bd struct{ Objects []map[string]any }
		if err := json.Unmarshal(raw, &bd); err != nil {
			t.Fatal(err)
		}
		m := map[string]map[string]any{}
		for _, x := range bd.Objects {
			m[x["id"].(string)] = x
		}
		return m
	}
	content := func(x map[string]any) string {
		c := map[string]any{}
		for k, v := range x {
			if k != "modified" && k != "created" {
				c[k] = v
			}
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	same, changed := 0, 0
	bo := objs(b)
	for id, x := range objs(a) {
		y := bo[id]
		if y == nil {
			continue
		}
		if content(x) == content(y) {
			same++
			if x["modified"] != y["modified"] {
				t.Errorf("%s: same content, modified %v and %v", id, x["modified"], y["modified"])
			}
			continue
		}
		changed++
		if x["modified"] == y["modified"] {
			t.Errorf("%s: id and modified %v the same, content not:\n%s\n%s", id, x["modified"], content(x), content(y))
		}
	}
	if same == 0 || changed == 0 {
		t.Fatalf("%d objects the same and %d changed: the exports do not exercise both", same, changed)
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

func findingLine(f *seams.Finding) string { return string(jsonl.AppendFinding(nil, f)) }

// TestReadFindingsKeepsEnrichment reads findings.jsonl of enriched and capped
// runs and writes every finding back with jsonl.AppendFinding: the same
// bytes, so that nothing xref writes is lost on the way to an export.
func TestReadFindingsKeepsEnrichment(t *testing.T) {
	dir := t.TempDir()
	o := xref.NewOptions()
	o.Compounds, o.Indicators, o.Shared = filepath.Join(small, "compounds.csv"), filepath.Join(small, "indicators.csv"), filepath.Join(small, "shared.txt")
	o.Reports = []string{filepath.Join(small, "reports.jsonl"), filepath.Join(small, "reports2.jsonl")}
	o.ASNDB, o.GeoDB = []string{"../../mmdb/testdata/doc-asn.mmdb"}, []string{"../../mmdb/testdata/doc-geo.mmdb"}
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
	if err := jsonl.ReadFindings(bytes.NewReader(want), "findings.jsonl", func(f *seams.Finding) error {
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
	if err := jsonl.ReadFindings(bytes.NewReader(want), "findings.jsonl", func(f *seams.Finding) error {
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

// TestRegistryInAnyFormat: the registry files export reads may be in any
// format package registryfile reads, compressed or not: the compounds as
// FollowTheMoney entities and the indicators as the STIX bundle an export
// wrote (zstd-compressed) give the export the CSV files give.
func TestRegistryInAnyFormat(t *testing.T) {
	dir := xrefSmall(t)
	o := Options{Format: STIX, From: dir, Org: "Hotline Example", Compounds: filepath.Join(small, "compounds.csv"), Indicators: filepath.Join(small, "indicators.csv")}
	_, want := run(t, o)
	zw, _ := zstd.NewWriter(nil)
	bundle := filepath.Join(t.TempDir(), "bundle.json.zst")
	if err := os.WriteFile(bundle, zw.EncodeAll(want, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	o.Compounds, o.Indicators = "../../registryfile/testdata/compounds.ftm.json", bundle
	_, got := run(t, o)
	if !bytes.Equal(got, want) {
		t.Errorf("the export from FtM and STIX differs from the one from CSV:\n%s\n---\n%s", got, want)
	}
	o.Compounds = bundle
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "which holds no compounds") {
		t.Errorf("a bundle as the compounds: %v", err)
	}
}

// UnguardCell is the inverse of SafeCell, as a reader of the CSV export
// applies it: a cell without its leading ' if it has one is the value.
func UnguardCell(cell string) string { return strings.TrimPrefix(cell, "'") }

// TestExportDrift: the drift bounds of --indicators (testdata/drift) are
// exported, in STIX and MISP, and read back the same by the registry's
// readers; without --indicators, the evidence's indicators carry none.
func TestExportDrift(t *testing.T) {
	const d = "../../testdata/drift"
	dir := t.TempDir()
	o := xref.NewOptions()
	o.Compounds, o.Indicators = filepath.Join(d, "compounds.csv"), filepath.Join(d, "indicators.csv")
	o.Reports, o.Out = []string{filepath.Join(d, "reports.jsonl")}, dir
	if _, err := xref.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(o.Indicators)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, want, err := registryfile.ReadIndicators(registryfile.CSV, f, o.Indicators, map[string]int{"c-observed": 0, "c-estimated": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bounds := func(inds []seams.Indicator) map[string]string {
		m := map[string]string{}
		for _, in := range inds {
			m[in.Compound+" "+in.Value] = fmt.Sprint(in.HasDrift, in.Drift)
		}
		return m
	}
	for _, format := range []Format{STIX, MISP} {
		_, b := run(t, Options{Format: format, From: dir, Org: "Hotline Example", Compounds: o.Compounds, Indicators: o.Indicators})
		_, got, err := registryfile.ReadIndicators(map[Format]registryfile.Format{STIX: registryfile.STIX, MISP: registryfile.MISP}[format],
			bytes.NewReader(b), "export", map[string]int{"c-observed": 0, "c-estimated": 1}, func(*seams.RecordError) {})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := bounds(got), bounds(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%v: bounds %v, want %v", format, g, w)
		}
	}
	_, b := run(t, Options{Format: STIX, From: dir, Org: "Hotline Example"})
	if bytes.Contains(b, []byte("x_seams_drift")) {
		t.Error("without --indicators, a drift bound was exported from the evidence")
	}
}
