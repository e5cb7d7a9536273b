package registry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/seams-dev/seams"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/.

// physicalLines counts the lines of data as a reader sees them: every
// newline ends one, and text after the last newline is one more.
func physicalLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// checkRejected checks the rejected records of a fuzz run and that accepted
// plus rejected records do not outnumber the lines.
func checkRejected(t *testing.T, data []byte, file string, accepted int, rej collector) {
	t.Helper()
	lines := physicalLines(data)
	if accepted+len(rej) > lines {
		t.Fatalf("%d accepted + %d rejected records from %d lines", accepted, len(rej), lines)
	}
	for i, e := range rej {
		if e.File != file || e.Line < 1 || e.Line > lines || e.Reason == "" || e.Item != "" || len(e.Raw) > seams.MaxRaw+len("…") {
			t.Fatalf("bad rejected record %+v (of %d lines)", *e, lines)
		}
		// A quote never closed swallows the rest of the file: nothing
		// can come after it.
		if strings.Contains(e.Reason, "never closed") && i != len(rej)-1 {
			t.Fatalf("records after %+v: %q", *e, rej.reasons())
		}
	}
}

// swallowedFrom returns the line of a record that swallowed the rest of the
// file, or 0.
func swallowedFrom(rej collector) int {
	if n := len(rej); n > 0 && strings.Contains(rej[n-1].Reason, "never closed") {
		return rej[n-1].Line
	}
	return 0
}

// checkFatal checks that a fatal error names the file.
func checkFatal(t *testing.T, err error, file string) {
	t.Helper()
	var re *seams.RecordError
	if errors.As(err, &re) {
		if re.File != file || re.Line < 1 || re.Reason == "" {
			t.Fatalf("bad fatal error %+v", *re)
		}
		return
	}
	t.Fatalf("fatal error %v is not a *seams.RecordError", err)
}

// csvRoundTrip is what a field becomes when written by csv.Writer and read
// back by csv.Reader: a quoted \r\n is read as \n.
func csvRoundTrip(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func FuzzReadCompounds(f *testing.F) {
	f.Add([]byte("id,name,aliases,country,province,lat,lon,status\nc-1,One,A;B,kh,P,1.5,-2,active\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rej collector
		got, err := ReadCompounds(bytes.NewReader(data), "f.csv", rej.reject)
		if err != nil {
			checkFatal(t, err, "f.csv")
			return
		}
		checkRejected(t, data, "f.csv", len(got), rej)
		seen := make(map[string]bool)
		for _, c := range got {
			if !seams.ValidCompoundID(c.ID) || seen[c.ID] {
				t.Fatalf("accepted invalid or repeated id %q", c.ID)
			}
			seen[c.ID] = true
			if c.Name == "" || c.Name != strings.TrimSpace(c.Name) || c.Province != strings.TrimSpace(c.Province) {
				t.Fatalf("accepted name %q, province %q", c.Name, c.Province)
			}
			if cc, err := seams.ParseCountry(c.Country); err != nil || cc != c.Country {
				t.Fatalf("accepted country %q", c.Country)
			}
			if st, err := seams.ParseStatus(string(c.Status)); err != nil || st != c.Status {
				t.Fatalf("accepted status %q", c.Status)
			}
			for _, a := range c.Aliases {
				if a == "" || a != strings.TrimSpace(a) || strings.Contains(a, ";") {
					t.Fatalf("accepted alias %q", a)
				}
			}
			if c.HasLocation && !(math.Abs(c.Lat) <= 90 && math.Abs(c.Lon) <= 180) || !c.HasLocation && (c.Lat != 0 || c.Lon != 0) {
				t.Fatalf("accepted location %v %v,%v", c.HasLocation, c.Lat, c.Lon)
			}
		}

		// Round trip: what was accepted, written out, reads back the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"id", "name", "aliases", "country", "province", "lat", "lon", "status"})
		var want []seams.Compound
		for _, c := range got {
			lat, lon := "", ""
			if c.HasLocation {
				lat, lon = strconv.FormatFloat(c.Lat, 'g', -1, 64), strconv.FormatFloat(c.Lon, 'g', -1, 64)
			}
			w.Write([]string{c.ID, c.Name, strings.Join(c.Aliases, ";"), c.Country, c.Province, lat, lon, string(c.Status)})
			c.Name, c.Province = csvRoundTrip(c.Name), csvRoundTrip(c.Province)
			for i := range c.Aliases {
				c.Aliases[i] = csvRoundTrip(c.Aliases[i])
			}
			want = append(want, c)
		}
		w.Flush()
		var rej2 collector
		again, err := ReadCompounds(&buf, "again.csv", rej2.reject)
		if err != nil || len(rej2) != 0 {
			t.Fatalf("re-reading accepted compounds: %v, rejected %q", err, rej2.reasons())
		}
		if !reflect.DeepEqual(again, want) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", again, want)
		}
	})
}

var fuzzCompounds = map[string]int{"c-1": 0, "c-2": 1, "C.3_x": 2}

func FuzzReadIndicators(f *testing.F) {
	f.Add([]byte("compound,kind,value,first_seen,last_seen,confidence,source\nc-1,ip,203.0.113.7,2024-05-01,2024-05-31,high,feed\n"))
	f.Add([]byte("compound,kind,value,first_seen,last_seen,confidence,source,drift\nc-1,ip,203.0.113.7,2024-05-01,2024-05-31,high,feed,0\nc-1,ip,203.0.113.8,,,,,\nc-1,cidr,203.0.113.0/24,,,,,7d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rej collector
		got, err := ReadIndicators(bytes.NewReader(data), "f.csv", fuzzCompounds, rej.reject)
		if err != nil {
			checkFatal(t, err, "f.csv")
			return
		}
		checkRejected(t, data, "f.csv", len(got), rej)
		lines := physicalLines(data)
		prevLine := 0
		for _, ind := range got {
			if _, ok := fuzzCompounds[ind.Compound]; !ok {
				t.Fatalf("accepted unknown compound %q", ind.Compound)
			}
			if ind.File != "f.csv" || ind.Line <= prevLine || ind.Line > lines {
				t.Fatalf("accepted indicator at %s:%d after line %d", ind.File, ind.Line, prevLine)
			}
			prevLine = ind.Line
			if l := swallowedFrom(rej); l > 0 && ind.Line > l {
				t.Fatalf("indicator on line %d after a quote never closed on line %d", ind.Line, l)
			}
			again, err := seams.ParseIndicatorValue(ind.Kind, ind.Value)
			if err != nil || again.Kind != ind.Kind || again.Value != ind.Value || again.Addr != ind.Addr || again.Prefix != ind.Prefix || again.Device != ind.Device {
				t.Fatalf("accepted %s %q does not re-validate: %+v, %v", ind.Kind, ind.Value, again, err)
			}
			w := ind.Window
			if !w.First.IsZero() && !w.Last.IsZero() && w.First.After(w.Last) {
				t.Fatalf("accepted window %s", w)
			}
			if ind.HasConfidence && !(ind.Confidence >= 0 && ind.Confidence <= 1) || !ind.HasConfidence && ind.Confidence != 0 {
				t.Fatalf("accepted confidence %v %v", ind.HasConfidence, ind.Confidence)
			}
			if ind.Source != strings.TrimSpace(ind.Source) {
				t.Fatalf("accepted source %q", ind.Source)
			}
			if ind.Drift < 0 || !ind.HasDrift && ind.Drift != 0 {
				t.Fatalf("accepted drift %v %v", ind.HasDrift, ind.Drift)
			}
		}

		// Round trip: what was accepted, written out, reads back the same.
		var buf bytes.Buffer
		wr := csv.NewWriter(&buf)
		wr.Write([]string{"compound", "kind", "value", "first_seen", "last_seen", "confidence", "source", "drift"})
		edge := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format(time.RFC3339Nano)
		}
		var want []seams.Indicator
		for _, ind := range got {
			conf := ""
			if ind.HasConfidence {
				conf = strconv.FormatFloat(ind.Confidence, 'g', -1, 64)
			}
			drift := ""
			if ind.HasDrift {
				drift = ind.Drift.String() // Go syntax, where FormatDrift would write days
			}
			wr.Write([]string{ind.Compound, ind.Kind.String(), ind.Value, edge(ind.Window.First), edge(ind.Window.Last), conf, ind.Source, drift})
			if strings.Contains(ind.Value+ind.Source, "\r\n") {
				return // csv reads a quoted \r\n back as \n: not the same indicator
			}
			ind.File = "again.csv"
			want = append(want, ind)
		}
		wr.Flush()
		var rej2 collector
		again, err := ReadIndicators(&buf, "again.csv", fuzzCompounds, rej2.reject)
		if err != nil || len(rej2) != 0 {
			t.Fatalf("re-reading accepted indicators: %v, rejected %q", err, rej2.reasons())
		}
		// Lines differ where quoted newlines made rows span several lines;
		// they were checked above.
		for i := range again {
			again[i].Line = want[i].Line
		}
		if !reflect.DeepEqual(again, want) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", again, want)
		}
	})
}

func FuzzReadShared(f *testing.F) {
	f.Add([]byte("# shared\n198.51.100.0/24 # pool\n203.0.113.7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var rej collector
		got, err := ReadShared(bytes.NewReader(data), "s.txt", rej.reject)
		if err != nil {
			checkFatal(t, err, "s.txt")
			return
		}
		checkRejected(t, data, "s.txt", len(got), rej)
		var buf bytes.Buffer
		for _, p := range got {
			if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("accepted prefix %v", p)
			}
			again, err := seams.ParsePrefix(p.String())
			if err != nil || again != p {
				t.Fatalf("accepted %v does not re-validate: %v, %v", p, again, err)
			}
			buf.WriteString(p.String() + "\n")
		}
		again, err := ReadShared(&buf, "again.txt", failReject)
		if err != nil || !reflect.DeepEqual(again, got) && len(got) > 0 {
			t.Fatalf("round trip: got %v, %v; want %v", again, err, got)
		}
	})
}

// FuzzScanIndicatorsSplit holds the hand split of plain lines (chunks) to
// encoding/csv reading every record: the same indicators, rejections and
// fatal error, whatever the input and wherever the chunks end.
func FuzzScanIndicatorsSplit(f *testing.F) {
	f.Add([]byte("compound,kind,value,first_seen,last_seen,confidence,source\nc-1,ip,203.0.113.7,2024-05-01,2024-05-31,high,feed\n"), uint16(0))
	f.Add([]byte("compound,kind,value,drift\nc-1,ip,203.0.113.7,0\nc-1,ip,203.0.113.7,\nc-1,ip,203.0.113.7,-1h\nc-1,ip,203.0.113.9,\"7d\"\n"), uint16(5))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		type result struct {
			inds []seams.Indicator
			rej  []seams.RecordError
			err  string
		}
		scan := func(r io.Reader, chunk int) result {
			var res result
			err := scanIndicators(r, "f.csv", fuzzCompounds, func(e *seams.RecordError) { res.rej = append(res.rej, *e) },
				func(in *seams.Indicator) error {
					res.inds = append(res.inds, *in)
					return nil
				}, chunk)
			if err != nil {
				res.err = err.Error()
			}
			return res
		}
		want := scan(bytes.NewReader(data), 0)
		// Chunks of a few bytes to a few hundred, so that they end
		// everywhere: in a row, in a quoted record, between the two bytes
		// of a CRLF.
		size := 1 + int(chunk)%512
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(data),
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
		} {
			got := scan(r, size)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, chunks of %d bytes:\ngot  %+v\nwant %+v", name, size, got, want)
			}
		}
	})
}
