// Package csvinput guards the reader under encoding/csv for every CSV file
// seams reads (registry files, reports as CSV): it drops a UTF-8 byte order
// mark at the start, refuses a line longer than MaxLine (encoding/csv would
// buffer a line of any length, so a hostile file without newlines could
// exhaust memory), counts lines, and can keep the bytes it delivered so that
// a record encoding/csv cannot parse is quoted as it was written.
package csvinput

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/seams-dev/seams"
)

// MaxLine is the longest physical line, in bytes without its newline, that
// the readers accept. encoding/csv and bufio.Scanner would otherwise buffer a
// line of any length, so a hostile file without newlines could exhaust
// memory; a longer line is a fatal error.
const MaxLine = 1 << 20

// Input wraps the reader of one file. It strips a UTF-8 byte order mark at
// the start, refuses lines longer than MaxLine, and, when record is set,
// keeps the bytes it has delivered so that the raw text of a record that
// encoding/csv cannot parse can be reported as it was written.
type Input struct {
	r       io.Reader
	file    string
	started bool   // the byte order mark has been looked for
	pending []byte // bytes read while looking for it, not yet delivered
	line    int    // 1-based number of the line being read
	lineLen int    // bytes of that line read so far
	err     error  // first error of r or of the line guard; sticky

	record  bool
	rec     []byte // delivered bytes from offset recBase on
	recBase int64
}

func New(r io.Reader, file string, record bool) *Input {
	return &Input{r: r, file: file, line: 1, record: record}
}

const bom = "\uFEFF"

func (in *Input) Read(p []byte) (int, error) {
	if !in.started {
		in.started = true
		var b [len(bom)]byte
		n, err := io.ReadFull(in.r, b[:])
		switch {
		case err == io.ErrUnexpectedEOF:
			in.err = io.EOF
		case err != nil:
			in.err = err
		}
		in.pending = b[:n]
		if string(in.pending) == bom {
			in.pending = nil
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	switch {
	case len(in.pending) > 0:
		n = copy(p, in.pending)
		in.pending = in.pending[n:]
	case in.err != nil:
		return 0, in.err
	default:
		var err error
		n, err = in.r.Read(p)
		if err != nil {
			in.err = err
		}
	}
	n = in.guard(p[:n])
	if in.record {
		in.rec = append(in.rec, p[:n]...)
	}
	if n > 0 {
		return n, nil // deliver the data now, the error (if any) on the next call
	}
	return 0, in.err
}

// guard counts lines in b and returns how many of its bytes may be
// delivered: all of them unless a line grows longer than MaxLine, which
// becomes the input's error.
func (in *Input) guard(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			j = len(b) - i
		}
		if in.lineLen+j > MaxLine {
			in.err = &seams.RecordError{File: in.file, Line: in.line,
				Reason: "line longer than " + strconv.Itoa(MaxLine) + " bytes"}
			return i
		}
		if i+j == len(b) {
			in.lineLen += j
			break
		}
		in.line++
		in.lineLen = 0
		i += j + 1
	}
	return len(b)
}

// Fatal returns the input's error as the error of the whole read, or nil if
// there is none yet (or the input simply ended).
func (in *Input) Fatal() error {
	var re *seams.RecordError
	switch {
	case in.err == nil || in.err == io.EOF:
		return nil
	case errors.As(in.err, &re):
		return re
	}
	return fmt.Errorf("%s: %w", in.file, in.err)
}

// Take returns the recorded bytes up to offset end and forgets them. The
// slice is valid until the next Read.
func (in *Input) Take(end int64) []byte {
	k := int(end - in.recBase)
	if k < 0 || k > len(in.rec) { // cannot happen: csv offsets count delivered bytes
		k = len(in.rec)
	}
	b := in.rec[:k:k]
	// Slicing forward leaves the taken bytes behind; the next append that
	// outgrows the shrinking capacity copies only what is left (csv's
	// read-ahead), so recording costs amortized constant time per byte.
	in.rec = in.rec[k:]
	in.recBase += int64(k)
	return b
}
