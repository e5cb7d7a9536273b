package jsonl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner walks one line of JSON. It validates the grammar of RFC 8259 as
// encoding/json does (same whitespace, same number grammar, same handling of
// invalid UTF-8 and lone surrogates, same nesting limit), so that a line is
// valid here exactly when it is valid there; the fuzz tests hold it to that.
type scanner struct {
	data  []byte
	pos   int
	arena []byte // unescaped strings; reset per chunk by the Parser
	stack []byte // open containers while skipping a value
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errSyntax = errors.New("not valid JSON")

// syntaxError describes where the grammar broke, for the rejection reason.
func (s *scanner) syntaxError(what string) error {
	if s.pos >= len(s.data) {
		return fmt.Errorf("%w: unexpected end of line (%s)", errSyntax, what)
	}
	return fmt.Errorf("%w: unexpected %q at byte %d (%s)", errSyntax, s.data[s.pos], s.pos+1, what)
}

// ws skips whitespace. Compact JSON has none between tokens, so the first
// test (no byte above ' ' is whitespace) is usually the only one.
func (s *scanner) ws() {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return
	}
	s.wsSlow()
}

func (s *scanner) wsSlow() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// consume skips whitespace and the byte c, or fails.
func (s *scanner) consume(c byte, what string) error {
	s.ws()
	if s.peek() != c {
		return s.syntaxError(what)
	}
	s.pos++
	return nil
}

// strClass marks the bytes that end the fast path of string scanning: the
// quote, the backslash, control characters (invalid unescaped) and bytes of
// multi-byte UTF-8 sequences (which must be validated).
var strClass = func() (t [256]bool) {
	for i := range 0x20 {
		t[i] = true
	}
	t['"'], t['\\'] = true, true
	for i := 0x80; i < 256; i++ {
		t[i] = true
	}
	return t
}()

const (
	lowBits     = 0x0101010101010101
	highBits    = 0x8080808080808080
	quotes      = '"' * lowBits
	backslashes = '\\' * lowBits
	controls    = 0x20 * lowBits
)

// zeroBytes sets the high bit of the lowest zero byte of x (and maybe of
// bytes above it): the classic test of "Bit Twiddling Hacks", whose &^x and
// & highBits are applied by the caller.
func zeroBytes(x uint64) uint64 { return x - lowBits }

// str reads a string at the current position (which must be '"') and
// returns its decoded bytes: a slice of the line when it has no escapes and
// is valid UTF-8, otherwise a slice of the arena.
func (s *scanner) str() ([]byte, error) {
	start := s.pos + 1 // after the opening quote
	end := plainEnd(s.data, start)
	if end < len(s.data) && s.data[end] == '"' {
		s.pos = end + 1
		return s.data[start:end], nil
	}
	return s.strSlow(start, end)
}

// plainEnd returns the index of the first byte at or after i that needs a
// look in a string: a quote, a backslash, a control character or a byte of
// a multi-byte sequence; len(d) if there is none. It reads eight bytes at a
// time while it can: the lowest flagged byte of a word is exact (the
// borrows of the zero-byte test only ever run upwards).
func plainEnd(d []byte, i int) int {
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		if m := (zeroBytes(x^quotes)|zeroBytes(x^backslashes)|(x-controls))&^x&highBits | x&highBits; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(d) && !strClass[d[i]] {
		i++
	}
	return i
}

// strSlow finishes a string that starts at start and is plain up to i:
// escapes, UTF-8 to check, or an error.
func (s *scanner) strSlow(start, i int) ([]byte, error) {
	d := s.data
	a0 := len(s.arena)
	s.arena = append(s.arena, d[start:i]...)
	for {
		if i >= len(d) {
			s.pos = i
			return nil, s.syntaxError("unterminated string")
		}
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return s.arena[a0:], nil
		case c < 0x20:
			s.pos = i
			return nil, s.syntaxError("control character in string")
		case c == '\\':
			i++
			if i >= len(d) {
				s.pos = i
				return nil, s.syntaxError("unterminated escape")
			}
			switch d[i] {
			case '"', '\\', '/':
				s.arena = append(s.arena, d[i])
			case 'b':
				s.arena = append(s.arena, '\b')
			case 'f':
				s.arena = append(s.arena, '\f')
			case 'n':
				s.arena = append(s.arena, '\n')
			case 'r':
				s.arena = append(s.arena, '\r')
			case 't':
				s.arena = append(s.arena, '\t')
			case 'u':
				r := hex4(d[i+1:])
				if r < 0 {
					s.pos = i
					return nil, s.syntaxError("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// As encoding/json: a valid pair is one rune; anything
					// else is U+FFFD and the next escape stands alone.
					if len(d) > i+2 && d[i+1] == '\\' && d[i+2] == 'u' {
						if r2 := hex4(d[i+3:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								r = dec
								i += 6
								s.arena = utf8.AppendRune(s.arena, r)
								break
							}
						}
					}
					r = utf8.RuneError
				}
				s.arena = utf8.AppendRune(s.arena, r)
			default:
				s.pos = i
				return nil, s.syntaxError("invalid escape")
			}
			i++
		case c < utf8.RuneSelf:
			s.arena = append(s.arena, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				s.arena = utf8.AppendRune(s.arena, utf8.RuneError)
			} else {
				s.arena = append(s.arena, d[i:i+size]...)
			}
			i += size
		}
	}
}

// keyPattern is a member's key and colon as compact JSON writes them,
// `"name":`, for reading the common spelling of a known key with a compare
// or two instead of decoding it. Any other spelling (escapes, whitespace
// before the colon) does not match and takes the general path, which gives
// the same key.
type keyPattern struct {
	word, mask uint64 // the first eight bytes, little-endian
	tail       uint64 // the last eight, for a pattern longer than eight
	text       string
}

func newKeyPattern(name string) keyPattern { return newPattern(`"` + name + `":`) }

// newPattern returns the pattern of text as it stands (up to 16 bytes), for
// matching other runs of bytes of compact JSON in the same way.
func newPattern(text string) keyPattern {
	if len(text) > 16 {
		panic("jsonl: pattern longer than 16 bytes: " + text)
	}
	k := keyPattern{text: text}
	var b [8]byte
	n := copy(b[:], text)
	k.word = binary.LittleEndian.Uint64(b[:])
	k.mask = ^uint64(0) >> (64 - 8*n)
	if len(text) > 8 {
		k.tail = binary.LittleEndian.Uint64([]byte(text[len(text)-8:]))
	}
	return k
}

// at reports whether k's text starts at d[i].
func (k *keyPattern) at(d []byte, i int) bool {
	if len(d)-i < 8 { // near the end of the line
		return len(d)-i >= len(k.text) && string(d[i:i+len(k.text)]) == k.text
	}
	return k.match(d, i, binary.LittleEndian.Uint64(d[i:]))
}

// match is at for the word w at d[i].
func (k *keyPattern) match(d []byte, i int, w uint64) bool {
	if w&k.mask != k.word {
		return false
	}
	n := len(k.text)
	return n <= 8 || len(d)-i >= n && binary.LittleEndian.Uint64(d[i+n-8:]) == k.tail
}

// word returns the eight bytes at the current position, little-endian, or
// ok false when fewer are left.
func (s *scanner) word() (uint64, bool) {
	if s.pos+8 > len(s.data) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(s.data[s.pos:]), true
}

// matchKey steps over k's pattern if it starts at the current position,
// whose first eight bytes are w.
func (s *scanner) matchKey(w uint64, k *keyPattern) bool {
	if !k.match(s.data, s.pos, w) {
		return false
	}
	s.pos += len(k.text)
	return true
}

// plainString returns the end of the string whose text starts at d[i] (the
// index of its closing quote) when it needs no decoding: no escape, no
// control character, no byte above ASCII; ok is false otherwise.
func plainString(d []byte, i int) (end int, ok bool) {
	end = plainEnd(d, i)
	return end, end < len(d) && d[end] == '"'
}

// key reads a member's key and the ':' after it, in any spelling.
func (s *scanner) key() ([]byte, error) {
	key, err := s.str()
	if err != nil {
		return nil, err
	}
	if err := s.consume(':', "expected ':' after key"); err != nil {
		return nil, err
	}
	return key, nil
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number reads a JSON number and returns its text.
func (s *scanner) number() ([]byte, error) {
	d, i := s.data, s.pos
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.syntaxError("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, s.syntaxError("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == j {
			s.pos = i
			return nil, s.syntaxError("invalid number")
		}
	}
	s.pos = i
	return d[start:i], nil
}

// literal reads true, false or null.
func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return nil
	}
	return s.syntaxError("invalid literal")
}

// kind classifies the value starting at the current position.
type kind uint8

const (
	kString kind = iota + 1
	kNumber
	kTrue
	kFalse
	kNull
	kObject
	kArray
)

func (k kind) String() string {
	return [...]string{"", "a string", "a number", "true", "false", "null", "an object", "an array"}[k]
}

func (s *scanner) kind() kind {
	switch c := s.peek(); {
	case c == '"':
		return kString
	case c == '-' || '0' <= c && c <= '9':
		return kNumber
	case c == 't':
		return kTrue
	case c == 'f':
		return kFalse
	case c == 'n':
		return kNull
	case c == '{':
		return kObject
	case c == '[':
		return kArray
	}
	return 0
}

// skip validates and steps over one value, iteratively so that hostile
// nesting costs a byte of stack per level rather than a goroutine frame.
func (s *scanner) skip() error {
	s.stack = s.stack[:0]
	for {
		s.ws()
		// A value.
		switch s.kind() {
		case kString:
			if _, err := s.strSkip(); err != nil {
				return err
			}
		case kNumber:
			if _, err := s.number(); err != nil {
				return err
			}
		case kTrue:
			if err := s.literal("true"); err != nil {
				return err
			}
		case kFalse:
			if err := s.literal("false"); err != nil {
				return err
			}
		case kNull:
			if err := s.literal("null"); err != nil {
				return err
			}
		case kObject, kArray:
			if len(s.stack) >= maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", errSyntax, maxDepth)
			}
			open := s.data[s.pos]
			s.pos++
			s.stack = append(s.stack, open)
			s.ws()
			if open == '{' && s.peek() == '}' || open == '[' && s.peek() == ']' {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if open == '{' {
				if err := s.objectKey(); err != nil {
					return err
				}
			}
			continue // the first element or member value
		default:
			return s.syntaxError("expected a value")
		}
		// After a value: close containers or move to the next element.
		for {
			if len(s.stack) == 0 {
				return nil
			}
			s.ws()
			top := s.stack[len(s.stack)-1]
			c := s.peek()
			if c == ',' {
				s.pos++
				if top == '{' {
					s.ws()
					if err := s.objectKey(); err != nil {
						return err
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				continue
			}
			return s.syntaxError("expected ',' or a closing bracket")
		}
	}
}

// objectKey reads `"key" :` inside an object being skipped.
func (s *scanner) objectKey() error {
	if s.peek() != '"' {
		return s.syntaxError("expected a string key")
	}
	if _, err := s.strSkip(); err != nil {
		return err
	}
	return s.consume(':', "expected ':' after key")
}

// strSkip validates a string without keeping its value.
func (s *scanner) strSkip() ([]byte, error) {
	a := len(s.arena)
	b, err := s.str()
	s.arena = s.arena[:a]
	return b, err
}

// bytesString returns a string sharing b's memory. The Parser's contract
// (reports are valid until the next chunk) is what makes this safe: neither
// the line nor the arena is written while a report from them is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
