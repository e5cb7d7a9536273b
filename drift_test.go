package seams

import (
	"strings"
	"testing"
	"time"
)

func TestParseDrift(t *testing.T) {
	const day = 24 * time.Hour
	cases := []struct {
		name string
		in   string
		want time.Duration
		ok   bool
		err  bool
	}{
		{"empty: no bound", "", 0, false, false},
		{"blank: no bound", "  ", 0, false, false},
		{"zero", "0", 0, true, false},
		{"zero days", "0d", 0, true, false},
		{"zero seconds", "0s", 0, true, false},
		{"days", "90d", 90 * day, true, false},
		{"days trimmed", " 7d ", 7 * day, true, false},
		{"most days", "100000d", 100000 * day, true, false},
		{"go duration", "2160h", 90 * day, true, false},
		{"compound duration", "1h30m", 90 * time.Minute, true, false},
		{"too many days", "100001d", 0, false, true},
		{"negative", "-1h", 0, false, true},
		{"negative days", "-1d", 0, false, true},
		{"plus days", "+1d", 0, false, true},
		{"fraction of days", "1.5d", 0, false, true},
		{"no unit", "90", 0, false, true},
		{"just d", "d", 0, false, true},
		{"word", "never", 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := ParseDrift(c.in)
			if c.err {
				if err == nil || !strings.Contains(err.Error(), `"`+c.in+`"`) {
					t.Fatalf("ParseDrift(%q) = %v, %v, %v; want an error quoting the input", c.in, got, ok, err)
				}
				return
			}
			if err != nil || got != c.want || ok != c.ok {
				t.Fatalf("ParseDrift(%q) = %v, %v, %v; want %v, %v", c.in, got, ok, err, c.want, c.ok)
			}
		})
	}
}

func TestFormatDrift(t *testing.T) {
	const day = 24 * time.Hour
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0"}, {day, "1d"}, {90 * day, "90d"}, {36 * time.Hour, "36h0m0s"}, {time.Nanosecond, "1ns"},
		{100000 * day, "100000d"}, {100001 * day, "2400024h0m0s"},
	} {
		if got := FormatDrift(c.in); got != c.want {
			t.Errorf("FormatDrift(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzParseDrift: what ParseDrift accepts is a bound that is not negative,
// and FormatDrift writes it as a text that ParseDrift reads back the same.
func FuzzParseDrift(f *testing.F) {
	for _, s := range []string{"", "0", "0d", "90d", "2160h", "1h30m", "-1h", "1.5d", "100001d", " 7d "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok, err := ParseDrift(s)
		if err != nil {
			if ok || d != 0 {
				t.Fatalf("ParseDrift(%q) = %v, %v with error %v", s, d, ok, err)
			}
			return
		}
		if !ok {
			if strings.TrimSpace(s) != "" || d != 0 {
				t.Fatalf("ParseDrift(%q) = %v, no bound", s, d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDrift(%q) = %v, negative", s, d)
		}
		again, ok, err := ParseDrift(FormatDrift(d))
		if err != nil || !ok || again != d {
			t.Fatalf("ParseDrift(FormatDrift(%v)) = %v, %v, %v", d, again, ok, err)
		}
	})
}
