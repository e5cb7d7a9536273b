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
type rowHash [2]uint64

var rowSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hashRow(in *seams.Indicator) rowHash {
	var h rowHash
	for i, seed := range rowSeeds {
		var m maphash.Hash
		m.SetSeed(seed)
		for _, s := range []string{in.Compound, in.Kind.String(), in.Value, in.Source} {
			m.WriteString(s)
			m.WriteByte(0)
		}
		var b [8 * 4]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(unixOrZero(in.Window.First)))
		binary.LittleEndian.PutUint64(b[8:], uint64(unixOrZero(in.Window.Last)))
		binary.LittleEndian.PutUint64(b[16:], math.Float64bits(in.Confidence))
		if in.HasConfidence {
			b[24] = 1
		}
		m.Write(b[:])
		h[i] = m.Sum64()
	}
	return h
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
	if reject == nil {
		reject = discard
	}
	t, err := newTable(r, file, indicatorColumns)
	if err != nil {
		return nil, err
	}
	var out []seams.Indicator
	firstLine := make(map[rowHash]int)
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
	for {
		line, err := t.next(reject)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		ind, reason := parseIndicator(t, compounds)
		if reason == "" {
			ind.Compound = intern(ind.Compound)
			ind.Source = intern(ind.Source)
			key := hashRow(&ind)
			if first, dup := firstLine[key]; dup {
				reason = fmt.Sprintf("duplicate of line %d", first)
			} else {
				firstLine[key] = line
			}
		}
		if reason != "" {
			t.reject(reject, reason)
			continue
		}
		ind.File, ind.Line = file, line
		out = append(out, ind)
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
