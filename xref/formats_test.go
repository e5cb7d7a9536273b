package xref

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/csvreport"
	"github.com/seams-dev/seams/reportfile"
)

// TestFormatsAgree runs the hand-made data set with its reports written as
// JSON Lines (the files of testdata/small), as CyberTipline XML and as CSV,
// and expects byte-identical findings and the same summary counts: the same
// reports, events, devices, tiers and rejections whatever the format.
//
// The XML and CSV files are generated from the JSON Lines here, one record
// for each line, carrying every value as written, so that a value the JSON
// reader rejects is rejected by the others too: a string where a number is
// wanted is written with its quotes, a line that is not JSON becomes a
// broken <report> or a row without a report_id.
func TestFormatsAgree(t *testing.T) {
	jsonlFiles := []string{small + "reports.jsonl", small + "reports2.jsonl"}
	var recs [][]srcRecord
	for _, f := range jsonlFiles {
		recs = append(recs, readSource(t, f))
	}
	dir := t.TempDir()

	base := smallOptions(t)
	want := runFormat(t, base)
	var spilled []*csvreport.Reader
	spillDir := t.TempDir()

	cases := []struct {
		name    string
		reports []string
		hook    func(reportfile.Format, io.Reader, string, reportfile.ReaderOptions) (seams.ReportReader, error)
	}{
		{name: "cybertip", reports: writeXMLFiles(t, dir, "xml", recs, ".xml")},
		{name: "cybertip sniffed", reports: writeXMLFiles(t, dir, "xml-sniffed", recs, "")},
		{name: "csv", reports: writeCSVFiles(t, dir, "csv", recs, ".csv")},
		{name: "csv sniffed", reports: writeCSVFiles(t, dir, "csv-sniffed", recs, "")},
		{name: "csv spilled", reports: writeCSVFiles(t, dir, "csv-spilled", recs, ".csv"),
			// A memory budget of one byte spills every row: the external
			// sort must give what the in-memory grouping gives.
			hook: func(f reportfile.Format, r io.Reader, file string, o reportfile.ReaderOptions) (seams.ReportReader, error) {
				o.CSV.Memory, o.CSV.TempDir = 1, spillDir
				rd, err := reportfile.NewReaderOptions(f, r, file, o)
				if c, ok := rd.(*csvreport.Reader); ok {
					spilled = append(spilled, c)
				}
				return rd, err
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.hook != nil {
				orig := newReportReader
				t.Cleanup(func() { newReportReader = orig })
				newReportReader = c.hook
			}
			o := smallOptions(t)
			o.Reports = c.reports
			got := runFormat(t, o)
			if !bytes.Equal(got.findings, want.findings) {
				t.Errorf("findings.jsonl differs from the JSON Lines run\ngot:\n%s\nwant:\n%s", got.findings, want.findings)
			}
			if !reflect.DeepEqual(got.counts, want.counts) {
				t.Errorf("summary counts differ:\ngot  %+v\nwant %+v", got.counts, want.counts)
			}
			if got.rejected != want.rejected {
				t.Errorf("rejected.jsonl has %d lines, want %d", got.rejected, want.rejected)
			}
			if got.inputs != want.inputs {
				t.Errorf("report inputs: got %+v, want %+v", got.inputs, want.inputs)
			}
			if c.hook != nil {
				if len(spilled) != len(c.reports) {
					t.Fatalf("%d CSV readers made, want %d", len(spilled), len(c.reports))
				}
				for _, rd := range spilled {
					if rd.Stats().Runs == 0 {
						t.Errorf("a CSV reader did not spill: %+v", rd.Stats())
					}
				}
				if left, _ := os.ReadDir(spillDir); len(left) > 0 {
					t.Errorf("spill files left behind: %v", left)
				}
			}
		})
	}
}

// formatRun is what is compared between formats.
type formatRun struct {
	findings []byte
	counts   seams.Summary // without Inputs, which name the files
	inputs   seams.InputCount
	rejected int
}

func runFormat(t *testing.T, o Options) formatRun {
	t.Helper()
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var fr formatRun
	fr.findings = readFile(t, filepath.Join(o.Out, FindingsFile))
	fr.rejected = bytes.Count(readFile(t, filepath.Join(o.Out, RejectedFile)), []byte("\n"))
	for _, in := range s.Inputs {
		if in.Kind == "reports" {
			fr.inputs.Records += in.Records
			fr.inputs.Rejected += in.Rejected
			fr.inputs.PartsRejected += in.PartsRejected
		}
	}
	fr.counts = *s
	fr.counts.Inputs = nil
	if fr.counts.Reports == 0 || fr.counts.Findings == 0 {
		t.Fatalf("the run found nothing: %+v", fr.counts)
	}
	return fr
}

// srcRecord is one line of a JSON Lines report file, as written.
type srcRecord struct {
	bad      bool // not a JSON object, or no string id: a record rejected whole
	id       string
	received string // "" when absent
	incident string
	ips      []map[string]string
	devices  []map[string]string
}

// readSource reads the non-blank lines of a JSON Lines file as srcRecords.
func readSource(t *testing.T, path string) []srcRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []srcRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(line, &obj) != nil {
			out = append(out, srcRecord{bad: true})
			continue
		}
		var id string
		if json.Unmarshal(obj["id"], &id) != nil || id == "" {
			out = append(out, srcRecord{bad: true})
			continue
		}
		r := srcRecord{id: id, received: text(obj["received"]), incident: text(obj["incident"])}
		r.ips = objects(t, obj["ips"])
		r.devices = objects(t, obj["devices"])
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// text is a JSON value as the other formats carry it: a string's value, or
// for anything else its JSON text (so "443" stays quoted, and invalid where
// a number is wanted).
func text(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func objects(t *testing.T, raw json.RawMessage) []map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("the generator handles arrays of objects only: %s", raw)
	}
	out := make([]map[string]string, len(list))
	for i, o := range list {
		out[i] = map[string]string{}
		for k, v := range o {
			out[i][k] = text(v)
			if k == "port" && len(v) > 0 && v[0] == '"' {
				out[i][k] = string(v) // a port given as a string is an error
			}
		}
	}
	return out
}

// writeXMLFiles writes each source file as one CyberTipline XML stream.
func writeXMLFiles(t *testing.T, dir, name string, files [][]srcRecord, ext string) []string {
	var paths []string
	for i, recs := range files {
		var b bytes.Buffer
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reports>\n")
		for _, r := range recs {
			writeXMLReport(&b, r)
		}
		b.WriteString("</reports>\n")
		paths = append(paths, writeTemp(t, dir, name, i, ext, b.Bytes()))
	}
	return paths
}

func writeXMLReport(b *bytes.Buffer, r srcRecord) {
	el := func(indent, name, v string) {
		b.WriteString(indent + "<" + name + ">")
		xml.EscapeText(b, []byte(v))
		b.WriteString("</" + name + ">\n")
	}
	if r.bad {
		// An element closed by the wrong end tag: the reader rejects the
		// report and resumes at the next one.
		b.WriteString("  <report>\n    <reportId>broken</reportId>\n    <incidentSummary>\n  </report>\n")
		return
	}
	b.WriteString("  <report>\n")
	el("    ", "reportId", r.id)
	if r.incident != "" || r.received != "" {
		b.WriteString("    <incidentSummary>\n")
		switch r.incident {
		case "":
		case "sextortion": // the annotation gives the same incident string
			b.WriteString("      <reportAnnotations><sextortion>true</sextortion></reportAnnotations>\n")
		default:
			el("      ", "incidentType", r.incident)
		}
		if r.received != "" {
			el("      ", "incidentDateTime", r.received)
		}
		b.WriteString("    </incidentSummary>\n")
	}
	if len(r.ips)+len(r.devices) > 0 {
		b.WriteString("    <personOrUserReported>\n")
		for _, e := range r.ips {
			b.WriteString("      <ipCaptureEvent>\n")
			for _, f := range [][2]string{{"ip", "ipAddress"}, {"event", "eventName"}, {"at", "dateTime"}, {"proxy", "possibleProxy"}, {"port", "port"}} {
				if v, ok := e[f[0]]; ok && v != "" {
					if f[0] == "event" {
						v = strings.ToUpper(v[:1]) + v[1:] // login -> Login, as the schema spells it
					}
					el("        ", f[1], v)
				}
			}
			b.WriteString("      </ipCaptureEvent>\n")
		}
		for _, d := range r.devices {
			b.WriteString("      <deviceId>\n")
			for _, f := range [][2]string{{"type", "idType"}, {"value", "idValue"}, {"at", "dateTime"}} {
				if v, ok := d[f[0]]; ok {
					el("        ", f[1], v)
				}
			}
			b.WriteString("      </deviceId>\n")
		}
		b.WriteString("    </personOrUserReported>\n")
	}
	// The child's side, with the very addresses and devices that match:
	// they must never produce a finding.
	b.WriteString("    <intendedRecipient>\n      <ipCaptureEvent><ipAddress>198.51.100.77</ipAddress><dateTime>2024-05-15T12:00:00Z</dateTime></ipCaptureEvent>\n    </intendedRecipient>\n")
	b.WriteString("    <victim>\n      <ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><eventName>Login</eventName><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent>\n")
	b.WriteString("      <deviceId><idType>imei</idType><idValue>358240051111110</idValue></deviceId>\n    </victim>\n")
	b.WriteString("  </report>\n")
}

// writeCSVFiles writes each source file as CSV, one row per ip event or
// device (a report without either gets one row). Rows of one report in one
// file are one report, where JSON Lines reads a repeated id as a duplicate;
// so a file is split where an id repeats, and the duplicate check across
// files (the first one stands) does what it does for JSON Lines.
func writeCSVFiles(t *testing.T, dir, name string, files [][]srcRecord, ext string) []string {
	var paths []string
	n := 0
	for _, recs := range files {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		seen := map[string]bool{}
		header := func() {
			w.Write([]string{"report_id", "received", "incident", "ip", "at", "event", "port", "proxy", "device_type", "device_value"})
		}
		header()
		for _, r := range recs {
			if !r.bad && seen[r.id] {
				w.Flush()
				paths = append(paths, writeTemp(t, dir, name, n, ext, b.Bytes()))
				n++
				b.Reset()
				seen = map[string]bool{}
				header()
			}
			if r.bad {
				w.Write([]string{"", "", "", "203.0.113.7", "2024-05-01T22:14:03Z", "", "", "", "", ""})
				continue
			}
			seen[r.id] = true
			for _, e := range r.ips {
				w.Write([]string{r.id, r.received, r.incident, e["ip"], e["at"], e["event"], e["port"], e["proxy"], "", ""})
			}
			for _, d := range r.devices {
				w.Write([]string{r.id, r.received, r.incident, "", d["at"], "", "", "", d["type"], d["value"]})
			}
			if len(r.ips)+len(r.devices) == 0 {
				w.Write([]string{r.id, r.received, r.incident, "", "", "", "", "", "", ""})
			}
		}
		w.Flush()
		paths = append(paths, writeTemp(t, dir, name, n, ext, b.Bytes()))
		n++
	}
	return paths
}

func writeTemp(t *testing.T, dir, name string, i int, ext string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name+"-"+string(rune('a'+i))+ext)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
