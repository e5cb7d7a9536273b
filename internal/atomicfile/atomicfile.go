// Package atomicfile writes a file under a temporary name and renames it into
// place when complete, so that a reader never sees a half-written file and a
// failed run leaves the previous file untouched.
package atomicfile

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// File is a file being written. Write to it through its buffered writer, then
// Commit; or Abort to discard it.
type File struct {
	*bufio.Writer
	f    *os.File
	path string
	done bool
}

// Create starts writing path. The temporary file is created beside it, with
// mode 0600: outputs of seams hold report metadata and stay private to their
// owner unless the owner decides otherwise.
func Create(path string) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{Writer: bufio.NewWriterSize(f, 1<<20), f: f, path: path}, nil
}

// Commit flushes, syncs and closes the file, then renames it into place.
func (a *File) Commit() error {
	if a.done {
		return nil
	}
	a.done = true
	err := a.Flush()
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// ReadBack flushes what was written so far and opens it for reading, for a
// writer that must revise its output before committing it.
func (a *File) ReadBack() (*os.File, error) {
	if err := a.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", a.path, err)
	}
	return os.Open(a.f.Name())
}

// Abort discards the file. It is safe to call after Commit, which makes it a
// convenient defer.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	os.Remove(a.f.Name())
}
