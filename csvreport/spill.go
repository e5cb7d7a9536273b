package csvreport

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// The external sort, in two passes:
//
//  1. Rows are held in memory up to Options.Memory; past it, they are
//     written to a run sorted by (report id, line) and the buffer starts
//     again. At the end of the file the last buffer is spilled too.
//  2. The runs are merged (k-way, at most maxFanIn at once), so that the
//     rows of each report come together in file order; each report is
//     assembled, and the records go to a second sort by line, spilled the
//     same way, whose merge is what Next returns: the reports in the order
//     of their first rows, as the in-memory path gives them.
//
// Spill files are private to the reader: a length-prefixed binary encoding
// of rows and records, unlinked once created where the system allows, and
// closed (and removed, if they could not be unlinked) by Close, which Next
// calls at the end of the input and on any error.

// maxFanIn is the most runs merged at once; more are merged in rounds.
const maxFanIn = 64

// spiller owns the spill files of one Reader.
type spiller struct {
	dir     string
	all     []*run
	rows    []*run // runs of rows, waiting for the first merge
	records []*run // runs of records, waiting for the final merge
}

// run is one spill file: written once, then read once from the start.
type run struct {
	f     *os.File
	name  string // set while the file still has a name to remove
	w     *bufio.Writer
	r     *bufio.Reader
	bytes int64
	buf   []byte
}

func (s *spiller) create() (*run, error) {
	f, err := os.CreateTemp(s.dir, "seams-csv-*.run")
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	rn := &run{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	// Unlinked now, the file goes away with its descriptor however the
	// process ends; where that is not allowed, Close removes it.
	if err := os.Remove(f.Name()); err != nil {
		rn.name = f.Name()
	}
	s.all = append(s.all, rn)
	return rn, nil
}

func (rn *run) write(b []byte) error {
	var n [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(n[:], uint64(len(b)))
	if _, err := rn.w.Write(n[:k]); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	if _, err := rn.w.Write(b); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	rn.bytes += int64(k + len(b))
	return nil
}

// finish ends the writing and rewinds the file for reading.
func (rn *run) finish() error {
	if err := rn.w.Flush(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	rn.w = nil
	if _, err := rn.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	rn.r = bufio.NewReaderSize(rn.f, 64<<10)
	return nil
}

// read returns the next encoded item, or io.EOF.
func (rn *run) read() ([]byte, error) {
	n, err := binary.ReadUvarint(rn.r)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil || n > 1<<30 {
		return nil, errCorrupt
	}
	if cap(rn.buf) < int(n) {
		rn.buf = make([]byte, n)
	}
	rn.buf = rn.buf[:n]
	if _, err := io.ReadFull(rn.r, rn.buf); err != nil {
		return nil, errCorrupt
	}
	return rn.buf, nil
}

func (rn *run) close() error {
	if rn.f == nil {
		return nil
	}
	err := rn.f.Close()
	rn.f, rn.r, rn.w = nil, nil, nil
	if rn.name != "" {
		if rerr := os.Remove(rn.name); rerr != nil && err == nil {
			err = rerr
		}
		rn.name = ""
	}
	return err
}

func (s *spiller) close() error {
	var err error
	for _, rn := range s.all {
		if cerr := rn.close(); cerr != nil && err == nil {
			err = fmt.Errorf("spill: %w", cerr)
		}
	}
	s.all, s.rows, s.records = nil, nil, nil
	return err
}

var errCorrupt = errors.New("spill: a temporary file is corrupt")

// cursor yields items in order.
type cursor[T any] interface {
	// next decodes the next item into it, reusing its memory; false at
	// the end.
	next(it *T) (bool, error)
}

// runCursor reads a run.
type runCursor[T any] struct {
	rn     *run
	decode func([]byte, *T) error
}

func (c *runCursor[T]) next(it *T) (bool, error) {
	b, err := c.rn.read()
	if err == io.EOF {
		c.rn.close()
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, c.decode(b, it)
}

// sliceCursor yields the items of a slice.
type sliceCursor[T any] struct {
	items []T
	i     int
}

func (c *sliceCursor[T]) next(it *T) (bool, error) {
	if c.i >= len(c.items) {
		c.items = nil
		return false, nil
	}
	*it = c.items[c.i]
	var zero T
	c.items[c.i] = zero
	c.i++
	return true, nil
}

// merger is a k-way merge of cursors by less.
type merger[T any] struct {
	curs  []cursor[T]
	heads []T
	h     []int // indexes of the cursors with a head, as a heap
	less  func(a, b *T) bool
}

func newMerger[T any](curs []cursor[T], less func(a, b *T) bool) (*merger[T], error) {
	m := &merger[T]{curs: curs, heads: make([]T, len(curs)), less: less}
	for i, c := range curs {
		ok, err := c.next(&m.heads[i])
		if err != nil {
			return nil, err
		}
		if ok {
			m.h = append(m.h, i)
		}
	}
	heap.Init(m)
	return m, nil
}

func (m *merger[T]) Len() int           { return len(m.h) }
func (m *merger[T]) Less(i, j int) bool { return m.less(&m.heads[m.h[i]], &m.heads[m.h[j]]) }
func (m *merger[T]) Swap(i, j int)      { m.h[i], m.h[j] = m.h[j], m.h[i] }
func (m *merger[T]) Push(x any)         { m.h = append(m.h, x.(int)) }
func (m *merger[T]) Pop() any {
	x := m.h[len(m.h)-1]
	m.h = m.h[:len(m.h)-1]
	return x
}

// next moves the smallest head into it. The item it held before becomes
// the cursor's buffer, so a merge reuses memory rather than making it.
func (m *merger[T]) next(it *T) (bool, error) {
	if len(m.h) == 0 {
		return false, nil
	}
	i := m.h[0]
	*it, m.heads[i] = m.heads[i], *it
	ok, err := m.curs[i].next(&m.heads[i])
	if err != nil {
		return false, err
	}
	if ok {
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
	return true, nil
}

// close closes what is left of the runs being merged.
func (m *merger[T]) close() {
	for _, c := range m.curs {
		if rc, ok := c.(*runCursor[T]); ok {
			rc.rn.close()
		}
	}
}

// mergeRuns merges runs, first in rounds of maxFanIn into new runs when
// there are more than that.
func mergeRuns[T any](r *Reader, runs []*run, decode func([]byte, *T) error, encode func([]byte, *T) []byte, less func(a, b *T) bool) (*merger[T], error) {
	return mergeRunsWith(r, runs, nil, decode, encode, less)
}

// mergeRunsWith is mergeRuns with one more cursor (items held in memory) in
// the final merge.
func mergeRunsWith[T any](r *Reader, runs []*run, extra cursor[T], decode func([]byte, *T) error, encode func([]byte, *T) []byte, less func(a, b *T) bool) (*merger[T], error) {
	cursors := func(rs []*run) []cursor[T] {
		cs := make([]cursor[T], 0, len(rs)+1)
		for _, rn := range rs {
			cs = append(cs, &runCursor[T]{rn: rn, decode: decode})
		}
		return cs
	}
	for len(runs) > maxFanIn {
		m, err := newMerger(cursors(runs[:maxFanIn]), less)
		if err != nil {
			return nil, err
		}
		out, err := r.spill.create()
		if err != nil {
			return nil, err
		}
		var it T
		var enc []byte
		for {
			ok, err := m.next(&it)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			enc = encode(enc[:0], &it)
			if err := out.write(enc); err != nil {
				return nil, err
			}
		}
		if err := out.finish(); err != nil {
			return nil, err
		}
		r.stats.Runs++
		r.stats.SpilledBytes += out.bytes
		runs = append(runs[maxFanIn:], out)
	}
	cs := cursors(runs)
	if extra != nil {
		cs = append(cs, extra)
	}
	return newMerger(cs, less)
}

func lessRow(a, b *row) bool {
	if a.id != b.id {
		return a.id < b.id
	}
	return a.line < b.line
}

func lessRecord(a, b *record) bool { return a.line < b.line }

// sortGroups orders a buffer's groups for a run: by report id, the rows
// rejected whole (empty id) first, by line.
func sortGroups(b *buffer) {
	slices.SortFunc(b.groups, func(x, y group) int {
		if c := strings.Compare(x.id, y.id); c != 0 {
			return c
		}
		return cmp.Compare(b.row(x.first).line, b.row(y.first).line)
	})
}

func sortRecords(rs []record) {
	slices.SortFunc(rs, func(a, b record) int { return cmp.Compare(a.line, b.line) })
}

// The encoding of rows and records in spill files.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return binary.AppendVarint(append(b, 1), t.UnixNano())
}

func appendAddr(b []byte, a netip.Addr) []byte {
	b, _ = a.AppendBinary(b) // 0, 4 or 16 bytes: no zone (normalized)
	return b
}

func appendAddrLen(b []byte, a netip.Addr) []byte {
	n := 0
	switch {
	case a.Is4():
		n = 4
	case a.Is6():
		n = 16
	}
	return appendAddr(append(b, byte(n)), a)
}

func appendIPEvent(b []byte, e *seams.IPEvent) []byte {
	b = appendAddrLen(b, e.Addr)
	b = appendTime(b, e.At)
	b = appendString(b, e.Event)
	b = binary.AppendUvarint(b, uint64(e.Port))
	var flags byte
	if e.Proxy {
		flags |= 1
	}
	if e.Associated {
		flags |= 2
	}
	return append(b, flags)
}

func appendDevice(b []byte, d *seams.Device) []byte {
	b = appendString(b, d.ID.Type)
	b = appendString(b, d.ID.Value)
	b = appendTime(b, d.At)
	if d.Associated {
		return append(b, 1)
	}
	return append(b, 0)
}

func encodeRow(b []byte, w *row) []byte {
	b = appendString(b, w.id)
	b = binary.AppendUvarint(b, uint64(w.line))
	b = appendString(b, w.received)
	b = appendString(b, w.incident)
	var flags byte
	if w.hasIP {
		flags |= 1
	}
	if w.hasDev {
		flags |= 2
	}
	b = append(b, flags)
	if w.hasIP {
		b = appendIPEvent(b, &w.ip)
	}
	if w.hasDev {
		b = appendDevice(b, &w.dev)
	}
	b = appendString(b, w.ipErr)
	b = appendString(b, w.devErr)
	b = appendString(b, w.whole)
	return appendString(b, w.raw)
}

func encodeRecord(b []byte, rc *record) []byte {
	b = binary.AppendUvarint(b, uint64(rc.line))
	b = appendString(b, rc.whole)
	b = appendString(b, string(rc.raw))
	b = appendString(b, rc.rep.ID)
	b = appendTime(b, rc.rep.Received)
	b = appendString(b, rc.rep.Incident)
	b = binary.AppendUvarint(b, uint64(len(rc.rep.IPs)))
	for i := range rc.rep.IPs {
		b = appendIPEvent(b, &rc.rep.IPs[i])
	}
	b = binary.AppendUvarint(b, uint64(len(rc.rep.Devices)))
	for i := range rc.rep.Devices {
		b = appendDevice(b, &rc.rep.Devices[i])
	}
	b = binary.AppendUvarint(b, uint64(len(rc.parts)))
	for i := range rc.parts {
		p := &rc.parts[i]
		b = binary.AppendUvarint(b, uint64(p.Line))
		b = appendString(b, p.Item)
		b = appendString(b, p.Reason)
		b = appendString(b, p.Raw)
	}
	return b
}

// dec decodes what the append functions wrote; any inconsistency makes it
// fail with errCorrupt, and it never reads past its slice.
type dec struct {
	b   []byte
	err error
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte() byte {
	if len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) bytes(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.err = errCorrupt
		d.b = nil
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *dec) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		d.b = nil
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *dec) time() time.Time {
	if d.byte() == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.varint()).UTC()
}

func (d *dec) addr() netip.Addr {
	b := d.bytes(int(d.byte()))
	var a netip.Addr
	if d.err == nil && a.UnmarshalBinary(b) != nil {
		d.err = errCorrupt
	}
	return a
}

func (d *dec) ipEvent(e *seams.IPEvent) {
	e.Addr = d.addr()
	e.At = d.time()
	e.Event = d.string()
	e.Port = int(d.uvarint())
	flags := d.byte()
	e.Proxy, e.Associated = flags&1 != 0, flags&2 != 0
}

func (d *dec) device(v *seams.Device) {
	v.ID.Type = d.string()
	v.ID.Value = d.string()
	v.At = d.time()
	v.Associated = d.byte() == 1
}

func decodeRow(b []byte, w *row) error {
	d := dec{b: b}
	*w = row{id: d.string(), line: int(d.uvarint()), received: d.string(), incident: d.string()}
	flags := d.byte()
	w.hasIP, w.hasDev = flags&1 != 0, flags&2 != 0
	if w.hasIP {
		d.ipEvent(&w.ip)
	}
	if w.hasDev {
		d.device(&w.dev)
	}
	w.ipErr = d.string()
	w.devErr = d.string()
	w.whole = d.string()
	w.raw = d.string()
	return d.err
}

func decodeRecord(b []byte, rc *record) error {
	d := dec{b: b}
	*rc = record{line: int(d.uvarint()), whole: d.string(), raw: append(rc.raw[:0], d.string()...),
		rep: seams.Report{IPs: rc.rep.IPs[:0], Devices: rc.rep.Devices[:0]}, parts: rc.parts[:0]}
	rc.rep.ID = d.string()
	rc.rep.Received = d.time()
	rc.rep.Incident = d.string()
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		var e seams.IPEvent
		d.ipEvent(&e)
		rc.rep.IPs = append(rc.rep.IPs, e)
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		var v seams.Device
		d.device(&v)
		rc.rep.Devices = append(rc.rep.Devices, v)
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		rc.parts = append(rc.parts, seams.RecordError{Line: int(d.uvarint()), Item: d.string(), Reason: d.string(), Raw: d.string()})
	}
	return d.err
}
