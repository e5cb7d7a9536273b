// Package jsonlimit bounds what the JSON readers of the exchange formats
// (stix, misp, ftm) take from a hostile input: how many bytes, and how
// deeply nested, before the decoder sees them.
package jsonlimit

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by a Reader past its limit.
var ErrTooLarge = errors.New("too large")

// Reader is io.LimitReader that fails with ErrTooLarge, rather than ends,
// past N bytes.
type Reader struct {
	R io.Reader
	N int64
}

func (l *Reader) Read(p []byte) (int, error) {
	if l.N <= 0 {
		// Tell a file that ends exactly at the limit from one that goes on.
		var b [1]byte
		if n, _ := l.R.Read(b[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.N {
		p = p[:l.N]
	}
	n, err := l.R.Read(p)
	l.N -= int64(n)
	return n, err
}

// CheckDepth returns an error if the JSON text b nests arrays and objects
// deeper than max. It skips strings; it does not validate (the decoder does).
func CheckDepth(b []byte, max int) error {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// ReadAll reads a whole JSON file of at most maxBytes, nested at most
// maxDepth deep; errors name file.
func ReadAll(r io.Reader, file string, maxBytes int64, maxDepth int) ([]byte, error) {
	b, err := io.ReadAll(&Reader{R: r, N: maxBytes})
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxBytes)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := CheckDepth(b, maxDepth); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return b, nil
}
