package seams

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AsOf names a past state of a store, for a replay (seams xref --store
// --as-of) or a comparison: a record time (every indicator version,
// sharing, shared prefix and compound recorded at or before it, and the
// reports loaded at or before it), or a run (the registry as recorded
// when the run read it, the reports it covered, and its parameters).
type AsOf struct {
	Time time.Time // when Run is 0
	Run  int64
}

// ParseAsOf reads "run:ID", an RFC 3339 time (2024-06-01T12:00:00Z), or a
// date (2024-06-01), which means the end of that day (UTC), as a window's
// last_seen does.
func ParseAsOf(s string) (AsOf, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "run:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 {
			return AsOf{}, fmt.Errorf("as of %q: want run:ID with a run id (a positive number)", s)
		}
		return AsOf{Run: id}, nil
	}
	w, err := ParseWindow("", s)
	if err != nil || w.Last.IsZero() {
		return AsOf{}, fmt.Errorf("as of %q: want run:ID, an RFC 3339 time (2024-06-01T12:00:00Z) or a date (2024-06-01)", s)
	}
	return AsOf{Time: w.Last}, nil
}

// String returns a as ParseAsOf reads it.
func (a AsOf) String() string {
	if a.Run != 0 {
		return "run:" + strconv.FormatInt(a.Run, 10)
	}
	return a.Time.UTC().Format(time.RFC3339Nano)
}
