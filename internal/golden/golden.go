// Package golden compares test output with golden files under testdata/,
// rewrites them with -update, and flags golden files that no test reads:
// one helper for every package, instead of a flag and a compare function
// in each.
//
// In a package's tests:
//
//	func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden") }
//
//	func TestX(t *testing.T) { golden.Check(t, "testdata/x.golden", got) }
//
// Run `go test ./pkg -update` after a deliberate change, and read the diff.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the tests produce")

// Update reports whether the test run rewrites golden files (-update).
func Update() bool { return *update }

var (
	mu   sync.Mutex
	read = map[string]bool{} // golden files checked in this run, cleaned
)

// Check compares got with the golden file at path, or rewrites it with
// -update. A difference fails the test with the file's name and what was
// produced.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	mu.Lock()
	read[filepath.Clean(path)] = true
	mu.Unlock()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the test produced (go test -update rewrites it; read the diff):\n%s", path, got)
	}
}

// Main runs the package's tests, then, when every test ran (no -run,
// -skip or -short) and all passed, fails if a file matching one of the
// patterns was never checked: a golden file no test reads is a test that
// was lost.
func Main(m *testing.M, patterns ...string) {
	code := m.Run()
	if code == 0 && everyTest() {
		if unread := Unread(patterns...); len(unread) > 0 {
			fmt.Fprintf(os.Stderr, "golden files that no test read (remove them, or check them): %s\n", strings.Join(unread, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

// everyTest reports whether the run is of every test of the package.
func everyTest() bool {
	all := true
	for _, name := range []string{"test.run", "test.skip", "test.short", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			all = false
		}
	}
	return all
}

// Unread returns the files matching the patterns that Check never read.
func Unread(patterns ...string) []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for _, p := range patterns {
		matches, _ := filepath.Glob(p)
		for _, f := range matches {
			if !read[filepath.Clean(f)] {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
