//go:build unix

package mapfile

import (
	"fmt"
	"os"
	"syscall"
)

// Open maps the regular file at path. An empty file gives empty Data.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, ErrUnsupported
	}
	return Map(f, st.Size())
}

// Map maps the first size bytes of the open regular file f, whose size the
// caller took from f itself (fstat). The mapping outlives f's descriptor.
// An empty file gives empty Data.
func Map(f *os.File, size int64) (*File, error) {
	if size == 0 {
		return &File{Data: []byte{}}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: too large to map", f.Name())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, ErrUnsupported
	}
	// Read ahead: the file is read once, front to back.
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	page := os.Getpagesize()
	return &File{Data: data, unmap: func() error { return syscall.Munmap(data) },
		drop: func(off, n int) {
			// Whole pages only: the page holding the end of b may still
			// hold the start of the next part.
			start, end := off/page*page, (off+n)/page*page
			if start < end {
				_ = syscall.Madvise(data[start:end], syscall.MADV_DONTNEED)
			}
		}}, nil
}
