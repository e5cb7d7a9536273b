// Package csvreport reads reports from CSV, one row per ip event or device:
//
//	report_id,received,incident,ip,at,event,port,proxy,device_type,device_value
//	r-1,2024-05-02T08:00:00Z,sextortion,203.0.113.7,2024-05-01T22:14:03Z,login,51234,false,,
//	r-1,,,,2024-05-01T22:10:00Z,,,,imei,358240051111110
//
// Columns are found by name, in any order; the rows of one report may be
// anywhere in the file. The reader groups them by report_id and returns the
// reports in the order of their first rows, each with the line of its first
// row. Grouping needs the whole file: up to Options.Memory bytes of rows are
// held in memory, and a larger file is grouped with an external sort
// (sorted runs spilled to temporary files, then k-way merges), so memory
// stays bounded whatever the file's size.
//
// docs/formats.md has the full rules and the decisions behind them.
package csvreport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/csvinput"
)

// Options configures a Reader. Use NewOptions for the defaults.
type Options struct {
	// Memory bounds the memory the grouping takes: rows and reports are
	// spilled to temporary files when they reach two thirds of it (the
	// rest is the garbage collector's headroom).
	Memory int64
	// TempDir is where spill files go; "" is os.TempDir(). Spill files
	// are unlinked as soon as they are made (where the system allows) and
	// closed at the end of the input or by Close.
	TempDir string
	// MaxRows is the most rows one report may have; further rows of it
	// are rejected.
	MaxRows int
}

// The defaults.
const (
	DefaultMemory  = 256 << 20
	DefaultMaxRows = 100_000
)

// NewOptions returns the default options.
func NewOptions() Options { return Options{Memory: DefaultMemory, MaxRows: DefaultMaxRows} }

// The columns. Only report_id is required; a file needs ip (with at) or
// device_type and device_value, or both.
const (
	colID = iota
	colReceived
	colIncident
	colIP
	colAt
	colEvent
	colPort
	colProxy
	colDeviceType
	colDeviceValue
	colAssociated
	numCols
)

// Columns names the columns in their usual order, for headers and help.
var Columns = [numCols]string{"report_id", "received", "incident", "ip", "at", "event", "port", "proxy", "device_type", "device_value", "associated"}

// MaxLine is the longest physical line accepted, in bytes without its
// newline (see package csvinput); a longer line is fatal.
const MaxLine = csvinput.MaxLine

// Stats says how a Reader grouped its input.
type Stats struct {
	Rows         int   // rows read (not counting the header and blank rows)
	Runs         int   // sorted runs spilled to temporary files
	SpilledBytes int64 // bytes written to them
}

// Reader reads the reports of one CSV input: it is the seams.ReportReader
// of the format. It reads the whole input on the first call of Next.
type Reader struct {
	file string
	o    Options
	src  io.Reader

	in     *csvinput.Input
	cr     *csv.Reader
	index  [numCols]int
	width  int
	curRaw []byte // the text of the row just read, as written; valid until the next

	started bool
	err     error // sticky: a fatal error, or io.EOF once done
	stats   Stats
	spill   *spiller

	// The result, one of three: groups in memory (no spill), or a stream
	// of records from merged runs.
	mem     *buffer // the whole file, when it fit in memory
	gi      int
	scratch []row
	out     *merger[record]

	rec    seams.ReportRecord
	whole  seams.RecordError
	curRec record
}

// NewReader returns a Reader of the CSV reports in r; file names r in
// rejections.
func NewReader(r io.Reader, file string, o Options) *Reader {
	def := NewOptions()
	if o.Memory <= 0 {
		o.Memory = def.Memory
	}
	if o.MaxRows <= 0 {
		o.MaxRows = def.MaxRows
	}
	return &Reader{file: file, o: o, src: r}
}

// Stats returns how the input was grouped; it is complete once Next has
// been called.
func (r *Reader) Stats() Stats { return r.stats }

// Close releases the temporary files, if any. Reading to the end does too.
func (r *Reader) Close() error {
	if r.spill != nil {
		err := r.spill.close()
		r.spill = nil
		return err
	}
	return nil
}

// Next returns the next record: a report, with the parts of it rejected on
// their own, or a row rejected whole. It returns io.EOF after the last. The
// record is valid until the next call.
func (r *Reader) Next() (*seams.ReportRecord, error) {
	if !r.started {
		r.started = true
		if err := r.load(); err != nil {
			r.Close()
			r.err = err
			return nil, err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	rc := &r.curRec
	switch {
	case r.out != nil:
		ok, err := r.out.next(rc)
		if err != nil {
			r.fail(err)
			return nil, r.err
		}
		if !ok {
			r.fail(io.EOF)
			return nil, io.EOF
		}
	case r.mem != nil && r.gi < len(r.mem.groups):
		r.scratch = r.mem.rowsOf(r.gi, r.scratch[:0])
		r.gi++
		r.assemble(r.scratch, rc)
	default:
		r.fail(io.EOF)
		return nil, io.EOF
	}
	return r.record(rc), nil
}

func (r *Reader) fail(err error) {
	r.err = err
	if cerr := r.Close(); cerr != nil && err == io.EOF {
		r.err = cerr
	}
}

// record turns a record into the ReportRecord handed out.
func (r *Reader) record(rc *record) *seams.ReportRecord {
	out := &r.rec
	for i := range rc.parts {
		rc.parts[i].File = r.file // spill files do not carry it
	}
	*out = seams.ReportRecord{Line: rc.line, Raw: rc.raw, Report: rc.rep, Parts: rc.parts}
	if len(rc.raw) == 0 {
		out.Raw = nil // whether it was spilled or not
	}
	if rc.whole != "" {
		r.whole = seams.RecordError{File: r.file, Line: rc.line, Reason: rc.whole, Raw: string(rc.raw)}
		out.Whole = &r.whole
		out.Parts = nil
	}
	return out
}

// row is one row of the file, parsed.
type row struct {
	id       string // "" for a row rejected whole
	line     int
	received string // the cells, trimmed
	incident string
	hasIP    bool
	hasDev   bool
	ip       seams.IPEvent
	dev      seams.Device
	ipErr    string // why the row's ip event is rejected
	devErr   string // why its device is rejected
	whole    string // why the row is rejected whole
	raw      string // the row as written; kept for first rows and rejected rows
	next     int    // in a buffer, the next row of the same report; -1 at the end
}

// rowSize is what a row costs in memory besides its strings.
const rowSize = int64(unsafe.Sizeof(row{})) + 16

func (w *row) size() int64 {
	// The cells of a row are parts of one string per line, made by
	// encoding/csv; the unused cells and the allocator's rounding are
	// about a third more than the used ones.
	return rowSize + 4*int64(len(w.id)+len(w.received)+len(w.incident)+len(w.ip.Event)+
		len(w.dev.ID.Type)+len(w.dev.ID.Value)+len(w.ipErr)+len(w.devErr)+len(w.whole)+len(w.raw))/3
}

// group is the rows of one report, linked in file order through
// buffer.next, or one row rejected whole.
type group struct {
	id          string
	first, last int // indexes in buffer.rows
	n           int
}

// load reads the whole input, grouping it in memory or spilling it, and
// leaves the result ready for Next.
func (r *Reader) load() error {
	if err := r.header(); err != nil {
		return err
	}
	b := newBuffer()
	spilled := false
	var w row
	for {
		ok, err := r.row(&w)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !ok {
			continue // a blank row
		}
		r.stats.Rows++
		b.add(r, &w, !spilled)
		if b.size > r.live() {
			if err := r.spillRows(b); err != nil {
				return err
			}
			spilled = true
			b = newBuffer()
			reclaim()
		}
	}
	if !spilled {
		b.byID = nil
		r.mem = b
		return nil
	}
	if len(b.groups) > 0 {
		if err := r.spillRows(b); err != nil {
			return err
		}
	}
	b = nil
	return r.regroup()
}

// buffer is the rows held in memory, in file order, and their groups in
// order of first appearance. Rows are stored in fixed chunks, linked by
// report, rather than in a slice per report or one growing slice: no row
// is copied as the buffer grows, and the allocations are few.
type buffer struct {
	chunks [][]row
	n      int // rows
	groups []group
	byID   map[string]int // group index
	size   int64
}

const chunkRows = 1024

// row returns row i.
func (b *buffer) row(i int) *row { return &b.chunks[i/chunkRows][i%chunkRows] }

func newBuffer() *buffer { return &buffer{byID: map[string]int{}} }

// rowsOf appends the rows of group g to dst, in file order.
func (b *buffer) rowsOf(g int, dst []row) []row {
	for i := b.groups[g].first; i >= 0; i = b.row(i).next {
		dst = append(dst, *b.row(i))
	}
	return dst
}

// push appends a row and returns its index.
func (b *buffer) push(w *row) int {
	switch {
	case b.n == 0:
		b.chunks = append(b.chunks, make([]row, 0, 16)) // the first grows, for small files and budgets
	case b.n%chunkRows == 0:
		b.chunks = append(b.chunks, make([]row, 0, chunkRows))
	}
	c := &b.chunks[len(b.chunks)-1]
	*c = append(*c, *w)
	(*c)[len(*c)-1].next = -1
	b.n++
	return b.n - 1
}

// add adds a row. capRows applies the rows-per-report limit here, which is
// right only while the buffer holds the whole file (no spill yet): after a
// spill the limit is applied when the runs are merged.
func (b *buffer) add(r *Reader, w *row, capRows bool) {
	b.size += w.size()
	if w.id == "" {
		i := b.push(w)
		b.groups = append(b.groups, group{first: i, last: i, n: 1})
		return
	}
	gi, ok := b.byID[w.id]
	if !ok {
		if w.raw == "" {
			w.raw = r.rawText() // the report's raw text, if this is its first row
			b.size += int64(len(w.raw))
		}
		i := b.push(w)
		b.byID[w.id] = len(b.groups)
		b.groups = append(b.groups, group{id: w.id, first: i, last: i, n: 1})
		b.size += 64 + int64(len(w.id)) // the map entry and the group
		return
	}
	g := &b.groups[gi]
	if capRows && g.n >= r.o.MaxRows {
		x := r.tooMany(w)
		i := b.push(&x)
		b.groups = append(b.groups, group{first: i, last: i, n: 1})
		return
	}
	i := b.push(w)
	b.row(g.last).next = i
	g.last = i
	g.n++
}

// tooMany is the rejection of a row past a report's MaxRows.
func (r *Reader) tooMany(w *row) row {
	return row{line: w.line, whole: fmt.Sprintf("report %q already has %d rows (the limit); this row is not used", w.id, r.o.MaxRows)}
}

// utf16Input returns r decoded to UTF-8 when it starts with a UTF-16
// byte-order mark, and r's bytes as they are otherwise: CSV is UTF-8 (a
// UTF-8 byte-order mark is dropped by csvinput), or UTF-16 with its mark.
func utf16Input(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if b, _ := br.Peek(2); len(b) == 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	}
	return br
}

// header reads the header and finds the columns.
func (r *Reader) header() error {
	r.in = csvinput.New(utf16Input(r.src), r.file, true)
	cr := csv.NewReader(r.in)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	r.cr = cr
	h, err := cr.Read()
	if err := r.in.Fatal(); err != nil {
		return err
	}
	r.in.Take(cr.InputOffset())
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return &seams.RecordError{File: r.file, Line: 1, Reason: "empty file (want a header line naming the columns: " + strings.Join(Columns[:], ",") + ")"}
	case errors.As(err, &pe):
		return &seams.RecordError{File: r.file, Line: pe.StartLine, Reason: "header: " + parseErrorText(pe)}
	case err != nil:
		return fmt.Errorf("%s: %w", r.file, err)
	}
	line, _ := cr.FieldPos(0)
	r.width = len(h)
	for i := range r.index {
		r.index[i] = -1
	}
	for j, name := range h {
		name = strings.ToLower(strings.TrimSpace(name))
		for i, c := range Columns {
			if c != name {
				continue
			}
			if r.index[i] >= 0 {
				return &seams.RecordError{File: r.file, Line: line,
					Reason: fmt.Sprintf("duplicate column %q (columns %d and %d)", c, r.index[i]+1, j+1)}
			}
			r.index[i] = j
		}
	}
	has := func(i int) bool { return r.index[i] >= 0 }
	fail := func(reason string) error { return &seams.RecordError{File: r.file, Line: line, Reason: reason} }
	switch {
	case !has(colID):
		return fail(`missing required column "report_id"`)
	case has(colIP) && !has(colAt):
		return fail(`column "ip" needs column "at" (an ip event's time; leave a cell empty for an event without one)`)
	case has(colDeviceType) != has(colDeviceValue):
		return fail(`columns "device_type" and "device_value" go together`)
	case !has(colIP) && !has(colDeviceType):
		return fail(`no "ip" or "device_type"/"device_value" column: not a report CSV (want ` + strings.Join(Columns[:], ",") + ")")
	}
	return nil
}

// row reads and parses the next row into w; false for a blank one.
func (r *Reader) row(w *row) (bool, error) {
	rec, err := r.cr.Read()
	if err := r.in.Fatal(); err != nil {
		return false, err
	}
	rawIn := r.in.Take(r.cr.InputOffset())
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return false, io.EOF
	case errors.As(err, &pe):
		reason := parseErrorText(pe)
		if pe.Err == csv.ErrQuote && pe.Line != pe.StartLine {
			reason += fmt.Sprintf(": a quoted field opened on line %d is never closed, so lines %d to %d were read as this one row", pe.StartLine, pe.StartLine, pe.Line)
		}
		*w = row{line: pe.StartLine, whole: reason, raw: seams.TruncateRaw(trimLineEnds(rawIn))}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%s: %w", r.file, err)
	}
	line, _ := r.cr.FieldPos(0)
	// The raw text of a row is the row as written (cut to MaxRaw bytes),
	// kept only where it may be quoted: in its own rejections, and as the
	// raw text of its report when it is the report's first row (see
	// buffer.add).
	r.curRaw = trimLineEnds(rawIn)
	if len(rec) != r.width {
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			return false, nil // a line of spaces
		}
		*w = row{line: line, whole: fmt.Sprintf("row has %d fields, header has %d", len(rec), r.width), raw: r.rawText()}
		return true, nil
	}
	blank := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return false, nil // ",,,": an empty spreadsheet row
	}
	get := func(i int) string {
		if j := r.index[i]; j >= 0 {
			return strings.TrimSpace(rec[j])
		}
		return ""
	}
	*w = row{id: get(colID), line: line, received: get(colReceived), incident: get(colIncident)}
	if w.id == "" {
		w.whole = "report_id is empty"
		w.raw = r.rawText()
		return true, nil
	}
	at := get(colAt)
	// associated marks the row's ip event and device as an account's the
	// reporter associated with the suspect, as CyberTipline XML's
	// associatedAccount does.
	assoc, assocErr := parseFlag(get(colAssociated))
	if ip := get(colIP); ip != "" {
		w.hasIP = true
		w.ipErr = parseIPEvent(&w.ip, ip, at, get(colEvent), get(colPort), get(colProxy))
		w.ip.Associated = assoc
		if w.ipErr == "" && assocErr != "" {
			w.ipErr = "associated: " + assocErr
		}
	}
	if t, v := get(colDeviceType), get(colDeviceValue); t != "" || v != "" {
		w.hasDev = true
		w.devErr = parseDevice(&w.dev, t, v, at)
		w.dev.Associated = assoc
		if w.devErr == "" && assocErr != "" {
			w.devErr = "associated: " + assocErr
		}
	}
	if !w.hasIP && !w.hasDev && (at != "" || get(colEvent) != "" || get(colPort) != "" || get(colProxy) != "") {
		w.hasIP = true
		w.ipErr = "ip is empty, but the row has the other columns of an ip event (at, event, port, proxy)"
	}
	if w.ipErr != "" || w.devErr != "" {
		w.raw = r.rawText()
	}
	return true, nil
}

// rawText is the text of the row just read, for a rejection or a report.
func (r *Reader) rawText() string { return seams.TruncateRaw(r.curRaw) }

func parseIPEvent(e *seams.IPEvent, ip, at, event, port, proxy string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Sprintf("invalid IP address %q", ip)
	}
	e.Addr = seams.NormalizeAddr(a)
	// An empty at is an event without a time: kept with a zero At, it can
	// make a potential finding only (rule ip-undated), as in the other
	// report formats.
	if at != "" {
		if e.At, err = seams.ParseTime(at); err != nil {
			return "at: " + err.Error()
		}
	}
	e.Event = event
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return fmt.Sprintf("port: invalid port %q (want an integer 0-65535)", port)
		}
		e.Port = int(n)
	}
	p, bad := parseFlag(proxy)
	if bad != "" {
		return "proxy: " + bad
	}
	e.Proxy = p
	return ""
}

// parseFlag reads a true/false cell (proxy, associated): empty is false.
func parseFlag(v string) (bool, string) {
	switch strings.ToLower(v) {
	case "", "false", "0", "no", "n":
		return false, ""
	case "true", "1", "yes", "y":
		return true, ""
	}
	return false, fmt.Sprintf("invalid value %q (want true or false)", v)
}

func parseDevice(d *seams.Device, typ, value, at string) string {
	id, err := seams.NewReportDeviceID(typ, value)
	if err != nil {
		return err.Error()
	}
	d.ID = id
	if at != "" {
		t, err := seams.ParseTime(at)
		if err != nil {
			return "at: " + err.Error()
		}
		d.At = t
	}
	return ""
}

func parseErrorText(pe *csv.ParseError) string {
	return fmt.Sprintf("parse error on line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
}

func trimLineEnds(b []byte) []byte { return bytes.TrimRight(bytes.TrimLeft(b, "\r\n"), "\r\n") }

// record is one record as it goes out: a report with its rejected parts,
// or a row rejected whole (whole is its reason).
type record struct {
	line  int
	whole string
	raw   []byte
	rep   seams.Report
	parts []seams.RecordError
}

func (rc *record) size() int64 {
	// allocOverhead stands for what the allocator adds to each of the
	// record's separate allocations (rounding to its size classes).
	const allocOverhead = 6 * 16
	n := int64(unsafe.Sizeof(*rc)) + allocOverhead + int64(len(rc.whole)+len(rc.raw)+len(rc.rep.ID)+len(rc.rep.Incident))
	n += int64(len(rc.rep.IPs)) * int64(unsafe.Sizeof(seams.IPEvent{}))
	n += int64(len(rc.rep.Devices)) * int64(unsafe.Sizeof(seams.Device{}))
	for i := range rc.parts {
		p := &rc.parts[i]
		n += int64(unsafe.Sizeof(*p)) + int64(len(p.Item)+len(p.Reason)+len(p.Raw))
	}
	return n
}

// assemble makes the record of a group's rows (in file order, at most
// MaxRows). It is the one place the rules for a report's rows live, used
// alike for groups made in memory and groups merged from spilled runs.
func (r *Reader) assemble(rows []row, rc *record) {
	first := &rows[0]
	*rc = record{line: first.line, raw: append(rc.raw[:0], first.raw...),
		rep:   seams.Report{IPs: rc.rep.IPs[:0], Devices: rc.rep.Devices[:0]},
		parts: rc.parts[:0]}
	if first.whole != "" {
		rc.whole = first.whole
		return
	}
	rc.rep.ID = first.id
	part := func(line int, item, reason, raw string) {
		rc.parts = append(rc.parts, seams.RecordError{File: r.file, Line: line, Item: item, Reason: reason, Raw: raw})
	}
	var (
		recvText, incText string
		recvLine, incLine int
		recvOK            bool
	)
	for i := range rows {
		w := &rows[i]
		switch {
		case w.received == "":
		case recvLine == 0:
			recvText, recvLine = w.received, w.line
			t, err := seams.ParseTime(w.received)
			if err != nil {
				part(w.line, "received", err.Error(), w.received)
			} else {
				rc.rep.Received, recvOK = t, true
			}
		case w.received != recvText:
			if t, err := seams.ParseTime(w.received); err == nil && recvOK && t.Equal(rc.rep.Received) {
				break // the same instant written another way
			}
			part(w.line, "received", fmt.Sprintf("received %q differs from %q on line %d (the first one stands)", w.received, recvText, recvLine), w.received)
		}
		switch {
		case w.incident == "":
		case incLine == 0:
			incText, incLine = w.incident, w.line
			rc.rep.Incident = w.incident
		case w.incident != incText:
			part(w.line, "incident", fmt.Sprintf("incident %q differs from %q on line %d (the first one stands)", w.incident, incText, incLine), w.incident)
		}
		if w.hasIP {
			if w.ipErr != "" {
				part(w.line, "ip", w.ipErr, w.raw)
			} else {
				rc.rep.IPs = append(rc.rep.IPs, w.ip)
			}
		}
		if w.hasDev {
			if w.devErr != "" {
				part(w.line, "device", w.devErr, w.raw)
			} else {
				rc.rep.Devices = append(rc.rep.Devices, w.dev)
			}
		}
	}
}

// spillRows writes the buffer's rows to a run, sorted by report id and then
// line (whole rejections, with the empty id, first).
func (r *Reader) spillRows(b *buffer) error {
	if r.spill == nil {
		r.spill = &spiller{dir: r.o.TempDir}
	}
	sortGroups(b)
	run, err := r.spill.create()
	if err != nil {
		return err
	}
	var enc []byte
	for _, g := range b.groups {
		for i := g.first; i >= 0; i = b.row(i).next {
			enc = encodeRow(enc[:0], b.row(i))
			if err := run.write(enc); err != nil {
				return err
			}
		}
	}
	if err := run.finish(); err != nil {
		return err
	}
	r.stats.Runs++
	r.stats.SpilledBytes += run.bytes
	r.spill.rows = append(r.spill.rows, run)
	return nil
}

// regroup merges the spilled runs of rows into groups, assembles their
// records, and sorts those by line with a second external sort, leaving
// r.out to stream them.
func (r *Reader) regroup() error {
	rows, err := mergeRuns(r, r.spill.rows, decodeRow, encodeRow, lessRow)
	if err != nil {
		return err
	}
	r.spill.rows = nil
	var (
		sorter recordSorter
		cur    []row
		w      row
		rc     record
	)
	flushGroup := func() error {
		if len(cur) == 0 {
			return nil
		}
		r.assemble(cur, &rc)
		cur = cur[:0]
		return sorter.add(r, &rc)
	}
	for {
		ok, err := rows.next(&w)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if w.id == "" || len(cur) > 0 && cur[0].id != w.id {
			if err := flushGroup(); err != nil {
				return err
			}
		}
		if w.id != "" && len(cur) >= r.o.MaxRows {
			x := r.tooMany(&w)
			r.assemble([]row{x}, &rc)
			if err := sorter.add(r, &rc); err != nil {
				return err
			}
			continue
		}
		cur = append(cur, w)
		if w.id == "" {
			if err := flushGroup(); err != nil {
				return err
			}
		}
	}
	if err := flushGroup(); err != nil {
		return err
	}
	rows.close()
	out, err := sorter.finish(r)
	if err != nil {
		return err
	}
	r.out = out
	return nil
}

// recordSorter sorts records by line within the memory budget, spilling
// sorted runs when it is exceeded.
type recordSorter struct {
	buf  []record
	size int64
}

func (s *recordSorter) add(r *Reader, rc *record) error {
	c := cloneRecord(rc)
	if len(s.buf) == cap(s.buf) {
		// The slice's growth: its new array, and the old one until the
		// collector takes it.
		s.size += int64(cap(s.buf)) * int64(unsafe.Sizeof(record{}))
	}
	s.buf = append(s.buf, c)
	s.size += c.size()
	if s.size > r.live() {
		return s.spill(r)
	}
	return nil
}

func (s *recordSorter) spill(r *Reader) error {
	sortRecords(s.buf)
	run, err := r.spill.create()
	if err != nil {
		return err
	}
	var enc []byte
	for i := range s.buf {
		enc = encodeRecord(enc[:0], &s.buf[i])
		if err := run.write(enc); err != nil {
			return err
		}
	}
	if err := run.finish(); err != nil {
		return err
	}
	r.stats.Runs++
	r.stats.SpilledBytes += run.bytes
	r.spill.records = append(r.spill.records, run)
	s.buf, s.size = nil, 0
	reclaim()
	return nil
}

// live is how many bytes of rows or records are held before they are
// spilled: two thirds of Options.Memory, the rest being the collector's
// headroom (the garbage of parsing, between two of its cycles), so that
// the grouping's peak stays within Options.Memory.
func (r *Reader) live() int64 { return r.o.Memory / 3 * 2 }

// reclaim collects the buffer just spilled before the next one fills:
// otherwise the garbage of one buffer and the next, live, would both be in
// memory until the collector's next cycle, and the process would take
// about twice Options.Memory. A collection per spill (one per
// Options.Memory bytes of rows) costs little beside the spill's writing.
func reclaim() { runtime.GC() }

// finish returns the merged stream of all records.
func (s *recordSorter) finish(r *Reader) (*merger[record], error) {
	sortRecords(s.buf)
	mem := &sliceCursor[record]{items: s.buf}
	s.buf = nil
	runs := r.spill.records
	r.spill.records = nil
	return mergeRunsWith(r, runs, mem, decodeRecord, encodeRecord, lessRecord)
}

// cloneRecord copies a record out of the buffers assemble reuses.
func cloneRecord(rc *record) record {
	c := record{line: rc.line, whole: rc.whole, raw: bytes.Clone(rc.raw), rep: rc.rep.Clone()}
	if len(rc.parts) > 0 {
		c.parts = append([]seams.RecordError(nil), rc.parts...)
	}
	return c
}
