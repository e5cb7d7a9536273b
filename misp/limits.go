package misp

import (
	"errors"
	"fmt"
	"io"
)

// Limits bound what a reader accepts from a hostile input.
type Limits struct {
	// MaxBytes is the largest file read, in bytes. An event is resolved
	// as a whole (its tags name the compound of its attributes), so a file
	// is held in memory: about ten times its size once decoded.
	MaxBytes int64
	// MaxDepth is the deepest nesting of arrays and objects allowed.
	// MISP events nest about eight levels deep (response, Event, Object,
	// Attribute, Sighting, Organisation).
	MaxDepth int
}

// DefaultLimits are the limits of ReadEvents and ReadWarninglist: 256 MiB,
// depth 32.
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

// readAll reads a whole JSON file within the limits.
func readAll(r io.Reader, file string, lim Limits) ([]byte, error) {
	b, err := io.ReadAll(&limitedReader{r: r, n: lim.MaxBytes})
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("%s: larger than %d bytes", file, lim.MaxBytes)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := checkDepth(b, lim.MaxDepth); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return b, nil
}
