// Package chunk cuts a stream of lines into large chunks that end at a line
// boundary, so that workers can parse chunks in parallel while the order of
// lines, and their numbers, are kept.
//
// Memory is bounded: a chunk's buffer grows to hold one line of at most the
// longest line allowed, and no further. A line that does not end within that
// many bytes is returned cut short, as a Long chunk, and the rest of it is
// skipped without being held. A long line that happens to arrive whole with
// its newline is returned in an ordinary chunk, so callers check each line's
// length as well; the bound on memory is the same either way: about
// 1.25 x size + the longest line + 64 KiB per chunk.
package chunk

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Chunk is a run of whole lines.
type Chunk struct {
	// Data holds whole lines, each ending in '\n' except perhaps the last
	// line of the input.
	Data []byte
	// FirstLine is the 1-based number of the first line in Data.
	FirstLine int
	// Long reports that line FirstLine was longer than the reader's limit
	// and did not end within it: Data holds only its first bytes, and the
	// rest was skipped.
	Long bool

	buf *[]byte
}

// Lines returns the number of lines in the chunk.
func (c *Chunk) Lines() int {
	if c.Long {
		return 1
	}
	n := bytes.Count(c.Data, []byte{'\n'})
	if len(c.Data) > 0 && c.Data[len(c.Data)-1] != '\n' {
		n++
	}
	return n
}

// Reader reads chunks from an io.Reader.
type Reader struct {
	r       io.Reader
	size    int // target chunk size
	maxLine int // longest line kept whole
	keep    int // bytes kept of a long line
	line    int // number of the next line
	rest    []byte
	eof     bool
	err     error // a read error met while skipping, returned by the next Next
	start   bool
	pool    sync.Pool

	mem    []byte // the input, when it is held in memory (NewBytes)
	memPos int
	// Released, when set on a Reader over memory, is called with the data
	// of each chunk released.
	Released func([]byte)
	// Relative, when set, spares the Reader counting lines (a pass over
	// every byte): every chunk's FirstLine is 1, and the consumer numbers
	// lines by adding those of the chunks before, which it counts as it
	// reads them.
	Relative bool
}

// first returns the FirstLine of the next chunk.
func (cr *Reader) first() int {
	if cr.Relative {
		return 1
	}
	return cr.line
}

// NewReader returns a Reader of chunks of about size bytes from r, with lines
// of at most maxLine bytes (not counting the newline); of a longer line, the
// first keep bytes are returned in a Long chunk. A UTF-8 byte order mark at
// the start of the input is dropped.
func NewReader(r io.Reader, size, maxLine, keep int) *Reader {
	return &Reader{r: r, size: size, maxLine: maxLine, keep: min(keep, maxLine), line: 1, start: true}
}

// NewBytes returns a Reader of chunks of about size bytes from data held in
// memory, such as a mapped file: chunks are slices of data, nothing is
// copied. Lines, limits and the byte order mark are as for NewReader.
func NewBytes(data []byte, size, maxLine, keep int) *Reader {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if data == nil {
		data = []byte{} // a Reader over memory is told apart by mem != nil
	}
	return &Reader{mem: data, size: size, maxLine: maxLine, keep: min(keep, maxLine), line: 1}
}

// nextMem is Next for a Reader over memory.
func (cr *Reader) nextMem() (*Chunk, error) {
	rest := cr.mem[cr.memPos:]
	if len(rest) == 0 {
		return nil, io.EOF
	}
	// A line that does not end within the limit becomes a Long chunk.
	if i := bytes.IndexByte(rest[:min(len(rest), cr.maxLine+1)], '\n'); i < 0 && len(rest) > cr.maxLine {
		c := &Chunk{Data: rest[:cr.keep], FirstLine: cr.first(), Long: true}
		cr.line++
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			cr.memPos += j + 1
		} else {
			cr.memPos = len(cr.mem)
		}
		return c, nil
	}
	end := len(rest)
	if end > cr.size {
		// End at the last newline within size, or, for a long first
		// line, at the first newline after it.
		if i := bytes.LastIndexByte(rest[:cr.size], '\n'); i >= 0 {
			end = i + 1
		} else if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			end = j + 1
		}
	}
	cr.memPos += end
	return cr.chunk(nil, rest[:end:end]), nil
}

// Release returns a chunk's memory for reuse. The chunk must not be used after.
func (cr *Reader) Release(c *Chunk) {
	if cr.mem != nil && cr.Released != nil {
		cr.Released(c.Data)
	}
	if c.buf != nil {
		*c.buf = c.Data[:0]
		cr.pool.Put(c.buf)
		c.buf, c.Data = nil, nil
	}
}

func (cr *Reader) get() *[]byte {
	if b, ok := cr.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, cr.size+cr.size/4)
	return &b
}

// Next returns the next chunk, or io.EOF after the last. Any other error is
// an error of the underlying reader.
func (cr *Reader) Next() (*Chunk, error) {
	if cr.mem != nil {
		return cr.nextMem()
	}
	if cr.err != nil {
		return nil, cr.err
	}
	bp := cr.get()
	buf := append((*bp)[:0], cr.rest...)
	cr.rest = cr.rest[:0]
	for {
		// At least 3 bytes, so that a byte order mark is seen whole.
		if !cr.eof && len(buf) < max(cr.size, 3) {
			if err := cr.fill(&buf, max(cr.size, 3)); err != nil {
				return nil, err
			}
			continue
		}
		if cr.start {
			buf = bytes.TrimPrefix(buf, []byte("\uFEFF"))
			cr.start = false
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			cr.rest = append(cr.rest, buf[i+1:]...)
			return cr.chunk(bp, buf[:i+1]), nil
		}
		// No newline in buf: one line so far.
		if cr.eof {
			if len(buf) == 0 {
				*bp = buf
				cr.pool.Put(bp)
				return nil, io.EOF
			}
			if len(buf) > cr.maxLine {
				return cr.long(bp, buf)
			}
			return cr.chunk(bp, buf), nil
		}
		if len(buf) > cr.maxLine {
			return cr.long(bp, buf)
		}
		if err := cr.fill(&buf, cr.maxLine+1); err != nil {
			return nil, err
		}
	}
}

// fill reads more into *buf, growing it up to limit bytes of capacity.
func (cr *Reader) fill(buf *[]byte, limit int) error {
	b := *buf
	if len(b) == cap(b) {
		n := min(max(2*cap(b), 64<<10), max(limit, len(b)+1))
		nb := make([]byte, len(b), n)
		copy(nb, b)
		b = nb
	}
	n, err := cr.r.Read(b[len(b):cap(b)])
	*buf = b[:len(b)+n]
	if errors.Is(err, io.EOF) {
		cr.eof = true
		return nil
	}
	return err
}

func (cr *Reader) chunk(bp *[]byte, data []byte) *Chunk {
	c := &Chunk{Data: data, FirstLine: cr.first(), buf: bp}
	if !cr.Relative {
		cr.line += c.Lines()
	}
	return c
}

// long returns the start of an over-long line and skips the rest of it.
func (cr *Reader) long(bp *[]byte, buf []byte) (*Chunk, error) {
	c := &Chunk{Data: buf[:cr.keep], FirstLine: cr.first(), Long: true, buf: bp}
	cr.line++
	// Skip to the end of the line, reading into a scratch buffer so that
	// the chunk's bytes stay as they are.
	scratch := make([]byte, 64<<10)
	for {
		if cr.eof {
			return c, nil
		}
		n, err := cr.r.Read(scratch)
		if i := bytes.IndexByte(scratch[:n], '\n'); i >= 0 {
			cr.rest = append(cr.rest, scratch[i+1:n]...)
			if errors.Is(err, io.EOF) {
				cr.eof = true
			} else if err != nil {
				cr.err = err // the next call reports it, after this chunk
			}
			return c, nil
		}
		if errors.Is(err, io.EOF) {
			cr.eof = true
		} else if err != nil {
			return nil, err
		}
	}
}
