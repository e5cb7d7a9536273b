package observe

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seams-dev/seams"
)

type collector []*seams.RecordError

func (c *collector) reject(e *seams.RecordError) { *c = append(*c, e) }

func (c collector) String() string {
	var b strings.Builder
	for _, e := range c {
		fmt.Fprintf(&b, "%s\n", e)
	}
	return b.String()
}

type got struct {
	line int
	obs  Observation
}

// readAll reads every observation of r, copying the strings it keeps.
func readAll(t *testing.T, r Reader) ([]got, collector, error) {
	t.Helper()
	var out []got
	var rej collector
	for {
		var o Observation
		line, err := r.Next(&o, rej.reject)
		if err == io.EOF {
			return out, rej, nil
		}
		if err != nil {
			return out, rej, err
		}
		o.Device = seams.DeviceID{Type: strings.Clone(o.Device.Type), Value: strings.Clone(o.Device.Value)}
		out = append(out, got{line, o})
	}
}

func TestJSONReader(t *testing.T) {
	good := `{"device":"` + testDevice + `","at":"2024-05-01T22:14:03Z","lat":10.6,"lon":103.5}`
	long := `{"device":"` + testDevice + `","pad":"` + strings.Repeat("x", MaxLine) + `"}`
	data := "\uFEFF" + good + "\r\n" + // 1
		"\n" + // 2 blank
		"   \t\n" + // 3 blank
		`{"device":"x"}` + "\n" + // 4 rejected
		long + "\n" + // 5 rejected: too long
		good + "\n" + // 6
		"not json\n" + // 7 rejected
		good // 8, no newline at the end
	obs, rej, err := readAll(t, NewJSONReader(strings.NewReader(data), "o.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, g := range obs {
		lines = append(lines, g.line)
		if g.obs != *testObs(nil) {
			t.Errorf("line %d: %+v", g.line, g.obs)
		}
	}
	if fmt.Sprint(lines) != "[1 6 8]" {
		t.Errorf("observations on lines %v", lines)
	}
	want := "o.jsonl:4: invalid device \"x\" (want TYPE:VALUE, e.g. imei:358240051111110)\n" +
		"o.jsonl:5: line longer than 65536 bytes\n" +
		"o.jsonl:7: not a JSON object: invalid character 'o' in literal null (expecting 'u')\n"
	if rej.String() != want {
		t.Errorf("rejected:\n%swant:\n%s", rej, want)
	}
	if len(rej) == 3 && (rej[0].Raw != `{"device":"x"}` || len(rej[1].Raw) > seams.MaxRaw+len("…") || !strings.HasPrefix(rej[1].Raw, `{"device"`)) {
		t.Errorf("raw texts %q, %.40q", rej[0].Raw, rej[1].Raw)
	}
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		lines    string // lines of the observations read
		rejected string
		err      string
	}{
		{"all columns", "device,at,lat,lon,accuracy_m,ip\n" + testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,12,203.0.113.7\n", "[2]", "", ""},
		{"columns in any order and case, others ignored", " LON ,Lat,extra,AT,Device\n103.5,10.6,x,2024-05-01T22:14:03Z," + testDevice + "\n", "[2]", "", ""},
		{"empty optional cells", "device,at,lat,lon,accuracy_m,ip\n" + testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,,\n", "[2]", "", ""},
		{"quoted fields over lines", "device,at,lat,lon,note\n\"" + testDevice + "\",2024-05-01T22:14:03Z,10.6,103.5,\"a\nb\"\n" + testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,c\n", "[2 4]", "", ""},
		{"byte order mark and CRLF", "\uFEFFdevice,at,lat,lon\r\n" + testDevice + ",2024-05-01T22:14:03Z,10.6,103.5\r\n", "[2]", "", ""},
		{"bad rows", "device,at,lat,lon,accuracy_m\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,5\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6\n" +
			testDevice + ",2024-05-01T22:14:03Z,ten,103.5,5\n" +
			testDevice + ",2024-05-01T22:14:03Z,0x1p3,103.5,5\n" +
			testDevice + ",2024-05-01T22:14:03Z,NaN,103.5,5\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,-2\n" +
			testDevice + ",2024-05-01T22:14:03Z,,103.5,5\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,1e999\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,\"5\"x\n" +
			testDevice + ",2024-05-01T22:14:03Z,10.6,103.5,5\n",
			"[2 11]",
			"o.csv:3: row has 3 fields, header has 5\n" +
				"o.csv:4: lat: invalid number \"ten\"\n" +
				"o.csv:5: lat: invalid number \"0x1p3\"\n" +
				"o.csv:6: lat: invalid number \"NaN\"\n" +
				"o.csv:7: accuracy_m -2: want a radius of 0 meters or more\n" +
				"o.csv:8: lat is missing\n" +
				"o.csv:9: accuracy_m: invalid number \"1e999\"\n" +
				"o.csv:10: parse error on line 10, column 77: extraneous or missing \" in quoted-field\n", ""},
		{"missing columns", "device,lat,lon\n", "", "", `o.csv:1: missing required column "at"`},
		{"duplicate column", "device,at,lat,lon,Lat\n", "", "", `o.csv:1: duplicate column "lat" (columns 3 and 5)`},
		{"empty file", "", "", "", "o.csv:1: empty file"},
		{"line too long", "device,at,lat,lon\n" + strings.Repeat("x", MaxLine+1) + "\n", "", "", "o.csv:2: line longer than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewCSVReader(strings.NewReader(tt.data), "o.csv")
			var obs []got
			var rej collector
			if err == nil {
				obs, rej, err = readAll(t, r)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				var re *seams.RecordError
				if !errors.As(err, &re) {
					t.Fatalf("error %v is not a record error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, g := range obs {
				lines = append(lines, g.line)
			}
			if fmt.Sprint(lines) != tt.lines {
				t.Errorf("observations on lines %v, want %s", lines, tt.lines)
			}
			if rej.String() != tt.rejected {
				t.Errorf("rejected:\n%swant:\n%s", rej, tt.rejected)
			}
		})
	}
}

// sample returns observations that use every field in every form.
func sample() []Observation {
	d := func(s string) seams.DeviceID { id, _ := seams.ParseDeviceID(s); return id }
	return []Observation{
		*testObs(nil),
		{Device: d("idfa:5D1C0A7E-3B2F-4E6A-9C8D-1F2E3D4C5B6A"), At: mustTime("2024-05-02T01:02:03.123456Z"), Lat: -33.5, Lon: 151.25,
			Accuracy: 7.5, HasAccuracy: true, IP: netip.MustParseAddr("2001:db8::1")},
		{Device: d("imei:358240051111110"), At: mustTime("2025-12-31T23:59:59Z"), Lat: 16.591234, Lon: 98.551234,
			HasAccuracy: true, IP: netip.MustParseAddr("198.51.100.200")},
	}
}

// TestFormatsAgree writes the same observations as JSON Lines, CSV and
// Parquet and reads them back: every format must give the same
// observations, in order, numbered by line (row for Parquet).
func TestFormatsAgree(t *testing.T) {
	want := sample()
	var jl, cs bytes.Buffer
	cs.WriteString("device,at,lat,lon,accuracy_m,ip\n")
	var pq bytes.Buffer
	pw := NewParquetWriter(&pq)
	for i := range want {
		o := &want[i]
		jl.Write(AppendJSON(nil, o))
		acc, ip := "", ""
		if o.HasAccuracy {
			acc = fmt.Sprint(o.Accuracy)
		}
		if o.IP.IsValid() {
			ip = o.IP.String()
		}
		fmt.Fprintf(&cs, "%s,%s,%v,%v,%s,%s\n", o.Device, o.At.Format(time.RFC3339Nano), o.Lat, o.Lon, acc, ip)
		if err := pw.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	csvR, err := NewCSVReader(&cs, "o.csv")
	if err != nil {
		t.Fatal(err)
	}
	pqR, err := NewParquetReader(bytes.NewReader(pq.Bytes()), int64(pq.Len()), "o.parquet")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		r     Reader
		first int
	}{{"jsonl", NewJSONReader(&jl, "o.jsonl"), 1}, {"csv", csvR, 2}, {"parquet", pqR, 1}} {
		obs, rej, err := readAll(t, c.r)
		if err != nil || len(rej) > 0 {
			t.Fatalf("%s: %v %v", c.name, err, rej)
		}
		if len(obs) != len(want) {
			t.Fatalf("%s: %d observations, want %d", c.name, len(obs), len(want))
		}
		for i, g := range obs {
			if g.obs != want[i] || g.line != c.first+i {
				t.Errorf("%s: line %d: %+v, want line %d: %+v", c.name, g.line, g.obs, c.first+i, want[i])
			}
		}
	}
}

// writeParquet writes rows of any struct type as a Parquet file.
func writeParquet[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[T](&b)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readParquet(t *testing.T, data []byte) ([]got, collector, error) {
	t.Helper()
	r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "o.parquet")
	if err != nil {
		return nil, nil, err
	}
	return readAll(t, r)
}

func TestParquetReader(t *testing.T) {
	t.Run("string times, float32 coordinates, int accuracy, nulls", func(t *testing.T) {
		type row struct {
			Device *string `parquet:"Device,optional"`
			At     string  `parquet:"at"`
			Lat    float32 `parquet:"lat"`
			Lon    float32 `parquet:"lon"`
			Acc    *int32  `parquet:"accuracy_m,optional"`
			Extra  []int64 `parquet:"extra"`
		}
		dev, five := testDevice, int32(5)
		rows := []row{
			{Device: &dev, At: "2024-05-02T05:14:03+07:00", Lat: 10.5, Lon: 103.5, Acc: &five},
			{Device: nil, At: "2024-05-01T22:14:03Z", Lat: 10.5, Lon: 103.5},
			{Device: &dev, At: "yesterday", Lat: 10.5, Lon: 103.5},
			{Device: &dev, At: "2024-05-01T22:14:03Z", Lat: 100, Lon: 103.5},
		}
		obs, rej, err := readParquet(t, writeParquet(t, rows))
		if err != nil {
			t.Fatal(err)
		}
		want := testObs(func(o *Observation) { o.Lat, o.Accuracy, o.HasAccuracy = 10.5, 5, true })
		if len(obs) != 1 || obs[0].line != 1 || obs[0].obs != *want {
			t.Fatalf("observations %+v", obs)
		}
		wantRej := "o.parquet:2: device is missing\n" +
			"o.parquet:3: at: invalid RFC 3339 time \"yesterday\"\n" +
			"o.parquet:4: lat 100 outside [-90,90]\n"
		if rej.String() != wantRej {
			t.Fatalf("rejected:\n%swant:\n%s", rej, wantRej)
		}
		if rej[0].Raw != `device=null, at="2024-05-01T22:14:03Z", lat=10.5, lon=103.5, accuracy_m=null` {
			t.Errorf("raw %q", rej[0].Raw)
		}
	})
	t.Run("timestamps in millis and nanos", func(t *testing.T) {
		type row struct {
			Device string  `parquet:"device"`
			At     int64   `parquet:"at,timestamp(millisecond)"`
			Lat    float64 `parquet:"lat"`
			Lon    float64 `parquet:"lon"`
		}
		type rowNS struct {
			Device string  `parquet:"device"`
			At     int64   `parquet:"at,timestamp(nanosecond)"`
			Lat    float64 `parquet:"lat"`
			Lon    float64 `parquet:"lon"`
		}
		at := mustTime("2024-05-01T22:14:03.123Z")
		for _, data := range [][]byte{
			writeParquet(t, []row{{testDevice, at.UnixMilli(), 10.6, 103.5}}),
			writeParquet(t, []rowNS{{testDevice, at.UnixNano(), 10.6, 103.5}}),
		} {
			obs, rej, err := readParquet(t, data)
			if err != nil || len(rej) > 0 || len(obs) != 1 || !obs[0].obs.At.Equal(at) {
				t.Fatalf("%v %v %+v", err, rej, obs)
			}
		}
		obs, rej, err := readParquet(t, writeParquet(t, []row{{testDevice, 1 << 62, 10.6, 103.5}}))
		if err != nil || len(obs) != 0 || len(rej) != 1 || !strings.Contains(rej[0].Reason, "time outside the supported range") {
			t.Fatalf("%v %v %+v", err, rej, obs)
		}
	})
	schemaErrors := []struct {
		name string
		data func(t *testing.T) []byte
		err  string
	}{
		{"missing column", func(t *testing.T) []byte {
			type row struct {
				Device string  `parquet:"device"`
				Lat    float64 `parquet:"lat"`
				Lon    float64 `parquet:"lon"`
			}
			return writeParquet(t, []row{{}})
		}, `o.parquet: missing required column "at"`},
		{"coordinates as strings", func(t *testing.T) []byte {
			type row struct {
				Device string `parquet:"device"`
				At     string `parquet:"at"`
				Lat    string `parquet:"lat"`
				Lon    string `parquet:"lon"`
			}
			return writeParquet(t, []row{{}})
		}, `o.parquet: column "lat" has type STRING (want DOUBLE or FLOAT)`},
		{"local timestamps", func(t *testing.T) []byte {
			type row struct {
				Device string  `parquet:"device"`
				At     int64   `parquet:"at,timestamp(millisecond:local)"`
				Lat    float64 `parquet:"lat"`
				Lon    float64 `parquet:"lon"`
			}
			return writeParquet(t, []row{{}})
		}, "local timestamp (isAdjustedToUTC=false)"},
		{"plain integer times", func(t *testing.T) []byte {
			type row struct {
				Device string  `parquet:"device"`
				At     int64   `parquet:"at"`
				Lat    float64 `parquet:"lat"`
				Lon    float64 `parquet:"lon"`
			}
			return writeParquet(t, []row{{}})
		}, `column "at" has type INT(64,true) (want an RFC 3339 string or an INT64 TIMESTAMP)`},
		{"repeated device", func(t *testing.T) []byte {
			type row struct {
				Device []string `parquet:"device"`
				At     string   `parquet:"at"`
				Lat    float64  `parquet:"lat"`
				Lon    float64  `parquet:"lon"`
			}
			return writeParquet(t, []row{{}})
		}, `column "device" is not a plain column`},
		{"not parquet", func(*testing.T) []byte { return []byte("device,at,lat,lon\n") }, "o.parquet: not a readable Parquet file"},
		{"footer length beyond the file", func(*testing.T) []byte { return []byte("PAR1\x00\x00\x00\x00\xff\xff\xff\x7fPAR1") }, "footer of 2147483647 bytes"},
		{"empty", func(*testing.T) []byte { return nil }, "0 bytes: too short"},
	}
	for _, tt := range schemaErrors {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readParquet(t, tt.data(t))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
	t.Run("cut short", func(t *testing.T) {
		var b bytes.Buffer
		w := NewParquetWriter(&b)
		for range 10000 {
			w.Write(testObs(nil))
		}
		w.Close()
		data := b.Bytes()
		// Damage the pages but keep the footer: reading must fail with an
		// error naming the file, not panic.
		for i := 100; i < len(data)/2; i++ {
			data[i] ^= 0x5a
		}
		_, _, err := readParquet(t, data)
		if err == nil || !strings.Contains(err.Error(), "o.parquet") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	line := AppendJSON(nil, testObs(nil))
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(line)
	zw.Close()
	var pq bytes.Buffer
	pw := NewParquetWriter(&pq)
	pw.Write(testObs(nil))
	pw.Close()
	for _, c := range []struct {
		name   string
		format Format
	}{
		{write("a.jsonl", line), ""},
		{write("a.ndjson.gz", gz.Bytes()), ""},
		{write("a.csv", []byte("device,at,lat,lon\n"+testDevice+",2024-05-01T22:14:03Z,10.6,103.5\n")), ""},
		{write("a.parquet", pq.Bytes()), ""},
		{write("a.txt", line), JSONL},
	} {
		in, err := Open(c.name, c.format)
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Reader()
		if err != nil {
			t.Fatal(err)
		}
		obs, rej, err := readAll(t, r)
		in.Close()
		if err != nil || len(rej) > 0 || len(obs) != 1 || obs[0].obs != *testObs(nil) {
			t.Fatalf("%s: %v %v %+v", c.name, err, rej, obs)
		}
	}
	for _, c := range []struct{ name, err string }{
		{write("a.txt", line), "cannot tell the format from the name"},
		{write("a.parquet.gz", gz.Bytes()), "a Parquet file cannot be read gzipped"},
		{filepath.Join(dir, "none.jsonl"), "no such file"},
	} {
		if _, err := Open(c.name, ""); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	if f, err := ParseFormat("PQ"); err != nil || f != Parquet {
		t.Errorf("ParseFormat(PQ) = %v, %v", f, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
}
