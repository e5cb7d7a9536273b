package seams

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The range of instants seams can hold: every time is kept as int64
// nanoseconds since the Unix epoch in the index, so anything outside that
// range is rejected when read rather than silently clamped.
var (
	MinTime = time.Unix(0, math.MinInt64).UTC() // 1677-09-21T00:12:43.145224192Z
	MaxTime = time.Unix(0, math.MaxInt64).UTC() // 2262-04-11T23:47:16.854775807Z
)

// ErrTimeRange is returned for a well-formed time outside [MinTime, MaxTime].
var ErrTimeRange = fmt.Errorf("time outside the supported range %s to %s",
	MinTime.Format(time.DateOnly), MaxTime.Format(time.DateOnly))

// Window is the closed interval of time during which an indicator was seen at
// a compound. A zero First or Last means the window is open on that side.
type Window struct {
	First time.Time
	Last  time.Time
}

// NewWindow returns the window [first, last]; either may be zero (open).
// It fails if first is after last.
func NewWindow(first, last time.Time) (Window, error) {
	if !first.IsZero() && !last.IsZero() && first.After(last) {
		return Window{}, fmt.Errorf("first_seen %s is after last_seen %s",
			first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
	}
	return Window{First: first.UTC(), Last: last.UTC()}, nil
}

// ParseWindow parses the first_seen and last_seen columns of an indicator.
// Each is empty (open-ended), an RFC 3339 timestamp, or a date YYYY-MM-DD.
// As first a date means 00:00:00Z that day; as last it means the end of that
// day, 23:59:59.999999999Z, so that the whole day is inside the window.
func ParseWindow(first, last string) (Window, error) {
	f, err := parseWindowEdge(first, false)
	if err != nil {
		return Window{}, fmt.Errorf("first_seen: %w", err)
	}
	l, err := parseWindowEdge(last, true)
	if err != nil {
		return Window{}, fmt.Errorf("last_seen: %w", err)
	}
	return NewWindow(f, l)
}

func parseWindowEdge(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == len(time.DateOnly) {
		d, err := parseDate(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD or an RFC 3339 timestamp)", s)
		}
		if end {
			d = d.Add(24*time.Hour - time.Nanosecond)
		}
		if d.Before(MinTime) || d.After(MaxTime) {
			return time.Time{}, fmt.Errorf("%q: %w", s, ErrTimeRange)
		}
		return d, nil
	}
	return ParseTime(s)
}

// parseDate parses YYYY-MM-DD as time.Parse(time.DateOnly, s) does,
// directly for the common years, which registries of millions of rows spell
// out on every line.
func parseDate(s string) (time.Time, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, ok1 := digits(s[0:4])
		m, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		if ok1 && ok2 && ok3 && y >= 1700 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(m, y) {
			return time.Unix(daysFromCivil(y, m, d)*86400, 0).UTC(), nil
		}
	}
	return time.Parse(time.DateOnly, s)
}

// IsOpen reports whether the window is open on both sides (always contains).
func (w Window) IsOpen() bool { return w.First.IsZero() && w.Last.IsZero() }

// Contains reports whether t is inside the closed window: an instant equal to
// First or Last is inside.
func (w Window) Contains(t time.Time) bool {
	return (w.First.IsZero() || !t.Before(w.First)) && (w.Last.IsZero() || !t.After(w.Last))
}

// Distance returns how far t lies outside the window: zero when inside,
// otherwise the distance to the nearest edge. It saturates rather than
// overflow for instants centuries apart.
func (w Window) Distance(t time.Time) time.Duration {
	switch {
	case !w.First.IsZero() && t.Before(w.First):
		return w.First.Sub(t)
	case !w.Last.IsZero() && t.After(w.Last):
		return t.Sub(w.Last)
	}
	return 0
}

// String formats the window as "first/last" in RFC 3339, with ".." for an
// open side, as ISO 8601 writes open intervals.
func (w Window) String() string {
	f, l := "..", ".."
	if !w.First.IsZero() {
		f = w.First.Format(time.RFC3339Nano)
	}
	if !w.Last.IsZero() {
		l = w.Last.Format(time.RFC3339Nano)
	}
	return f + "/" + l
}

// ParseTime parses an RFC 3339 timestamp and returns it in UTC. The common
// shape (YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)) is decoded directly, without
// allocating; anything else is handed to time.Parse, so the accepted language
// is time.RFC3339's, corrected to RFC 3339's: a lower-case t or z is
// accepted, a comma before the fraction is not. Times outside [MinTime, MaxTime] are an error.
func ParseTime(s string) (time.Time, error) {
	if secs, nanos, ok := parseRFC3339Fast(s); ok {
		return time.Unix(secs, nanos).UTC(), nil
	}
	// RFC 3339 (section 5.6) allows a lower-case t and z, which time.Parse
	// refuses; and time.Parse takes a comma before the fraction (ISO 8601
	// allows it, RFC 3339 does not).
	if strings.IndexByte(s, ',') >= 0 {
		return time.Time{}, fmt.Errorf("invalid RFC 3339 time %q", s)
	}
	if len(s) > 10 && s[10] == 't' || strings.HasSuffix(s, "z") {
		b := []byte(s)
		if len(b) > 10 && b[10] == 't' {
			b[10] = 'T'
		}
		if b[len(b)-1] == 'z' {
			b[len(b)-1] = 'Z'
		}
		s = string(b)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid RFC 3339 time %q", s)
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return time.Time{}, fmt.Errorf("%q: %w", s, ErrTimeRange)
	}
	return t.UTC(), nil
}

// parseRFC3339Fast decodes the common shape of an RFC 3339 timestamp into
// seconds and nanoseconds (0 to 999999999) since the Unix epoch. It returns
// ok=false for anything it is not sure of (odd fractions, offsets,
// out-of-range fields, years outside 1700-2200), leaving the decision to
// time.Parse; so it never accepts what time.Parse rejects. Every field sits
// at a fixed place, so it is read without loops, and the date is turned into
// days with a table of years rather than by division.
func parseRFC3339Fast(s string) (secs, nanos int64, ok bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	y01, ok1 := digits2(s[0], s[1])
	y23, ok2 := digits2(s[2], s[3])
	month, ok3 := digits2(s[5], s[6])
	day, ok4 := digits2(s[8], s[9])
	hour, ok5 := digits2(s[11], s[12])
	min, ok6 := digits2(s[14], s[15])
	sec, ok7 := digits2(s[17], s[18])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return 0, 0, false
	}
	y := y01*100 + y23 - firstFastYear
	if uint(y) >= uint(len(yearDays)-1) || uint(month-1) > 11 || day < 1 || hour > 23 || min > 59 || sec > 59 {
		return 0, 0, false
	}
	leap := yearDays[y+1]-yearDays[y] == 366
	if n := monthDays[month]; day > n && !(leap && month == 2 && day == 29) {
		return 0, 0, false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 { // no digits, or more than nanosecond precision
			return 0, 0, false
		}
		f, _ := digits(rest[1:n])
		nanos = int64(f) * pow10[10-n]
		rest = rest[n:]
	}
	var offset int
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits2(rest[1], rest[2])
		om, ok2 := digits2(rest[4], rest[5])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	days := int64(yearDays[y]) + int64(monthStart[month]+day-1)
	if leap && month > 2 {
		days++
	}
	return days*86400 + int64(hour*3600+min*60+sec-offset), nanos, true
}

// The years that parseRFC3339Fast decodes itself: yearDays[i] is the day
// (since 1970-01-01) on which year firstFastYear+i begins, up to the
// beginning of the year after the last, so that each year's length is the
// difference of two entries.
const firstFastYear = 1700

var yearDays = func() (t [2200 - firstFastYear + 2]int32) {
	for i := range t {
		t[i] = int32(daysFromCivil(firstFastYear+i, 1, 1))
	}
	return t
}()

// monthDays is the length of each month in a common year, monthStart the
// day of the year (from 0) on which it begins.
var (
	monthDays  = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	monthStart = [13]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}
)

// pow10[i] is 10 to the i, for scaling a fraction of fewer than nine digits
// to nanoseconds.
var pow10 = [9]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// digits2 decodes two ASCII digits; ok is false if either is not one.
func digits2(a, b byte) (int, bool) {
	a, b = a-'0', b-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

// digits decodes a run of ASCII digits; ok is false if any byte is not one.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given date
// in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
