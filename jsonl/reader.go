package jsonl

import (
	"bytes"
	"fmt"
	"io"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/chunk"
)

// DefaultMaxLine is the longest report line accepted, in bytes (4 MiB): far
// above any real report (a thousand IP events is about 100 KB), low enough
// that a corrupt or hostile file cannot exhaust memory.
const DefaultMaxLine = 4 << 20

// ParseLine parses line number n of file. It returns ok when the line is a
// report (now in r); otherwise rej says why the whole line was rejected, or
// is nil for a blank line, which is not a record. The parts of an accepted
// report that were rejected are in p.Problems (see Rejections).
func (p *Parser) ParseLine(file string, n int, line []byte, maxLine int, r *seams.Report) (ok bool, rej *seams.RecordError) {
	if len(line) > maxLine {
		return false, LongLine(file, n, line, maxLine)
	}
	if len(bytes.TrimLeft(line, " \t\r\n")) == 0 {
		p.Problems = p.Problems[:0]
		return false, nil
	}
	if err := p.Parse(line, r); err != nil {
		return false, &seams.RecordError{File: file, Line: n, Reason: err.Error(), Raw: seams.TruncateRaw(line)}
	}
	return true, nil
}

// LongLine is the rejection of a line longer than maxLine; start holds at
// least its first min(maxLine, seams.MaxRaw) bytes. The raw text is always
// those first bytes, cut at a character boundary and marked as cut, so the
// record does not depend on how the line was read.
func LongLine(file string, n int, start []byte, maxLine int) *seams.RecordError {
	raw := seams.CutRaw(start, min(maxLine, seams.MaxRaw))
	return &seams.RecordError{File: file, Line: n, Reason: fmt.Sprintf("line longer than %d bytes", maxLine), Raw: raw}
}

// Rejections returns the problems of the last parsed line as records.
func (p *Parser) Rejections(file string, n int) []seams.RecordError {
	out := make([]seams.RecordError, len(p.Problems))
	for i := range p.Problems {
		q := &p.Problems[i]
		out[i] = seams.RecordError{File: file, Line: n, Item: q.Item(), Reason: q.Reason, Raw: seams.TruncateRaw(q.Raw)}
	}
	return out
}

// Reader reads reports one at a time. The pipeline in package xref reads
// chunks in parallel instead; Reader is for tools and tests that want a
// simple loop.
type Reader struct {
	file    string
	cr      *chunk.Reader
	c       *chunk.Chunk
	data    []byte // rest of the current chunk
	line    int    // number of the next line in data
	p       Parser
	maxLine int
}

// NewReader returns a Reader of the reports in r; file names r in rejections.
func NewReader(r io.Reader, file string) *Reader {
	return &Reader{file: file, cr: chunk.NewReader(r, 1<<20, DefaultMaxLine, seams.MaxRaw), maxLine: DefaultMaxLine}
}

// Next reads the next report into r, passing every rejected line or part to
// reject. It returns io.EOF after the last report. The report is valid until
// the next call (see Parser).
func (rd *Reader) Next(r *seams.Report, reject func(*seams.RecordError)) error {
	for {
		if len(rd.data) == 0 {
			if rd.c != nil {
				rd.p.Reset()
				rd.cr.Release(rd.c)
				rd.c = nil
			}
			c, err := rd.cr.Next()
			if err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return fmt.Errorf("%s: %w", rd.file, err)
			}
			if c.Long {
				reject(LongLine(rd.file, c.FirstLine, c.Data, rd.maxLine))
				rd.cr.Release(c)
				continue
			}
			rd.c, rd.data, rd.line = c, c.Data, c.FirstLine
		}
		line := rd.data
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, rd.data = line[:i], rd.data[i+1:]
		} else {
			rd.data = nil
		}
		n := rd.line
		rd.line++
		ok, rej := rd.p.ParseLine(rd.file, n, line, rd.maxLine, r)
		if rej != nil {
			reject(rej)
		}
		if !ok {
			continue
		}
		for _, e := range rd.p.Rejections(rd.file, n) {
			reject(&e)
		}
		return nil
	}
}
