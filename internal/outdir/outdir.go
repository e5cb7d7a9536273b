// Package outdir writes a run's output folder so that it changes all at
// once: a reader, or a run killed at any instant, sees either the folder
// as it was or the folder as the new run made it, never a mix of two runs.
//
// A run takes the folder DIR with Open. Open locks DIR (a second run into
// the same folder fails at once with ErrBusy), removes what killed runs
// left behind, and makes a staging folder beside DIR (".DIR.seams-*", on
// the same file system). The run writes its files there (Path). Commit
// syncs them and the staging folder, then swaps the staging folder and
// DIR in one rename (renameat2 RENAME_EXCHANGE on Linux), syncs the
// parent, and removes the old folder, which now sits at the staging
// name. Abort removes the staging folder, and DIR too when Open made it.
//
// DIR is the run's: Open refuses a folder that holds a subfolder or a
// special file seams did not make. Regular files seams did not make (an
// export written beside the findings) are carried into the new folder as
// hard links, so the swap keeps them.
package outdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams/internal/failpoint"
)

// ErrBusy is returned by Open when another run holds the folder.
var ErrBusy = errors.New("another seams run is writing this folder")

// legacyAge is how old a temporary file of an earlier seams (which wrote
// ".NAME.tmp-*" inside the folder, with no lock) must be to be taken for
// the leftover of a killed run and removed.
const legacyAge = 10 * time.Minute

// Dir is an output folder taken by a run.
type Dir struct {
	path      string   // DIR, absolute, symlinks resolved
	stage     string   // the staging folder
	lock      *os.File // DIR, opened and locked
	stageLock *os.File // the staging folder, opened and locked: it becomes DIR
	made      []string // folders Open created, the deepest first
	done      bool
}

// Open takes the folder path for a run that writes the files named owned.
func Open(path string, owned []string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("output folder: no name")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", path, err)
	}
	restoreAside(abs)
	d := &Dir{made: missingDirs(abs)}
	if err := d.open(abs, path, owned); err != nil {
		d.Abort()
		return nil, err
	}
	return d, nil
}

// open is Open after d is made: on error, Open aborts d.
func (d *Dir) open(abs, path string, owned []string) error {
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	// The folder is swapped as a whole: work on the folder a symlink
	// points to, not on the link.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	d.path = real
	if filepath.Dir(real) == real {
		return fmt.Errorf("output folder %s: the root of the file system cannot be an output folder", path)
	}
	if err := d.takeLock(); err != nil {
		return err
	}
	if err := d.cleanStale(); err != nil {
		return err
	}
	carry, err := d.check(owned)
	if err != nil {
		return err
	}
	if err := d.makeStage(carry); err != nil {
		return err
	}
	return nil
}

// Path returns where the run writes the file name: in the staging folder.
func (d *Dir) Path(name string) string { return filepath.Join(d.stage, name) }

// Stage returns the staging folder, where a run may also keep temporary
// files that go with it.
func (d *Dir) Stage() string { return d.stage }

// Final returns the folder the files end up in.
func (d *Dir) Final() string { return d.path }

// takeLock locks DIR itself (a lock on the folder, not a file in it, so
// that the folder holds nothing but the outputs). A folder that another run
// swapped away meanwhile is not DIR any more: lock the one now there.
func (d *Dir) takeLock() error {
	for range 100 {
		f, err := os.Open(d.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // between a swap's renames (twoStep)
		}
		if err != nil {
			return fmt.Errorf("output folder: %w", err)
		}
		if err := lockFile(f); err != nil {
			f.Close()
			if errors.Is(err, ErrBusy) {
				return fmt.Errorf("%s: %w (wait for it to end, or give another --out)", d.path, ErrBusy)
			}
			return fmt.Errorf("output folder: lock %s: %w", d.path, err)
		}
		if same, err := sameFile(f, d.path); err != nil {
			f.Close()
			return fmt.Errorf("output folder: %w", err)
		} else if !same {
			f.Close()
			continue
		}
		d.lock = f
		return nil
	}
	return fmt.Errorf("%s: %w", d.path, ErrBusy)
}

// sameFile reports whether the open f is still the file at name.
func sameFile(f *os.File, name string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}

// stagePrefix is the start of the names of DIR's staging folders.
func (d *Dir) stagePrefix() string { return "." + filepath.Base(d.path) + ".seams-" }

// cleanStale removes the staging folders of killed runs into DIR (they
// held DIR's lock, which we hold now, so none of them is running) and the
// temporary files an earlier seams left inside DIR.
func (d *Dir) cleanStale() error {
	parent := filepath.Dir(d.path)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	prefix := d.stagePrefix()
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.IsDir() {
			if err := os.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
				return fmt.Errorf("output folder: remove what a killed run left: %w", err)
			}
		}
	}
	entries, err = os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	for _, e := range entries {
		if !legacyTemp(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > legacyAge {
			os.Remove(filepath.Join(d.path, e.Name()))
		}
	}
	return nil
}

// legacyTemp reports whether name is a temporary file of the writer an
// earlier seams used inside the folder (".findings.jsonl.tmp-123").
func legacyTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

// check returns the regular files in DIR to carry into the new folder:
// all but the files the run writes, and temporary files of an
// earlier seams. Anything else (a folder, a special file, one of the
// run's names that is not a regular file) is refused.
func (d *Dir) check(owned []string) (carry []string, err error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case slices.Contains(owned, name):
			if !e.Type().IsRegular() {
				return nil, fmt.Errorf("%s: %s is not a regular file (a %s): move it away; seams writes its output there",
					d.path, name, kindOf(e.Type()))
			}
			continue
		case legacyTemp(name) && e.Type().IsRegular():
			info, err := e.Info()
			if err == nil && time.Since(info.ModTime()) > legacyAge {
				continue // left by a killed run; not carried
			}
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s holds %s, a %s seams did not make: the output folder is replaced as a whole when a run completes, so it may hold only files; give a folder of its own to --out",
				d.path, name, kindOf(e.Type()))
		}
		carry = append(carry, name)
	}
	return carry, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "folder"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// makeStage makes the staging folder beside DIR, with DIR's permissions,
// locked (so that, swapped in, it is a locked DIR), with links to the
// files carried over.
func (d *Dir) makeStage(carry []string) error {
	stage, err := os.MkdirTemp(filepath.Dir(d.path), d.stagePrefix()+"*")
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	d.stage = stage
	if st, err := os.Stat(d.path); err == nil {
		os.Chmod(stage, st.Mode().Perm())
	}
	f, err := os.Open(stage)
	if err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return fmt.Errorf("output folder: lock: %w", err)
	}
	d.stageLock = f
	for _, name := range carry {
		if err := os.Link(filepath.Join(d.path, name), filepath.Join(stage, name)); err != nil {
			return fmt.Errorf("output folder: keep %s in the new output: %w", name, err)
		}
	}
	return nil
}

// Commit makes the files written in the staging folder DIR's, at once.
// The files must be complete, synced and closed.
func (d *Dir) Commit() error {
	if d.done {
		return errors.New("output folder: already committed or aborted")
	}
	if err := syncDir(d.stage); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	failpoint.Inject("outdir-before-swap")
	if err := exchange(d.stage, d.path); err != nil {
		return fmt.Errorf("output folder: replace %s: %w", d.path, err)
	}
	failpoint.Inject("outdir-after-swap")
	d.done = true
	// The swap is done: what follows tidies, and a failure there loses
	// nothing (the next run removes the old folder).
	syncDir(filepath.Dir(d.path))
	os.RemoveAll(d.stage) // the old folder, now at the staging name
	failpoint.Inject("outdir-after-remove")
	d.release()
	return nil
}

// Abort removes the staging folder, and DIR when Open made it and it holds
// nothing but the lock. It is safe after Commit, so it can be deferred.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	if d.stage != "" {
		os.RemoveAll(d.stage)
	}
	for _, m := range d.made {
		os.Remove(m) // only an empty folder goes
	}
	d.release()
}

func (d *Dir) release() {
	if d.stageLock != nil {
		d.stageLock.Close()
		d.stageLock = nil
	}
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

// missingDirs returns the folders MkdirAll(dir) would create, the deepest
// first.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return out
		}
		out = append(out, d)
		if filepath.Dir(d) == d {
			return out
		}
	}
}

// restoreAside puts back a folder that a two-step swap (twoStep) moved
// aside and a crash left there, before anything looks at DIR.
func restoreAside(abs string) {
	if _, err := os.Lstat(abs); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	parent, base := filepath.Split(abs)
	matches, _ := filepath.Glob(filepath.Join(parent, "."+base+".seams-*-old"))
	if len(matches) == 1 {
		os.Rename(matches[0], abs)
	}
}

// syncDir makes a folder's entries durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
