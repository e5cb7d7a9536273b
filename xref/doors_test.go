package xref

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/chunk"
	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/internal/hashset"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/mapfile"
	"github.com/seams-dev/seams/internal/ordered"
)

// doorData is a generated data set with report ids that repeat far beyond
// the smallest id budget, so that a run over a regular file takes two
// passes and a run over a stream keeps its ids in memory.
type doorData struct {
	gen     gen.Files
	reports []byte // the reports, with the repeats at the end
	dir     string
}

func newDoorData(t *testing.T, reports int) *doorData {
	t.Helper()
	g := gen.DefaultOptions()
	g.Reports, g.Indicators, g.Compounds = reports, 2_000, 20
	g.TiedRate, g.PotentialRate = 0.05, 0.05
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	plain := readFile(t, f.Reports)
	lines := bytes.SplitAfter(plain, []byte("\n"))
	var repeats []byte
	for i := 0; i < min(10_000, len(lines)-1); i += 97 {
		l := lines[i]
		if i%2 == 0 {
			l = bytes.Replace(l, []byte(`"received":"`), []byte(`"received":"2`), 1)
		}
		repeats = append(repeats, l...)
	}
	return &doorData{gen: f, reports: append(bytes.Clone(plain), repeats...), dir: t.TempDir()}
}

func (d *doorData) options(t *testing.T) Options {
	o := NewOptions()
	o.Compounds, o.Indicators, o.Shared = d.gen.Compounds, d.gen.Indicators, d.gen.Shared
	o.Out = t.TempDir()
	return o
}

// write writes b into a file of the data set's folder and returns its path.
func (d *doorData) write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// feed writes b into w from another goroutine and closes it.
func feed(t *testing.T, w io.WriteCloser, b []byte) {
	t.Helper()
	go func() {
		w.Write(b)
		w.Close()
	}()
}

// fifo makes a named pipe in the data set's folder that a goroutine writes
// b into once a reader opens it.
func (d *doorData) fifo(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(d.dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	go func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(b)
		f.Close()
	}()
	return p
}

func zstdBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// normalised returns a run's three outputs with the name of the report
// input, which the outputs quote, replaced by one word: the doors differ
// in nothing else.
func normalised(t *testing.T, out, name string) map[string]string {
	t.Helper()
	got := map[string]string{}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	quoted := fmt.Sprintf("%q", name)
	r := strings.NewReplacer(`"file":`+quoted, `"file":"REPORTS"`, `"file": `+quoted, `"file": "REPORTS"`)
	for _, e := range entries {
		got[e.Name()] = r.Replace(string(readFile(t, filepath.Join(out, e.Name()))))
	}
	// The summary records the bytes each input was: compressed for a
	// compressed door. Those differ; nothing else may.
	var sum map[string]any
	if err := json.Unmarshal([]byte(got[SummaryFile]), &sum); err != nil {
		t.Fatal(err)
	}
	for _, in := range sum["inputs"].([]any) {
		if m := in.(map[string]any); m["kind"] == "reports" {
			if m["size"].(float64) <= 0 || len(m["sha256"].(string)) != 64 {
				t.Errorf("the reports' size and SHA-256 are not recorded: %v", m)
			}
			m["size"], m["sha256"] = 0, ""
		}
	}
	b, _ := json.Marshal(sum)
	got[SummaryFile] = string(b)
	return got
}

// TestDoorsGiveTheSameAnswer reads the same reports through every door a
// user may give them by (a regular file, a named FIFO, a pipe by its
// /dev/fd name as process substitution gives it, standard input, gzip and
// zstd, files and pipes), with the id check in memory and at the smallest
// budget with repeats beyond it, and expects the same bytes out.
func TestDoorsGiveTheSameAnswer(t *testing.T) {
	n := 40_000 // repeats beyond the smallest id budget: two passes
	if raceEnabled {
		n = 20_000 // the race detector is ten times slower; still beyond it
	}
	d := newDoorData(t, n)
	gz, zs := gzipBytes(t, d.reports), zstdBytes(t, d.reports)
	plain := d.write(t, "reports.jsonl", d.reports)
	type door struct {
		name  string
		setup func(t *testing.T, o *Options) string // returns the name the outputs quote
	}
	doors := []door{
		{"regular file", func(t *testing.T, o *Options) string { o.Reports = []string{plain}; return plain }},
		{"gzip file", func(t *testing.T, o *Options) string {
			p := d.write(t, "reports.jsonl.gz", gz)
			o.Reports = []string{p}
			return p
		}},
		{"zstd file", func(t *testing.T, o *Options) string {
			p := d.write(t, "reports.jsonl.zst", zs)
			o.Reports = []string{p}
			return p
		}},
		{"gzip data under a .jsonl name", func(t *testing.T, o *Options) string {
			p := d.write(t, "gzip-inside.jsonl", gz)
			o.Reports = []string{p}
			return p
		}},
		{"named FIFO", func(t *testing.T, o *Options) string {
			p := d.fifo(t, fmt.Sprintf("fifo-%d", time.Now().UnixNano()), d.reports)
			o.Reports = []string{p}
			return p
		}},
		{"gzip through a named FIFO", func(t *testing.T, o *Options) string {
			p := d.fifo(t, fmt.Sprintf("fifo-%d.jsonl.gz", time.Now().UnixNano()), gz)
			o.Reports = []string{p}
			return p
		}},
		{"process substitution (/dev/fd)", func(t *testing.T, o *Options) string {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			feed(t, w, d.reports)
			p := fmt.Sprintf("/dev/fd/%d", r.Fd())
			if _, err := os.Stat(p); err != nil {
				t.Skip("no /dev/fd here:", err)
			}
			o.Reports = []string{p}
			return p
		}},
		{"standard input", func(t *testing.T, o *Options) string {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			feed(t, w, d.reports)
			o.Stdin, o.Reports = r, []string{"-"}
			return "-"
		}},
		{"zstd on standard input", func(t *testing.T, o *Options) string {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			feed(t, w, zs)
			o.Stdin, o.Reports = r, []string{"-"}
			return "-"
		}},
	}
	for _, budget := range []int{0, idset.MinBudget} {
		var want map[string]string
		for _, dr := range doors {
			t.Run(fmt.Sprintf("%s, id budget %d", dr.name, budget), func(t *testing.T) {
				o := d.options(t)
				o.IDMemory = budget
				name := dr.setup(t, &o)
				s, err := Run(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				if s.Reports == 0 || s.TiedReports == 0 || s.Rejected == 0 {
					t.Fatalf("the data set exercised nothing: %d reports, %d tied, %d rejected", s.Reports, s.TiedReports, s.Rejected)
				}
				got := normalised(t, o.Out, name)
				if want == nil {
					want = got
					return
				}
				for file, w := range want {
					if got[file] != w {
						t.Errorf("%s differs from the regular file's (%d bytes, want %d)", file, len(got[file]), len(w))
					}
				}
				if len(got) != len(want) {
					t.Errorf("outputs %d files, want %d", len(got), len(want))
				}
			})
		}
	}
}

// TestChangedWhileRead cuts a report file short, and makes one grow, after
// the run opened it and before it read it: the run fails naming the file,
// it does not end with a short result. Every streamed format, and mapped
// JSON Lines.
func TestChangedWhileRead(t *testing.T) {
	d := newDoorData(t, 5_000)
	csv := d.csvReports(t)
	for _, tc := range []struct {
		name   string
		file   string
		data   []byte
		change func(path string, size int64) error
	}{
		{"CSV cut short", "r.csv", csv, func(p string, n int64) error { return os.Truncate(p, n/3) }},
		{"CSV grown", "r.csv", csv, func(p string, n int64) error { return appendTo(p, csv[len(csv)/2:]) }},
		{"gzip cut short", "r.jsonl.gz", gzipBytes(t, d.reports), func(p string, n int64) error { return os.Truncate(p, n/2) }},
		{"JSON Lines (mapped) cut short", "r.jsonl", d.reports, func(p string, n int64) error { return os.Truncate(p, n/2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := d.write(t, tc.file, tc.data)
			o := d.options(t)
			o.Reports = []string{p}
			testHookOpened = func(in *input.File) {
				if err := tc.change(p, int64(len(tc.data))); err != nil {
					t.Error(err)
				}
			}
			defer func() { testHookOpened = nil }()
			_, err := Run(context.Background(), o)
			if err == nil {
				t.Fatal("the run completed over a file that changed under it")
			}
			if !errors.Is(err, input.ErrChanged) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want ErrChanged naming %s", err, p)
			}
			if entries, _ := os.ReadDir(o.Out); len(entries) != 0 {
				t.Errorf("the failed run left %d files in the output folder", len(entries))
			}
		})
	}
}

func appendTo(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}

// csvReports writes the data set's reports as the reports CSV: one row per
// ip event.
func (d *doorData) csvReports(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("report_id,ip,at\n")
	n := 0
	for line := range bytes.Lines(d.reports) {
		id := between(line, `"id":"`, `"`)
		ip := between(line, `"ip":"`, `"`)
		at := between(line, `"at":"`, `"`)
		if id == "" || ip == "" || at == "" {
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", id, ip, at)
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d CSV rows", n)
	}
	return b.Bytes()
}

func between(b []byte, start, end string) string {
	_, rest, ok := bytes.Cut(b, []byte(start))
	if !ok {
		return ""
	}
	v, _, _ := bytes.Cut(rest, []byte(end))
	return string(v)
}

// TestWholeFileMistakes gives the mistakes a person makes with a whole
// report file, and expects the run to fail saying what the file looks like
// and what to do, with nothing written; or, where something useful was
// done, to complete with a warning.
func TestWholeFileMistakes(t *testing.T) {
	d := newDoorData(t, 200)
	array := "[\n" + strings.ReplaceAll(strings.TrimSpace(string(d.reports)), "\n", ",\n") + "\n]\n"
	for _, tc := range []struct {
		name, file, data string
		fail             string // the error must say this; "" when the run completes
		warn             string // a warning must say this
	}{
		{name: "a JSON array", file: "r.jsonl", data: array, fail: "jq -c '.[]'"},
		{name: "a JSON array on one line", file: "r.json", data: "[" + strings.ReplaceAll(strings.TrimSpace(string(d.reports)), "\n", ",") + "]", fail: "JSON array"},
		{name: "bzip2 data", file: "r.jsonl", data: "BZh91AY&SY\x00\x00", fail: "bzip2"},
		{name: "a zip archive", file: "r.jsonl", data: "PK\x03\x04\x14\x00", fail: "unzip"},
		{name: "UTF-16 JSON Lines", file: "r.jsonl", data: "\xff\xfe{\x00\"\x00", fail: "UTF-16"},
		{name: "a CSV separated by semicolons", file: "r.csv", data: "report_id;ip;at\nr-1;203.0.113.7;2024-05-01T00:00:00Z\n", fail: "semicolons"},
		{name: "a semicolon CSV with no .csv name", file: "r.txt", data: "report_id;ip;at\nr-1;203.0.113.7;2024-05-01T00:00:00Z\n", fail: "semicolons"},
		{name: "a CSV separated by tabs", file: "r.csv", data: "report_id\tip\tat\nr-1\t203.0.113.7\t2024-05-01T00:00:00Z\n", fail: "tabs"},
		{name: "gzip data under a .jsonl name", file: "r.jsonl", data: string(gzipBytes(t, d.reports))},
		{name: "a .gz name over plain text", file: "r.jsonl.gz", data: string(d.reports), fail: "not gzip data"},
		{name: "an empty file", file: "r.jsonl", data: "", warn: "no report in it"},
		{name: "every line rejected", file: "r.jsonl", data: "hello\nworld\n", warn: "every one of its 2 records was rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := d.write(t, tc.file, []byte(tc.data))
			o := d.options(t)
			o.Reports = []string{p}
			s, err := Run(context.Background(), o)
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err = %v, want an error naming %s and saying %q", err, p, tc.fail)
				}
				if entries, _ := os.ReadDir(o.Out); len(entries) != 0 {
					t.Errorf("the failed run left %d files in the output folder", len(entries))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.warn == "" {
				if s.Reports == 0 || len(s.Warnings) != 0 {
					t.Errorf("reports %d, warnings %q", s.Reports, s.Warnings)
				}
				return
			}
			if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], tc.warn) || !strings.Contains(s.Warnings[0], p) {
				t.Errorf("warnings %q, want one naming %s and saying %q", s.Warnings, p, tc.warn)
			}
		})
	}
}

// TestRegistryMistakes: a registry of which every row was rejected, or an
// empty one, completes with a warning that names the file.
func TestRegistryMistakes(t *testing.T) {
	d := newDoorData(t, 200)
	bad := d.write(t, "bad-indicators.csv", []byte("compound,kind,value,first_seen,last_seen,confidence,source\nc-x,IP,nope,,,,\nc-y,ip,203.0.113.7,,,,\n"))
	header := d.write(t, "header-only-indicators.csv", []byte("compound,kind,value,first_seen,last_seen,confidence,source\n"))
	for _, tc := range []struct{ name, file, warn string }{
		{"every indicator rejected", bad, "every one of its 2 indicators was rejected"},
		{"no indicator", header, "no indicators in it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.options(t)
			o.Indicators = tc.file
			o.Reports = []string{d.write(t, "r.jsonl", d.reports)}
			s, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], tc.warn) || !strings.Contains(s.Warnings[0], tc.file) {
				t.Errorf("warnings %q, want one naming %s and saying %q", s.Warnings, tc.file, tc.warn)
			}
		})
	}
}

// TestRegistryThroughPipes reads the registry files through pipes and
// compressed, as the reports: the same answer as from regular files.
func TestRegistryThroughPipes(t *testing.T) {
	d := newDoorData(t, 5_000)
	reports := d.write(t, "r.jsonl", d.reports)
	o := d.options(t)
	o.Reports = []string{reports}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, filepath.Join(o.Out, FindingsFile))

	p := d.options(t)
	p.Reports = []string{reports}
	p.Compounds = d.fifo(t, "compounds-fifo", readFile(t, d.gen.Compounds))
	p.Indicators = d.write(t, "indicators.csv.zst", zstdBytes(t, readFile(t, d.gen.Indicators)))
	p.Shared = d.fifo(t, "shared-fifo", readFile(t, d.gen.Shared))
	if _, err := Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(p.Out, FindingsFile)); !bytes.Equal(got, want) || len(want) == 0 {
		t.Errorf("findings through pipes differ (%d bytes, want %d)", len(got), len(want))
	}
}

// TestCancelWhileBlocked cancels a run blocked on every kind of wait: the
// open of a FIFO that no writer opens, a read of a pipe that never ends,
// and standard input that never ends. Run returns, the output folder is as
// it was.
func TestCancelWhileBlocked(t *testing.T) {
	d := newDoorData(t, 200)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, o *Options)
	}{
		{"FIFO with no writer", func(t *testing.T, o *Options) {
			p := filepath.Join(d.dir, fmt.Sprintf("lonely-%d", time.Now().UnixNano()))
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Skip(err)
			}
			o.Reports = []string{p}
		}},
		{"pipe that never ends", func(t *testing.T, o *Options) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close(); r.Close() })
			w.Write(d.reports[:1000])
			o.Reports = []string{fmt.Sprintf("/dev/fd/%d", r.Fd())}
		}},
		{"standard input that never ends", func(t *testing.T, o *Options) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close(); r.Close() })
			w.Write(d.reports[:1000])
			o.Stdin, o.Reports = r, []string{"-"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.options(t)
			tc.setup(t, &o)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := Run(ctx, o)
				done <- err
			}()
			time.Sleep(200 * time.Millisecond) // let it block
			cancel()
			err := <-done // the test's own timeout catches a run that never returns
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			if entries, _ := os.ReadDir(o.Out); len(entries) != 0 {
				t.Errorf("the cancelled run left %d files in the output folder", len(entries))
			}
		})
	}
}

// TestDuplicateFromATruncatedMapping: the writer quotes a duplicate's raw
// text from the mapped input; when the file was cut short meanwhile, that
// read faults. The run must fail saying the file changed, not crash.
func TestDuplicateFromATruncatedMapping(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.jsonl")
	line := `{"id":"r-1","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}` + "\n"
	if err := os.WriteFile(p, bytes.Repeat([]byte(line), 4<<20/len(line)), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mapfile.Open(p)
	if err != nil {
		t.Skip("mapping not supported here:", err)
	}
	defer m.Close()
	o := smallOptions(t)
	o.Reports = []string{p}
	pl := pipeline{o: o, rj: &rejections{w: io.Discard, max: -1}}
	pl.ids = idset.New(idset.DefaultBudget, dir, 0)
	defer pl.ids.Finish()
	key := hashset.Key{1, 2}
	// The first one stands: the id set knows the key already.
	if err := pl.ids.Check([]hashset.Key{key}, make([]bool, 1)); err != nil {
		t.Fatal(err)
	}
	off := len(m.Data) - len(line) // the last line, in the last page
	j := &job{c: &chunk.Chunk{Data: m.Data, FirstLine: 1}}
	j.res.recs = []rec{{line: 1, report: true, hash: key, rawOff: off, rawEnd: len(m.Data)}}
	j.res.ids = []byte("r-1")
	j.res.recs[0].idEnd = 3
	j.res.lines = 1
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	var in seams.InputCount
	err = ordered.Run(context.Background(), ordered.Stages[*job]{Workers: 1,
		Read:  func(_ context.Context, send func(*job) bool) error { send(j); return nil },
		Write: func(j *job) error { return pl.write(j, &in) },
		Name:  func(j *job) string { return pl.o.Reports[j.file] },
	})
	if !errors.Is(err, input.ErrChanged) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want ErrChanged naming the file", err)
	}
}

// TestXMLCountsReachTheSummary: the elements a newer schema adds (skipped
// and counted, not rejected), the characters an XML input's encoding could
// not give, and the events without a time are in summary.json.
func TestXMLCountsReachTheSummary(t *testing.T) {
	o := NewOptions()
	o.Compounds, o.Indicators = "../testdata/partners/compounds.csv", "../testdata/partners/indicators.csv"
	o.Reports = []string{"../cybertip/testdata/newer-schema.xml", "../cybertip/testdata/mislabelled.xml", "../cybertip/testdata/undated.xml"}
	o.Out = t.TempDir()
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Inputs[len(s.Inputs)-3].SkippedElements == 0 {
		t.Errorf("newer-schema.xml: no skipped element counted: %+v", s.Inputs[len(s.Inputs)-3])
	}
	if s.Inputs[len(s.Inputs)-2].ReplacedChars == 0 {
		t.Errorf("mislabelled.xml: no replaced character counted: %+v", s.Inputs[len(s.Inputs)-2])
	}
	if s.Undated == 0 {
		t.Errorf("undated.xml: no event without a time counted")
	}
}
