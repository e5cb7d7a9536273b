package termsafe

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain text unchanged", "report r-1, compound C1", "report r-1, compound C1"},
		{"non-ASCII letters unchanged", "Mỹ Đình, Myawaddy", "Mỹ Đình, Myawaddy"},
		{"escape sequence clearing the screen", "/api/\x1b[2J\x1b[H", `/api/\x1b[2J\x1b[H`},
		{"tab and newline break columns", "a\tb\nc", `a\x09b\x0ac`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 control sequence introducer", "a\u009b31mb", `a\u009b31mb`},
		{"right-to-left override", "invoice\u202etxt.exe", `invoice\u202etxt.exe`},
		{"isolates and marks", "\u2066x\u2069\u200f", `\u2066x\u2069\u200f`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"replacement character itself is safe", "a\uFFFDb", "a\uFFFDb"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := String(c.in); got != c.want {
				t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	for _, s := range []string{"plain", "a\u009bb", "x\u202ey", "\x1b[2J", "ü\u2066"} {
		b, err := json.Marshal(map[string]string{"v": s})
		if err != nil {
			t.Fatal(err)
		}
		out := JSON(b)
		for _, r := range string(out) {
			if Unsafe(r) {
				t.Errorf("JSON(%q) = %q still holds %U", b, out, r)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil || back["v"] != s {
			t.Errorf("JSON(%q) = %q decodes to %q, %v; want %q", b, out, back["v"], err, s)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[2J", "\u202e", "\xff", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if Unsafe(r) {
				t.Fatalf("String(%q) = %q holds %U", s, out, r)
			}
		}
	})
}
