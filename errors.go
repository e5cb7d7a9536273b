package seams

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// RecordError is a record of an input that could not be used, in whole or in
// part. Every record a reader takes in is either used or becomes one of these,
// and each is written to rejected.jsonl.
type RecordError struct {
	File   string // the input file as given; "-" for standard input
	Line   int    // 1-based line where the record starts; 0 if not line-based
	Item   string // the part rejected, e.g. "ips[3]"; empty for the whole record
	Reason string // what is wrong, quoting the bad value
	Raw    string // the rejected text (truncated to MaxRaw bytes)
}

// MaxRaw is the most bytes of a rejected record's text kept in RecordError.Raw.
// The file and line always locate the whole record.
const MaxRaw = 4096

// Error formats the record as file:line: item: reason.
func (e *RecordError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Item != "" {
		s += ": " + e.Item
	}
	return s + ": " + e.Reason
}

// TruncateRaw cuts raw text to at most MaxRaw bytes for a RecordError, at a
// character boundary, marking the cut with "…".
func TruncateRaw(b []byte) string {
	if len(b) <= MaxRaw {
		return string(b)
	}
	return CutRaw(b, MaxRaw)
}

// CutRaw returns the first n bytes of b or fewer, ending at a character
// boundary, followed by "…" to show the text goes on.
func CutRaw(b []byte, n int) string {
	n = min(n, len(b))
	// Drop a character the cut splits: find the last character start
	// within reach and keep it only if it is whole. In invalid UTF-8 there
	// may be no start within reach, and n stays.
	for i := n - 1; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:n]) {
				n = i
			}
			break
		}
	}
	return string(b[:n]) + "…"
}

// Errorf builds a RecordError for a whole record.
func Errorf(file string, line int, format string, args ...any) *RecordError {
	return &RecordError{File: file, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// ErrUsage marks a mistake in the options of a run (xref, derive, enrich,
// export, pseudonymize), which a command line reports as a usage error.
var ErrUsage = errors.New("usage")

// FieldError is a mistake in one field of a run's options. It names the
// field as Go spells it ("MaxLine", "Readers.CSV.Memory"), never a flag:
// a command line maps fields to its flags. errors.Is(err, ErrUsage) holds
// for it. Each package's Options.Validate returns them, joined.
type FieldError struct {
	Field string
	// Missing says the field is required and empty; Reason is empty then.
	Missing bool
	Reason  string
}

func (e *FieldError) Error() string {
	if e.Missing {
		return e.Field + ": missing"
	}
	return e.Field + ": " + e.Reason
}

// Is makes a FieldError match ErrUsage.
func (e *FieldError) Is(target error) bool { return target == ErrUsage }

// MissingField is the FieldError of a required field left empty.
func MissingField(field string) *FieldError { return &FieldError{Field: field, Missing: true} }

// InvalidField is the FieldError of a field whose value cannot be used;
// the reason quotes the value.
func InvalidField(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// FieldErrors returns the FieldErrors in err (one, or several joined by
// errors.Join), and the other errors beside them.
func FieldErrors(err error) (fields []*FieldError, others []error) {
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			fields = append(fields, fe)
		} else if err != nil {
			others = append(others, err)
		}
	}
	walk(err)
	return fields, others
}
