// Package mapfile maps a regular file into memory read-only, so that a
// multi-gigabyte input is read without copying it out of the page cache.
package mapfile

import (
	"errors"
	"unsafe"
)

// ErrUnsupported is returned where mapping is not available (or the file is
// not a regular file); callers then read the file as a stream.
var ErrUnsupported = errors.New("mapfile: not supported")

// File is a mapped file. Data is valid until Close.
//
// A mapped file that another program truncates while it is mapped makes
// reads past the new end fault. Goroutines reading Data should run with
// debug.SetPanicOnFault(true) and recover, to turn that into an error.
type File struct {
	Data  []byte
	unmap func() error
	drop  func(off, n int)
}

// Drop tells the system that b, a part of Data already read, is not needed
// again: its pages leave this process's resident memory (they stay in the
// page cache, and reading b again would bring them back). Reading a large
// file front to back, dropping as it goes, keeps resident memory flat.
func (f *File) Drop(b []byte) {
	if f.drop == nil || len(b) == 0 {
		return
	}
	off := int(uintptr(unsafe.Pointer(&b[0])) - uintptr(unsafe.Pointer(&f.Data[0])))
	if off < 0 || off+len(b) > len(f.Data) {
		return
	}
	f.drop(off, len(b))
}

// Close unmaps the file.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.Data = nil, nil
	return err
}
