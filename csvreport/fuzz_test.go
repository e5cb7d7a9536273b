package csvreport

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// FuzzReader reads any input in memory and spilling every row and expects
// the same records; checks what each record must be; and writes every
// report read back as CSV, which must read back the same.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in := string(data)
		text, recs, ok := tryRead(t, in, Options{MaxRows: 3})
		spilled, _, ok2 := tryRead(t, in, Options{MaxRows: 3, Memory: 1, TempDir: dir})
		if ok != ok2 || text != spilled {
			t.Fatalf("in memory and spilled differ:\n%s\nspilled:\n%s", text, spilled)
		}
		last := 0
		for _, r := range recs {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Whole != nil {
				if r.Whole.Reason == "" || r.Whole.Line != r.Line {
					t.Fatalf("bad rejection %+v", r.Whole)
				}
				continue
			}
			rep := &r.Report
			if rep.ID == "" || strings.TrimSpace(rep.ID) != rep.ID {
				t.Fatalf("bad id %q", rep.ID)
			}
			for _, e := range rep.IPs {
				if !e.Addr.IsValid() || e.Addr.Is4In6() || e.Addr.Zone() != "" {
					t.Fatalf("bad ip event %+v", e)
				}
			}
			for _, p := range r.Parts {
				if p.Item == "" || p.Reason == "" || p.Line < r.Line || p.File != "x.csv" {
					t.Fatalf("bad part %+v", p)
				}
			}
			back := writeReports(rep)
			_, again, _ := tryRead(t, back, Options{})
			if len(again) != 1 || again[0].Whole != nil || len(again[0].Parts) != 0 || fmt.Sprint(again[0].Report) != fmt.Sprint(*rep) {
				t.Fatalf("round trip of %+v:\n%s\nreads as %+v", *rep, back, again)
			}
		}
	})
}

// tryRead is readAll that takes a fatal error (a bad header) as an outcome.
func tryRead(t *testing.T, in string, o Options) (string, []seams.ReportRecord, bool) {
	rd := NewReader(strings.NewReader(in), "x.csv", o)
	defer rd.Close()
	var b strings.Builder
	var recs []seams.ReportRecord
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return b.String(), recs, true
		}
		if err != nil {
			return "fatal: " + err.Error(), nil, false
		}
		c := seams.ReportRecord{Line: rec.Line, Report: rec.Report.Clone(), Parts: append([]seams.RecordError(nil), rec.Parts...)}
		if rec.Whole != nil {
			w := *rec.Whole
			c.Whole = &w
		}
		recs = append(recs, c)
		fmt.Fprintf(&b, "%+v %+v %+v %+v\n", c.Line, c.Whole, c.Report, c.Parts)
		b.Write(rec.Raw)
		b.WriteByte('\n')
	}
}

// writeReports writes a report as CSV: one row per ip event and device,
// received and incident on the first.
func writeReports(r *seams.Report) string {
	var b bytes.Buffer
	b.WriteString(header)
	w := csv.NewWriter(&b)
	recv := ""
	if !r.Received.IsZero() {
		recv = r.Received.Format(time.RFC3339Nano)
	}
	first := true
	row := func(f []string) {
		if first {
			f[1], f[2] = recv, r.Incident
			first = false
		}
		w.Write(f)
	}
	for _, e := range r.IPs {
		port := ""
		if e.Port != 0 {
			port = strconv.Itoa(e.Port)
		}
		at := "" // an event without a time
		if !e.At.IsZero() {
			at = e.At.Format(time.RFC3339Nano)
		}
		row([]string{r.ID, "", "", e.Addr.String(), at, e.Event, port, strconv.FormatBool(e.Proxy), "", ""})
	}
	for _, d := range r.Devices {
		at := ""
		if !d.At.IsZero() {
			at = d.At.Format(time.RFC3339Nano)
		}
		row([]string{r.ID, "", "", "", at, "", "", "", d.ID.Type, d.ID.Value})
	}
	if first {
		row([]string{r.ID, "", "", "", "", "", "", "", "", ""})
	}
	w.Flush()
	return b.String()
}

var fuzzSeeds = []string{
	"",
	header,
	header + "a,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n",
	header + "a,2024-05-02T08:00:00Z,sextortion,203.0.113.7,2024-05-01T22:14:03Z,login,51234,false,,\n" +
		"b,,,198.51.100.5,2024-02-01T12:00:00+07:00,,,,,\na,,,,2024-05-01T22:10:00Z,,,,IMEI, 358240051111110 \n" +
		"a,2024-05-03T08:00:00Z,x,2001:db8::5,2024-05-01T23:00:00Z,upload,,true,,\n,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n",
	header + "a,2024-01-05,,N/A,2024-05-01T22:14:03Z,,443x,maybe,imei:x,1\na,,,,,login,,,,\ntoo,few\n\"unterminated,\n",
	"ip,at,report_id,notes\n::ffff:192.0.2.1,2024-05-01T22:14:03.5Z,r,\"a \"\"note\"\"\"\nr,,,\n",
	"\uFEFFreport_id,device_type,device_value,at\nr,idfa,AAAA,\nr,idfa,AAAA,2024-05-01T22:14:03Z\ns,,,\n,,,\n",
	"report_id,ip\n",
	header + "a,,,203.0.113.1,2024-05-01T22:14:03Z,,,,,\na,,,203.0.113.2,2024-05-01T22:14:03Z,,,,,\na,,,203.0.113.3,2024-05-01T22:14:03Z,,,,,\na,,,203.0.113.4,2024-05-01T22:14:03Z,,,,,\n",
}
