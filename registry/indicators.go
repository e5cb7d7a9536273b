package registry

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hashset"
)

// The columns of an indicators file, in the order their problems are
// reported.
const (
	colCompound = iota
	colKind
	colValue
	colFirstSeen
	colLastSeen
	colConfidence
	colSource
)

var indicatorColumns = []column{
	colCompound:   {"compound", true},
	colKind:       {"kind", true},
	colValue:      {"value", true},
	colFirstSeen:  {"first_seen", false},
	colLastSeen:   {"last_seen", false},
	colConfidence: {"confidence", false},
	colSource:     {"source", false},
}

// rowHash hashes what makes two indicator rows the same: everything but
// where they were read. Rows are compared by a 128-bit hash rather than by
// value, so that the duplicate check of a million-row registry holds 16
// bytes a row instead of the row; two distinct rows would need a hash
// collision to be taken for one another (about 1 in 10^26 at a million rows).
type rowHash = hashset.Key

var rowSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hashRow(in *seams.Indicator, buf *[]byte) rowHash {
	b := (*buf)[:0]
	for _, s := range []string{in.Compound, in.Kind.String(), in.Value, in.Source} {
		b = append(b, s...)
		b = append(b, 0)
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(unixOrZero(in.Window.First)))
	b = binary.LittleEndian.AppendUint64(b, uint64(unixOrZero(in.Window.Last)))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(in.Confidence))
	if in.HasConfidence {
		b = append(b, 1)
	}
	*buf = b
	return rowHash{maphash.Bytes(rowSeeds[0], b), maphash.Bytes(rowSeeds[1], b)}
}

// unixOrZero distinguishes an open window edge from every real instant.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// ReadIndicators reads an indicators CSV. compounds maps the id of every
// known compound to anything (such as its index); an indicator naming
// another compound is rejected. Indicators are returned in file order, each
// with File and Line set. A row that repeats an earlier one exactly (same
// compound, kind, canonical value, window, confidence and source) is
// rejected as a duplicate of the first.
func ReadIndicators(r io.Reader, file string, compounds map[string]int, reject Reject) ([]seams.Indicator, error) {
	var out []seams.Indicator
	err := ScanIndicators(r, file, compounds, reject, func(in *seams.Indicator) error {
		out = append(out, *in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ScanIndicators reads an indicators CSV as ReadIndicators does, but hands
// each accepted indicator to fn instead of keeping them all: a registry of
// millions of rows then costs what fn keeps of it. The indicator passed to
// fn is reused after fn returns. An error from fn stops the scan and is
// returned.
func ScanIndicators(r io.Reader, file string, compounds map[string]int, reject Reject, fn func(*seams.Indicator) error) error {
	if reject == nil {
		reject = discard
	}
	t, err := newTable(r, file, indicatorColumns)
	if err != nil {
		return err
	}
	var firstLine hashset.Map[int32]
	// Fields are substrings of the string encoding/csv makes of a whole
	// row; strings kept in an indicator are copied (and shared, since
	// compound ids and sources repeat) so that the rows themselves can go.
	interned := make(map[string]string)
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		s = strings.Clone(s)
		interned[s] = s
		return s
	}
	var ind seams.Indicator
	var buf []byte
	for {
		line, err := t.next(reject)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var reason string
		ind, reason = parseIndicator(t, compounds)
		if reason == "" {
			ind.Compound = intern(ind.Compound)
			ind.Source = intern(ind.Source)
			key := hashRow(&ind, &buf)
			if first, dup := firstLine.PutIfAbsent(key, int32(min(line, math.MaxInt32))); dup {
				reason = fmt.Sprintf("duplicate of line %d", first)
			}
		}
		if reason != "" {
			t.reject(reject, reason)
			continue
		}
		ind.File, ind.Line = file, line
		if err := fn(&ind); err != nil {
			return err
		}
	}
}

// parseIndicator validates the current row of t as an indicator. The reason
// is empty when it is valid, and otherwise names the first problem found,
// prefixed with the column when the message would not say which.
func parseIndicator(t *table, compounds map[string]int) (seams.Indicator, string) {
	compound := t.get(colCompound)
	if compound == "" {
		return seams.Indicator{}, "compound is empty"
	}
	if _, ok := compounds[compound]; !ok {
		return seams.Indicator{}, fmt.Sprintf("unknown compound %q", compound)
	}
	kindText := t.get(colKind)
	if kindText == "" {
		return seams.Indicator{}, "kind is empty"
	}
	kind, err := seams.ParseKind(kindText)
	if err != nil {
		return seams.Indicator{}, err.Error()
	}
	value := t.get(colValue)
	if value == "" {
		return seams.Indicator{}, "value is empty"
	}
	if kind == seams.KindDevice {
		// A device keeps substrings of its text; copy it (see intern).
		value = strings.Clone(value)
	}
	ind, err := seams.ParseIndicatorValue(kind, value)
	if err != nil {
		return seams.Indicator{}, "value: " + err.Error()
	}
	if ind.Window, err = seams.ParseWindow(t.get(colFirstSeen), t.get(colLastSeen)); err != nil {
		return seams.Indicator{}, err.Error()
	}
	if ind.Confidence, ind.HasConfidence, err = seams.ParseConfidence(t.get(colConfidence)); err != nil {
		return seams.Indicator{}, err.Error()
	}
	ind.Compound = compound
	ind.Source = t.get(colSource)
	return ind, ""
}
