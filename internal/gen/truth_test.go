package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareTruth: agreeing files give no difference; a missing, a
// changed and an unexpected finding are each described.
func TestCompareTruth(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truth := write("truth.jsonl",
		`{"report":"r-1","compound":"c-1","tier":"tied"}`,
		`{"report":"r-2","compound":"c-1","tier":"potential"}`,
		`{"report":"r-3","compound":"c-2","tier":"tied"}`)
	same := write("same.jsonl",
		`{"report":"r-3","compound":"c-2","tier":"tied","evidence":[]}`,
		`{"report":"r-1","compound":"c-1","tier":"tied","evidence":[]}`,
		`{"report":"r-2","compound":"c-1","tier":"potential","evidence":[]}`)
	differ := write("differ.jsonl",
		`{"report":"r-1","compound":"c-1","tier":"potential","evidence":[]}`,
		`{"report":"r-3","compound":"c-2","tier":"tied","evidence":[]}`,
		`{"report":"r-4","compound":"c-2","tier":"tied","evidence":[]}`)
	if diff, err := CompareTruth(truth, same); err != nil || diff != "" {
		t.Errorf("same findings: %q, %v", diff, err)
	}
	diff, err := CompareTruth(truth, differ)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`r-1 c-1: want tied, got "potential"`, `r-2 c-1: want potential, got ""`, `r-4 c-2: unexpected tied finding`}
	if got := strings.Split(diff, "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("diff:\n%s\nwant:\n%s", diff, strings.Join(want, "\n"))
	}
	if _, err := CompareTruth(truth, filepath.Join(dir, "none.jsonl")); err == nil {
		t.Error("a missing findings file compared")
	}
}
