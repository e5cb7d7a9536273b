package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallRun runs xref over testdata/small into a temporary folder.
func smallRun(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	if code, _, stderr := run(t, "", smallArgs(out)...); code != 0 {
		t.Fatalf("xref: %d %s", code, stderr)
	}
	return out
}

var smallReportArgs = []string{"--reports", small + "reports.jsonl", "--reports", small + "reports2.jsonl"}

func TestKeyEvidenceVerify(t *testing.T) {
	out := smallRun(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "team")
	code, id, stderr := run(t, "", "key", "new", "--out", key)
	if code != 0 {
		t.Fatalf("key new: %d %s", code, stderr)
	}
	st, err := os.Stat(key + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", st.Mode(), err)
	}
	if code, _, stderr := run(t, "", "key", "new", "--out", key); code != 1 || !strings.Contains(stderr, "never overwrites") {
		t.Errorf("a second key over the first: %d %s", code, stderr)
	}
	if code, got, _ := run(t, "", "key", "id", key+".pub"); code != 0 || got != id {
		t.Errorf("key id %q, key new said %q", got, id)
	}
	bundle := filepath.Join(dir, "tied.dsse.json")
	args := append([]string{"evidence", "--from", out, "--tied", "--key", key + ".key", "--out", bundle}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("evidence: %d %s", code, stderr)
	}
	code, stdout, stderr := run(t, "", "verify", bundle, "--key", key+".pub")
	if code != 0 || !strings.Contains(stdout, "What this proves") || !strings.Contains(stdout, strings.TrimSpace(id)) {
		t.Fatalf("verify: %d\n%s\n%s", code, stdout, stderr)
	}
	// Another key does not verify it.
	other := filepath.Join(dir, "other")
	run(t, "", "key", "new", "--out", other)
	if code, _, stderr := run(t, "", "verify", bundle, "--key", other+".pub"); code != 1 || !strings.Contains(stderr, "NOT VERIFIED") {
		t.Errorf("verified under another key: %d %s", code, stderr)
	}
	// A private key given to verify is refused with a hint.
	if code, _, stderr := run(t, "", "verify", bundle, "--key", key+".key"); code != 1 || !strings.Contains(stderr, "private key") {
		t.Errorf("verify with a private key: %d %s", code, stderr)
	}
	// An edited payload does not verify.
	b, _ := os.ReadFile(bundle)
	var env map[string]any
	json.Unmarshal(b, &env)
	payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"tier":"tied"`, `"tier":"potential"`, 1)))
	b, _ = json.Marshal(env)
	os.WriteFile(bundle, b, 0o600)
	if code, _, stderr := run(t, "", "verify", bundle, "--key", key+".pub"); code != 1 || !strings.Contains(stderr, "NOT VERIFIED") {
		t.Errorf("an edited bundle: %d %s", code, stderr)
	}
	// A bundle that vouches for a brief names it by SHA-256.
	html := filepath.Join(dir, "brief.html")
	os.WriteFile(html, []byte("<!DOCTYPE html><title>b</title>"), 0o600)
	withBrief := filepath.Join(dir, "brief.dsse.json")
	args = append([]string{"evidence", "--from", out, "--tied", "--brief", html, "--key", key + ".key", "--out", withBrief}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("evidence --brief: %d %s", code, stderr)
	}
	sum := sha256.Sum256([]byte("<!DOCTYPE html><title>b</title>"))
	if code, stdout, _ := run(t, "", "verify", withBrief, "--key", key+".pub"); code != 0 ||
		!strings.Contains(stdout, "subject       brief.html (31 bytes, sha256 "+hex.EncodeToString(sum[:])+")") {
		t.Errorf("the brief is not a subject:\n%s", stdout)
	}
	// One finding by REPORT/COMPOUND; a finding that does not exist.
	one := filepath.Join(dir, "one.dsse.json")
	args = append([]string{"evidence", "--from", out, "--finding", "r-tied-ip/c-jinbei", "--key", key + ".key", "--out", one}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("evidence --finding: %d %s", code, stderr)
	}
	if code, stdout, _ := run(t, "", "verify", one, "--key", key+".pub"); code != 0 || !strings.Contains(stdout, "findings      1 (1 tied") {
		t.Errorf("one finding: %d %s", code, stdout)
	}
	args[4] = "r-nothing/c-jinbei"
	if code, _, stderr := run(t, "", args...); code != 1 || !strings.Contains(stderr, "no finding of report") {
		t.Errorf("a finding that does not exist: %d %s", code, stderr)
	}
}

func TestAggregateCommand(t *testing.T) {
	out := smallRun(t)
	csv := filepath.Join(t.TempDir(), "figures.csv")
	args := append([]string{"aggregate", "--from", out, "--k", "2", "--out", csv}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("aggregate: %d %s", code, stderr)
	}
	b, _ := os.ReadFile(csv)
	if !strings.Contains(string(b), "# Counts from 1 to 1 are suppressed (k = 2)") || !strings.Contains(string(b), "tied,total,,,,") {
		t.Errorf("aggregate output:\n%s", b)
	}
	if code, _, stderr := run(t, "", "aggregate", "--from", out, "--out", csv); code != 2 || !strings.Contains(stderr, "--reports") {
		t.Errorf("without reports: %d %s", code, stderr)
	}
}

func TestBriefCommand(t *testing.T) {
	out := smallRun(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "brief.html")
	args := append([]string{"brief", "--from", out, "--out", html}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("brief: %d %s", code, stderr)
	}
	b, _ := os.ReadFile(html)
	if !strings.Contains(string(b), "r-tied-ip") {
		t.Error("the brief's appendix lacks the tied report")
	}
	key := filepath.Join(dir, "team")
	if code, _, stderr := run(t, "", "key", "new", "--redaction", "--out", key); code != 0 {
		t.Fatalf("key new --redaction: %d %s", code, stderr)
	}
	args = append([]string{"brief", "--from", out, "--redact", key + ".redact", "--out", html}, smallReportArgs...)
	if code, _, stderr := run(t, "", args...); code != 0 {
		t.Fatalf("brief --redact: %d %s", code, stderr)
	}
	b, _ = os.ReadFile(html)
	if strings.Contains(string(b), "r-tied-ip") || strings.Contains(string(b), "358240051111110") {
		t.Error("the redacted brief shows a report id or a device")
	}
	if code, _, stderr := run(t, "", "brief", "--from", out, "--redact", filepath.Join(dir, "team.pub"), "--out", html); code != 1 {
		t.Errorf("a missing redaction key: %d %s", code, stderr)
	}
	if code, _, _ := run(t, "", "brief", "--out", html); code != 2 {
		t.Errorf("no source: %d", code)
	}
}

// TestStoreDoors: the brief, the aggregate and the evidence of a store
// holding the hand-made set agree with those of a run over the same files.
func TestStoreDoors(t *testing.T) {
	dir := t.TempDir()
	loadSmall(t, dir)
	if code, _, stderr := run(t, "", "xref", "--store", dir); code != 0 {
		t.Fatalf("xref --store: %d %s", code, stderr)
	}
	out := smallRun(t)
	tmp := t.TempDir()
	// The same counts, cell by cell, from the store and from the run.
	fromRun, fromStore := filepath.Join(tmp, "run.csv"), filepath.Join(tmp, "store.csv")
	if code, _, stderr := run(t, "", append([]string{"aggregate", "--from", out, "--k", "2", "--out", fromRun}, smallReportArgs...)...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := run(t, "", "aggregate", "--data", dir, "--k", "2", "--out", fromStore); code != 0 {
		t.Fatal(stderr)
	}
	data := func(p string) string {
		b, _ := os.ReadFile(p)
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "# Source:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if a, b := data(fromRun), data(fromStore); a != b || !strings.Contains(a, "published") {
		t.Errorf("the store's aggregate differs from the run's:\n%s\n---\n%s", a, b)
	}
	// The brief of the store.
	html := filepath.Join(tmp, "brief.html")
	if code, _, stderr := run(t, "", "brief", "--data", dir, "--out", html); code != 0 {
		t.Fatalf("brief --data: %d %s", code, stderr)
	}
	b, _ := os.ReadFile(html)
	if !strings.Contains(string(b), "does not record them with its runs yet") || !strings.Contains(string(b), "r-tied-ip") {
		t.Error("the store's brief does not say what the store lacks, or lacks the appendix")
	}
	// A reviewed finding's bundle carries the review.
	code, stdout, _ := run(t, "", "findings", "--data", dir, "--report", "r-tied-ip", "--compound", "c-jinbei")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("findings: %d %q", code, stdout)
	}
	id := strings.Fields(lines[1])[0]
	if code, _, stderr := run(t, "", "review", "--data", dir, "--finding", id, "--mark", "confirmed", "--comment", "same login, same week"); code != 0 {
		t.Fatal(stderr)
	}
	key := filepath.Join(tmp, "team")
	run(t, "", "key", "new", "--out", key)
	bundle := filepath.Join(tmp, "f.dsse.json")
	if code, _, stderr := run(t, "", "evidence", "--data", dir, "--finding", id, "--key", key+".key", "--out", bundle); code != 0 {
		t.Fatalf("evidence --data: %d %s", code, stderr)
	}
	code, stdout, stderr := run(t, "", "verify", bundle, "--key", key+".pub")
	if code != 0 || !strings.Contains(stdout, "source        a store") {
		t.Fatalf("verify: %d %s %s", code, stdout, stderr)
	}
	raw, _ := os.ReadFile(bundle)
	var env struct{ Payload string }
	json.Unmarshal(raw, &env)
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	for _, want := range []string{`"comment":"same login, same week"`, `"mark":"confirmed"`, `"org":"partner-a"`, `"kind":"store"`} {
		if !strings.Contains(string(payload), want) {
			t.Errorf("the bundle lacks %s", want)
		}
	}
	if code, _, stderr := run(t, "", "evidence", "--data", dir, "--tied", "--key", key+".key", "--out", bundle); code != 0 {
		t.Fatalf("evidence --data --tied: %d %s", code, stderr)
	}
	if code, _, _ := run(t, "", "verify", bundle, "--key", key+".pub"); code != 0 {
		t.Error("the store's tied bundle does not verify")
	}
}
