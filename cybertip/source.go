package cybertip

import (
	"bufio"
	"errors"
	"io"
)

// errTokenTooLong is what source returns to the decoder when one token has
// grown past the limit; the decoder fails with it and the reader resyncs.
var errTokenTooLong = errors.New("token too long")

// source is the byte stream under the XML decoder. encoding/xml reads one
// byte at a time through io.ByteReader when its input has that method, so
// source sees every byte the decoder takes: it counts them and their lines,
// caps the bytes of one token (encoding/xml would otherwise buffer a text
// run or a tag of any length), and can hand bytes back after a resync.
type source struct {
	br      *bufio.Reader
	pending []byte // bytes to serve before br's: a resync's "<report"
	n       int64  // bytes served
	lines   int    // newlines served
	last    byte   // the last byte served
	tok     int    // bytes served since the current token began
	max     int    // limit on tok; 0 for none
	err     error  // br's error, sticky (io.EOF at the end)
}

func newSource(r io.Reader) *source {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &source{br: br}
}

// ReadByte serves the next byte.
func (s *source) ReadByte() (byte, error) {
	if s.max > 0 && s.tok >= s.max {
		return 0, errTokenTooLong
	}
	var c byte
	if len(s.pending) > 0 {
		c, s.pending = s.pending[0], s.pending[1:]
	} else {
		if s.err != nil {
			return 0, s.err
		}
		var err error
		if c, err = s.br.ReadByte(); err != nil {
			s.err = err
			return 0, err
		}
	}
	s.n++
	s.tok++
	s.last = c
	if c == '\n' {
		s.lines++
	}
	return c, nil
}

// Read serves bytes one at a time; encoding/xml uses ReadByte, and Read is
// here only to satisfy io.Reader.
func (s *source) Read(p []byte) (int, error) {
	for i := range p {
		c, err := s.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		p[i] = c
	}
	return len(p), nil
}

// unread makes b the next bytes served, forgetting that they were served
// before: they will be counted again when they are.
func (s *source) unread(b []byte) {
	s.pending = append(append([]byte(nil), b...), s.pending...)
	s.n -= int64(len(b))
	for _, c := range b {
		if c == '\n' {
			s.lines--
		}
	}
}
