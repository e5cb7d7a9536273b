package observe

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/.

// FuzzParseJSON holds the fast scanner to encoding/json: whatever the line,
// ParseJSON must decide as the slow path alone decides, and an accepted
// observation must survive a round trip through AppendJSON.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5,"accuracy_m":12,"ip":"203.0.113.7"}`))
	f.Add(nestedLine)
	f.Add([]byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5,"x":{"a":["\u00e9",true,-1.5e3,{"b":{}}]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast, slow Observation
		why := ParseJSON(line, &fast)
		var fl fields
		slowWhy := decodeJSON(line, &fl)
		if slowWhy == "" {
			slowWhy = fl.observation(&slow)
		}
		if (why == "") != (slowWhy == "") || why == "" && fast != slow {
			t.Fatalf("ParseJSON: %q %+v; encoding/json: %q %+v", why, fast, slowWhy, slow)
		}
		if ip, ok := QuickIP(line); ok && why == "" && fast.IP.IsValid() && fast.IP != ip {
			t.Fatalf("QuickIP says %v, ParseJSON %v", ip, fast.IP)
		}
		if dev, ok := QuickDevice(line); ok && why == "" && fast.Device.String() != string(dev) {
			t.Fatalf("QuickDevice says %q, ParseJSON %q", dev, fast.Device)
		}
		if why != "" {
			return
		}
		again := AppendJSON(nil, &fast)
		var back Observation
		if w := ParseJSON(bytes.TrimSuffix(again, []byte("\n")), &back); w != "" || back != fast {
			t.Fatalf("round trip of %s: %q %+v, want %+v", again, w, back, fast)
		}
	})
}

// physicalLines counts lines as a reader sees them: every newline ends one,
// and text after the last newline is one more.
func physicalLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// checkRejected checks that rejections name the file and a line in it.
func checkRejected(t *testing.T, rej collector, file string, lines int) {
	t.Helper()
	for _, e := range rej {
		if e.File != file || e.Line < 1 || e.Line > lines || e.Reason == "" || len(e.Raw) > seams.MaxRaw+len("…") {
			t.Fatalf("bad rejected record %+v (of %d lines)", *e, lines)
		}
	}
}

// FuzzReadJSONL reads arbitrary bytes as JSON Lines: every line that is
// not blank is either an observation or a rejection, each at its own line,
// in order.
func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}` + "\n\nx\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obs, rej, err := readAll(t, NewJSONReader(bytes.NewReader(data), "f.jsonl"))
		if err != nil {
			t.Fatalf("error %v: JSON Lines never fail on their content", err)
		}
		lines := physicalLines(data)
		checkRejected(t, rej, "f.jsonl", lines)
		nonBlank := 0
		for i, l := range bytes.Split(bytes.TrimPrefix(data, []byte("\uFEFF")), []byte("\n")) {
			// A line too long is rejected even if it is all spaces.
			if i < lines && (len(bytes.TrimLeft(l, " \t\r")) > 0 || len(l) > MaxLine) {
				nonBlank++
			}
		}
		if len(obs)+len(rej) != nonBlank {
			t.Fatalf("%d observations + %d rejected of %d lines that are not blank", len(obs), len(rej), nonBlank)
		}
		seen := map[int]bool{}
		last := 0
		for _, g := range obs {
			if g.line <= last || g.line > lines {
				t.Fatalf("observation at line %d after %d (of %d)", g.line, last, lines)
			}
			last = g.line
			seen[g.line] = true
		}
		for _, e := range rej {
			if seen[e.Line] {
				t.Fatalf("line %d both read and rejected", e.Line)
			}
			seen[e.Line] = true
		}
	})
}

// FuzzReadCSV reads arbitrary bytes as an observations CSV. It must never
// panic; a fatal error names the file and a line; observations and
// rejections never outnumber the lines; accepted observations survive a
// round trip through CSV.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("device,at,lat,lon,accuracy_m,ip\n" + testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,12,203.0.113.7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := physicalLines(data)
		checkFatal := func(err error) {
			var re *seams.RecordError
			if !errors.As(err, &re) || re.File != "f.csv" || re.Line < 1 || re.Line > max(lines, 1) || re.Reason == "" {
				t.Fatalf("fatal error %v does not name the file and a line", err)
			}
		}
		r, err := NewCSVReader(bytes.NewReader(data), "f.csv")
		if err != nil {
			checkFatal(err)
			return
		}
		obs, rej, err := readAll(t, r)
		if err != nil {
			checkFatal(err)
		}
		checkRejected(t, rej, "f.csv", lines)
		if len(obs)+len(rej)+1 > max(lines, 1) {
			t.Fatalf("%d observations + %d rejected + a header from %d lines", len(obs), len(rej), lines)
		}
		var b strings.Builder
		cw := csv.NewWriter(&b)
		cw.Write([]string{"device", "at", "lat", "lon", "accuracy_m", "ip"})
		for _, g := range obs {
			o := g.obs
			acc, ip := "", ""
			if o.HasAccuracy {
				acc = fmt.Sprint(o.Accuracy)
			}
			if o.IP.IsValid() {
				ip = o.IP.String()
			}
			cw.Write([]string{o.Device.String(), o.At.Format(time.RFC3339Nano), fmt.Sprint(o.Lat), fmt.Sprint(o.Lon), acc, ip})
		}
		cw.Flush()
		r2, err := NewCSVReader(strings.NewReader(b.String()), "g.csv")
		if err != nil {
			t.Fatal(err)
		}
		back, rej2, err := readAll(t, r2)
		if err != nil || len(rej2) > 0 || len(back) != len(obs) {
			t.Fatalf("round trip: %v %v %d of %d\n%s", err, rej2, len(back), len(obs), b.String())
		}
		for i := range back {
			// encoding/csv reads a quoted \r\n as \n.
			want := obs[i].obs
			want.Device.Value = strings.ReplaceAll(want.Device.Value, "\r\n", "\n")
			want.Device.Type = strings.ReplaceAll(want.Device.Type, "\r\n", "\n")
			if back[i].obs != want {
				t.Fatalf("round trip: %+v, want %+v", back[i].obs, want)
			}
		}
	})
}

// FuzzReadParquet reads arbitrary bytes as a Parquet file. It must never
// panic, and every error must name the file.
func FuzzReadParquet(f *testing.F) {
	var b bytes.Buffer
	w := NewParquetWriter(&b)
	for _, o := range sample() {
		w.Write(&o)
	}
	w.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "f.parquet")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.parquet") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		var rej collector
		for n := 0; ; n++ {
			var o Observation
			row, err := r.Next(&o, rej.reject)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f.parquet") {
					t.Fatalf("error %v does not name the file", err)
				}
				break
			}
			if row < 1 || o.At.IsZero() || o.Device.Type == "" {
				t.Fatalf("row %d: %+v", row, o)
			}
		}
		for _, e := range rej {
			if e.File != "f.parquet" || e.Line < 1 || e.Reason == "" {
				t.Fatalf("bad rejected record %+v", *e)
			}
		}
	})
}
