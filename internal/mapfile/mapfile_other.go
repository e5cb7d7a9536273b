//go:build !unix

package mapfile

// Open is not supported on this system: callers read the file as a stream.
func Open(path string) (*File, error) { return nil, ErrUnsupported }
