package stix

import (
	"errors"
	"fmt"
	"io"
)

// Limits bound what ReadBundle accepts from a hostile input.
type Limits struct {
	// MaxBytes is the largest bundle read, in bytes. A bundle is resolved
	// as a whole (relationships point anywhere in it), so it is held in
	// memory: about ten times its size once decoded.
	MaxBytes int64
	// MaxDepth is the deepest nesting of arrays and objects allowed inside
	// one STIX object. The objects seams reads nest three levels deep.
	MaxDepth int
}

// DefaultLimits are the limits of ReadBundle: 256 MiB, depth 32.
func DefaultLimits() Limits { return Limits{MaxBytes: 256 << 20, MaxDepth: 32} }

// errTooLarge is returned by limitedReader past its limit.
var errTooLarge = errors.New("too large")

// limitedReader is io.LimitReader that fails, rather than ends, past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Tell a file that ends exactly at the limit from one that goes on.
		var b [1]byte
		if n, _ := l.r.Read(b[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// checkDepth returns an error if the JSON text b nests arrays and objects
// deeper than max. It skips strings; it does not validate (the decoder does).
func checkDepth(b []byte, max int) error {
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
