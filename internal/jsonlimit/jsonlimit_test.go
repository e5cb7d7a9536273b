package jsonlimit

import (
	"errors"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	for _, c := range []struct {
		name, in string
		max      int64
		depth    int
		err      string
	}{
		{"fits", `{"a":[1,2]}`, 11, 2, ""},
		{"one byte over", `{"a":[1,2]}`, 10, 2, "f.json: larger than 10 bytes"},
		{"too deep", `{"a":[{"b":1}]}`, 100, 2, "f.json: nested deeper than 2 levels"},
		{"brackets in strings do not count", `{"a":"[[[[{{{{"}`, 100, 1, ""},
		{"escaped quote stays in the string", `{"a":"\"[[["}`, 100, 1, ""},
	} {
		_, err := ReadAll(strings.NewReader(c.in), "f.json", c.max, c.depth)
		if c.err == "" && err != nil || c.err != "" && (err == nil || err.Error() != c.err) {
			t.Errorf("%s: ReadAll = %v, want %q", c.name, err, c.err)
		}
	}
}

func TestReaderTellsExactFromOver(t *testing.T) {
	r := &Reader{R: strings.NewReader("abc"), N: 3}
	b := make([]byte, 8)
	n, err := r.Read(b)
	if n != 3 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if _, err := r.Read(b); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("at exactly the limit: %v, want io.EOF", err)
	}
	r = &Reader{R: strings.NewReader("abcd"), N: 3}
	r.Read(b)
	if _, err := r.Read(b); !errors.Is(err, ErrTooLarge) {
		t.Errorf("past the limit: %v, want ErrTooLarge", err)
	}
}
