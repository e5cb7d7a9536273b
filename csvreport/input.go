package csvreport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/seams-dev/seams"
)

// MaxLine is the longest physical line accepted, in bytes without its
// newline: encoding/csv would otherwise buffer a line of any length, so a
// file without newlines could exhaust memory. A longer line is fatal.
const MaxLine = 1 << 20

// input wraps the file under encoding/csv. It drops a UTF-8 byte order mark
// at the start, refuses lines longer than MaxLine, and keeps the bytes it
// has delivered so that a row encoding/csv cannot parse can be quoted as it
// was written.
type input struct {
	r       io.Reader
	file    string
	started bool
	pending []byte
	line    int
	lineLen int
	err     error // sticky
	rec     []byte
	recBase int64
}

func newInput(r io.Reader, file string) *input { return &input{r: r, file: file, line: 1} }

const bom = "\uFEFF"

func (in *input) Read(p []byte) (int, error) {
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
	in.rec = append(in.rec, p[:n]...)
	if n > 0 {
		return n, nil
	}
	return 0, in.err
}

// guard counts lines in b and returns how many of its bytes may be
// delivered: all unless a line grows past MaxLine, which becomes the error.
func (in *input) guard(b []byte) int {
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

// fatal returns the input's error as the error of the whole read, or nil.
func (in *input) fatal() error {
	var re *seams.RecordError
	switch {
	case in.err == nil || in.err == io.EOF:
		return nil
	case errors.As(in.err, &re):
		return re
	}
	return fmt.Errorf("%s: %w", in.file, in.err)
}

// take returns the delivered bytes up to offset end and forgets them; the
// slice is valid until the next Read.
func (in *input) take(end int64) []byte {
	k := int(end - in.recBase)
	if k < 0 || k > len(in.rec) {
		k = len(in.rec)
	}
	b := in.rec[:k:k]
	in.rec = in.rec[k:]
	in.recBase += int64(k)
	return b
}
