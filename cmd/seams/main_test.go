package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/xref"
)

// run runs the CLI in-process and returns its exit status and output.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

const small = "../../testdata/small/"

func smallArgs(out string) []string {
	return []string{"xref", "--compounds", small + "compounds.csv", "--indicators", small + "indicators.csv",
		"--shared", small + "shared.txt", "--reports", small + "reports.jsonl", "--reports", small + "reports2.jsonl", "--out", out}
}

func TestExitStatus(t *testing.T) {
	out := t.TempDir()
	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{"no command", nil, 2, "Usage:", ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{"help", []string{"help"}, 0, "", "xref"},
		{"help of a command", []string{"help", "xref"}, 0, "", "--drift DURATION"},
		{"help of an unknown command", []string{"help", "nope"}, 2, `unknown command "nope"`, ""},
		{"flag -h prints the manual", []string{"xref", "-h"}, 0, "", "Exit status"},
		{"missing --compounds", []string{"xref", "--indicators", "i.csv", "--reports", "r.jsonl", "--out", out}, 2, "missing --compounds\nTry: seams help xref", ""},
		{"missing --reports", []string{"xref", "--compounds", "c.csv", "--indicators", "i.csv", "--out", out}, 2, "missing --reports", ""},
		{"unknown flag", []string{"xref", "--frob"}, 2, "flag provided but not defined: -frob", ""},
		{"stray argument", []string{"xref", "--out", out, "extra"}, 2, `unexpected argument "extra"`, ""},
		{"invalid drift", append(smallArgs(out), "--drift", "soon"), 2, `invalid duration "soon"`, ""},
		{"negative drift", append(smallArgs(out), "--drift", "-1h"), 2, `invalid duration "-1h"`, ""},
		{"stdin twice", append(smallArgs(out), "--reports", "-", "--reports", "-"), 2, "--reports: - (standard input) given 2 times", ""},
		{"missing file names it", []string{"xref", "--compounds", small + "nope.csv", "--indicators", small + "indicators.csv", "--reports", small + "reports.jsonl", "--out", out}, 1, "nope.csv", ""},
		{"too many rejected", append(smallArgs(out), "--max-rejected", "2"), 1, "too many rejected records: more than 2", ""},
		{"run completes with rejections", smallArgs(out), 0, "", "tied                     11 reports"},
		{"drift in days", append(smallArgs(out), "--drift", "30d"), 0, "", "compound"},
		{"version", []string{"version"}, 0, "", "seams "},
		{"lift-cap not an address or device", append(smallArgs(out), "--lift-cap", "203.0.113.0/24"), 2, `--lift-cap: "203.0.113.0/24" is neither`, ""},
		{"shared-asn without an ASN database", append(smallArgs(out), "--shared-asn", "AS14593"), 2, "--shared-asn: shared ASNs need an ASN database", ""},
		{"preset of ASes without an ASN database", append(smallArgs(out), "--shared-preset", "satellite"), 2, "--shared-preset: preset satellite lists autonomous systems: it needs an ASN database", ""},
		{"store with a flag of a run over files", []string{"xref", "--store", out, "--reports", "r.jsonl", "--asn-db", "x.mmdb", "--shared", "s.txt"}, 2, "--reports, --shared cannot be used with --store", ""},
		{"store with a bad lift value", []string{"xref", "--store", out, "--lift-cap", "nope"}, 2, `--lift-cap: "nope" is neither an IP address nor a device`, ""},
		{"store with shared ASNs and no ASN database", []string{"xref", "--store", out, "--shared-asn", "AS14593"}, 2, "--shared-asn: shared ASNs need an ASN database", ""},
		{"store with an unknown preset", []string{"xref", "--store", out, "--shared-preset", "moon"}, 2, "--shared-preset: unknown preset", ""},
		{"store with a missing database", []string{"xref", "--store", t.TempDir(), "--asn-db", "x.mmdb"}, 1, "x.mmdb", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.inStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, c.inStderr)
			}
			if !strings.Contains(stdout, c.inStdout) {
				t.Errorf("stdout %q does not contain %q", stdout, c.inStdout)
			}
		})
	}
}

// TestManualsDocumentEveryFlag holds each manual to its flag set: every flag
// a command takes appears in "seams help <command>".
func TestManualsDocumentEveryFlag(t *testing.T) {
	var o xref.Options
	var a xrefArgs
	sets := map[string]*flag.FlagSet{"xref": xrefFlags(&o, &a)}
	for _, name := range []string{"gen", "demo"} {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		genFlags(fs, &gen.Options{})
		sets[name] = fs
	}
	for name, fs := range sets {
		usage := commands[name].usage
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(usage, "--"+f.Name) {
				t.Errorf("seams help %s does not document --%s", name, f.Name)
			}
		})
	}
	for name, c := range commands {
		if c.summary == "" || !strings.HasPrefix(c.usage, "Usage:") {
			t.Errorf("command %s lacks a summary or a manual", name)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"0d", 0, true},
		{"2160h", 2160 * time.Hour, true},
		{"36h30m", 36*time.Hour + 30*time.Minute, true},
		{"0", 0, true},
		{"1.5d", 0, false},
		{"-3d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"99999999999d", 0, false},
	} {
		got, err := parseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestXrefFromStdin reads reports from standard input.
func TestXrefFromStdin(t *testing.T) {
	out := t.TempDir()
	reports, err := os.ReadFile(small + "reports2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"xref", "--compounds", small + "compounds.csv", "--indicators", small + "indicators.csv", "--reports", "-", "--out", out}
	code, stdout, stderr := run(t, string(reports), args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "reports scanned          2") {
		t.Errorf("stdout: %s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "findings.jsonl")); err != nil {
		t.Error(err)
	}
}

// TestGenThenXref runs the two commands a user runs to try seams on a
// generated set, and checks the findings against the generator's truth.
func TestGenThenXref(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, "", "gen", "--out", dir, "--reports", "3000", "--indicators", "300", "--compounds", "12", "--bad-rate", "0.01", "--gzip")
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 12 compounds, 300 indicators, 3000 reports") {
		t.Errorf("gen stdout: %s", stdout)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr = run(t, "", "xref", "--compounds", filepath.Join(dir, "compounds.csv"), "--indicators", filepath.Join(dir, "indicators.csv"),
		"--shared", filepath.Join(dir, "shared.txt"), "--reports", filepath.Join(dir, "reports.jsonl.gz"), "--out", out)
	if code != 0 {
		t.Fatalf("xref: exit %d: %s", code, stderr)
	}
	diff, err := gen.CompareTruth(filepath.Join(dir, "truth.jsonl"), filepath.Join(out, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("findings differ from the truth:\n%s", diff)
	}
}

func TestDemo(t *testing.T) {
	keep := t.TempDir()
	code, stdout, stderr := run(t, "", "demo", "--reports", "5000", "--keep", keep)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"reports scanned", "tied", "potentially associated", "findings agree with the ground truth"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(keep, "out", "summary.json")); err != nil {
		t.Errorf("--keep: %v", err)
	}
}
