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
	colDrift
)

var indicatorColumns = []column{
	colCompound:   {"compound", true},
	colKind:       {"kind", true},
	colValue:      {"value", true},
	colFirstSeen:  {"first_seen", false},
	colLastSeen:   {"last_seen", false},
	colConfidence: {"confidence", false},
	colSource:     {"source", false},
	colDrift:      {"drift", false},
}

// rowHash hashes what makes two indicator rows the same: everything but
// where they were read. Rows are compared by a 128-bit hash rather than by
// value, so that the duplicate check of a million-row registry holds a hash
// and a line a row (firstLines) instead of the row; two distinct rows would
// need a hash collision to be taken for one another (about 1 in 10^26 at a
// million rows).
type rowHash [2]uint64

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
	if in.HasDrift {
		b = append(b, 2)
		b = binary.LittleEndian.AppendUint64(b, uint64(in.Drift))
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
// compound, kind, canonical value, window, confidence, source and drift) is
// rejected as a duplicate of the first.
//
// The drift column is optional: empty (or absent) leaves the indicator
// without a drift bound of its own (the run's --drift applies); otherwise
// it is a Go duration or a number of days ("90d", "0"), as
// seams.ParseDrift reads it.
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
// rows is read at the start of every run: one goroutine cuts the file into
// chunks of whole records (the grammar is sequential; see chunks.go),
// workers split the rows of a chunk and check them (addresses, windows,
// confidence) and hash them, and the caller's goroutine takes the chunks in
// order for the duplicate check and fn.
func ScanIndicators(r io.Reader, file string, compounds map[string]int, reject Reject, fn func(*seams.Indicator) error) error {
	return scanIndicators(r, file, compounds, reject, fn, chunkBytes)
}

// scanIndicators is ScanIndicators, reading chunks of about chunk bytes.
// With chunk 0, every record is read by encoding/csv rather than plain lines
// split by hand: the slow twin that the tests hold the fast path to.
func scanIndicators(r io.Reader, file string, compounds map[string]int, reject Reject, fn func(*seams.Indicator) error, chunk int) error {
	if reject == nil {
		reject = discard
	}
	var src interface{ next(*indicatorBatch) error }
	var width int
	var index []int
	if chunk > 0 {
		c := newChunks(r, file, chunk)
		var err error
		if width, index, err = c.header(indicatorColumns); err != nil {
			return err
		}
		src = c
	} else {
		t, err := newTable(r, file, indicatorColumns)
		if err != nil {
			return err
		}
		width, index, src = t.width, t.index, tableRecords{t}
	}
	done := make(chan struct{})
	defer close(done)
	ordered := make(chan *indicatorBatch, 2*runtime.GOMAXPROCS(0)+2)
	work := make(chan *indicatorBatch, cap(ordered))
	// Batches come back once taken, so that a scan allocates a few of
	// them rather than one per chunk.
	free := make(chan *indicatorBatch, cap(ordered)+runtime.GOMAXPROCS(0)+2)

	// Read.
	go func() {
		defer close(ordered)
		defer close(work)
		for {
			var b *indicatorBatch
			select {
			case b = <-free:
				b.reset()
			default:
				b = newIndicatorBatch()
			}
			err := src.next(b)
			if err == io.EOF {
				return
			}
			b.err = err
			select {
			case ordered <- b:
			case <-done:
				return
			}
			work <- b // never blocks: work has room for every batch in ordered
			if err != nil {
				return
			}
		}
	}()

	// Check.
	for range runtime.GOMAXPROCS(0) {
		go func() {
			ck := checker{file: file, width: width, index: index, compounds: compounds}
			ck.w = csv.NewWriter(&ck.raw)
			for b := range work {
				ck.check(b)
				close(b.checked)
			}
		}()
	}

	// Take in order: the duplicate check ("the first one stands") and fn.
	var firstLine firstLines
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			// Rows of a registry CSV are 60-90 bytes: room for them all,
			// so that the set never grows (and copies) on the way.
			firstLine.reserve(int(st.Size() / 64))
		}
	}
	// Fields are substrings of a chunk of the file (or of the string
	// encoding/csv makes of a row); strings kept in an indicator are
	// copied (and shared, since compound ids and sources repeat) so that
	// the chunks themselves can go. Rows of a compound are usually
	// together: its id is looked up once a run.
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		s = strings.Clone(s)
		interned[s] = s
		return s
	}
	var compound, source string // the last ones interned
	var raw bytes.Buffer
	w := csv.NewWriter(&raw)
	for b := range ordered {
		<-b.checked
		// The duplicate check of the whole batch, then fn for each row:
		// the slots touched are still in cache when put reads them.
		firstLine.touch(b.keys)
		keys := b.keys
		for i := range b.items {
			it := &b.items[i]
			if it.rej == nil {
				line := it.row.line
				if first, dup := firstLine.put(keys[0], line); dup {
					it.rej = rowError(file, line, it.row.orig, it.row.origRaw, fmt.Sprintf("duplicate of line %d", first), &raw, w)
				}
				keys = keys[1:]
			}
		}
		for i := range b.items {
			it := &b.items[i]
			if it.rej != nil {
				reject(it.rej)
				continue
			}
			ind := &it.ind
			if ind.Compound != compound {
				compound = intern(ind.Compound)
			}
			if ind.Source != source {
				source = intern(ind.Source)
			}
			ind.Compound, ind.Source = compound, source
			ind.File, ind.Line = file, it.row.line
			if err := fn(ind); err != nil {
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
		select {
		case free <- b:
		default:
		}
	}
	return nil
}

// indicatorBatch is a chunk of an indicators file on its way through
// ScanIndicators.
type indicatorBatch struct {
	// What the reader found: the text of the chunk, whose plain lines the
	// checker splits, and the records csv read from it, in order.
	text      string
	firstLine int // the line text starts on
	slow      []slowRecord
	slowStrs  []string // arena of the slow records' fields
	err       error    // a fatal error after the records

	// What the checker made of them.
	items   []indicatorItem
	keys    []rowHash // of the items that are rows, in order
	strs    []string  // arena of the rows' fields
	checked chan struct{}
}

// indicatorBatchRows is about the number of rows in a batch.
const indicatorBatchRows = 1024

func newIndicatorBatch() *indicatorBatch {
	// Arenas sized for a batch of rows of typical length, so that they do
	// not grow (and copy) on the way.
	return &indicatorBatch{items: make([]indicatorItem, 0, indicatorBatchRows), keys: make([]rowHash, 0, indicatorBatchRows), checked: make(chan struct{}),
		strs: make([]string, 0, indicatorBatchRows*len(indicatorColumns))}
}

// reset readies a batch that has been taken for another chunk.
func (b *indicatorBatch) reset() {
	b.text, b.firstLine, b.slow, b.slowStrs, b.err = "", 0, b.slow[:0], b.slowStrs[:0], nil
	b.checked = make(chan struct{})
}

// indicatorItem is one record: a row to check, or a rejection.
type indicatorItem struct {
	row row
	rej *seams.RecordError
	ind seams.Indicator
}

// checker splits and checks the rows of batches, on one worker.
type checker struct {
	file      string
	width     int
	index     []int
	compounds map[string]int
	known     string // the last compound id found in compounds
	hashBuf   []byte
	raw       bytes.Buffer
	w         *csv.Writer
}

// check fills b.items: the plain lines of b.text and the slow records, in
// the order of the file.
func (ck *checker) check(b *indicatorBatch) {
	b.items, b.keys, b.strs = b.items[:0], b.keys[:0], b.strs[:0]
	off, line := 0, b.firstLine
	for i := range b.slow {
		s := &b.slow[i]
		ck.plain(b, b.text[off:s.off], line)
		switch {
		case s.rej != nil:
			b.items = append(b.items, indicatorItem{rej: s.rej})
		case s.fields != nil:
			ck.row(b, row{line: s.line, orig: s.fields, origRaw: s.raw})
		}
		off, line = s.end, s.next
	}
	ck.plain(b, b.text[off:], line)
}

// plain checks the rows of text, plain lines from the given line on. Empty
// lines are skipped, as csv skips them.
func (ck *checker) plain(b *indicatorBatch, text string, line int) {
	for ; text != ""; line++ {
		ln := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if ln == "" {
			continue
		}
		n := len(b.strs)
		b.strs = splitPlain(b.strs, ln)
		ck.row(b, row{line: line, orig: b.strs[n:len(b.strs):len(b.strs)], origRaw: ln})
	}
}

// row checks one row and appends its item to b.
func (ck *checker) row(b *indicatorBatch, r row) {
	// The item's indicator is set in place, and only read if the row is
	// accepted: a batch taken again leaves it as it was rather than clear
	// some 250 bytes a row.
	if n := len(b.items); n < cap(b.items) {
		b.items = b.items[:n+1]
	} else {
		b.items = append(b.items, indicatorItem{})
	}
	it := &b.items[len(b.items)-1]
	it.row, it.rej = r, nil
	if len(r.orig) != ck.width {
		it.rej = rowError(ck.file, r.line, r.orig, r.origRaw, fmt.Sprintf("row has %s, header has %d", plural(len(r.orig), "field"), ck.width), &ck.raw, ck.w)
		return
	}
	if reason := parseIndicator(&it.ind, &it.row, ck.index, ck.compounds, &ck.known); reason != "" {
		it.rej = rowError(ck.file, r.line, r.orig, r.origRaw, reason, &ck.raw, ck.w)
		return
	}
	b.keys = append(b.keys, hashRow(&it.ind, &ck.hashBuf))
}

// tableRecords reads batches of records with encoding/csv alone: the
// reading ScanIndicators did before chunks, kept as their reference.
type tableRecords struct{ t *table }

func (tr tableRecords) next(b *indicatorBatch) error {
	for len(b.slow) < indicatorBatchRows {
		line, err := tr.t.next(func(e *seams.RecordError) {
			b.slow = append(b.slow, slowRecord{rej: e})
		})
		if err == io.EOF && len(b.slow) > 0 {
			return nil
		}
		if err != nil {
			return err
		}
		n := len(b.slowStrs)
		b.slowStrs = append(b.slowStrs, tr.t.orig...)
		b.slow = append(b.slow, slowRecord{line: line, fields: b.slowStrs[n:len(b.slowStrs):len(b.slowStrs)], raw: string(tr.t.origRaw)})
	}
	return nil
}

// parseIndicator validates row t as an indicator, into ind. The reason is
// empty when it is valid, and otherwise names the first problem found,
// prefixed with the column when the message would not say which.
//
// known is the last compound id found in compounds: rows of a compound are
// usually together, and most need no lookup.
func parseIndicator(ind *seams.Indicator, t *row, index []int, compounds map[string]int, known *string) string {
	compound := t.get(index, colCompound)
	if compound == "" {
		return "compound is empty"
	}
	if compound != *known {
		if _, ok := compounds[compound]; !ok {
			return fmt.Sprintf("unknown compound %q", compound)
		}
		*known = compound
	}
	kindText := t.get(index, colKind)
	if kindText == "" {
		return "kind is empty"
	}
	kind, err := seams.ParseKind(kindText)
	if err != nil {
		return err.Error()
	}
	value := t.get(index, colValue)
	if value == "" {
		return "value is empty"
	}
	if kind == seams.KindDevice {
		// A device keeps substrings of its text; copy it (see intern).
		value = strings.Clone(value)
	}
	if *ind, err = seams.ParseIndicatorValue(kind, value); err != nil {
		return "value: " + err.Error()
	}
	if ind.Window, err = seams.ParseWindow(t.get(index, colFirstSeen), t.get(index, colLastSeen)); err != nil {
		return err.Error()
	}
	if ind.Confidence, ind.HasConfidence, err = seams.ParseConfidence(t.get(index, colConfidence)); err != nil {
		return err.Error()
	}
	if ind.Drift, ind.HasDrift, err = seams.ParseDrift(t.get(index, colDrift)); err != nil {
		return err.Error()
	}
	ind.Compound = compound
	ind.Source = t.get(index, colSource)
	return ""
}
