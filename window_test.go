package seams

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want string // RFC 3339 in UTC, or "" for an error
	}{
		{"2024-05-01T22:14:03Z", "2024-05-01T22:14:03Z"},
		{"2024-05-01T22:14:03.5Z", "2024-05-01T22:14:03.5Z"},
		{"2024-05-01T22:14:03.123456789Z", "2024-05-01T22:14:03.123456789Z"},
		{"2024-05-01T05:14:03+07:00", "2024-04-30T22:14:03Z"},
		{"2024-05-01T22:14:03-00:00", "2024-05-01T22:14:03Z"},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"2023-02-29T00:00:00Z", ""},
		{"2024-05-01T24:00:00Z", ""},
		{"2024-05-01T22:14:60Z", ""},
		{"2024-05-01t22:14:03z", "2024-05-01T22:14:03Z"}, // RFC 3339 5.6 allows lower case
		{"2024-05-01 22:14:03Z", ""},
		{"2024-05-01", ""},
		{"", ""},
		{"1600-01-01T00:00:00Z", ""}, // before MinTime
		{"2262-04-12T00:00:00Z", ""}, // after MaxTime
		{"1677-09-21T00:12:43.145224192Z", "1677-09-21T00:12:43.145224192Z"},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseTime(%q) = %s, want an error", c.in, got)
		case c.want != "" && err != nil:
			t.Errorf("ParseTime(%q): %v", c.in, err)
		case c.want != "" && got.Format(time.RFC3339Nano) != c.want:
			t.Errorf("ParseTime(%q) = %s, want %s", c.in, got.Format(time.RFC3339Nano), c.want)
		}
	}
}

// FuzzParseTime holds the fast path to time.Parse: the same instant, or the
// same refusal, for every input.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-05-01T22:14:03Z", "2024-05-01T22:14:03.123+07:00", "1999-12-31T23:59:59.999999999-12:59", "2024-05-01T22:14:03,5Z", "0000-01-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		want, werr := rfc3339Reference(s)
		if werr == nil && (want.Before(MinTime) || want.After(MaxTime)) {
			werr = ErrTimeRange
		}
		if (err != nil) != (werr != nil) {
			t.Fatalf("ParseTime(%q) error %v, time.Parse error %v", s, err, werr)
		}
		if err == nil && !got.Equal(want) {
			t.Fatalf("ParseTime(%q) = %s, time.Parse = %s", s, got, want)
		}
	})
}

// rfc3339Reference is the slow, obviously right parser ParseTime must
// equal: time.Parse, with RFC 3339's lower-case t and z, and without the
// ISO 8601 comma that time.Parse accepts and RFC 3339 does not.
func rfc3339Reference(s string) (time.Time, error) {
	if strings.Contains(s, ",") {
		return time.Time{}, errors.New("comma")
	}
	if len(s) > 10 && s[10] == 't' {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	return time.Parse(time.RFC3339, s)
}

func TestParseTimeRFC3339Edges(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // RFC 3339 in UTC; empty for an error
	}{
		{"2024-05-01t22:14:03z", "2024-05-01T22:14:03Z"},
		{"2024-05-01t22:14:03.5+07:00", "2024-05-01T15:14:03.5Z"},
		{"2024-05-01T22:14:03z", "2024-05-01T22:14:03Z"},
		{"2024-05-10T00:00:00,5Z", ""},
		{"2024-05-10t00:00:00,5z", ""},
		{"2024-05-01 22:14:03Z", ""},
	} {
		got, err := ParseTime(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseTime(%q) = %s, want an error", c.in, got)
		case c.want != "" && err != nil:
			t.Errorf("ParseTime(%q): %v", c.in, err)
		case c.want != "" && got.Format(time.RFC3339Nano) != c.want:
			t.Errorf("ParseTime(%q) = %s, want %s", c.in, got.Format(time.RFC3339Nano), c.want)
		}
	}
}

func TestWindow(t *testing.T) {
	w, err := ParseWindow("2024-03-03", "2024-06-09")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at       string
		contains bool
		distance time.Duration
	}{
		{"2024-03-03T00:00:00Z", true, 0},
		{"2024-03-02T23:59:59Z", false, time.Second},
		{"2024-06-09T23:59:59.999999999Z", true, 0},
		{"2024-06-10T00:00:00Z", false, time.Nanosecond},
		{"2024-06-10T01:00:00Z", false, time.Hour + time.Nanosecond},
	} {
		at, _ := ParseTime(c.at)
		if got := w.Contains(at); got != c.contains {
			t.Errorf("Contains(%s) = %v", c.at, got)
		}
		if got := w.Distance(at); got != c.distance {
			t.Errorf("Distance(%s) = %s, want %s", c.at, got, c.distance)
		}
	}
	open, _ := ParseWindow("", "")
	if !open.IsOpen() || !open.Contains(MinTime) || !open.Contains(MaxTime) {
		t.Error("an open window must contain every time")
	}
	for _, c := range [][2]string{{"2024-06-10", "2024-06-09"}, {"2024-13-01", ""}, {"", "yesterday"}, {"2024-06-09T00:00:00Z", "2024-06-08T23:59:59Z"}} {
		if _, err := ParseWindow(c[0], c[1]); err == nil {
			t.Errorf("ParseWindow(%q, %q) accepted", c[0], c[1])
		}
	}
	same, err := ParseWindow("2024-06-09", "2024-06-09")
	if err != nil || same.Last.Sub(same.First) != 24*time.Hour-time.Nanosecond {
		t.Errorf("a one-day window spans the whole day: %v %v", same, err)
	}
}

// FuzzParseDate holds the direct date parser to time.Parse.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-03-03", "2024-02-29", "2023-02-29", "1699-12-31", "2024-13-01", "0000-00-00", "2024-1-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseDate(s)
		want, werr := time.Parse(time.DateOnly, s)
		if (err != nil) != (werr != nil) || err == nil && !got.Equal(want) {
			t.Fatalf("parseDate(%q) = %v, %v; time.Parse = %v, %v", s, got, err, want, werr)
		}
	})
}

// TestParseRFC3339FastEveryDay holds the table-driven fast path to
// time.Parse on every date of the years it decodes, and a little beyond,
// with the fraction and offset shapes it reads.
func TestParseRFC3339FastEveryDay(t *testing.T) {
	suffixes := []string{"T00:00:00Z", "T23:59:59.5Z", "T12:34:56.123456789-23:59", "T01:02:03+14:00"}
	for d := time.Date(1699, 12, 25, 0, 0, 0, 0, time.UTC); d.Year() < 2202; d = d.AddDate(0, 0, 1) {
		for _, suffix := range suffixes {
			s := d.Format(time.DateOnly) + suffix
			want, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			secs, nanos, ok := parseRFC3339Fast(s)
			if y := d.Year(); ok != (y >= 1700 && y <= 2200) {
				t.Fatalf("parseRFC3339Fast(%q) ok = %v", s, ok)
			}
			if ok && !time.Unix(secs, nanos).Equal(want) {
				t.Fatalf("parseRFC3339Fast(%q) = %s, time.Parse = %s", s, time.Unix(secs, nanos).UTC(), want)
			}
		}
	}
	for _, s := range []string{"2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z", "2024-13-10T00:00:00Z", "2024-01-00T00:00:00Z"} {
		if _, _, ok := parseRFC3339Fast(s); ok {
			t.Errorf("parseRFC3339Fast(%q) accepted an invalid date", s)
		}
	}
}
