package csvreport

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
)

// readAll reads every record of a CSV input and renders each as a JSON
// line, the form the tests compare.
func readAll(t testing.TB, in string, o Options) (string, []seams.ReportRecord, Stats) {
	t.Helper()
	rd := NewReader(strings.NewReader(in), "x.csv", o)
	defer rd.Close()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	var recs []seams.ReportRecord
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		c := seams.ReportRecord{Line: rec.Line, Raw: bytes.Clone(rec.Raw), Report: rec.Report.Clone(), Parts: append([]seams.RecordError(nil), rec.Parts...)}
		if rec.Whole != nil {
			w := *rec.Whole
			c.Whole = &w
		}
		recs = append(recs, c)
		enc.Encode(struct { // the raw text as text, for people reading golden files
			Line   int
			Raw    string
			Whole  *seams.RecordError  `json:",omitempty"`
			Report *seams.Report       `json:",omitempty"`
			Parts  []seams.RecordError `json:",omitempty"`
		}{c.Line, string(c.Raw), c.Whole, reportOrNil(&c), c.Parts})
	}
	return b.String(), recs, rd.Stats()
}

func reportOrNil(r *seams.ReportRecord) *seams.Report {
	if r.Whole != nil {
		return nil
	}
	return &r.Report
}

const header = "report_id,received,incident,ip,at,event,port,proxy,device_type,device_value\n"

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestMapping reads a report whose rows are spread over the file.
func TestMapping(t *testing.T) {
	in := "ip,at,report_id,device_type,device_value,event,port,proxy,received,incident,notes\n" + // order free, unknown column ignored
		"203.0.113.7,2024-05-01T22:14:03Z,r-1,,,login,51234,false,2024-05-02T08:00:00Z,sextortion,synthetic\n" +
		"198.51.100.5,2024-02-01T12:00:00+07:00,r-2,,,,,,,,\n" +
		",2024-05-01T22:10:00Z,r-1,IMEI, 358240051111110 ,,,,,,\n" +
		"::ffff:192.0.2.10,2024-05-01T23:00:00Z,r-1,,,upload,,TRUE,2024-05-02T10:00:00+02:00,,\n"
	_, recs, _ := readAll(t, in, NewOptions())
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	want := seams.Report{ID: "r-1", Received: ts("2024-05-02T08:00:00Z"), Incident: "sextortion",
		IPs: []seams.IPEvent{
			{Addr: netip.MustParseAddr("203.0.113.7"), At: ts("2024-05-01T22:14:03Z"), Event: "login", Port: 51234},
			{Addr: netip.MustParseAddr("192.0.2.10"), At: ts("2024-05-01T23:00:00Z"), Event: "upload", Proxy: true},
		},
		Devices: []seams.Device{{ID: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: ts("2024-05-01T22:10:00Z")}},
	}
	if got := recs[0]; fmt.Sprint(got.Report) != fmt.Sprint(want) || got.Line != 2 || len(got.Parts) != 0 || got.Whole != nil {
		t.Errorf("first record:\ngot  %+v line %d parts %+v\nwant %+v line 2", got.Report, got.Line, got.Parts, want)
	}
	if !strings.HasPrefix(string(recs[0].Raw), "203.0.113.7,2024-05-01T22:14:03Z,r-1,") {
		t.Errorf("raw %q, want the first row", recs[0].Raw)
	}
	if r := recs[1]; r.Report.ID != "r-2" || r.Line != 3 || !r.Report.IPs[0].At.Equal(ts("2024-02-01T05:00:00Z")) {
		t.Errorf("second record %+v", r)
	}
}

// TestRows is a table of small files and the records they give: "R id ips
// devices [line:item ...]" for a report, "W line: reason" (a part of the
// reason) for a row rejected whole.
func TestRows(t *testing.T) {
	cases := []struct {
		name string
		rows string
		want []string
	}{
		{"one row", "a,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n", []string{"R a 1 0 []"}},
		{"rows anywhere, order of first rows", "a,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\nb,,,203.0.113.8,2024-05-01T22:14:03Z,,,,,\na,,,,,,,,imei,1\n",
			[]string{"R a 1 1 []", "R b 1 0 []"}},
		{"ip and device on one row", "a,,,203.0.113.7,2024-05-01T22:14:03Z,,,,imei,1\n", []string{"R a 1 1 []"}},
		{"report only row", "a,2024-05-02T08:00:00Z,sextortion,,,,,,,\n", []string{"R a 0 0 []"}},
		{"empty report_id", ",,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n", []string{"W 2: report_id is empty"}},
		{"blank rows are not records", "\n,,,,,,,,,\n  \na,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n", []string{"R a 1 0 []"}},
		{"wrong width", "a,b\n", []string{"W 2: row has 2 fields, header has 10"}},
		{"unclosed quote", "a,\"x,,,,,,,,\nb,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n", []string{"W 2: parse error"}},
		{"bad address", "a,,,N/A,2024-05-01T22:14:03Z,,,,,\n", []string{"R a 0 0 [2:ip]"}},
		{"empty at is an event without a time", "a,,,203.0.113.7,,,,,,\n", []string{"R a 1 0 []"}},
		{"bad port", "a,,,203.0.113.7,2024-05-01T22:14:03Z,,\"443\"\"\",,,\n", []string{"R a 0 0 [2:ip]"}},
		{"bad proxy", "a,,,203.0.113.7,2024-05-01T22:14:03Z,,,maybe,,\n", []string{"R a 0 0 [2:ip]"}},
		{"device without type", "a,,,,,,,,,1\n", []string{"R a 0 0 [2:device]"}},
		{"device type with a colon is kept (it can never match)", "a,,,,,,,,imei:x,1\n", []string{"R a 0 1 []"}},
		{"device without value", "a,,,,,,,,imei,\n", []string{"R a 0 0 [2:device]"}},
		{"bad at rejects ip and device", "a,,,203.0.113.7,yesterday,,,,imei,1\n", []string{"R a 0 0 [2:ip 2:device]"}},
		{"ip columns without ip", "a,,,,2024-05-01T22:14:03Z,login,,,,\n", []string{"R a 0 0 [2:ip]"}},
		{"event ignored on a device row", "a,,,,2024-05-01T22:14:03Z,login,99999,x,imei,1\n", []string{"R a 0 1 []"}},
		{"invalid received", "a,2024-01-05,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\na,2024-01-05,,203.0.113.8,2024-05-01T22:14:03Z,,,,,\n", []string{"R a 2 0 [2:received]"}},
		{"conflicting received: the first stands", "a,2024-05-02T08:00:00Z,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\na,2024-05-03T08:00:00Z,,203.0.113.8,2024-05-01T22:14:03Z,,,,,\n",
			[]string{"R a 2 0 [3:received]"}},
		{"same instant is no conflict", "a,2024-05-02T08:00:00Z,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\na,2024-05-02T10:00:00+02:00,,203.0.113.8,2024-05-01T22:14:03Z,,,,,\n",
			[]string{"R a 2 0 []"}},
		{"conflicting incident", "a,,x,203.0.113.7,2024-05-01T22:14:03Z,,,,,\na,,y,203.0.113.8,2024-05-01T22:14:03Z,,,,,\na,,,203.0.113.9,2024-05-01T22:14:03Z,,,,,\n",
			[]string{"R a 3 0 [3:incident]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mem := range []int64{DefaultMemory, 1} {
				_, recs, _ := readAll(t, header+c.rows, Options{Memory: mem})
				var got []string
				for _, r := range recs {
					got = append(got, brief(r))
				}
				if len(got) != len(c.want) {
					t.Fatalf("memory %d: got %q, want %q", mem, got, c.want)
				}
				for i := range got {
					if !matches(got[i], c.want[i]) {
						t.Errorf("memory %d: record %d: got %q, want %q", mem, i, got[i], c.want[i])
					}
				}
			}
		})
	}
}

func brief(r seams.ReportRecord) string {
	if r.Whole != nil {
		return fmt.Sprintf("W %d: %s", r.Line, r.Whole.Reason)
	}
	var items []string
	for _, p := range r.Parts {
		items = append(items, fmt.Sprintf("%d:%s", p.Line, p.Item))
	}
	return fmt.Sprintf("R %s %d %d [%s]", r.Report.ID, len(r.Report.IPs), len(r.Report.Devices), strings.Join(items, " "))
}

func matches(got, want string) bool {
	if strings.HasPrefix(want, "W ") {
		head, reason, _ := strings.Cut(want, ": ")
		return strings.HasPrefix(got, head+": ") && strings.Contains(got, reason)
	}
	return got == want
}

// TestHeader checks the header problems that make a file unusable.
func TestHeader(t *testing.T) {
	cases := []struct{ name, in, reason string }{
		{"empty", "", "empty file"},
		{"no report_id", "ip,at\n", `missing required column "report_id"`},
		{"ip without at", "report_id,ip\n", `column "ip" needs column "at"`},
		{"device half", "report_id,device_type\n", `"device_type" and "device_value" go together`},
		{"nothing to read", "report_id,received\n", "not a report CSV"},
		{"duplicate", "report_id,ip,at,IP\n", `duplicate column "ip" (columns 2 and 4)`},
		{"long line", "report_id,ip,at\n" + strings.Repeat("x", MaxLine+1) + "\n", "line longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd := NewReader(strings.NewReader(c.in), "x.csv", NewOptions())
			_, err := rd.Next()
			var re *seams.RecordError
			if !errors.As(err, &re) || !strings.Contains(re.Reason, c.reason) || re.File != "x.csv" {
				t.Errorf("got %v, want a fatal %q", err, c.reason)
			}
		})
	}
	// A byte order mark is dropped, and a header alone is no record.
	if _, recs, _ := readAll(t, "\uFEFF"+header, NewOptions()); len(recs) != 0 {
		t.Errorf("header only: %d records", len(recs))
	}
}

// TestReadError checks that an error of the underlying reader ends the read.
func TestReadError(t *testing.T) {
	rd := NewReader(io.MultiReader(strings.NewReader(header+"a,,,203.0.113.7,2024-05-01T22:14:03Z,,,,,\n"), iotestErr{}), "x.csv", NewOptions())
	if _, err := rd.Next(); !errors.Is(err, errBroken) || !strings.HasPrefix(err.Error(), "x.csv: ") {
		t.Errorf("got %v, want the read error naming the file", err)
	}
}

var errBroken = errors.New("disk on fire")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBroken }

// generated is a random report file: reports with rows shuffled over the
// file, and what each report must come back as.
type generated struct {
	csv     string
	reports []seams.Report // in order of first row
	rows    int
}

func generate(rng *rand.Rand, nReports, maxRows int) generated {
	type line struct {
		report int
		fields []string
	}
	var lines []line
	reports := make([]seams.Report, nReports)
	for i := range reports {
		r := &reports[i]
		r.ID = "r-" + strconv.Itoa(i)
		if rng.IntN(3) == 0 {
			r.Incident = []string{"sextortion", "online enticement"}[rng.IntN(2)]
		}
		n := 1 + rng.IntN(maxRows)
		for j := range n {
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(1e16)))
			f := []string{r.ID, "", r.Incident, "", at.Format(time.RFC3339Nano), "", "", "", "", ""}
			if rng.IntN(4) == 0 {
				d := seams.Device{ID: seams.DeviceID{Type: "imei", Value: strconv.Itoa(rng.IntN(1e6))}}
				if rng.IntN(2) == 0 {
					f[4] = ""
				} else {
					d.At = at
				}
				f[8], f[9] = "IMEI", d.ID.Value
				r.Devices = append(r.Devices, d)
			} else {
				e := seams.IPEvent{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(256))}), At: at, Event: []string{"", "login", "upload"}[rng.IntN(3)], Port: rng.IntN(3) * 443, Proxy: rng.IntN(5) == 0}
				f[3], f[5] = e.Addr.String(), e.Event
				if e.Port != 0 {
					f[6] = strconv.Itoa(e.Port)
				}
				f[7] = strconv.FormatBool(e.Proxy)
				r.IPs = append(r.IPs, e)
			}
			if j == 0 && rng.IntN(2) == 0 {
				r.Received = at.Truncate(time.Second)
				f[1] = r.Received.Format(time.RFC3339)
			}
			lines = append(lines, line{i, f})
		}
	}
	// Shuffle the rows, keeping each report's rows in their order: deal
	// them out in a random interleaving.
	next := make([]int, nReports)
	byReport := make([][]line, nReports)
	for _, l := range lines {
		byReport[l.report] = append(byReport[l.report], l)
	}
	var b bytes.Buffer
	b.WriteString(header)
	w := csv.NewWriter(&b)
	var order []int
	seen := make([]bool, nReports)
	for left := len(lines); left > 0; left-- {
		var i int
		for {
			i = rng.IntN(nReports)
			if next[i] < len(byReport[i]) {
				break
			}
		}
		w.Write(byReport[i][next[i]].fields)
		next[i]++
		if !seen[i] {
			seen[i] = true
			order = append(order, i)
		}
	}
	w.Flush()
	g := generated{csv: b.String(), rows: len(lines)}
	for _, i := range order {
		g.reports = append(g.reports, reports[i])
	}
	return g
}

// TestExternalSort checks the grouping against the reports the file was
// generated from, in memory and with budgets that spill a little, a lot,
// and past the merge fan-in (more than maxFanIn runs, merged in rounds).
func TestExternalSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		reports, rows int
	}{{1, 1}, {50, 5}, {400, 8}} {
		g := generate(rng, c.reports, c.rows)
		var first string
		for _, mem := range []int64{DefaultMemory, 64 << 10, 4 << 10, 1} {
			dir := t.TempDir()
			text, recs, st := readAll(t, g.csv, Options{Memory: mem, TempDir: dir})
			if mem == 1 && st.Runs <= g.rows {
				t.Errorf("memory 1: %d runs for %d rows, want more (every row spills, then the rounds)", st.Runs, g.rows)
			}
			if mem == DefaultMemory && st.Runs != 0 {
				t.Errorf("default memory spilled %d runs", st.Runs)
			}
			if st.Rows != g.rows {
				t.Errorf("%d rows read, want %d", st.Rows, g.rows)
			}
			if len(recs) != len(g.reports) {
				t.Fatalf("memory %d: %d records, want %d", mem, len(recs), len(g.reports))
			}
			for i, r := range recs {
				if r.Whole != nil || len(r.Parts) > 0 || fmt.Sprint(r.Report) != fmt.Sprint(g.reports[i]) {
					t.Fatalf("memory %d: record %d:\ngot  %+v %+v %+v\nwant %+v", mem, i, r.Report, r.Whole, r.Parts, g.reports[i])
				}
			}
			if first == "" {
				first = text
			} else if text != first {
				t.Errorf("memory %d: records differ from the in-memory grouping", mem)
			}
			if left, _ := os.ReadDir(dir); len(left) > 0 {
				t.Errorf("spill files left: %v", left)
			}
		}
	}
}

// TestMaxRows checks that rows past a report's limit are rejected at their
// own lines, alike in memory and spilled.
func TestMaxRows(t *testing.T) {
	in := header
	for i := range 5 {
		in += fmt.Sprintf("a,,,203.0.113.%d,2024-05-01T22:14:03Z,,,,,\n", i)
		in += fmt.Sprintf("b,,,203.0.113.%d,2024-05-01T22:14:03Z,,,,,\n", i)
	}
	var want string
	for _, mem := range []int64{DefaultMemory, 1} {
		text, recs, _ := readAll(t, in, Options{Memory: mem, MaxRows: 2})
		var got []string
		for _, r := range recs {
			got = append(got, brief(r))
		}
		exp := []string{"R a 2 0 []", "R b 2 0 []", "W 6: already has 2 rows", "W 7: already", "W 8: already", "W 9: already", "W 10: already", "W 11: already"}
		if len(got) != len(exp) {
			t.Fatalf("memory %d: got %q", mem, got)
		}
		for i := range got {
			if !matches(got[i], exp[i]) {
				t.Errorf("memory %d: record %d: got %q, want %q", mem, i, got[i], exp[i])
			}
		}
		if want == "" {
			want = text
		} else if text != want {
			t.Errorf("spilled records differ:\n%s\nwant\n%s", text, want)
		}
	}
}

// TestCloseEarly checks that Close releases the spill files of a reader
// not read to the end.
func TestCloseEarly(t *testing.T) {
	g := generate(rand.New(rand.NewPCG(3, 4)), 100, 4)
	dir := t.TempDir()
	rd := NewReader(strings.NewReader(g.csv), "x.csv", Options{Memory: 1 << 10, TempDir: dir})
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if rd.Stats().Runs == 0 {
		t.Fatal("no spill")
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("spill files left: %v", left)
	}
}

// BenchmarkReader measures rows per second grouped in memory and with
// spilling (a budget of a twentieth of the rows).
func BenchmarkReader(b *testing.B) {
	g := generate(rand.New(rand.NewPCG(5, 6)), 50_000, 8)
	for _, c := range []struct {
		name string
		mem  int64
	}{{"memory", DefaultMemory}, {"spill", int64(len(g.csv)) / 20}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(g.csv)))
			runs := 0
			cpu := cpuSeconds()
			for range b.N {
				rd := NewReader(strings.NewReader(g.csv), "bench.csv", Options{Memory: c.mem, TempDir: b.TempDir()})
				for {
					if _, err := rd.Next(); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
				}
				runs = rd.Stats().Runs
			}
			b.ReportMetric(float64(g.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			if cpu := cpuSeconds() - cpu; cpu > 0 {
				b.ReportMetric(float64(g.rows*b.N)/cpu, "rows/cpu-s")
			}
			b.ReportMetric(float64(runs), "runs")
		})
	}
}

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden") }

// TestGolden reads the hand-made files under testdata, in memory and
// spilling every row, and compares the records with the .golden file
// beside each; run with -update to rewrite them after a deliberate change,
// and read the diff.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.csv")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := readAll(t, string(b), NewOptions())
		if spilled, _, _ := readAll(t, string(b), Options{Memory: 1, TempDir: t.TempDir()}); spilled != got {
			t.Errorf("%s: spilled records differ:\n%s\nin memory:\n%s", name, spilled, got)
		}
		golden.Check(t, strings.TrimSuffix(name, ".csv")+".golden", []byte(got))
	}
}

// TestUTF16 reads the same rows written in UTF-16 with a byte-order mark,
// either byte order: the same records, lines and raw text as in UTF-8.
func TestUTF16(t *testing.T) {
	in := header + "a,2024-05-02T08:00:00Z,sextortion,203.0.113.7,,login,1,,,\n" +
		"a,,,,2024-05-01T22:10:00Z,,,,ssid,Café-Wi-Fi 中\nb,,,198.51.100.5,2024-02-01T12:00:00Z,,,,,\n"
	want, _, _ := readAll(t, in, NewOptions())
	for _, c := range []struct {
		name  string
		bom   []byte
		order binary.AppendByteOrder
	}{{"little-endian", []byte{0xFF, 0xFE}, binary.LittleEndian}, {"big-endian", []byte{0xFE, 0xFF}, binary.BigEndian}} {
		b := slices.Clone(c.bom)
		for _, u := range utf16.Encode([]rune(in)) {
			b = c.order.AppendUint16(b, u)
		}
		got, recs, _ := readAll(t, string(b), NewOptions())
		if got != want || len(recs) != 2 {
			t.Errorf("%s: read as\n%s\nwant\n%s", c.name, got, want)
		}
	}
	if !strings.Contains(want, "Café-Wi-Fi 中") || !strings.Contains(want, `"Port":1`) {
		t.Errorf("the UTF-8 reading lost the SSID:\n%s", want)
	}
}
