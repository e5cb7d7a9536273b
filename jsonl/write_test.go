package jsonl

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// FuzzAppendString checks that every string comes out as valid JSON that
// decodes to the same text (invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote \" backslash \\ newline \n tab \t", "\x00\x1f\x7f", "\xff\xfe bad", "\u2028\u2029", "é 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not valid JSON: %v", s, b, err)
		}
		if want := validUTF8(s); got != want {
			t.Fatalf("AppendString(%q) decodes to %q, want %q", s, got, want)
		}
	})
}

// TestAppendRejectedIsJSON checks a rejection with hostile text is one line
// of valid JSON with the fields of the contract.
func TestAppendRejectedIsJSON(t *testing.T) {
	e := seams.RecordError{File: "a\nb.jsonl", Line: 12, Item: "ips[3]", Reason: `invalid IP address "N/A"`, Raw: "{\"ip\":\"N/A\"}\xff\n"}
	b := AppendRejected(nil, &e)
	if strings.Count(string(b), "\n") != 1 || b[len(b)-1] != '\n' {
		t.Fatalf("not one line: %q", b)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "line", "item", "reason", "raw"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing in %s", k, b)
		}
	}
	if got["line"] != float64(12) || got["item"] != "ips[3]" {
		t.Errorf("got %v", got)
	}
}
