package cybertip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// errTokenTooLong is what source returns to the decoder when one token has
// grown past the limit; the decoder fails with it and the reader resyncs.
var errTokenTooLong = errors.New("token too long")

// source is the byte stream under the XML decoder. encoding/xml reads one
// byte at a time through io.ByteReader when its input has that method, so
// source sees every byte the decoder takes: it counts them and their lines,
// caps the bytes of one token (encoding/xml would otherwise buffer a text
// run or a tag of any length), and can hand bytes back after a resync.
//
// It is also where the file's encoding is undone: the decoder only ever
// sees UTF-8, and only characters XML allows. A UTF-16 byte-order mark at
// the start fixes the encoding for the whole input; otherwise it is UTF-8
// until an XML declaration names another (setEncoding), for as long as the
// next declaration. A byte sequence that is not a character of the
// encoding, or a character XML does not allow (a control character, a
// lone surrogate), is served as U+FFFD and counted in replaced: encoding/xml
// would reject the whole report for it, and it may well stand in a field
// seams never reads. The reader checks the count around the values it does
// read (Reader.value).
//
// Counts (n, lines, tok, max) are of the UTF-8 served, not of the bytes of
// the file.
type source struct {
	br      *bufio.Reader
	pending []byte // bytes to serve before any other: a resync's "<report"
	n       int64  // bytes served
	lines   int    // newlines served
	last    byte   // the last byte served
	tok     int    // bytes served since the current token began
	max     int    // limit on tok; 0 for none
	err     error  // br's error, sticky (io.EOF at the end)

	started  bool    // the byte-order mark has been looked for
	enc      charset // how the bytes of the file become characters
	name     string  // the encoding's name, for messages ("utf-8", "windows-1252")
	locked   bool    // a UTF-16 byte-order mark fixed the encoding
	cm       *charmap.Charmap
	tr       transform.Transformer // encOther
	tin      []byte                // encOther: bytes the transformer has not taken yet
	tout     []byte                // encOther: characters it has made and not yet served
	tbuf     [64]byte
	out      [utf8.UTFMax]byte // the rest of the character being served
	outI     int
	outN     int
	replaced int // characters served as U+FFFD in place of what the file had
}

// charset says how a source decodes the file's bytes.
type charset uint8

const (
	encUTF8    charset = iota
	encUTF16LE         // only after a byte-order mark
	encUTF16BE
	encCharmap // a single-byte encoding: windows-1252, ISO-8859-2, KOI8-R...
	encOther   // a multi-byte one: Shift_JIS, GBK, Big5, EUC-KR...
)

func newSource(r io.Reader) *source {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &source{br: br, name: "utf-8"}
}

// ReadByte serves the next byte.
func (s *source) ReadByte() (byte, error) {
	if s.max > 0 && s.tok >= s.max {
		return 0, errTokenTooLong
	}
	var c byte
	switch {
	case len(s.pending) > 0:
		c, s.pending = s.pending[0], s.pending[1:]
	case s.outI < s.outN:
		c = s.out[s.outI]
		s.outI++
	case s.enc == encUTF8 && s.started && s.err == nil:
		// The common byte, ASCII that XML allows in UTF-8, is served
		// here; anything else is decoded.
		b, err := s.br.ReadByte()
		if err != nil {
			return s.fail(err)
		}
		if plain[b] {
			c = b
			break
		}
		if err := s.br.UnreadByte(); err != nil {
			return s.fail(err)
		}
		fallthrough
	default:
		var err error
		if c, err = s.decode(); err != nil {
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

// fail records an error of the underlying reader and returns it.
func (s *source) fail(err error) (byte, error) {
	s.err = err
	return 0, err
}

// decode reads the next character of the file and returns the first byte of
// its UTF-8, keeping the rest in out.
func (s *source) decode() (byte, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.started {
		s.started = true
		if err := s.bom(); err != nil {
			return s.fail(err)
		}
	}
	switch s.enc {
	case encUTF16LE, encUTF16BE:
		return s.decodeUTF16()
	case encCharmap:
		c, err := s.br.ReadByte()
		if err != nil {
			return s.fail(err)
		}
		if plain[c] {
			return c, nil // every encoding htmlindex gives a charmap for keeps ASCII
		}
		r := s.cm.DecodeByte(c)
		return s.emit(r, r == utf8.RuneError)
	case encOther:
		return s.decodeOther()
	}
	c, err := s.br.ReadByte()
	if err != nil {
		return s.fail(err)
	}
	if c < utf8.RuneSelf {
		if allowed(rune(c)) {
			return c, nil
		}
		return s.emit(utf8.RuneError, true)
	}
	// A multi-byte character: look at as many bytes as its first one
	// says it has, and take them only if they make one.
	need := 1
	switch {
	case c&0xE0 == 0xC0:
		need = 2
	case c&0xF0 == 0xE0:
		need = 3
	case c&0xF8 == 0xF0:
		need = 4
	}
	if err := s.br.UnreadByte(); err != nil {
		return s.fail(err)
	}
	b, err := s.br.Peek(need)
	if err != nil && err != io.EOF {
		return s.fail(err)
	}
	r, size := utf8.DecodeRune(b)
	s.br.Discard(size)
	if r == utf8.RuneError && size == 1 {
		return s.emit(r, true)
	}
	return s.emit(r, false)
}

// bom looks for a byte-order mark at the start of the input: a UTF-16 one
// fixes the encoding, a UTF-8 one is dropped.
func (s *source) bom() error {
	b, err := s.br.Peek(3)
	if err != nil && err != io.EOF {
		return err
	}
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		s.br.Discard(3)
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		s.br.Discard(2)
		s.enc, s.name, s.locked = encUTF16LE, "utf-16le", true
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		s.br.Discard(2)
		s.enc, s.name, s.locked = encUTF16BE, "utf-16be", true
	}
	return nil
}

// unit reads one UTF-16 code unit; ok is false at the end of the input, and
// half is set when the input ends after one byte of a unit.
func (s *source) unit() (u uint16, ok, half bool, err error) {
	b, err := s.br.Peek(2)
	switch {
	case len(b) == 2:
	case err == io.EOF || err == nil:
		if len(b) == 1 {
			s.br.Discard(1)
			return 0, false, true, nil
		}
		return 0, false, false, nil
	default:
		return 0, false, false, err
	}
	if s.enc == encUTF16LE {
		u = uint16(b[0]) | uint16(b[1])<<8
	} else {
		u = uint16(b[0])<<8 | uint16(b[1])
	}
	s.br.Discard(2)
	return u, true, false, nil
}

func (s *source) decodeUTF16() (byte, error) {
	u, ok, half, err := s.unit()
	switch {
	case err != nil:
		return s.fail(err)
	case half:
		return s.emit(utf8.RuneError, true)
	case !ok:
		return s.fail(io.EOF)
	}
	r := rune(u)
	if !utf16.IsSurrogate(r) {
		return s.emit(r, false)
	}
	if r >= 0xDC00 { // a low surrogate first
		return s.emit(utf8.RuneError, true)
	}
	// A high surrogate: the next unit must be a low one, else this one
	// alone is replaced and the next is read as itself.
	b, err := s.br.Peek(2)
	if err != nil && err != io.EOF {
		return s.fail(err)
	}
	if len(b) == 2 {
		var lo uint16
		if s.enc == encUTF16LE {
			lo = uint16(b[0]) | uint16(b[1])<<8
		} else {
			lo = uint16(b[0])<<8 | uint16(b[1])
		}
		if lo >= 0xDC00 && lo <= 0xDFFF {
			s.br.Discard(2)
			return s.emit(utf16.DecodeRune(r, rune(lo)), false)
		}
	}
	return s.emit(utf8.RuneError, true)
}

// decodeOther decodes a multi-byte encoding with its x/text transformer,
// feeding it a byte at a time so that it never reads ahead of what the
// decoder takes.
func (s *source) decodeOther() (byte, error) {
	for len(s.tout) == 0 {
		atEOF := false
		c, err := s.br.ReadByte()
		switch {
		case err == io.EOF:
			if len(s.tin) == 0 {
				return s.fail(io.EOF)
			}
			atEOF = true
		case err != nil:
			return s.fail(err)
		default:
			s.tin = append(s.tin, c)
		}
		nDst, nSrc, terr := s.tr.Transform(s.tbuf[:], s.tin, atEOF)
		s.tout = append(s.tout, s.tbuf[:nDst]...)
		s.tin = s.tin[:copy(s.tin, s.tin[nSrc:])]
		switch {
		case terr == nil, terr == transform.ErrShortSrc && !atEOF:
		default:
			// Nothing the transformer can make of what it holds: one
			// byte of it becomes U+FFFD.
			if len(s.tin) > 0 {
				s.tin = s.tin[:copy(s.tin, s.tin[1:])]
			}
			s.tout = utf8.AppendRune(s.tout, utf8.RuneError)
		}
	}
	r, size := utf8.DecodeRune(s.tout)
	s.tout = s.tout[:copy(s.tout, s.tout[size:])]
	// The decoders of x/text make U+FFFD of what is not a character of
	// their encoding; none of these encodings has U+FFFD itself.
	return s.emit(r, r == utf8.RuneError)
}

// emit serves character r: its first byte now, the rest from out. A
// character XML does not allow is replaced; replaced says r already stands
// for something the file's encoding could not decode.
func (s *source) emit(r rune, replaced bool) (byte, error) {
	if replaced || !allowed(r) {
		r = utf8.RuneError
		s.replaced++
	}
	n := utf8.EncodeRune(s.out[:], r)
	s.outI, s.outN = 1, n
	return s.out[0], nil
}

// plain holds the bytes that are a whole character XML allows, in UTF-8
// and in every encoding a charmap is used for: tab, newline, return and
// printable ASCII.
var plain = func() (t [256]bool) {
	for c := range t {
		t[c] = c < utf8.RuneSelf && allowed(rune(c))
	}
	return t
}()

// allowed reports whether XML 1.0 allows character r in a document.
func allowed(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
}

// setEncoding switches to the encoding an XML declaration names, from the
// next byte on. A UTF-16 byte-order mark at the start of the input is
// stronger than any declaration. A declaration of UTF-16 without one is
// ignored: the declaration itself was read as 8-bit text, so the file is
// not UTF-16 (it was probably converted and kept its old declaration).
// Labels are resolved as the WHATWG Encoding Standard resolves them, as
// browsers do: ISO-8859-1 and US-ASCII are read as windows-1252, a superset
// that gives every byte a meaning.
func (s *source) setEncoding(label string) error {
	if s.locked {
		return nil
	}
	e, err := htmlindex.Get(label)
	if err != nil {
		return fmt.Errorf("encoding %q is not one seams can read (want UTF-8, UTF-16 with a byte-order mark, or an encoding of the WHATWG Encoding Standard such as ISO-8859-1 or windows-1252)", label)
	}
	name, _ := htmlindex.Name(e)
	switch name {
	case "utf-16le", "utf-16be":
		return nil
	case "replacement":
		return fmt.Errorf("encoding %q is not one seams can read (the Encoding Standard reads it as a single U+FFFD)", label)
	}
	s.tin, s.tout = s.tin[:0], s.tout[:0]
	s.name = name
	switch cm, ok := e.(*charmap.Charmap); {
	case name == "utf-8":
		s.enc = encUTF8
	case ok:
		s.enc, s.cm = encCharmap, cm
	default:
		s.enc, s.tr = encOther, e.NewDecoder()
	}
	return nil
}
