package main

// The command-line part of the contract of issue 2, driven in-process
// through Run: flags (--reports repeated, .gz, "-", --drift with its d
// suffix and its default, --max-rejected), the three outputs written into
// DIR atomically, the summary table on standard output, and the exit
// statuses 0, 1 and 2 with messages that name the file, the line and what
// is wrong. The rules themselves are held to the contract in
// xref/contract_test.go; the fixture is the one there.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const ctFixture = "../../xref/testdata/contract/"

// ctRun runs the CLI in-process with stdin and returns the exit status and
// the two outputs.
func ctRun(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// ctArgs is an xref run over the fixture into out, with extra flags.
func ctArgs(out string, extra ...string) []string {
	args := []string{"xref", "--compounds", ctFixture + "compounds.csv", "--indicators", ctFixture + "indicators.csv",
		"--shared", ctFixture + "shared.txt", "--reports", ctFixture + "reports-a.jsonl", "--reports", ctFixture + "reports-b.jsonl",
		"--out", out}
	return append(args, extra...)
}

// ctWrite writes a file into dir and returns its path.
func ctWrite(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ctGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

func ctRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ctSnapshot reads every file of dir, hidden ones (temporary files) too.
func ctSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		m[e.Name()] = ctRead(t, filepath.Join(dir, e.Name()))
	}
	return m
}

// TestContractCLIExitStatus: 0 when the run completed, even with rejected
// records; 1 when it could not complete (unreadable file, output not
// writable, more rejections than --max-rejected); 2 for a usage error. The
// message of a failure names the file (and the line, when there is one).
func TestContractCLIExitStatus(t *testing.T) {
	dir := t.TempDir()
	clean := ctWrite(t, dir, "clean.jsonl", `{"id":"r-1","ips":[{"ip":"203.0.113.1","at":"2024-05-10T00:00:00Z"}]}`+"\n")
	cleanC := ctWrite(t, dir, "clean-compounds.csv", "id,name,country\nc-z,Zulu,BN\n")
	cleanI := ctWrite(t, dir, "clean-indicators.csv", "compound,kind,value\nc-z,ip,203.0.113.1\n")
	oneBad := ctWrite(t, dir, "one-bad.jsonl", `{"id":"r-1"}`+"\n"+`{"id":""}`+"\n")
	noKind := ctWrite(t, dir, "no-kind.csv", "compound,value\nc-a,203.0.113.1\n")
	notGzip := ctWrite(t, dir, "plain.jsonl.gz", `{"id":"r-1"}`+"\n")
	aFile := ctWrite(t, dir, "a-file", "")
	cleanArgs := func(out string, extra ...string) []string {
		return append([]string{"xref", "--compounds", cleanC, "--indicators", cleanI, "--reports", clean, "--out", out}, extra...)
	}
	out := func() string { return filepath.Join(t.TempDir(), "out") }

	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr []string // the message names these
	}{
		{"completed with rejected records: 0", ctArgs(out()), 0, nil},
		{"completed without rejected records: 0", cleanArgs(out()), 0, nil},
		{"--max-rejected equal to the 12 rejections: 0", ctArgs(out(), "--max-rejected", "12"), 0, nil},
		{"--max-rejected one below the 12 rejections: 1", ctArgs(out(), "--max-rejected", "11"), 1, []string{"too many rejected records", "11"}},
		{"--max-rejected 0 with nothing rejected: 0", cleanArgs(out(), "--max-rejected", "0"), 0, nil},
		{"--max-rejected 0 with one rejected line: 1", []string{"xref", "--compounds", cleanC, "--indicators", cleanI, "--reports", oneBad, "--out", out(), "--max-rejected", "0"}, 1, []string{"too many rejected records"}},
		{"--max-rejected not a number: 2", cleanArgs(out(), "--max-rejected", "many"), 2, []string{"max-rejected"}},
		{"a report file that does not exist: 1", cleanArgs(out(), "--reports", filepath.Join(dir, "nope.jsonl")), 1, []string{filepath.Join(dir, "nope.jsonl")}},
		{"a report file that is a directory: 1", []string{"xref", "--compounds", cleanC, "--indicators", cleanI, "--reports", dir, "--out", out()}, 1, []string{dir}},
		{"a compounds file that does not exist: 1", []string{"xref", "--compounds", filepath.Join(dir, "nope.csv"), "--indicators", cleanI, "--reports", clean, "--out", out()}, 1, []string{filepath.Join(dir, "nope.csv")}},
		{"an indicators file that does not exist: 1", []string{"xref", "--compounds", cleanC, "--indicators", filepath.Join(dir, "nope.csv"), "--reports", clean, "--out", out()}, 1, []string{filepath.Join(dir, "nope.csv")}},
		{"a shared file that does not exist: 1", cleanArgs(out(), "--shared", filepath.Join(dir, "nope.txt")), 1, []string{filepath.Join(dir, "nope.txt")}},
		{"an indicators header without a required column: 1, naming file:line", []string{"xref", "--compounds", cleanC, "--indicators", noKind, "--reports", clean, "--out", out()}, 1, []string{noKind + ":1", `"kind"`}},
		{"a .gz report file that is not gzip: 1", cleanArgs(out(), "--reports", notGzip), 1, []string{notGzip}},
		{"an output directory under a regular file: 1", cleanArgs(filepath.Join(aFile, "out")), 1, []string{aFile}},
		{"an output directory that is a regular file: 1", cleanArgs(aFile), 1, []string{aFile}},
		{"missing --indicators: 2", []string{"xref", "--compounds", cleanC, "--reports", clean, "--out", out()}, 2, []string{"--indicators"}},
		{"missing --out: 2", []string{"xref", "--compounds", cleanC, "--indicators", cleanI, "--reports", clean}, 2, []string{"--out"}},
		{"--drift without a unit: 2", cleanArgs(out(), "--drift", "90"), 2, []string{`"90"`}},
		{"--drift with fractional days: 2", cleanArgs(out(), "--drift", "1.5d"), 2, []string{`"1.5d"`}},
		{"--drift in weeks (not Go syntax): 2", cleanArgs(out(), "--drift", "2w"), 2, []string{`"2w"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := ctRun(t, nil, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			for _, s := range c.inStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not name %q", stderr, s)
				}
			}
			switch c.code {
			case 0:
				if stderr != "" {
					t.Errorf("a completed run wrote to stderr: %q", stderr)
				}
			case 1:
				if stdout != "" {
					t.Errorf("a failed run wrote to stdout: %q", stdout)
				}
				if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
					t.Errorf("want one line on stderr, got %d: %q", n+1, stderr)
				}
			case 2:
				if !strings.Contains(stderr, "Try: seams help xref") {
					t.Errorf("a usage error should give a hint: %q", stderr)
				}
			}
		})
	}
}

// TestContractCLIOutputs checks a completed run: DIR is created (parents
// too), it holds exactly findings.jsonl, summary.json and rejected.jsonl,
// standard output carries the human summary table with the numbers of
// summary.json, and standard error, not a terminal here, gets no progress
// line.
func TestContractCLIOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "new", "nested", "out")
	code, stdout, stderr := ctRun(t, nil, ctArgs(out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files := ctSnapshot(t, out)
	if names := slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	}); !slices.Equal(names, []string{"findings.jsonl", "rejected.jsonl", "summary.json"}) {
		t.Errorf("DIR holds %v, want the three outputs and nothing else", names)
	}
	var s struct {
		Reports          int `json:"reports"`
		Events           int `json:"events"`
		Devices          int `json:"devices"`
		Rejected         int `json:"rejected"`
		TiedReports      int `json:"tied_reports"`
		PotentialReports int `json:"potential_reports"`
		CompoundsTied    int `json:"compounds_tied"`
		ByCompound       []struct {
			Compound, Name, Country string
			Tied, Potential         int
		} `json:"by_compound"`
	}
	if err := json.Unmarshal([]byte(files["summary.json"]), &s); err != nil {
		t.Fatal(err)
	}
	if s.Reports != 18 || s.TiedReports != 4 || s.PotentialReports != 12 || s.Rejected != 12 {
		t.Errorf("summary.json: %+v", s) // worked out in xref.TestContractSummary
	}
	for _, want := range []string{
		fmt.Sprintf("%d (%d ip events, %d devices)", s.Reports, s.Events, s.Devices),
		fmt.Sprintf("tied                     %d reports", s.TiedReports),
		fmt.Sprintf("potentially associated   %d reports", s.PotentialReports),
		fmt.Sprintf("compounds with tied      %d", s.CompoundsTied),
		fmt.Sprintf("rejected records         %d", s.Rejected),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// The table lists the compounds as summary.json does, in its order.
	var rows [][]string
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); len(f) == 5 && strings.HasPrefix(f[0], "c-") {
			rows = append(rows, f)
		}
	}
	if len(rows) != len(s.ByCompound) {
		t.Errorf("stdout has %d compound rows, summary.json %d:\n%s", len(rows), len(s.ByCompound), stdout)
	}
	for i, c := range s.ByCompound {
		want := []string{c.Compound, c.Name, c.Country, fmt.Sprint(c.Tied), fmt.Sprint(c.Potential)}
		if i < len(rows) && !slices.Equal(rows[i], want) {
			t.Errorf("table row %d: %v, want %v", i, rows[i], want)
		}
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal: no progress line expected, got %q", stderr)
	}
}

// TestContractCLIDrift checks --drift: Go duration syntax, a d suffix for
// days, the default 2160h (90 days), each bound exactly at the drift and
// one nanosecond past it.
func TestContractCLIDrift(t *testing.T) {
	dir := t.TempDir()
	compounds := ctWrite(t, dir, "compounds.csv", "id,name,country\nc-a,Alpha,KH\n")
	indicators := ctWrite(t, dir, "indicators.csv", "compound,kind,value,first_seen,last_seen\nc-a,ip,203.0.113.7,2024-03-03,2024-06-09\n")
	lastEnd := time.Date(2024, 6, 9, 23, 59, 59, 999999999, time.UTC)
	offsets := []struct {
		id string
		d  time.Duration
	}{
		{"+1d", 24 * time.Hour}, {"+1d+1ns", 24*time.Hour + 1},
		{"+36h30m", 36*time.Hour + 30*time.Minute}, {"+36h30m+1ns", 36*time.Hour + 30*time.Minute + 1},
		{"+90d", 2160 * time.Hour}, {"+90d+1ns", 2160*time.Hour + 1},
		{"-90d", -2160 * time.Hour}, // before first_seen: measured from 2024-03-03T00:00:00Z below
	}
	var reports strings.Builder
	for _, o := range offsets {
		at := lastEnd.Add(o.d)
		if o.d < 0 {
			at = time.Date(2024, 3, 3, 0, 0, 0, 0, time.UTC).Add(o.d)
		}
		fmt.Fprintf(&reports, `{"id":%q,"ips":[{"ip":"203.0.113.7","at":%q}]}`+"\n", o.id, at.Format(time.RFC3339Nano))
	}
	reportsPath := ctWrite(t, dir, "reports.jsonl", reports.String())

	run := func(t *testing.T, drift []string) (findings string, drifted []string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		args := append([]string{"xref", "--compounds", compounds, "--indicators", indicators, "--reports", reportsPath, "--out", out}, drift...)
		code, _, stderr := ctRun(t, nil, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		findings = ctRead(t, filepath.Join(out, "findings.jsonl"))
		for _, l := range strings.Split(strings.TrimSpace(findings), "\n") {
			if l == "" {
				continue
			}
			var f struct {
				Report   string
				Tier     string
				Evidence []struct{ Rule string }
			}
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatal(err)
			}
			if f.Tier != "potential" || len(f.Evidence) != 1 || f.Evidence[0].Rule != "ip-drift" {
				t.Errorf("want one potential ip-drift finding, got %s", l)
			}
			drifted = append(drifted, f.Report)
		}
		return findings, drifted
	}
	all := []string{"+1d", "+1d+1ns", "+36h30m", "+36h30m+1ns", "+90d", "-90d"}
	cases := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"no --drift: the default 2160h", nil, all},
		{"--drift 2160h", []string{"--drift", "2160h"}, all},
		{"--drift 90d is 2160h", []string{"--drift", "90d"}, all},
		{"--drift 1d: exactly one day is in, 1ns more is out", []string{"--drift", "1d"}, []string{"+1d"}},
		{"--drift 24h is 1d", []string{"--drift", "24h"}, []string{"+1d"}},
		{"--drift 36h30m (Go syntax)", []string{"--drift", "36h30m"}, []string{"+1d", "+1d+1ns", "+36h30m"}},
		{"--drift 0: no drift", []string{"--drift", "0"}, nil},
		{"--drift 0d: no drift", []string{"--drift", "0d"}, nil},
	}
	var defaultFindings string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			findings, got := run(t, c.flags)
			if !slices.Equal(got, c.want) {
				t.Errorf("reports with ip-drift: %v, want %v", got, c.want)
			}
			if slices.Equal(c.want, all) {
				if defaultFindings == "" {
					defaultFindings = findings
				} else if findings != defaultFindings {
					t.Errorf("findings differ from the default run's")
				}
			}
		})
	}
}

// TestContractCLIInputs checks --reports repeated, a .gz name read through
// gzip and "-" read from standard input, against the same reports as plain
// files: same findings, same summary, rejections naming the input as given.
func TestContractCLIInputs(t *testing.T) {
	plainOut := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := ctRun(t, nil, ctArgs(plainOut)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	gz := ctWrite(t, dir, "reports-a.jsonl.gz", string(ctGzip(t, []byte(ctRead(t, ctFixture+"reports-a.jsonl")))))
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"xref", "--compounds", ctFixture + "compounds.csv", "--indicators", ctFixture + "indicators.csv",
		"--shared", ctFixture + "shared.txt", "--reports", gz, "--reports", "-", "--out", out}
	code, _, stderr := ctRun(t, []byte(ctRead(t, ctFixture+"reports-b.jsonl")), args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, want := ctRead(t, filepath.Join(out, "findings.jsonl")), ctRead(t, filepath.Join(plainOut, "findings.jsonl")); got != want {
		t.Errorf("findings through .gz and - differ:\n%s\nwant:\n%s", got, want)
	}
	want := strings.NewReplacer(`"file":"`+ctFixture+`reports-a.jsonl"`, `"file":"`+gz+`"`,
		`"file":"`+ctFixture+`reports-b.jsonl"`, `"file":"-"`).Replace(ctRead(t, filepath.Join(plainOut, "rejected.jsonl")))
	if got := ctRead(t, filepath.Join(out, "rejected.jsonl")); got != want {
		t.Errorf("rejected.jsonl:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(want, `"file":"-","line":8,"item":"","reason":"duplicate report id \"R1\"`) {
		t.Errorf("the duplicate R1 read from standard input should be rejected as file \"-\", line 8:\n%s", want)
	}
}

// TestContractCLIAtomic checks that a run that fails (exit 1) leaves the
// outputs of an earlier run exactly as they were, with no temporary file
// left behind, and that the next completed run replaces them.
func TestContractCLIAtomic(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := ctRun(t, nil, ctArgs(out)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	before := ctSnapshot(t, out)
	dir := t.TempDir()
	// A gzip stream cut short: the run fails after reading reports.
	var lines strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&lines, `{"id":"g-%d","ips":[{"ip":"203.0.113.1","at":"2024-05-10T00:00:00Z"}]}`+"\n", i)
	}
	z := ctGzip(t, []byte(lines.String()))
	cut := ctWrite(t, dir, "cut.jsonl.gz", string(z[:len(z)*3/4]))
	noCountry := ctWrite(t, dir, "no-country.csv", "id,name\nc-a,Alpha\n")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"a report file that does not exist", ctArgs(out, "--reports", filepath.Join(dir, "nope.jsonl"))},
		{"a truncated gzip report file after a good one", ctArgs(out, "--reports", cut)},
		{"more rejected records than --max-rejected", ctArgs(out, "--max-rejected", "3")},
		{"a compounds header without a required column", append(ctArgs(out), "--compounds", noCountry)},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := ctRun(t, nil, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			after := ctSnapshot(t, out)
			for name, b := range before {
				if after[name] != b {
					t.Errorf("%s changed or disappeared", name)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok {
					t.Errorf("%s left in the output directory", name)
				}
			}
		})
	}
	t.Run("a failed run into a new DIR writes nothing there", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "fresh")
		if code, _, _ := ctRun(t, nil, ctArgs(fresh, "--max-rejected", "0")...); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if entries, err := os.ReadDir(fresh); err == nil && len(entries) > 0 {
			t.Errorf("a failed run left files in a new DIR: %v", entries)
		}
	})
	t.Run("a failed run into a new DIR leaves no DIR (docs/xref.md: DIR as it was)", func(t *testing.T) {
		fresh := filepath.Join(t.TempDir(), "fresh")
		if code, _, _ := ctRun(t, nil, ctArgs(fresh, "--max-rejected", "0")...); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Errorf("a failed run created %s", fresh)
		}
	})
	t.Run("the next completed run replaces the outputs", func(t *testing.T) {
		small := filepath.Join(dir, "one.jsonl")
		os.WriteFile(small, []byte(`{"id":"only","ips":[{"ip":"203.0.113.1","at":"2024-05-10T00:00:00Z"}]}`+"\n"), 0o600)
		args := []string{"xref", "--compounds", ctFixture + "compounds.csv", "--indicators", ctFixture + "indicators.csv", "--reports", small, "--out", out}
		if code, _, stderr := ctRun(t, nil, args...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		after := ctSnapshot(t, out)
		if len(after) != 3 || !strings.HasPrefix(after["findings.jsonl"], `{"report":"only"`) || strings.Count(after["findings.jsonl"], "\n") != 1 {
			t.Errorf("outputs not replaced: %v", after)
		}
	})
}

// ctDeviation skips a case that shows a known deviation, so the tree stays
// green while the deviation stays listed; SEAMS_CONTRACT_STRICT=1 runs it.
func ctDeviation(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SEAMS_CONTRACT_STRICT") == "" {
		t.Skip(why)
	}
}
