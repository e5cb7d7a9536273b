package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestXrefAsOfAndDiff drives the replay and the diff at the command line:
// a run publishes its findings file (--out); after a correction and more
// reports, a second run; seams xref --as-of run:1 writes the first file
// again byte for byte (and to standard output without --out), run:2 the
// second; a rule flag with run:ID is refused; seams diff names the
// correction, the retired indicator and the findings that changed, in
// text and in JSON.
func TestXrefAsOfAndDiff(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	out := t.TempDir()
	pub1, pub2 := filepath.Join(out, "pub1"), filepath.Join(out, "pub2")
	mustRun := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		return stdout
	}
	mustRun("xref", "--store", dir, "--out", pub1)
	// A correction: 203.0.113.7's window of partner-a widened to August;
	// 192.0.2.10 (c-kkpark) dropped. More reports: none (all stored).
	b, err := os.ReadFile(small + "indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch {
		case strings.Contains(l, "192.0.2.10"):
			continue
		case strings.HasPrefix(l, "c-jinbei,ip,203.0.113.7,2024-03-03,2024-06-09"):
			l = strings.Replace(l, "2024-06-09", "2024-08-31", 1)
		}
		rows = append(rows, l)
	}
	v2 := filepath.Join(t.TempDir(), "indicators.csv")
	if err := os.WriteFile(v2, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "", "load", "--data", dir, "indicators", v2, "--org", "partner-a", "--shared")
	mustRun("xref", "--store", dir, "--out", pub2)
	f1, _ := os.ReadFile(filepath.Join(pub1, "findings.jsonl"))
	f2, _ := os.ReadFile(filepath.Join(pub2, "findings.jsonl"))
	if len(f1) == 0 || string(f1) == string(f2) {
		t.Fatalf("the runs' findings files: %d and %d bytes, equal %v: the test tests nothing", len(f1), len(f2), string(f1) == string(f2))
	}

	rep := filepath.Join(out, "rep1")
	mustRun("xref", "--store", dir, "--as-of", "run:1", "--out", rep)
	if got, _ := os.ReadFile(filepath.Join(rep, "findings.jsonl")); string(got) != string(f1) {
		t.Errorf("--as-of run:1 wrote\n%s\nwant the first run's file\n%s", got, f1)
	}
	if got := mustRun("xref", "--store", dir, "--as-of", "run:2"); got != string(f2) {
		t.Errorf("--as-of run:2 on standard output:\n%s\nwant the second run's file\n%s", got, f2)
	}
	if code, _, stderr := run(t, "", "xref", "--store", dir, "--as-of", "run:1", "--drift", "1d"); code != 2 || !strings.Contains(stderr, "--drift") {
		t.Errorf("--drift with --as-of run:1: exit %d, %s; want a usage error naming it", code, stderr)
	}
	if code, _, stderr := run(t, "", "xref", "--store", dir, "--as-of", "yesterday"); code != 2 || !strings.Contains(stderr, "run:ID") {
		t.Errorf("--as-of yesterday: exit %d, %s; want a usage error", code, stderr)
	}

	text := mustRun("diff", "--data", dir, "--from", "1", "--to", "run:2")
	for _, want := range []string{
		"parameters  the same",
		"retired   c-kkpark ip 192.0.2.10",
		"changed   c-jinbei ip 203.0.113.7 (indicators.csv of partner-a, version 1 -> 2",
		"window [2024-03-03 .. 2024-06-09] -> [2024-03-03 .. 2024-08-31]",
		"withdrawn  tied -> none",
		"upgraded   potential -> tied",
		"ip-drift -> ip",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("seams diff does not say %q:\n%s", want, text)
		}
	}
	var d struct {
		Retired []struct {
			Value string `json:"value"`
		} `json:"retired"`
		Changed []struct {
			From, To struct {
				Version  int    `json:"version"`
				LastSeen string `json:"last_seen"`
			}
		} `json:"changed"`
		Findings []struct {
			Report, Kind, From, To string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(mustRun("diff", "--data", dir, "--from", "1", "--to", "2", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range d.Findings {
		kinds[f.Kind]++
	}
	if len(d.Retired) != 1 || d.Retired[0].Value != "192.0.2.10" || len(d.Changed) != 1 || d.Changed[0].To.Version != 2 ||
		!strings.HasPrefix(d.Changed[0].To.LastSeen, "2024-08-31") || kinds["withdrawn"] == 0 || kinds["upgraded"] == 0 {
		t.Errorf("seams diff --json: %+v", d)
	}
}
