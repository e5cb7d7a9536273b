package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

var owned = []string{"a.jsonl", "b.json"}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func writeIn(t *testing.T, d *Dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(d.Path(name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCommitReplacesTheFolderAtOnce(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	for round, text := range []string{"one", "two"} {
		d, err := Open(out, owned)
		if err != nil {
			t.Fatal(err)
		}
		writeIn(t, d, "a.jsonl", text)
		writeIn(t, d, "b.json", text)
		if round == 1 {
			// Until the commit, the folder holds the first round's.
			if b, _ := os.ReadFile(filepath.Join(out, "a.jsonl")); string(b) != "one" {
				t.Errorf("before the commit a.jsonl is %q", b)
			}
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		d.Abort() // safe after Commit
		for _, n := range owned {
			if b, _ := os.ReadFile(filepath.Join(out, n)); string(b) != text {
				t.Errorf("round %d: %s is %q", round, n, b)
			}
		}
	}
	if got := names(t, parent); len(got) != 1 || got[0] != "out" {
		t.Errorf("the parent holds %v, want only out", got)
	}
}

func TestAbortLeavesTheFolderAsItWas(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "new", "out")
	d, err := Open(out, owned)
	if err != nil {
		t.Fatal(err)
	}
	writeIn(t, d, "a.jsonl", "x")
	d.Abort()
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("an aborted run into a new folder left %v", got)
	}
}

func TestSecondRunIsRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the lock is Linux's flock")
	}
	out := filepath.Join(t.TempDir(), "out")
	d, err := Open(out, owned)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	if _, err := Open(out, owned); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second run into the same folder: err = %v, want ErrBusy", err)
	}
	writeIn(t, d, "a.jsonl", "x")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	// Once the first is done, the folder (now another one, swapped in)
	// can be taken again.
	e, err := Open(out, owned)
	if err != nil {
		t.Fatal(err)
	}
	e.Abort()
}

func TestForeignContent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(filepath.Join(out, "sub"), 0o750)
	if _, err := Open(out, owned); err == nil || !strings.Contains(err.Error(), "sub") {
		t.Fatalf("a folder holding a folder: err = %v, want a refusal naming it", err)
	}
	os.Remove(filepath.Join(out, "sub"))
	os.Mkdir(filepath.Join(out, "a.jsonl"), 0o750)
	if _, err := Open(out, owned); err == nil || !strings.Contains(err.Error(), "a.jsonl") {
		t.Fatalf("an output name that is a folder: err = %v, want a refusal naming it", err)
	}
	os.Remove(filepath.Join(out, "a.jsonl"))

	// A file seams did not write is kept.
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o600)
	d, err := Open(out, owned)
	if err != nil {
		t.Fatal(err)
	}
	writeIn(t, d, "a.jsonl", "x")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(b) != "mine" {
		t.Errorf("notes.txt is %q after the run", b)
	}
}

func TestStaleStagesAreRemoved(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	stale := filepath.Join(parent, ".out.seams-12345")
	os.MkdirAll(stale, 0o700)
	os.WriteFile(filepath.Join(stale, "a.jsonl"), []byte("half"), 0o600)
	unrelated := filepath.Join(parent, ".other.seams-1")
	os.MkdirAll(unrelated, 0o700)
	d, err := Open(out, owned)
	if err != nil {
		t.Fatal(err)
	}
	d.Abort()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the staging folder of a killed run is still there")
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Error("the staging folder of another output folder was removed")
	}
}

func TestSymlinkedFolder(t *testing.T) {
	parent := t.TempDir()
	real := filepath.Join(parent, "real")
	os.MkdirAll(real, 0o750)
	link := filepath.Join(parent, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	d, err := Open(link, owned)
	if err != nil {
		t.Fatal(err)
	}
	writeIn(t, d, "a.jsonl", "x")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is no longer a link")
	}
	if b, _ := os.ReadFile(filepath.Join(real, "a.jsonl")); string(b) != "x" {
		t.Errorf("the linked folder holds %q", b)
	}
}

func TestTwoStep(t *testing.T) {
	parent := t.TempDir()
	a, b := filepath.Join(parent, "a"), filepath.Join(parent, "b")
	os.MkdirAll(a, 0o750)
	os.MkdirAll(b, 0o750)
	os.WriteFile(filepath.Join(a, "f"), []byte("a"), 0o600)
	os.WriteFile(filepath.Join(b, "f"), []byte("b"), 0o600)
	if err := twoStep(a, b); err != nil {
		t.Fatal(err)
	}
	if x, _ := os.ReadFile(filepath.Join(b, "f")); string(x) != "a" {
		t.Errorf("b holds %q", x)
	}
	if x, _ := os.ReadFile(filepath.Join(a, "f")); string(x) != "b" {
		t.Errorf("a holds %q", x)
	}
}
