//go:build !unix

package mapfile

import "os"

// Open is not supported on this system: callers read the file as a stream.
func Open(path string) (*File, error) { return nil, ErrUnsupported }

// Map is not supported on this system: callers read the file as a stream.
func Map(f *os.File, size int64) (*File, error) { return nil, ErrUnsupported }
