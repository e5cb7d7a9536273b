// Package termsafe makes text that came from outside (a request's path, a
// report id, a search, a file name) safe to print on an operator's
// terminal. A terminal acts on control characters: an escape sequence in
// an audit entry could move the cursor, rewrite earlier lines, set the
// window title or, with some terminals, answer back as if typed; a
// bidirectional override makes text read other than it is stored. Such
// runes are printed as escapes (\x1b, \u202e) instead: what is shown is
// what is stored, visibly.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether a terminal may act on r, or show text around it
// other than it is stored: C0 controls (tab and newline included: they
// break a table's columns and lines), DEL, C1 controls, and the Unicode
// bidirectional controls (embeddings, overrides, isolates and marks).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// String returns s with every unsafe rune written as a Go-style escape
// (\x1b, \u202e) and every byte that is not UTF-8 as \xNN. Text without
// any is returned as it is, without allocating.
func String(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || Unsafe(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && Unsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// JSON returns encoded JSON with the unsafe runes that encoding/json
// leaves as they are (C1 controls, bidirectional controls) written as
// \uXXXX escapes, which decode to the same text. Such runes can only be
// inside strings, where the escape is valid; encoding/json already escapes
// C0 controls. JSON without any is returned as it is.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x80 && Unsafe(r) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := append([]byte{}, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x80 && Unsafe(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
