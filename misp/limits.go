package misp

import (
	"io"

	"github.com/seams-dev/seams/internal/jsonlimit"
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

// readAll reads a whole JSON file within the limits.
func readAll(r io.Reader, file string, lim Limits) ([]byte, error) {
	return jsonlimit.ReadAll(r, file, lim.MaxBytes, lim.MaxDepth)
}
