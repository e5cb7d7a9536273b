package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// A hand-made reports file in documentation ranges, with one line of each
// case enrich meets. Line numbers matter: rejections name them.
var enrichReports = []string{
	`{"id":"r-1","ips":[{"ip":"192.0.2.7","at":"2024-05-01T22:14:03Z","event":"login"}, {"ip":"198.51.100.200","at":"2024-05-02T00:00:00Z","proxy":true}],"devices":[{"type":"imei","value":"1"}]}`,
	``,
	`{"id":"r-2","ips":[{"ip":"N/A","at":"2024-05-01T22:14:03Z"},{"ip":"10.0.0.1","at":"2024-05-01T22:14:03Z"},{"ip":"2001:db8::5","at":"2024-05-03T01:00:00Z","asn":1,"country":"ZZ"},{"ip":"203.0.113.200"}]}`,
	`not json`,
	`{"id":"r-3","ips":"oops"}`,
	`{"report":"r-9","compound":"c-1","evidence":[]}`,
	`{"id":"r-4","ips":[{"at":"2024-05-01T22:14:03Z"}],"ips2":[{"ip":"192.0.2.1"}]}`,
}

// What enrich must write for each line.
var enrichWant = []string{
	`{"id":"r-1","ips":[{"ip":"192.0.2.7","at":"2024-05-01T22:14:03Z","event":"login","asn":64496,"as_org":"Example Fixed Line (synthetic)","country":"KH","city":"Phnom Penh"}, {"ip":"198.51.100.200","at":"2024-05-02T00:00:00Z","proxy":true,"asn":64498,"as_org":"Example Satellite (synthetic)","country":"MM","city":"Myawaddy"}],"devices":[{"type":"imei","value":"1"}]}`,
	``,
	`{"id":"r-2","ips":[{"ip":"N/A","at":"2024-05-01T22:14:03Z"},{"ip":"10.0.0.1","at":"2024-05-01T22:14:03Z"},{"ip":"2001:db8::5","at":"2024-05-03T01:00:00Z","asn":64497,"as_org":"Example Mobile (synthetic)","country":"TH","city":"Mae Sot"},{"ip":"203.0.113.200","asn":64499,"as_org":"Example Hosting (synthetic)"}]}`,
	`not json`,
	`{"id":"r-3","ips":"oops"}`,
	`{"report":"r-9","compound":"c-1","evidence":[]}`,
	`{"id":"r-4","ips":[{"at":"2024-05-01T22:14:03Z"}],"ips2":[{"ip":"192.0.2.1"}]}`,
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnrichReports(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "reports.jsonl", strings.Join(enrichReports, "\n")+"\n")
	out := filepath.Join(dir, "out.jsonl")
	rej := filepath.Join(dir, "rejected.jsonl")
	code, stdout, stderr := run(t, "", "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", in, "--out", out, "--rejected", rej)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := strings.Split(readFile(t, out), "\n")
	if len(got) != len(enrichWant)+1 || got[len(got)-1] != "" {
		t.Fatalf("%d lines out for %d in:\n%s", len(got)-1, len(enrichWant), strings.Join(got, "\n"))
	}
	for i, w := range enrichWant {
		if got[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], w)
		}
	}
	wantRejected := []string{
		`"line":3,"item":"ips[0]","reason":"invalid IP address \"N/A\""`,
		`"line":4,"item":"","reason":"not a JSON object: invalid character 'o' in literal null (expecting 'u')"`,
		`"line":5,"item":"ips","reason":"not an array"`,
		`"line":6,"item":"","reason":"a finding line in a reports file"`,
		`"line":7,"item":"ips[0]","reason":"missing ip"`,
	}
	rejLines := strings.Split(strings.TrimSpace(readFile(t, rej)), "\n")
	if len(rejLines) != len(wantRejected) {
		t.Fatalf("rejected:\n%s", strings.Join(rejLines, "\n"))
	}
	for i, w := range wantRejected {
		if !strings.Contains(rejLines[i], w) || !strings.Contains(rejLines[i], `"file":"`+in+`"`) {
			t.Errorf("rejected line %d: %s lacks %s", i+1, rejLines[i], w)
		}
	}
	for _, w := range []string{
		"enriched " + in + " (reports): 4 records, 5 addresses: 4 with an ASN, 3 with a country, 3 with a city; 5 rejected",
		"asn database: " + docASN + " (seams-test-synthetic-ASN, built 2026-01-01)",
		"wrote " + out,
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stderr, "rejected "+in+":3: ips[0]: invalid IP address") {
		t.Errorf("stderr: %s", stderr)
	}

	// Enriching the output again changes nothing.
	again := filepath.Join(dir, "again.jsonl")
	if code, _, stderr := run(t, "", "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", out, "--out", again); code != 0 {
		t.Fatalf("again: exit %d: %s", code, stderr)
	}
	if readFile(t, again) != readFile(t, out) {
		t.Errorf("enriching twice differs from once")
	}
}

func TestEnrichFindings(t *testing.T) {
	in := strings.Join([]string{
		`{"report":"r-1","compound":"c-1","tier":"tied","evidence":[{"rule":"ip","indicator":{"kind":"ip","value":"192.0.2.7"},"observed":{"ip":"192.0.2.7","at":"2024-05-01T22:14:03Z"},"shared":"192.0.2.0/24"},{"rule":"device","indicator":{"kind":"device","value":"imei:1"},"observed":{"device":"imei:1"}}]}`,
		`{"report":"r-2","compound":"c-1","tier":"potential","evidence":[{"rule":"cidr","indicator":{"kind":"cidr","value":"198.51.100.0/24"},"observed":{"ip":"198.51.100.9","at":"2024-05-01T22:14:03Z","proxy":true}}]}`,
		`{"id":"r-3","ips":[]}`,
	}, "\n") + "\n"
	want := strings.Join([]string{
		`{"report":"r-1","compound":"c-1","tier":"tied","evidence":[{"rule":"ip","indicator":{"kind":"ip","value":"192.0.2.7"},"observed":{"ip":"192.0.2.7","at":"2024-05-01T22:14:03Z","asn":64496,"as_org":"Example Fixed Line (synthetic)","country":"KH","city":"Phnom Penh"},"shared":"192.0.2.0/24"},{"rule":"device","indicator":{"kind":"device","value":"imei:1"},"observed":{"device":"imei:1"}}]}`,
		`{"report":"r-2","compound":"c-1","tier":"potential","evidence":[{"rule":"cidr","indicator":{"kind":"cidr","value":"198.51.100.0/24"},"observed":{"ip":"198.51.100.9","at":"2024-05-01T22:14:03Z","proxy":true,"asn":64497,"as_org":"Example Mobile (synthetic)","country":"MM","city":"Myawaddy"}}]}`,
		`{"id":"r-3","ips":[]}`,
	}, "\n") + "\n"
	// Standard input to standard output: the summary goes to stderr.
	code, stdout, stderr := run(t, in, "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", "-", "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != want {
		t.Errorf("got:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.Contains(stderr, "enriched - (findings): 2 records, 2 addresses: 2 with an ASN") || !strings.Contains(stderr, "-:3: a report line in a findings file") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestEnrichKindForced(t *testing.T) {
	// Forced to findings, a reports file is all rejected and copied as it is.
	in := enrichReports[0] + "\n"
	code, stdout, stderr := run(t, in, "enrich", "--kind", "findings", "--asn-db", docASN, "--in", "-", "--out", "-")
	if code != 0 || stdout != in || !strings.Contains(stderr, "a report line in a findings file") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestEnrichGzip(t *testing.T) {
	dir := t.TempDir()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, enrichReports[0]+"\n")
	zw.Close()
	in := writeFile(t, dir, "r.jsonl.gz", zb.String())
	out := filepath.Join(dir, "o.jsonl.gz")
	if code, _, stderr := run(t, "", "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", in, "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != enrichWant[0]+"\n" {
		t.Errorf("got %s", b)
	}
}

// TestEnrichZstdStdin: zstd data on standard input, and gzip data under a
// name that does not say so, are decompressed.
func TestEnrichZstdStdin(t *testing.T) {
	zw, _ := zstd.NewWriter(nil)
	in := zw.EncodeAll([]byte(enrichReports[0]+"\n"), nil)
	code, stdout, stderr := run(t, string(in), "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", "-", "--out", "-")
	if code != 0 || stdout != enrichWant[0]+"\n" {
		t.Errorf("zstd on stdin: exit %d\n%s%s", code, stdout, stderr)
	}
	var zb bytes.Buffer
	gw := gzip.NewWriter(&zb)
	io.WriteString(gw, enrichReports[0]+"\n")
	gw.Close()
	p := writeFile(t, t.TempDir(), "reports.jsonl", zb.String())
	code, stdout, stderr = run(t, "", "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--in", p, "--out", "-")
	if code != 0 || stdout != enrichWant[0]+"\n" {
		t.Errorf("gzip under a plain name: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestEnrichLongLineAndBOM(t *testing.T) {
	long := `{"id":"r-long","ips":[{"ip":"192.0.2.7","pad":"` + strings.Repeat("x", 3000) + `"}]}`
	in := "\xEF\xBB\xBF" + enrichReports[0] + "\n" + long + "\n" + enrichReports[0]
	code, stdout, stderr := run(t, in, "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--max-line", "2048", "--in", "-", "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "\xEF\xBB\xBF" + enrichWant[0] + "\n" + long + "\n" + enrichWant[0]
	if stdout != want {
		t.Errorf("got:\n%q\nwant:\n%q", stdout, want)
	}
	if !strings.Contains(stderr, "-:2: line longer than") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestEnrichLineLimits: --max-line bounds report lines; a findings line
// longer than it is read (up to the limit of every reader of findings),
// whether the kind is given or found from the first line; a first line
// over --max-line that is a report is still rejected as long.
func TestEnrichLineLimits(t *testing.T) {
	pad := strings.Repeat("x", 3000)
	finding := `{"report":"r-1","compound":"c-1","tier":"tied","evidence":[{"rule":"ip","indicator":{"kind":"ip","value":"192.0.2.7","source":"` + pad + `"},"observed":{"ip":"192.0.2.7"}}]}`
	wantFinding := `{"report":"r-1","compound":"c-1","tier":"tied","evidence":[{"rule":"ip","indicator":{"kind":"ip","value":"192.0.2.7","source":"` + pad + `"},"observed":{"ip":"192.0.2.7","asn":64496,"as_org":"Example Fixed Line (synthetic)","country":"KH","city":"Phnom Penh"}}]}`
	for _, kind := range []string{"", "findings"} {
		args := []string{"enrich", "--asn-db", docASN, "--geo-db", docGeo, "--max-line", "2048", "--in", "-", "--out", "-"}
		if kind != "" {
			args = append(args, "--kind", kind)
		}
		code, stdout, stderr := run(t, "\xEF\xBB\xBF"+finding+"\n"+finding+"\n", args...)
		if code != 0 || stdout != "\xEF\xBB\xBF"+wantFinding+"\n"+wantFinding+"\n" || !strings.Contains(stderr, "2 records") || !strings.Contains(stderr, "0 rejected") {
			t.Errorf("long findings lines (--kind %q): exit %d\n%s\n%s", kind, code, stdout, stderr)
		}
	}
	long := `{"id":"r-long","ips":[{"ip":"192.0.2.7","pad":"` + pad + `"}]}`
	in := long + "\n" + enrichReports[0] + "\n"
	code, stdout, stderr := run(t, in, "enrich", "--asn-db", docASN, "--geo-db", docGeo, "--max-line", "2048", "--in", "-", "--out", "-")
	if code != 0 || stdout != long+"\n"+enrichWant[0]+"\n" || !strings.Contains(stderr, "-:1: line longer than 2048 bytes") {
		t.Errorf("a long first report line: exit %d\n%q\n%s", code, stdout, stderr)
	}
}

func TestEnrichErrors(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "r.jsonl", enrichReports[0]+"\n")
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing --in", []string{"enrich", "--asn-db", docASN, "--out", "-"}, 2, "missing --in\nTry: seams help enrich"},
		{"missing --out", []string{"enrich", "--asn-db", docASN, "--in", in}, 2, "missing --out"},
		{"no database", []string{"enrich", "--in", in, "--out", "-"}, 2, "--asn-db: give at least one ASN or location database"},
		{"same file", []string{"enrich", "--asn-db", docASN, "--in", in, "--out", in}, 2, "--out: " + in + " is the input too"},
		{"bad kind", []string{"enrich", "--asn-db", docASN, "--kind", "stix", "--in", in, "--out", "-"}, 2, `--kind: "stix" (want reports or findings)`},
		{"small max-line", []string{"enrich", "--asn-db", docASN, "--max-line", "10", "--in", in, "--out", "-"}, 2, "too small"},
		{"stray argument", []string{"enrich", "--asn-db", docASN, "--in", in, "--out", "-", "extra"}, 2, `unexpected argument "extra"`},
		{"missing input", []string{"enrich", "--asn-db", docASN, "--in", filepath.Join(dir, "nope.jsonl"), "--out", "-"}, 1, "nope.jsonl"},
		{"bad gzip", []string{"enrich", "--asn-db", docASN, "--in", writeFile(t, dir, "x.gz", "plain"), "--out", "-"}, 1, "x.gz"},
		{"output folder missing", []string{"enrich", "--asn-db", docASN, "--in", in, "--out", filepath.Join(dir, "no", "o.jsonl")}, 1, "o.jsonl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, "", c.args...)
			if code != c.code || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Error("a failed run created the output folder")
	}
}
