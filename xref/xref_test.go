package xref

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/klauspost/compress/zstd"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/chunk"
	"github.com/seams-dev/seams/internal/mapfile"
	"github.com/seams-dev/seams/reportfile"
)

const small = "../testdata/small/"

// smallOptions is a run over the hand-made data set, with every input kind.
func smallOptions(t *testing.T) Options {
	o := NewOptions()
	o.Compounds = small + "compounds.csv"
	o.Indicators = small + "indicators.csv"
	o.Shared = small + "shared.txt"
	o.Reports = []string{small + "reports.jsonl", small + "reports2.jsonl"}
	o.Out = t.TempDir()
	return o
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden compares the three outputs of a run over testdata/small with
// the golden files beside it. Run with -update to rewrite them after a
// deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	o := smallOptions(t)
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FindingsFile, SummaryFile, RejectedFile} {
		got := maskBuild(readFile(t, filepath.Join(o.Out, name)))
		golden.Check(t, filepath.Join(small, "golden", name), got)
	}
}

// buildBlock is the build that made a summary: the Go version and cgo
// setting of the test binary, which a golden file must not depend on.
var buildBlock = regexp.MustCompile(`(?s)"seams": \{\n.*?\n  \}`)

// maskBuild replaces the build block of a summary with a fixed one.
func maskBuild(b []byte) []byte {
	return buildBlock.ReplaceAll(b, []byte(`"seams": {"version": "(masked in golden files)"}`))
}

// TestDeterministic runs the same inputs with different worker counts and
// chunk sizes (down to chunks smaller than a line) and expects identical
// bytes: order comes from the input, never from timing.
func TestDeterministic(t *testing.T) {
	var first map[string][]byte
	for _, c := range []struct{ workers, chunk int }{{1, 1 << 20}, {2, 64}, {7, 1}, {3, 333}} {
		o := smallOptions(t)
		o.Workers, o.ChunkSize = c.workers, c.chunk
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, name := range []string{FindingsFile, SummaryFile, RejectedFile} {
			got[name] = readFile(t, filepath.Join(o.Out, name))
		}
		if first == nil {
			first = got
			continue
		}
		for name := range got {
			if !bytes.Equal(got[name], first[name]) {
				t.Errorf("workers=%d chunk=%d: %s differs from the first run", c.workers, c.chunk, name)
			}
		}
	}
}

// TestGzipAndStdin reads the same reports through gzip and standard input
// and expects the same findings as from the plain files.
func TestGzipAndStdin(t *testing.T) {
	base := smallOptions(t)
	if _, err := Run(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, filepath.Join(base.Out, FindingsFile))

	dir := t.TempDir()
	gz := filepath.Join(dir, "reports.jsonl.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(readFile(t, small+"reports.jsonl"))
	zw.Close()
	if err := os.WriteFile(gz, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	o := smallOptions(t)
	o.Reports = []string{gz, "-"}
	o.Stdin = bytes.NewReader(readFile(t, small+"reports2.jsonl"))
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(o.Out, FindingsFile)); !bytes.Equal(got, want) {
		t.Errorf("findings through gzip and stdin differ:\n%s\nwant:\n%s", got, want)
	}
	rej := string(readFile(t, filepath.Join(o.Out, RejectedFile)))
	if !strings.Contains(rej, `"file":"-","line":2`) {
		t.Errorf("a rejection from standard input should name file \"-\": %s", rej)
	}
}

// TestNothingLost checks that every line of every input is either used or
// rejected: accepted + rejected whole = lines that are not blank, per file.
func TestNothingLost(t *testing.T) {
	o := smallOptions(t)
	s, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[string]int{}
	parts := map[string]int{}
	f, err := os.Open(filepath.Join(o.Out, RejectedFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var e seams.RecordError
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		n++
		if e.File == "" || e.Line < 1 || e.Reason == "" {
			t.Errorf("rejection without file, line or reason: %s", sc.Bytes())
		}
		if e.Item == "" {
			rejected[e.File]++
		} else {
			parts[e.File]++
		}
	}
	if n != s.Rejected {
		t.Errorf("rejected.jsonl has %d lines, summary says %d", n, s.Rejected)
	}
	accepted := map[string]int{
		o.Compounds: s.Registry.Compounds, o.Indicators: s.Registry.IPIndicators + s.Registry.CIDRIndicators + s.Registry.DeviceIndicators,
		o.Shared: s.Registry.SharedPrefixes - 1, // less 100.64.0.0/10, always added
	}
	reportsAccepted := s.Reports
	for _, in := range s.Inputs {
		records := countRecords(t, in.File, in.Kind)
		if in.Records != records {
			t.Errorf("%s: summary counts %d records, the file has %d", in.File, in.Records, records)
		}
		if rejected[in.File] != in.Rejected || parts[in.File] != in.PartsRejected {
			t.Errorf("%s: summary says %d rejected and %d parts, rejected.jsonl has %d and %d", in.File, in.Rejected, in.PartsRejected, rejected[in.File], parts[in.File])
		}
		if in.Kind == "reports" {
			reportsAccepted -= records - in.Rejected
			continue
		}
		if accepted[in.File]+in.Rejected != records {
			t.Errorf("%s: %d accepted + %d rejected != %d records", in.File, accepted[in.File], in.Rejected, records)
		}
	}
	if reportsAccepted != 0 {
		t.Errorf("reports accepted do not add up: off by %d", reportsAccepted)
	}
}

// countRecords counts the records of a small input by hand: non-blank lines
// (less the header of a CSV, and comments of a shared list).
func countRecords(t *testing.T, path, kind string) int {
	n := 0
	for _, l := range strings.Split(string(readFile(t, path)), "\n") {
		if kind == "shared" {
			l, _, _ = strings.Cut(l, "#")
		}
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	if kind == "compounds" || kind == "indicators" {
		n-- // header
	}
	return n
}

// TestFailuresWriteNothing checks that a run that cannot complete leaves the
// output directory as it was, and says why with the file name.
func TestFailuresWriteNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"missing reports file", func(o *Options) { o.Reports = []string{small + "nope.jsonl"} }, "nope.jsonl"},
		{"missing compounds", func(o *Options) { o.Compounds = small + "nope.csv" }, "nope.csv"},
		{"too many rejected", func(o *Options) { o.MaxRejected = 3 }, "too many rejected"},
		{"corrupt gzip", func(o *Options) {
			p := filepath.Join(t.TempDir(), "bad.jsonl.gz")
			os.WriteFile(p, []byte("\x1f\x8b\x08\x00garbage"), 0o600)
			o.Reports = []string{p}
		}, "bad.jsonl.gz"},
		{"cancelled", func(o *Options) {}, "context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := smallOptions(t)
			old := filepath.Join(o.Out, SummaryFile)
			os.WriteFile(old, []byte("earlier run"), 0o600)
			c.change(&o)
			ctx := context.Background()
			if c.name == "cancelled" {
				var cancel func()
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			_, err := Run(ctx, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			if c.name == "too many rejected" && !errors.Is(err, ErrTooManyRejected) {
				t.Errorf("err = %v, want ErrTooManyRejected", err)
			}
			entries, _ := os.ReadDir(o.Out)
			if len(entries) != 1 || string(readFile(t, old)) != "earlier run" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("output directory changed: %v", names)
			}
		})
	}
}

// TestLongLine checks that a line over the limit is rejected with its number
// and that the lines after it are still read.
func TestLongLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.jsonl")
	long := `{"id":"r-long","incident":"` + strings.Repeat("x", 5000) + `"}`
	os.WriteFile(p, []byte(`{"id":"r-1"}`+"\n"+long+"\n"+`{"id":"r-2","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}`+"\n"), 0o600)
	for _, chunk := range []int{64, 1 << 20} {
		o := smallOptions(t)
		o.Reports, o.MaxLine, o.ChunkSize = []string{p}, 2000, chunk
		s, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if s.Reports != 2 || s.TiedReports != 1 {
			t.Errorf("chunk %d: reports=%d tied=%d, want 2 and 1", chunk, s.Reports, s.TiedReports)
		}
		rej := string(readFile(t, filepath.Join(o.Out, RejectedFile)))
		if !strings.Contains(rej, `"line":2,"item":"","reason":"line longer than 2000 bytes"`) {
			t.Errorf("chunk %d: long line not rejected as line 2:\n%s", chunk, rej)
		}
	}
}

// The golden outputs of testdata/small are this package's; other
// packages read them too (export, the store's tests), but only TestGolden
// writes them.
func TestMain(m *testing.M) { golden.Main(m, small+"golden/*") }

// TestTruncatedWhileMapped shrinks a report file after it is mapped: the run
// must fail with an error naming the file, not crash.
func TestTruncatedWhileMapped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.jsonl")
	line := `{"id":"r-%d","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z"}]}` + "\n"
	var b strings.Builder
	for i := 0; b.Len() < 8<<20; i++ {
		fmt.Fprintf(&b, line, i)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := mapfile.Open(p)
	if err != nil {
		t.Skip("mapping not supported here:", err)
	}
	defer m.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	o := smallOptions(t)
	pl := pipeline{o: o}
	pl.o.Reports = []string{p}
	pl.mapMu.Lock() // as addMapping leaves it
	err = pl.sendMapped(0, m, func(*chunk.Reader, *chunk.Chunk) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "changed while it was being read") {
		t.Fatalf("err = %v, want a file-changed error", err)
	}
}

// TestBatchPathMatchesChunkPath sends the small data set through the path
// that inputs in formats other than JSON Lines take (a seams.ReportReader
// in the reader goroutine, batches to the workers), with the JSON Lines
// reader standing in for the other formats' readers, and expects the same
// bytes as the chunk path: findings, rejections (whole lines, parts and
// duplicate ids) and summary.
func TestBatchPathMatchesChunkPath(t *testing.T) {
	want := smallOptions(t)
	if _, err := Run(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	orig := newReportReader
	t.Cleanup(func() { newReportReader = orig })
	newReportReader = func(f reportfile.Format, r io.Reader, file string, o reportfile.ReaderOptions) (seams.ReportReader, error) {
		if f != reportfile.CSV {
			t.Errorf("reader asked for format %q, want csv", f)
		}
		return orig(reportfile.JSONL, r, file, o)
	}
	for _, c := range []struct{ workers, chunk int }{{1, 1 << 20}, {2, 64}, {3, 1}} {
		o := smallOptions(t)
		o.Format = reportfile.CSV
		o.Workers, o.ChunkSize = c.workers, c.chunk
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{FindingsFile, RejectedFile, SummaryFile} {
			got, exp := readFile(t, filepath.Join(o.Out, name)), readFile(t, filepath.Join(want.Out, name))
			// The summary records the format given, the one thing that
			// differs.
			got = bytes.Replace(got, []byte(`"format": "csv"`), []byte(`"format": ""`), 1)
			if !bytes.Equal(got, exp) {
				t.Errorf("workers=%d chunk=%d: %s differs from the chunk path's\ngot:\n%s\nwant:\n%s", c.workers, c.chunk, name, got, exp)
			}
		}
	}
}

// TestZstd reads the reports through Zstandard and expects the findings of
// the plain files.
func TestZstd(t *testing.T) {
	base := smallOptions(t)
	if _, err := Run(context.Background(), base); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names []string
	for _, name := range []string{"reports.jsonl", "reports2.jsonl"} {
		var buf bytes.Buffer
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(readFile(t, small+name))
		zw.Close()
		p := filepath.Join(dir, name+".zst")
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, p)
	}
	o := smallOptions(t)
	o.Reports = names
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(o.Out, FindingsFile)), readFile(t, filepath.Join(base.Out, FindingsFile)); !bytes.Equal(got, want) {
		t.Errorf("findings through zstd differ:\n%s\nwant:\n%s", got, want)
	}
	// A file that says .zst and is not gives an error naming it.
	o = smallOptions(t)
	bad := filepath.Join(dir, "bad.jsonl.zst")
	os.WriteFile(bad, []byte("not zstd\n"), 0o600)
	o.Reports = []string{bad}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "bad.jsonl.zst") {
		t.Errorf("Run on a corrupt .zst = %v, want an error naming the file", err)
	}
}

// TestNonRoutable4 holds the byte test of the pipeline's count of
// unroutable events to seams.NonRoutable, on every first byte and the
// second bytes that matter.
func TestNonRoutable4(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			for _, cd := range [][2]byte{{0, 0}, {0, 1}, {255, 255}, {1, 2}} {
				ip := [4]byte{byte(a), byte(b), cd[0], cd[1]}
				want := seams.NonRoutable(netip.AddrFrom4(ip)) != ""
				if got := nonRoutable4(ip); got != want {
					t.Fatalf("nonRoutable4(%v) = %v, seams.NonRoutable says %v", netip.AddrFrom4(ip), got, want)
				}
			}
		}
	}
}
