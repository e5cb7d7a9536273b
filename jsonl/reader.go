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
	if blank(line) {
		p.Problems = p.Problems[:0]
		return false, nil
	}
	if err := p.Parse(line, r); err != nil {
		return false, &seams.RecordError{File: file, Line: n, Reason: err.Error(), Raw: seams.TruncateRaw(line)}
	}
	return true, nil
}

// blank reports whether line holds only JSON whitespace: the test of every
// line, so it looks at the first byte before anything else (bytes.TrimLeft
// with a cutset would build its set on every call).
func blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
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

// Reader reads reports one at a time: it is the seams.ReportReader of JSON
// Lines. The pipeline in package xref reads chunks in parallel instead;
// Reader is for tools (load, enrich) and tests that want a simple loop.
type Reader struct {
	file    string
	cr      *chunk.Reader
	c       *chunk.Chunk
	data    []byte // rest of the current chunk
	line    int    // number of the next line in data
	p       Parser
	maxLine int
	rec     seams.ReportRecord
	long    seams.RecordError
}

// NewReader returns a Reader of the reports in r; file names r in rejections.
func NewReader(r io.Reader, file string) *Reader {
	return &Reader{file: file, cr: chunk.NewReader(r, 1<<20, DefaultMaxLine, seams.MaxRaw), maxLine: DefaultMaxLine}
}

// Next returns the next record: a report, with the parts of it rejected on
// their own, or a line rejected whole. Blank lines are not records. It
// returns io.EOF after the last record. The record is valid until the next
// call (see Parser).
func (rd *Reader) Next() (*seams.ReportRecord, error) {
	rec := &rd.rec
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
					return nil, io.EOF
				}
				return nil, fmt.Errorf("%s: %w", rd.file, err)
			}
			if c.Long {
				rd.long = *LongLine(rd.file, c.FirstLine, c.Data, rd.maxLine)
				rd.cr.Release(c)
				*rec = seams.ReportRecord{Line: rd.long.Line, Whole: &rd.long}
				return rec, nil
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
		parts := rec.Parts[:0]
		*rec = seams.ReportRecord{Report: rec.Report, Line: n, Raw: line}
		ok, rej := rd.p.ParseLine(rd.file, n, line, rd.maxLine, &rec.Report)
		if rej != nil {
			rec.Whole = rej
			return rec, nil
		}
		if !ok {
			continue // a blank line is not a record
		}
		for i := range rd.p.Problems {
			q := &rd.p.Problems[i]
			parts = append(parts, seams.RecordError{File: rd.file, Line: n, Item: q.Item(), Reason: q.Reason, Raw: seams.TruncateRaw(q.Raw)})
		}
		rec.Parts = parts
		return rec, nil
	}
}
