// Package registry reads the registry inputs of a cross-reference run: the
// compounds CSV, the indicators CSV and the shared-infrastructure list.
//
// Every record read is either returned or handed to a Reject function as a
// *seams.RecordError naming its file and line; only a problem that stops the
// whole file from being read (an I/O error, a missing column, a line longer
// than MaxLine) is returned as an error.
package registry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/csvinput"
)

// Reject receives every record that could not be used. A nil Reject drops
// them.
type Reject func(*seams.RecordError)

// MaxLine is the longest physical line, in bytes without its newline, that
// the readers accept (see package csvinput).
const MaxLine = csvinput.MaxLine

// column is a column a reader looks for in a CSV header.
type column struct {
	name     string // lower case
	required bool
}

// table reads the rows of a CSV file with a header, finding columns by name.
type table struct {
	file    string
	in      *csvinput.Input
	cr      *csv.Reader
	width   int      // fields in the header
	index   []int    // for each wanted column, its index in a row; -1 if absent
	orig    []string // the current row as read
	origRaw []byte   // its text, valid until the next row is read
	fields  []string // the current row, trimmed
	line    int      // the line the current row starts on
	raw     bytes.Buffer
	rawW    *csv.Writer
}

// newTable reads the header of a CSV file and finds the wanted columns in
// it (see headerColumns).
func newTable(r io.Reader, file string, cols []column) (*table, error) {
	in := csvinput.New(r, file, true)
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	// "a, "b"" is a common hand-written form; fields are trimmed anyway.
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	t := &table{file: file, in: in, cr: cr}
	t.rawW = csv.NewWriter(&t.raw)

	header, err := cr.Read()
	if err := in.Fatal(); err != nil {
		return nil, err
	}
	in.Take(cr.InputOffset())
	line := 0
	if err == nil {
		line, _ = cr.FieldPos(0)
	}
	if t.index, err = headerColumns(file, header, line, err, cols); err != nil {
		return nil, err
	}
	t.width = len(header)
	return t, nil
}

// headerColumns finds the wanted columns in a header read (with err) from
// the given line: names are trimmed and compared case-insensitively, in any
// order, and unknown columns are ignored. It returns, for each wanted
// column, its index in a row, or -1. An empty file, a header that is not
// valid CSV, a missing required column or a wanted column given twice is a
// fatal *seams.RecordError.
func headerColumns(file string, header []string, line int, err error, cols []column) ([]int, error) {
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return nil, &seams.RecordError{File: file, Line: 1, Reason: "empty file (want a header line naming the columns)"}
	case errors.As(err, &pe):
		return nil, &seams.RecordError{File: file, Line: pe.StartLine, Reason: "header: " + parseErrorText(pe)}
	case err != nil:
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	index := make([]int, len(cols))
	for i := range index {
		index[i] = -1
	}
	for j, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		for i, c := range cols {
			if c.name != h {
				continue
			}
			if index[i] >= 0 {
				return nil, &seams.RecordError{File: file, Line: line,
					Reason: fmt.Sprintf("duplicate column %q (columns %d and %d)", c.name, index[i]+1, j+1)}
			}
			index[i] = j
		}
	}
	var missing []string
	for i, c := range cols {
		if c.required && index[i] < 0 {
			missing = append(missing, strconv.Quote(c.name))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return nil, &seams.RecordError{File: file, Line: line, Reason: "missing required column " + missing[0]}
	default:
		return nil, &seams.RecordError{File: file, Line: line, Reason: "missing required columns " + strings.Join(missing, ", ")}
	}
	return index, nil
}

// next reads the next row that has as many fields as the header, trims its
// fields and returns the line it starts on. Rows of another width and rows
// that are not valid CSV go to reject. At the end of the file next returns
// io.EOF; any other error is fatal.
func (t *table) next(reject Reject) (int, error) {
	for {
		rec, err := t.cr.Read()
		if err := t.in.Fatal(); err != nil {
			return 0, err
		}
		raw := t.in.Take(t.cr.InputOffset())
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return 0, io.EOF
		case errors.As(err, &pe):
			reject(parseRejection(t.file, pe, raw))
			continue
		case err != nil:
			return 0, fmt.Errorf("%s: %w", t.file, err)
		}
		t.orig, t.origRaw = rec, raw
		t.line, _ = t.cr.FieldPos(0)
		if len(rec) != t.width {
			t.reject(reject, fmt.Sprintf("row has %s, header has %d", plural(len(rec), "field"), t.width))
			continue
		}
		t.fields = t.fields[:0]
		for _, f := range rec {
			t.fields = append(t.fields, strings.TrimSpace(f))
		}
		return t.line, nil
	}
}

// parseRejection is the rejection of a record that is not valid CSV, read
// from the text raw.
func parseRejection(file string, pe *csv.ParseError, raw []byte) *seams.RecordError {
	reason := parseErrorText(pe)
	if pe.Err == csv.ErrQuote && endsInQuote(raw) {
		// csv's position is then just the end of the file.
		lines := fmt.Sprintf("lines %d to %d", pe.StartLine, pe.Line)
		if pe.Line == pe.StartLine {
			lines = fmt.Sprintf("line %d", pe.Line)
		}
		reason = fmt.Sprintf("%v: a quoted field is never closed, so the rest of the file (%s) was read as this one record", pe.Err, lines)
	}
	return &seams.RecordError{File: file, Line: pe.StartLine, Reason: reason, Raw: seams.TruncateRaw(trimLineEnds(raw))}
}

// get returns the trimmed field of wanted column i in the current row, or ""
// if the file has no such column.
func (t *table) get(i int) string {
	if j := t.index[i]; j >= 0 {
		return t.fields[j]
	}
	return ""
}

// reject rejects the current row, with the row re-encoded as CSV as its raw
// text; or the text as read when that is empty, as for a line of spaces,
// which csv reads as one empty field.
func (t *table) reject(reject Reject, reason string) {
	reject(rowError(t.file, t.line, t.orig, string(t.origRaw), reason, &t.raw, t.rawW))
}

// rowError is the rejection of a row read as orig from the text origRaw.
// buf and w are scratch space for re-encoding it.
func rowError(file string, line int, orig []string, origRaw string, reason string, buf *bytes.Buffer, w *csv.Writer) *seams.RecordError {
	buf.Reset()
	w.Write(orig) // a bytes.Buffer does not fail
	w.Flush()
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(raw) == 0 {
		raw = trimLineEnds([]byte(origRaw))
	}
	return &seams.RecordError{File: file, Line: line, Reason: reason, Raw: seams.TruncateRaw(raw)}
}

// row is one row of an indicators file on its way through ScanIndicators:
// its strings outlive the reading of the next row. They are csv's (which it
// never overwrites) or substrings of a chunk's text.
type row struct {
	line    int
	orig    []string // the fields as read; get trims them
	origRaw string   // the text it was read from
}

// get is table.get for a row with the columns index: the field of wanted
// column i, trimmed.
func (r *row) get(index []int, i int) string {
	if j := index[i]; j >= 0 {
		return strings.TrimSpace(r.orig[j])
	}
	return ""
}

// trimLineEnds drops the blank lines csv skipped before a record and the
// line ending after it.
func trimLineEnds(b []byte) []byte { return bytes.TrimRight(bytes.TrimLeft(b, "\r\n"), "\r\n") }

// parseErrorText describes a CSV syntax error without the "record on line"
// preamble, since the rejected record carries its line.
func parseErrorText(pe *csv.ParseError) string {
	return fmt.Sprintf("parse error on line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}

// endsInQuote reports whether raw, the text of one CSV record that failed to
// parse, ends inside a quoted field: whether the error is an opening quote
// that was never closed (which swallows the rest of the file) rather than a
// stray quote after a closed one. It follows encoding/csv's grammar with
// TrimLeadingSpace, and stops where csv stops, at the first error.
func endsInQuote(raw []byte) bool {
	inQuote, fieldStart := false, true
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case inQuote:
			if c == '"' {
				if i+1 < len(raw) && raw[i+1] == '"' {
					i += 2
					continue
				}
				inQuote = false
				switch rest := raw[i+1:]; {
				case len(rest) == 0, rest[0] == ',', rest[0] == '\n', rest[0] == '\r' && (len(rest) == 1 || rest[1] == '\n'):
				default:
					return false // `"x`: csv's extraneous-quote error
				}
			}
		case fieldStart && c == '"':
			inQuote, fieldStart = true, false
		case fieldStart && c != '\n' && c != '\r':
			r, size := utf8.DecodeRune(raw[i:])
			if unicode.IsSpace(r) {
				i += size
				continue
			}
			fieldStart = false
			if c == ',' {
				fieldStart = true
			}
		case c == ',' || c == '\n':
			fieldStart = true
		case c == '"':
			return false // a bare quote in an unquoted field
		}
		i++
	}
	return inQuote
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func discard(*seams.RecordError) {}
