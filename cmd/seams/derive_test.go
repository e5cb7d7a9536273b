package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seams-dev/seams/derive"
)

// TestGenDeriveXref runs the three commands a user runs to try derive on a
// generated world, and checks the findings against the generator's truth.
func TestGenDeriveXref(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, "", "gen", "--observations", "600000", "--compounds", "8", "--reports", "2000", "--bad-rate", "0.001", "--out", dir)
	if code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 8 compounds, 600000 observations") || !strings.Contains(stdout, "next: seams derive") {
		t.Errorf("gen stdout: %s", stdout)
	}
	reg := filepath.Join(dir, "registry")
	code, stdout, stderr = run(t, "", "derive", "--compounds", filepath.Join(dir, "compounds.csv"), "--footprints", filepath.Join(dir, "footprints.geojson"),
		"--observations", filepath.Join(dir, "observations.jsonl"), "--out", reg)
	if code != 0 {
		t.Fatalf("derive: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"observations read        600000 (600 rejected)", "residents", "shared addresses", "WARNINGS                 2", "next: seams xref"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("derive stdout lacks %q:\n%s", want, stdout)
		}
	}
	// The footprint that fell back to a circle, and the district-sized
	// one, are said loudly on standard error.
	if strings.Count(stderr, "WARNING: ") != 2 || !strings.Contains(stderr, "every footprint feature was rejected") || !strings.Contains(stderr, "far more than a compound") {
		t.Errorf("derive stderr:\n%s", stderr)
	}
	out := filepath.Join(dir, "out")
	if strings.Contains(stdout, "--drift") {
		t.Errorf("derive suggests a --drift: the registry carries its bounds\n%s", stdout)
	}
	// Derived windows end at the last use seen, and derive writes drift 0
	// on its addresses: xref runs with its defaults (docs/derive.md).
	code, _, stderr = run(t, "", "xref", "--compounds", filepath.Join(dir, "compounds.csv"), "--indicators", filepath.Join(reg, "indicators.csv"),
		"--shared", filepath.Join(reg, "shared.txt"), "--reports", filepath.Join(dir, "reports.jsonl"), "--out", out)
	if code != 0 {
		t.Fatalf("xref: exit %d: %s", code, stderr)
	}
	diff, err := compareTruth(filepath.Join(dir, "truth.jsonl"), filepath.Join(out, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The truth is what derive should find; a registry derived from noisy
	// fixes may miss a resident or take a commuter for one, which the
	// derive package's tests measure. Here a few differences are allowed.
	if n := len(strings.Split(diff, "\n")); diff != "" && n > 3 {
		t.Errorf("findings differ from the truth in %d ways:\n%s", n, diff)
	}
}

func TestDeriveExitStatus(t *testing.T) {
	dir := t.TempDir()
	obs := filepath.Join(dir, "o.jsonl")
	os.WriteFile(obs, []byte(`{"device":"aaid:00000000-0000-4000-8000-000000000001","at":"2024-05-01T10:00:00Z","lat":10.6,"lon":103.5}`+"\n"), 0o600)
	comp := filepath.Join(dir, "c.csv")
	os.WriteFile(comp, []byte("id,name,country,lat,lon\nc-test,Test Compound,KH,10.6,103.5\n"), 0o600)
	out := filepath.Join(dir, "out")
	base := []string{"derive", "--compounds", comp, "--observations", obs, "--out", out}
	zones := filepath.Join(dir, "zones.geojson")
	os.WriteFile(zones, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Test Clinic"},"geometry":{"type":"Point","coordinates":[103.5,10.6]}}]}`), 0o600)
	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr string
		inStdout string
	}{
		{"help", []string{"help", "derive"}, 0, "", "--max-outside-share F"},
		{"missing --compounds", []string{"derive", "--observations", obs, "--out", out}, 2, "missing --compounds\nTry: seams help derive", ""},
		{"missing --observations", []string{"derive", "--compounds", comp, "--out", out}, 2, "missing --observations", ""},
		{"standard input", []string{"derive", "--compounds", comp, "--observations", "-", "--out", out}, 2, "standard input", ""},
		{"bad format", append(base, "--format", "xml"), 2, `unknown format "xml"`, ""},
		{"bad window", append(base, "--window", "36h"), 2, "whole number of days", ""},
		{"window in days", append(base, "--window", "10d"), 0, "", "observations read        1"},
		{"bad share", append(base, "--max-outside-share", "2"), 2, "max outside share 2", ""},
		{"missing file", []string{"derive", "--compounds", comp, "--observations", filepath.Join(dir, "none.jsonl"), "--out", out}, 1, "none.jsonl", ""},
		{"completes", base, 0, "", "inside a footprint       1"},
		{"previous run", append(base, "--previous", filepath.Join(out, "indicators.csv")), 0, "", "previous run             0 extended"},
		{"bad night", append(base, "--night", "22"), 2, `--night "22"`, ""},
		{"night crossing midnight", append(base, "--night", "22-5"), 0, "", "members"},
		{"as-of without retain", append(base, "--as-of", "2024-06-01T00:00:00Z"), 2, "--as-of applies to --retain only", ""},
		{"bad as-of", append(base, "--retain", "30d", "--as-of", "June"), 2, `--as-of "June"`, ""},
		{"retain drops the old", append(base, "--retain", "30d", "--as-of", "2024-06-15T00:00:00Z"), 0, "", "dropped first            1 older than the retention limit, 0 at sensitive places"},
		{"retain keeps the recent", append(base, "--retain", "30d", "--as-of", "2024-05-15T00:00:00Z"), 0, "", "dropped first            0 older"},
		{"retain in hours", append(base, "--retain", "36h"), 2, "retain", ""},
		{"exclude missing", append(base, "--exclude", filepath.Join(dir, "none.geojson")), 1, "none.geojson", ""},
		{"exclude drops", append(base, "--exclude", zones), 0, "", "1 at sensitive places"},
		{"spot devices 1", append(base, "--spot-devices", "1"), 2, "spot devices 1", ""},
		{"bad min share", append(base, "--min-share", "0"), 2, "min share 0", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", c.args...)
			if code != c.code || !strings.Contains(stderr, c.inStderr) || !strings.Contains(stdout, c.inStdout) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q in stderr, %q in stdout", code, c.code, stdout, stderr, c.inStderr, c.inStdout)
			}
		})
	}
	t.Run("gen flags of the other mode", func(t *testing.T) {
		for _, args := range [][]string{
			{"gen", "--observations", "1000", "--indicators", "5", "--out", dir},
			{"gen", "--format", "csv", "--out", dir},
			{"gen", "--observations", "1000", "--format", "xml", "--out", dir},
		} {
			if code, _, stderr := run(t, "", args...); code != 2 {
				t.Errorf("%v: exit %d: %s", args, code, stderr)
			}
		}
	})
}

// TestDeriveManual holds the manuals of derive, and of gen's observation
// mode, to their flags.
func TestDeriveManual(t *testing.T) {
	o := derive.NewOptions()
	var a deriveArgs
	fs := deriveFlags(&o, &a)
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(deriveCommand.usage, "--"+f.Name+" ") {
			t.Errorf("seams help derive does not document --%s", f.Name)
		}
	})
	for _, f := range []string{"--observations N", "--format F"} {
		if !strings.Contains(genCommand.usage, f) {
			t.Errorf("seams help gen does not document %s", f)
		}
	}
}
