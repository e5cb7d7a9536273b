package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"runtime"
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
// returned. fn and reject are called on the caller's goroutine, in the
// order of the file.
//
// The work is a pipeline over the cores, because a registry of a million
// rows is read at the start of every run: one goroutine reads CSV records
// (the grammar is sequential), workers check batches of rows (addresses,
// windows, confidence) and hash them, and the caller's goroutine takes the
// batches in order for the duplicate check and fn.
func ScanIndicators(r io.Reader, file string, compounds map[string]int, reject Reject, fn func(*seams.Indicator) error) error {
	if reject == nil {
		reject = discard
	}
	t, err := newTable(r, file, indicatorColumns)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	ordered := make(chan *indicatorBatch, 2*runtime.GOMAXPROCS(0)+2)
	work := make(chan *indicatorBatch, cap(ordered))

	// Read.
	go func() {
		defer close(ordered)
		defer close(work)
		b := newIndicatorBatch(t.width)
		send := func() bool {
			select {
			case ordered <- b:
			case <-done:
				return false
			}
			work <- b // never blocks: work has room for every batch in ordered
			b = newIndicatorBatch(t.width)
			return true
		}
		for {
			_, err := t.next(func(e *seams.RecordError) {
				b.items = append(b.items, indicatorItem{rej: e})
			})
			if err == io.EOF {
				break
			}
			if err != nil {
				b.err = err
				break
			}
			b.items = append(b.items, indicatorItem{row: t.row(&b.strs, &b.raw)})
			if len(b.items) >= indicatorBatchRows && !send() {
				return
			}
		}
		send()
	}()

	// Check.
	for range runtime.GOMAXPROCS(0) {
		go func() {
			var buf []byte
			var raw bytes.Buffer
			w := csv.NewWriter(&raw)
			for b := range work {
				for i := range b.items {
					it := &b.items[i]
					if it.rej != nil {
						continue
					}
					var reason string
					it.ind, reason = parseIndicator(&it.row, compounds)
					if reason != "" {
						it.rej = rowError(file, it.row.line, it.row.orig, it.row.origRaw, reason, &raw, w)
						continue
					}
					it.key = hashRow(&it.ind, &buf)
				}
				close(b.checked)
			}
		}()
	}

	// Take in order: the duplicate check ("the first one stands") and fn.
	var firstLine hashset.Map[int32]
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			// Rows of a registry CSV are 60-90 bytes: room for them all,
			// so that the set never grows (and copies) on the way.
			firstLine.Reserve(int(st.Size() / 64))
		}
	}
	// Fields are substrings of the string encoding/csv makes of a whole
	// row; strings kept in an indicator are copied (and shared, since
	// compound ids and sources repeat) so that the rows themselves can go.
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		s = strings.Clone(s)
		interned[s] = s
		return s
	}
	var raw bytes.Buffer
	w := csv.NewWriter(&raw)
	for b := range ordered {
		<-b.checked
		firstLine.Touch(func(yield func(hashset.Key) bool) {
			for i := range b.items {
				if b.items[i].rej == nil && !yield(b.items[i].key) {
					return
				}
			}
		})
		for i := range b.items {
			it := &b.items[i]
			if it.rej == nil {
				line := it.row.line
				if first, dup := firstLine.PutIfAbsent(it.key, int32(min(line, math.MaxInt32))); dup {
					it.rej = rowError(file, line, it.row.orig, it.row.origRaw, fmt.Sprintf("duplicate of line %d", first), &raw, w)
				}
			}
			if it.rej != nil {
				reject(it.rej)
				continue
			}
			ind := &it.ind
			ind.Compound = intern(ind.Compound)
			ind.Source = intern(ind.Source)
			ind.File, ind.Line = file, it.row.line
			if err := fn(ind); err != nil {
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
	}
	return nil
}

// indicatorBatchRows is the number of rows a worker checks at a time.
const indicatorBatchRows = 1024

// indicatorBatch is a run of rows of an indicators file on its way through
// ScanIndicators.
type indicatorBatch struct {
	items   []indicatorItem
	strs    []string // arena of the rows' fields
	raw     []byte   // arena of the rows' text
	err     error    // a fatal error after the items
	checked chan struct{}
}

func newIndicatorBatch(width int) *indicatorBatch {
	// Arenas sized for a batch of rows of typical length, so that they do
	// not grow (and copy) on the way.
	return &indicatorBatch{items: make([]indicatorItem, 0, indicatorBatchRows), checked: make(chan struct{}),
		strs: make([]string, 0, indicatorBatchRows*width), raw: make([]byte, 0, indicatorBatchRows*96)}
}

// indicatorItem is one record: a row to check, or a rejection.
type indicatorItem struct {
	row row
	rej *seams.RecordError
	ind seams.Indicator
	key rowHash
}

// parseIndicator validates the current row of t as an indicator. The reason
// is empty when it is valid, and otherwise names the first problem found,
// prefixed with the column when the message would not say which.
func parseIndicator(t *row, compounds map[string]int) (seams.Indicator, string) {
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
