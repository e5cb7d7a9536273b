package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/gen"
)

// These tests run the seams binary as a user does, and do to it what a
// careful operator does: kill it with SIGKILL at every step of writing its
// output, send it SIGTERM, SIGINT and SIGHUP while it waits on a pipe, and
// run it under a virtual-memory limit. The binary is built cgo-free (as the
// README says to build it) and, for the kill tests, with the failpoint tag,
// whose points kill the process when SEAMS_FAILPOINT names them.

var (
	builds sync.Map // tags -> *build
)

type build struct {
	once sync.Once
	path string
	err  error
}

// seamsBinary builds cmd/seams with the given build tags, once per test
// binary, and returns its path.
func seamsBinary(t *testing.T, tags string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	v, _ := builds.LoadOrStore(tags, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "seams-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "seams")
		cmd := exec.Command("go", "build", "-tags", tags, "-o", b.path, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if raceEnabled {
			// Under the race detector (which needs cgo), the binary too.
			cmd = exec.Command("go", "build", "-race", "-tags", tags, "-o", b.path, ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// crashData is a generated data set, and a second set of reports, so that
// an earlier run's outputs (old) and a new run's (new) differ.
type crashData struct {
	files      gen.Files
	oldReports string
}

func newCrashData(t *testing.T, reports int) *crashData {
	t.Helper()
	g := gen.DefaultOptions()
	g.Reports, g.Indicators, g.Compounds = reports, 2_000, 20
	g.TiedRate, g.PotentialRate, g.BadRate = 0.05, 0.05, 0.01
	f, err := gen.Generate(filepath.Join(t.TempDir(), "gen"), g)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Reports)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(f.Dir, "old-reports.jsonl")
	if err := os.WriteFile(old, b[:len(b)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	return &crashData{files: f, oldReports: old}
}

func (d *crashData) args(reports, out string) []string {
	return []string{"xref", "--compounds", d.files.Compounds, "--indicators", d.files.Indicators,
		"--shared", d.files.Shared, "--reports", reports, "--out", out}
}

// folder returns the files of dir, by name.
func folder(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func sameFolder(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// leftovers lists what seams may leave beside or inside an output folder
// (staging folders, temporary files): nothing, after a completed run.
func leftovers(t *testing.T, out string) []string {
	t.Helper()
	var found []string
	parent := filepath.Dir(out)
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+filepath.Base(out)+".seams-") {
			found = append(found, e.Name())
		}
	}
	inside, _ := os.ReadDir(out)
	for _, e := range inside {
		if strings.HasPrefix(e.Name(), ".") {
			found = append(found, filepath.Join(filepath.Base(out), e.Name()))
		}
	}
	return found
}

// runSeams runs the binary and returns its exit status and standard error.
func runSeams(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal()), stderr.String()
		}
		return ee.ExitCode(), stderr.String()
	}
	t.Fatal(err)
	return 0, ""
}

// TestKillAtEveryStep kills xref with SIGKILL at each step of writing its
// output (after each file, before and after the swap, after the old folder
// is removed) and expects the output folder to hold the earlier run's
// outputs or the new run's, whole, never a mix; then a rerun gives what a
// clean run gives, byte for byte, and leaves nothing behind.
func TestKillAtEveryStep(t *testing.T) {
	bin := seamsBinary(t, "failpoint")
	d := newCrashData(t, 6_000)
	base := t.TempDir()

	clean := filepath.Join(base, "clean")
	if code, errText := runSeams(t, bin, nil, d.args(d.files.Reports, clean)...); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, errText)
	}
	newOut := folder(t, clean)
	earlier := filepath.Join(base, "earlier")
	if code, errText := runSeams(t, bin, nil, d.args(d.oldReports, earlier)...); code != 0 {
		t.Fatalf("earlier run: exit %d: %s", code, errText)
	}
	oldOut := folder(t, earlier)
	if sameFolder(oldOut, newOut) || len(newOut) != 3 {
		t.Fatalf("the two runs must differ and write three files: %d and %d files", len(oldOut), len(newOut))
	}

	points := []string{"xref-after-file-1", "xref-after-file-2", "xref-after-file-3", "xref-before-commit",
		"outdir-before-swap", "outdir-after-swap", "outdir-after-remove"}
	for _, fp := range points {
		for _, start := range []string{"an earlier run's folder", "no folder"} {
			t.Run(fp+", "+start, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				if start != "no folder" {
					if err := os.CopyFS(out, os.DirFS(earlier)); err != nil {
						t.Fatal(err)
					}
				}
				code, errText := runSeams(t, bin, []string{"SEAMS_FAILPOINT=" + fp}, d.args(d.files.Reports, out)...)
				if code != -int(syscall.SIGKILL) {
					t.Fatalf("exit %d, want killed by the failpoint: %s", code, errText)
				}
				got := map[string]string{}
				if _, err := os.Stat(out); err == nil {
					got = folder(t, out)
				}
				switch {
				case sameFolder(got, newOut):
				case start != "no folder" && sameFolder(got, oldOut):
				case start == "no folder" && len(got) == 0:
				default:
					var names []string
					for k := range got {
						names = append(names, k)
					}
					t.Fatalf("after a kill at %s the folder holds %v: neither the old outputs nor the new", fp, names)
				}
				if code, errText := runSeams(t, bin, nil, d.args(d.files.Reports, out)...); code != 0 {
					t.Fatalf("rerun: exit %d: %s", code, errText)
				}
				if !sameFolder(folder(t, out), newOut) {
					t.Errorf("the rerun's outputs differ from a clean run's")
				}
				if left := leftovers(t, out); len(left) > 0 {
					t.Errorf("the rerun left %v", left)
				}
			})
		}
	}
}

// TestKillAnytime kills xref with SIGKILL at random moments of a run and
// expects the folder to hold the old outputs or the new, whole.
func TestKillAnytime(t *testing.T) {
	bin := seamsBinary(t, "failpoint")
	d := newCrashData(t, 40_000)
	base := t.TempDir()
	clean := filepath.Join(base, "clean")
	start := time.Now()
	if code, errText := runSeams(t, bin, nil, d.args(d.files.Reports, clean)...); code != 0 {
		t.Fatalf("clean run: exit %d: %s", code, errText)
	}
	took := time.Since(start)
	newOut := folder(t, clean)
	earlier := filepath.Join(base, "earlier")
	if code, errText := runSeams(t, bin, nil, d.args(d.oldReports, earlier)...); code != 0 {
		t.Fatalf("earlier run: exit %d: %s", code, errText)
	}
	oldOut := folder(t, earlier)
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	kills := 12
	if raceEnabled {
		kills = 4
	}
	for i := range kills {
		out := filepath.Join(t.TempDir(), "out")
		if err := os.CopyFS(out, os.DirFS(earlier)); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, d.args(d.files.Reports, out)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(took) * 15 / 10)))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		got := folder(t, out)
		switch {
		case sameFolder(got, oldOut):
			seen["old"]++
		case sameFolder(got, newOut):
			seen["new"]++
		default:
			t.Fatalf("kill %d: the folder holds neither the old outputs nor the new", i)
		}
		if code, errText := runSeams(t, bin, nil, d.args(d.files.Reports, out)...); code != 0 {
			t.Fatalf("rerun: exit %d: %s", code, errText)
		}
		if left := leftovers(t, out); len(left) > 0 {
			t.Errorf("the rerun left %v", left)
		}
	}
	t.Logf("kills that left the old outputs: %d, the new: %d", seen["old"], seen["new"])
}

// TestSignalsEndABlockedRun sends SIGTERM, SIGINT and SIGHUP to xref while
// it waits on a FIFO no one writes and on standard input that never ends:
// it exits 1 (not 2: a signal is not a usage error), says it was
// interrupted, and leaves the output folder as it was.
func TestSignalsEndABlockedRun(t *testing.T) {
	bin := seamsBinary(t, "")
	d := newCrashData(t, 500)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		for _, wait := range []string{"FIFO with no writer", "standard input that never ends"} {
			t.Run(fmt.Sprintf("%v, %s", sig, wait), func(t *testing.T) {
				dir := t.TempDir()
				out := filepath.Join(dir, "out")
				reports := "-"
				cmd := exec.Command(bin)
				if wait == "FIFO with no writer" {
					reports = filepath.Join(dir, "fifo")
					if err := syscall.Mkfifo(reports, 0o600); err != nil {
						t.Skip(err)
					}
				} else {
					pr, pw, err := os.Pipe()
					if err != nil {
						t.Fatal(err)
					}
					defer pw.Close()
					defer pr.Close()
					cmd.Stdin = pr
				}
				// --verbose logs "registry loaded" before the reports are
				// opened: the signal is sent once seams handles signals and
				// waits on its input, however slow the machine.
				cmd.Args = append([]string{bin}, append(d.args(reports, out), "--verbose")...)
				var stderr syncBuffer
				ready := make(chan struct{})
				stderr.notify("registry loaded", ready)
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ready:
				case <-time.After(60 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("seams did not load the registry: %s", stderr.String())
				}
				time.Sleep(100 * time.Millisecond) // from the log line to the blocking open or read
				cmd.Process.Signal(sig)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-ctx.Done():
					cmd.Process.Kill()
					t.Fatalf("still running 30 s after %v", sig)
				}
				if code := cmd.ProcessState.ExitCode(); code != 1 {
					t.Errorf("exit %d, want 1: %s", code, stderr.String())
				}
				if !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("stderr %q does not say it was interrupted", stderr.String())
				}
				if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the interrupted run left its output folder")
				}
				if left := leftovers(t, out); len(left) > 0 {
					t.Errorf("the interrupted run left %v", left)
				}
			})
		}
	}
}

// TestUnderAMemoryLimit runs the cgo-free binary under ulimit -v 1.5 GB on
// 30 MB of reports, the case that failed with a cgo build (the C library's
// per-thread reservations).
func TestUnderAMemoryLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector reserves more address space than the limit")
	}
	bin := seamsBinary(t, "")
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	d := newCrashData(t, 100_000) // about 30 MB
	if st, err := os.Stat(d.files.Reports); err != nil || st.Size() < 25<<20 {
		t.Fatalf("the reports are %v bytes, want about 30 MB (%v)", st.Size(), err)
	}
	out := filepath.Join(t.TempDir(), "out")
	args := append([]string{bin}, d.args(d.files.Reports, out)...)
	for i, a := range args {
		args[i] = "'" + a + "'"
	}
	for range 3 { // the cgo build failed about one run in four
		cmd := exec.Command("sh", "-c", "ulimit -v 1500000 && exec "+strings.Join(args, " "))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("under ulimit -v 1500000: %v\n%s", err, b)
		}
	}
	if got := folder(t, out); !slices.Contains(mapKeys(got), "findings.jsonl") {
		t.Errorf("no findings written")
	}
}

func mapKeys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// syncBuffer is a buffer that a process writes and a test reads at once,
// and that closes a channel when a text first appears in it.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	text  string
	ready chan struct{}
}

func (s *syncBuffer) notify(text string, ready chan struct{}) { s.text, s.ready = text, ready }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.ready != nil && strings.Contains(s.b.String(), s.text) {
		close(s.ready)
		s.ready = nil
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
