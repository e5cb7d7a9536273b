package registry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/csvinput"
)

// A registry of a million indicators is read at the start of every run, and
// encoding/csv reads it at about 50 MB/s: it copies every line twice and
// makes a string of every record. Most lines of a registry are plain, with
// no quote and no carriage return, and for those the grammar is trivial:
// fields are what lies between commas, less their leading space (csv's
// TrimLeadingSpace). chunks cuts the file into chunks of whole lines, one
// string each, which the checking workers split by hand (splitPlain); a line
// with a quote or a CR goes to encoding/csv, record by record, so that
// quoted fields, quoted newlines, line endings and every syntax error are
// exactly csv's.

// chunkBytes is about how many bytes of the file a chunk holds (some 800
// rows).
const chunkBytes = 64 << 10

// chunks reads an indicators file in chunks of whole records. The file
// comes through a csvinput.Input, which drops a byte order mark and
// refuses lines longer than MaxLine.
type chunks struct {
	file   string
	target int // bytes a chunk holds, about
	in     *csvinput.Input
	err    error // a fatal error of the reading itself (not of in)

	// buf[start:end] is read and not yet handed out: the chunk being
	// built is buf[start:pos]. line is the number of the line at pos.
	buf             []byte
	start, pos, end int
	line            int
	done            bool // in has no more data: at its end, or failed

	// encoding/csv reads the records that are not plain, from feed: that
	// hands it the lines at pos one at a time, so that csv never reads
	// beyond the record it is reading.
	cr        *csv.Reader
	fed       int  // lines handed to cr in all: its line count
	lineStart bool // the next byte fed starts a line
}

// newChunks reads r in chunks of about target bytes.
func newChunks(r io.Reader, file string, target int) *chunks {
	c := &chunks{file: file, target: target, in: csvinput.New(r, file, false), buf: make([]byte, 2*target), line: 1, lineStart: true}
	c.cr = csv.NewReader((*feed)(c))
	c.cr.FieldsPerRecord = -1
	c.cr.TrimLeadingSpace = true // as table's reader
	c.cr.ReuseRecord = true
	return c
}

// fatal returns the error that stops the reading of the file, or nil.
func (c *chunks) fatal() error {
	if err := c.in.Fatal(); err != nil {
		return err
	}
	return c.err
}

// fill reads more of the file into buf, keeping buf[start:end].
func (c *chunks) fill() {
	if c.done {
		return
	}
	if c.start > 0 && c.end+c.target > len(c.buf) {
		n := copy(c.buf, c.buf[c.start:c.end])
		c.pos -= c.start
		c.end, c.start = n, 0
	}
	if c.end == len(c.buf) {
		// A line (or a quoted record) longer than the buffer.
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
		c.buf = c.buf[:cap(c.buf)]
	}
	// As bufio does, give up on a reader that returns nothing many times
	// over rather than loop forever.
	for range 100 {
		n, err := c.in.Read(c.buf[c.end:])
		c.end += n
		if err != nil {
			c.done = true
			return
		}
		if n > 0 {
			return
		}
	}
	c.err, c.done = fmt.Errorf("%s: %w", c.file, io.ErrNoProgress), true
}

// header reads the header record, as table reads it.
func (c *chunks) header(cols []column) (width int, index []int, err error) {
	header, line, err := c.record()
	if err := c.fatal(); err != nil {
		return 0, nil, err
	}
	index, err = headerColumns(c.file, header, line, err, cols)
	return len(header), index, err
}

// record reads the record at pos with encoding/csv, and the line it starts
// on. csv's line numbers count the lines it was fed, so they are moved to
// the file's.
func (c *chunks) record() (rec []string, line int, err error) {
	delta := c.line - (c.fed + 1)
	rec, err = c.cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		pe.StartLine += delta
		pe.Line += delta
	case err == nil:
		line, _ = c.cr.FieldPos(0)
		line += delta
	}
	return rec, line, err
}

// feed is the reader under a chunks' csv.Reader.
type feed chunks

// Read hands out the bytes at pos up to the end of their line, at most.
func (f *feed) Read(p []byte) (int, error) {
	c := (*chunks)(f)
	for c.pos == c.end {
		if c.done {
			if err := c.fatal(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		c.fill()
	}
	b := c.buf[c.pos:c.end]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	n := copy(p, b)
	if n > 0 && c.lineStart {
		c.fed++
	}
	c.lineStart = n > 0 && p[n-1] == '\n'
	if c.lineStart {
		c.line++
	}
	c.pos += n
	return n, nil
}

// slowRecord is a record read by encoding/csv: a row, a rejection, or
// (neither) blank lines.
type slowRecord struct {
	off, end int // its text in the chunk
	line     int // the line it starts on
	next     int // the line after it
	fields   []string
	raw      string // its text, as read
	rej      *seams.RecordError
}

// next reads the next chunk into b: b.text and b.slow. At the end of the
// file it returns io.EOF, with b empty; any other error is fatal, and comes
// after the records of b.
func (c *chunks) next(b *indicatorBatch) error {
	c.start = c.pos
	b.firstLine = c.line
	for c.pos-c.start < c.target {
		// Have whole lines at pos.
		nl := bytes.LastIndexByte(c.buf[c.pos:c.end], '\n')
		for nl < 0 && !c.done {
			c.fill()
			nl = bytes.LastIndexByte(c.buf[c.pos:c.end], '\n')
		}
		stop := c.pos + nl + 1
		if nl < 0 {
			if c.pos == c.end || c.fatal() != nil {
				// The end; or a failed read, and the line it cut is no
				// record.
				break
			}
			stop = c.end // the last line, without a line ending
		}
		if lim := c.start + c.target; stop > lim {
			if i := bytes.LastIndexByte(c.buf[c.pos:lim], '\n'); i >= 0 {
				stop = c.pos + i + 1
			}
		}
		// The plain lines up to the first that is not.
		plain := c.buf[c.pos:stop]
		q := bytes.IndexByte(plain, '"')
		if r := bytes.IndexByte(plain, '\r'); r >= 0 && (q < 0 || r < q) {
			q = r
		}
		if q >= 0 {
			plain = plain[:bytes.LastIndexByte(plain[:q], '\n')+1]
		}
		c.line += bytes.Count(plain, []byte("\n"))
		c.pos += len(plain)
		if q < 0 {
			if c.pos == c.end && c.buf[c.pos-1] != '\n' {
				c.line++ // the last line, without a line ending
			}
			continue
		}
		if err := c.slow(b); err != nil {
			c.cut(b)
			return err
		}
	}
	c.cut(b)
	if len(b.text) == 0 {
		if err := c.fatal(); err != nil {
			return err
		}
		return io.EOF
	}
	return nil
}

// slow reads the record at pos with encoding/csv into b.slow: its fields,
// or its rejection when it is not valid CSV. It returns only fatal errors.
func (c *chunks) slow(b *indicatorBatch) error {
	off := c.pos - c.start // reading may move the chunk in buf
	rec, line, err := c.record()
	if err := c.fatal(); err != nil {
		// The chunk ends before the record, whose lines are no rows.
		c.pos = c.start + off
		return err
	}
	s := slowRecord{off: off, end: c.pos - c.start, line: line, next: c.line}
	raw := c.buf[c.start+off : c.pos]
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		// Blank lines ("\r\n") to the end, which csv skipped: a record of
		// nothing, so that they are not taken for rows.
	case errors.As(err, &pe):
		s.line = pe.StartLine
		s.rej = parseRejection(c.file, pe, raw)
	case err != nil:
		return fmt.Errorf("%s: %w", c.file, err)
	default:
		n := len(b.slowStrs)
		b.slowStrs = append(b.slowStrs, rec...)
		s.fields = b.slowStrs[n:len(b.slowStrs):len(b.slowStrs)]
	}
	b.slow = append(b.slow, s)
	return nil
}

// cut ends the chunk: its text becomes a string, of which the slow records'
// raw text is part.
func (c *chunks) cut(b *indicatorBatch) {
	b.text = string(c.buf[c.start:c.pos])
	for i := range b.slow {
		s := &b.slow[i]
		s.raw = b.text[s.off:s.end]
	}
	c.start = c.pos
}

// splitPlain appends the fields of a plain line (no quote, no CR, no line
// ending) to dst, as encoding/csv with TrimLeadingSpace reads them.
func splitPlain(dst []string, line string) []string {
	for {
		i := strings.IndexByte(line, ',')
		f := line
		if i >= 0 {
			f = line[:i]
		}
		// csv trims what unicode.IsSpace calls space, decoding runes (an
		// invalid byte is not space); most fields start with a letter or a
		// digit.
		if len(f) > 0 && (f[0] >= utf8.RuneSelf || asciiSpace[f[0]]) {
			f = strings.TrimLeftFunc(f, unicode.IsSpace)
		}
		dst = append(dst, f)
		if i < 0 {
			return dst
		}
		line = line[i+1:]
	}
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
