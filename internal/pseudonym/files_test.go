package pseudonym

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/mmdbcsv"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/stix"
)

func collect(rs *[]seams.RecordError) func(*seams.RecordError) {
	return func(e *seams.RecordError) { *rs = append(*rs, *e) }
}

// TestRewriteIndicators: every row is written mapped or rejected with its
// file and line; values map as their kind says; the reverse gives the rows
// back.
func TestRewriteIndicators(t *testing.T) {
	k := testKey(t, 5)
	text := "compound,kind,value,first_seen,last_seen,confidence,source\n" +
		"c-a,ip,203.0.113.7,2024-01-01,2024-06-30,high,partner-a\n" +
		"c-a,cidr,198.51.100.0/24,,,0.5,partner-b\n" +
		"c-a,cidr,2001:db8:1::/48,,,,\n" +
		"c-a,device,IMEI:358240051111110,,,,\n" +
		"c-a,asn,AS64500,,,,\n" +
		"c-a,ip,10.1.2.3,,,,\n" + // private: rejected
		"c-z,ip,203.0.113.8,,,,\n" // unknown compound: rejected
	known := map[string]int{"c-a": 0}
	var rejected []seams.RecordError
	var out bytes.Buffer
	c, err := RewriteIndicators(NewPseudonymizer(k), registryfile.CSV, strings.NewReader(text), "inds.csv", known, &out, registry.Reject(collect(&rejected)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Records != 7 || c.Written != 5 || c.Rejected != 2 || len(rejected) != 2 {
		t.Fatalf("counts %+v, %d rejections; want 7 read, 5 written, 2 rejected", c, len(rejected))
	}
	for i, line := range []int{7, 8} {
		if rejected[i].File != "inds.csv" || rejected[i].Line != line {
			t.Errorf("rejection %d at %s:%d, want inds.csv:%d", i, rejected[i].File, rejected[i].Line, line)
		}
	}
	got, err := registry.ReadIndicators(bytes.NewReader(out.Bytes()), "out.csv", known, nil)
	if err != nil || len(got) != 5 {
		t.Fatalf("read back: %v, %d indicators", err, len(got))
	}
	clear, _ := registry.ReadIndicators(strings.NewReader(text), "inds.csv", known, nil)
	for i := range got {
		p, q := got[i], clear[i]
		if p.Kind != q.Kind || p.Window != q.Window || p.Confidence != q.Confidence || p.Source != q.Source {
			t.Errorf("row %d: %+v does not keep what %+v says besides its value", i, p, q)
		}
		if (p.Value == q.Value) != (p.Kind == seams.KindASN) {
			t.Errorf("row %d: value %q of %q: only an asn keeps its value", i, p.Value, q.Value)
		}
	}
	if got[1].Prefix.Bits() != 24 || got[2].Prefix.Bits() != 48 || got[3].Device.Type != "imei" {
		t.Errorf("prefix lengths or device type not kept: %v %v %v", got[1].Prefix, got[2].Prefix, got[3].Device)
	}

	// Back: the reverse, with the device learned, gives the clear rows.
	rv := NewReverser(k)
	rv.LearnDevice(clear[3].Device)
	var back bytes.Buffer
	if _, err := RewriteIndicators(rv, registryfile.CSV, bytes.NewReader(out.Bytes()), "out.csv", known, &back, nil); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	registry.WriteIndicators(&want, clear)
	if back.String() != want.String() {
		t.Errorf("reversed:\n%s\nwant:\n%s", back.String(), want.String())
	}
}

// TestRewriteIndicatorsDrift: drift bounds are kept, through the CSV and
// through a bundle; a file without a drift column is written without one.
func TestRewriteIndicatorsDrift(t *testing.T) {
	k := testKey(t, 5)
	known := map[string]int{"c-a": 0}
	text := "compound,kind,value,drift\nc-a,ip,203.0.113.7,0\nc-a,ip,203.0.113.8,\nc-a,cidr,198.51.100.0/24,7d\n"
	clear, err := registry.ReadIndicators(strings.NewReader(text), "inds.csv", known, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := stix.WriteBundle(&bundle, &stix.Export{Org: "Hotline Example", Time: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC), Compounds: []seams.Compound{{ID: "c-a", Name: "A"}}, Indicators: clear}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    registryfile.Format
		in   string
	}{{"csv", registryfile.CSV, text}, {"csv with a BOM", registryfile.CSV, "\uFEFF" + text}, {"stix", registryfile.STIX, bundle.String()}} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := RewriteIndicators(NewPseudonymizer(k), tc.f, strings.NewReader(tc.in), "inds", known, &out, nil); err != nil {
				t.Fatal(err)
			}
			got, err := registry.ReadIndicators(bytes.NewReader(out.Bytes()), "out.csv", known, nil)
			if err != nil || len(got) != len(clear) {
				t.Fatalf("read back: %v, %d indicators\n%s", err, len(got), out.String())
			}
			for i := range got {
				if got[i].HasDrift != clear[i].HasDrift || got[i].Drift != clear[i].Drift {
					t.Errorf("row %d: drift %v,%v, want %v,%v", i, got[i].HasDrift, got[i].Drift, clear[i].HasDrift, clear[i].Drift)
				}
			}
		})
	}
	var out bytes.Buffer
	if _, err := RewriteIndicators(NewPseudonymizer(k), registryfile.CSV, strings.NewReader("compound,kind,value\nc-a,ip,203.0.113.7\n"), "inds.csv", known, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "compound,kind,value,first_seen,last_seen,confidence,source\n") {
		t.Errorf("without bounds, written:\n%s", out.String())
	}
}

// TestRewriteIndicatorsSTIX reads a STIX bundle; a bundle that brings
// compounds the compounds file lacks is refused.
func TestRewriteIndicatorsSTIX(t *testing.T) {
	b, err := os.ReadFile("../../stix/testdata/small.bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	p := NewPseudonymizer(testKey(t, 5))
	_, err = RewriteIndicators(p, registryfile.STIX, bytes.NewReader(b), "b.json", map[string]int{}, &bytes.Buffer{}, func(*seams.RecordError) {})
	if err == nil || !strings.Contains(err.Error(), "compounds file lacks") {
		t.Fatalf("a bundle with compounds unknown: %v", err)
	}
	_, inds, err := registryfile.ReadIndicators(registryfile.STIX, bytes.NewReader(b), "b.json", map[string]int{}, nil)
	if err != nil || len(inds) == 0 {
		t.Fatalf("reading the bundle: %v, %d", err, len(inds))
	}
	known := map[string]int{}
	for _, in := range inds {
		known[in.Compound] = 0
	}
	var out bytes.Buffer
	c, err := RewriteIndicators(p, registryfile.STIX, bytes.NewReader(b), "b.json", known, &out, func(*seams.RecordError) {})
	if err != nil || c.Written != len(inds) {
		t.Fatalf("%v: %+v, want %d written", err, c, len(inds))
	}
	got, err := registry.ReadIndicators(bytes.NewReader(out.Bytes()), "out.csv", known, nil)
	if err != nil || len(got) != len(inds) {
		t.Fatalf("read back: %v, %d", err, len(got))
	}
}

func TestRewriteShared(t *testing.T) {
	k := testKey(t, 6)
	text := "# comment\n203.0.113.96/27\n198.51.100.9 # one address\n100.64.0.0/10\nnot-a-prefix\n"
	var rejected []seams.RecordError
	var out bytes.Buffer
	c, err := RewriteShared(NewPseudonymizer(k), registryfile.CSV, strings.NewReader(text), "shared.txt", &out, registry.Reject(collect(&rejected)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Written != 3 || len(rejected) != 1 || rejected[0].Line != 5 {
		t.Fatalf("counts %+v, rejections %+v", c, rejected)
	}
	lines := strings.Fields(out.String())
	if len(lines) != 3 || lines[2] != "100.64.0.0/10" || strings.HasSuffix(lines[0], "/27") == false || lines[0] == "203.0.113.96/27" {
		t.Fatalf("written %q: want a pseudonymised /27, a /32 and carrier NAT as itself", lines)
	}
	wl, err := os.ReadFile("../../misp/testdata/warninglist-string.json")
	if err != nil {
		t.Fatal(err)
	}
	rejected = nil
	out.Reset()
	c, err = RewriteShared(NewPseudonymizer(k), registryfile.Warninglist, bytes.NewReader(wl), "wl.json", &out, registry.Reject(collect(&rejected)))
	if err != nil {
		t.Fatal(err)
	}
	asns := 0
	for _, r := range rejected {
		if strings.Contains(r.Reason, "--shared-asn") {
			asns++
		}
	}
	if c.Written == 0 || asns == 0 {
		t.Fatalf("warninglist: %+v, rejections %+v: want prefixes written and ASes rejected with a hint", c, rejected)
	}
}

// TestRewriteReports: reports of any format come out as JSON Lines,
// mapped; a rejected record or part is handed out, not written; the

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readReports(t *testing.T, path string) []seams.Report {
	t.Helper()
	rd, err := reportfile.Open(path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []seams.Report
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		if rec.Whole == nil {
			out = append(out, rec.Report.Clone())
		}
	}
	return out
}

// TestRewriteFindingsCapped: a capped value that is not of its kind is an
// error, not passed through.
func TestRewriteFindingsCapped(t *testing.T) {
	line := `{"report":"r-1","compound":"c-a","tier":"potential","evidence":[{"rule":"ip","indicator":{"kind":"ip","value":"203.0.113.7"},"observed":{"ip":"203.0.113.7","at":"2024-05-01T00:00:00Z"}}],"capped":[{"kind":"ip","value":"%s","reports":9,"limit":5}]}` + "\n"
	p := NewPseudonymizer(testKey(t, 8))
	var out bytes.Buffer
	if _, err := RewriteFindings(p, strings.NewReader(fmt.Sprintf(line, "203.0.113.7")), "f.jsonl", &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "203.0.113.7") {
		t.Fatalf("a clear address is left: %s", out.String())
	}
	_, err := RewriteFindings(p, strings.NewReader(fmt.Sprintf(line, "somewhere")), "f.jsonl", &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "f.jsonl: finding 1") {
		t.Fatalf("a capped value that is no address: %v", err)
	}
	// Findings share one indicator among lines: each is mapped once.
	two := fmt.Sprintf(line, "203.0.113.7") + fmt.Sprintf(line, "203.0.113.7")
	out.Reset()
	if _, err := RewriteFindings(p, strings.NewReader(two), "f.jsonl", &out); err != nil {
		t.Fatal(err)
	}
	var values []string
	jsonl.ReadFindings(bytes.NewReader(out.Bytes()), "out", func(f *seams.Finding) error {
		values = append(values, f.Evidence[0].Indicator.Value)
		return nil
	})
	if len(values) != 2 || values[0] != values[1] || values[0] != p.Addr(netip.MustParseAddr("203.0.113.7")).String() {
		t.Fatalf("indicator values %q", values)
	}
}

// TestRewriteMMDB: a lookup of an address's pseudonym in the rewritten
// database finds what a lookup of the address finds in the original, for
// addresses at the edges and inside every network; the reverse rewrite
// gives the original's lookups back.
func TestRewriteMMDB(t *testing.T) {
	k := testKey(t, 9)
	for _, name := range []string{"sea-asn.mmdb", "sea-city.mmdb", "doc-asn.mmdb"} {
		path := "../../mmdb/testdata/" + name
		dir := t.TempDir()
		p := filepath.Join(dir, "p.mmdb")
		writeDB(t, p, func(f *os.File) (Counts, error) { return RewriteMMDB(NewPseudonymizer(k), path, f) })
		back := filepath.Join(dir, "back.mmdb")
		writeDB(t, back, func(f *os.File) (Counts, error) { return RewriteMMDB(NewReverser(k), p, f) })
		orig, pdb, bdb := openDB(t, path), openDB(t, p), openDB(t, back)
		if !reflect.DeepEqual(orig.Metadata.DatabaseType, pdb.Metadata.DatabaseType) || orig.Metadata.BuildEpoch != pdb.Metadata.BuildEpoch {
			t.Errorf("%s: metadata not kept: %+v, %+v", name, orig.Metadata, pdb.Metadata)
		}
		pz := NewPseudonymizer(k)
		n := 0
		for res := range orig.Networks() {
			pre := res.Prefix()
			for _, a := range []netip.Addr{pre.Addr(), lastAddr(pre)} {
				want := lookup(t, orig, a)
				if got := lookup(t, pdb, pz.Addr(a)); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: %s: pseudonym %s finds %v, want %v", name, a, pz.Addr(a), got, want)
				}
				if got := lookup(t, bdb, a); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: %s in the reversed database: %v, want %v", name, a, got, want)
				}
				n++
			}
		}
		if n < 10 {
			t.Fatalf("%s: only %d lookups", name, n)
		}
	}
}

func writeDB(t *testing.T, path string, fill func(*os.File) (Counts, error)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fill(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Records == 0 || c.Written != c.Records {
		t.Fatalf("%+v", c)
	}
	f.Close()
}

func openDB(t *testing.T, path string) *maxminddb.Reader {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func lookup(t *testing.T, db *maxminddb.Reader, a netip.Addr) any {
	t.Helper()
	var v any
	if err := db.Lookup(a).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzRewriteReport: any report line that parses is written pseudonymised
// as a line that parses, with the same shape, and reverses to the report.
func FuzzRewriteReport(f *testing.F) {
	f.Add([]byte(`{"id":"r-1","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":true},{"ip":"10.0.0.1"},{"ip":"2001:db8::1"},{"ip":"::ffff:100.64.0.1"}],"devices":[{"type":"IMEI","value":"358240051111110"},{"type":"a:b","value":"c"}]}`))
	f.Add([]byte(`{"id":"x","ips":[{"ip":"fe80::1"},{"ip":"2002::1"},{"ip":"224.0.0.1"}]}`))
	k := testKey(f, 10)
	f.Fuzz(func(t *testing.T, line []byte) {
		var p jsonl.Parser
		var r seams.Report
		if p.Parse(line, &r) != nil {
			return
		}
		clear := r.Clone()
		pz, rv := NewPseudonymizer(k), NewReverser(k)
		for _, d := range clear.Devices {
			rv.LearnDevice(d.ID)
		}
		var c Counts
		c.Report(pz, &r)
		out := jsonl.AppendReport(nil, &r)
		var p2 jsonl.Parser
		var back seams.Report
		if err := p2.Parse(out, &back); err != nil || len(p2.Problems) > 0 {
			t.Fatalf("%s\npseudonymised as %s\ndoes not read back: %v %v", line, out, err, p2.Problems)
		}
		if len(back.IPs) != len(clear.IPs) || len(back.Devices) != len(clear.Devices) || back.ID != clear.ID {
			t.Fatalf("%s\npseudonymised as %s: another shape", line, out)
		}
		for i := range back.IPs {
			if seams.NonRoutable(back.IPs[i].Addr) != seams.NonRoutable(clear.IPs[i].Addr) {
				t.Fatalf("%s: event %d: %s and its pseudonym %s differ in routability", line, i, clear.IPs[i].Addr, back.IPs[i].Addr)
			}
		}
		c.Report(rv, &back)
		if !back.Equal(&clear) {
			t.Fatalf("%s\nreversed as %+v, want %+v", line, back, clear)
		}
	})
}

// TestRewriteSetRefusesClashes: two inputs with one output name fail
// before anything is written.
func TestRewriteSetRefusesClashes(t *testing.T) {
	dir := t.TempDir()
	_, err := Rewrite(context.Background(), NewPseudonymizer(testKey(t, 1)), Inputs{
		Reports: []string{"../../testdata/partners/reports.jsonl", "../../testdata/partners/reports.csv"}}, dir, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "both be written") {
		t.Fatalf("err %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("wrote %d files", len(ents))
	}
}

// TestRewriteMMDBAliases: a network whose pseudonym lands in Teredo or
// 6to4 space, which databases alias to their IPv4 data, is found there in
// the rewritten database, not an IPv4 record; a 6to4 address of a report
// finds nothing (docs/pseudonymize.md says so).
func TestRewriteMMDBAliases(t *testing.T) {
	k := testKey(t, 12)
	rv, pz := NewReverser(k), NewPseudonymizer(k)
	teredo := rv.Prefix(netip.MustParsePrefix("2001:0:abcd::/48"))
	sixto4 := rv.Prefix(netip.MustParsePrefix("2002:1234::/32"))
	v4 := netip.MustParsePrefix("198.51.100.0/24")
	csv := "network,asn,org\n" + teredo.String() + ",64501,Teredo-bound\n" + sixto4.String() + ",64502,6to4-bound\n" + v4.String() + ",64503,IPv4 net\n"
	dir := t.TempDir()
	orig := filepath.Join(dir, "o.mmdb")
	f, err := os.Create(orig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mmdbcsv.Build(f, []mmdbcsv.Input{{Name: "n.csv", R: strings.NewReader(csv)}},
		mmdbcsv.Options{DatabaseType: "test-ASN", BuildEpoch: 1700000000, IncludeReserved: true}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := filepath.Join(dir, "p.mmdb")
	writeDB(t, p, func(f *os.File) (Counts, error) { return RewriteMMDB(pz, orig, f) })
	odb, pdb := openDB(t, orig), openDB(t, p)
	for _, a := range []netip.Addr{teredo.Addr().Next(), sixto4.Addr().Next(), netip.MustParseAddr("198.51.100.77")} {
		want := lookup(t, odb, a)
		if want == nil {
			t.Fatalf("test bug: %s not in the original", a)
		}
		if got := lookup(t, pdb, pz.Addr(a)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: pseudonym %s finds %v, want %v", a, pz.Addr(a), got, want)
		}
	}
	// 2002:c633:644d:: embeds 198.51.100.77: the original answers with that
	// address's record, through its alias; the pseudonym finds nothing.
	sixto4Client := netip.MustParseAddr("2002:c633:644d::1")
	if lookup(t, odb, sixto4Client) == nil {
		t.Fatal("test bug: the original database has no 6to4 alias")
	}
	if got := lookup(t, pdb, pz.Addr(sixto4Client)); got != nil {
		t.Errorf("the pseudonym of a 6to4 address finds %v", got)
	}
}
