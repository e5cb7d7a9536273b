// Package idset is the duplicate check of report ids across a run ("the
// first one stands"), in memory bounded by a budget whatever the number of
// reports.
//
// Ids are 128-bit hashes (hashset.Key), numbered in the order of the run by
// their ordinal: the n-th accepted report has ordinal n. A Checker keeps
// them in a hash set while it fits the budget, and answers each one at once.
// When the set is full, it spills the set's keys, and every later key with
// its ordinal, to a temporary file in 256 buckets by the key's top byte; it
// can no longer answer those keys, and says they are new. At the end, Finish
// reads the file one bucket at a time (a bucket holds 1/256 of the keys) and
// finds the later occurrences the run let through. None is the usual case:
// the run's output stands. Otherwise Finish returns them as Dups, sorted by
// ordinal, and the run is made again with a Checker that knows them (Known):
// the same keys go to the set, and later ones are answered from Dups.
//
// So a run whose ids fit the budget costs what it always did, one larger
// costs a sequential write and read of 24 bytes a report beyond it, and a
// run larger still with a duplicate beyond the budget costs two passes.
package idset

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/seams-dev/seams/internal/hashset"
)

// DefaultBudget is the default memory budget of a Checker's hash set: room
// for about 13 million ids.
const DefaultBudget = 256 << 20

// MinBudget is the smallest budget a Checker takes: its set's smallest
// tables.
const MinBudget = 256 * 64 * 16

const (
	entrySize    = 24  // a key and its ordinal
	blockEntries = 682 // entries of a bucket written at a time (16 KiB)
	blockSize    = blockEntries * entrySize
)

// Checker answers, for each id of a run in order, whether an earlier one
// was the same. The zero value is not usable; see New and Known.
type Checker struct {
	budget int
	dir    string
	set    hashset.Set
	n      int64 // ordinal of the next id

	// From the ordinal spillAt on, ids go to the spill file (or, when
	// known is set, are answered from it).
	spillAt int64
	spill   *os.File
	w       *bufio.Writer
	off     int64
	buckets [256]bucket
	known   *Dups
}

// bucket is one bucket of the spill file: its entries in memory, and the
// offsets of the blocks of it already written.
type bucket struct {
	buf    []byte
	blocks []int64
	last   int // entries in the last written block, when it was not full
}

// New returns a Checker whose hash set never takes more than budget bytes,
// and which spills into dir ("" for the system's temporary directory).
// expect is how many ids the run probably has (0 when unknown), to size the
// set at once.
func New(budget int, dir string, expect int) *Checker {
	c := &Checker{budget: max(budget, MinBudget), dir: dir, spillAt: -1}
	if expect > 0 {
		c.set.ReserveWithin(expect, c.budget)
	}
	return c
}

// Known returns a Checker for a second pass over the same ids with the
// same budget, which answers the ids beyond the budget from d.
func Known(budget int, expect int, d *Dups) *Checker {
	c := New(budget, "", expect)
	c.known = d
	c.spillAt = d.spillAt
	d.reset()
	return c
}

// Check sets dup[i] to whether keys[i] repeats an earlier id of the run (or
// of keys), taking keys as the next ids in order. While the run is within
// the budget, or when the Checker is Known, the answer is exact; beyond it
// on a first pass it is always false, and Finish tells.
func (c *Checker) Check(keys []hashset.Key, dup []bool) error {
	touched := 0 // keys[:touched] have had their slots read
	// All the keys at once, in memory, when they certainly fit: on a
	// second pass up to where the first one spilled; on a first one while
	// the tables, even if every shard doubled for them, stay within the
	// budget.
	fast := c.known != nil || c.spillAt < 0 && 2*(c.set.Bytes()+4*len(keys)*16) <= c.budget
	for i := 0; i < len(keys); {
		switch {
		case c.known != nil && c.n >= c.spillAt:
			// Beyond the budget on a second pass: answered from Dups.
			dup[i] = c.known.has(c.n)
		case c.known == nil && c.spillAt >= 0:
			// Beyond the budget on a first pass: spilled.
			dup[i] = false
			if err := c.put(keys[i], c.n); err != nil {
				return err
			}
		default:
			// In memory.
			if fast {
				m := len(keys) - i
				if c.known != nil {
					m = int(min(int64(m), c.spillAt-c.n))
				}
				c.set.InsertMany(keys[i:i+m], dup[i:i+m])
				c.n += int64(m)
				i += m
				continue
			}
			if i >= touched {
				// The slots of the next few keys first (see
				// hashset.Set.InsertMany).
				touched = min(i+64, len(keys))
				c.set.Touch(keys[i:touched])
			}
			present, ok := c.set.InsertWithin(keys[i], c.budget)
			if !ok {
				if err := c.startSpill(); err != nil {
					return err
				}
				continue // this key again, spilled
			}
			dup[i] = present
		}
		c.n++
		i++
	}
	return nil
}

// startSpill moves the set into the spill file and frees it: from now on,
// ids are written there.
func (c *Checker) startSpill() error {
	if c.known != nil {
		return errors.New("idset: a Known checker spilled")
	}
	f, err := os.CreateTemp(c.dir, "seams-ids-*")
	if err != nil {
		return fmt.Errorf("report ids beyond the memory budget: %w", err)
	}
	// The file is only ours: it goes from the directory at once, and
	// with the last reference to it.
	os.Remove(f.Name())
	c.spill, c.w = f, bufio.NewWriterSize(f, 1<<20)
	c.spillAt = c.n
	// The set's keys go first, with ordinal -1: all before spillAt, and
	// distinct.
	for k := range c.set.All() {
		if err := c.put(k, -1); err != nil {
			return err
		}
	}
	c.set = hashset.Set{}
	return nil
}

func (c *Checker) put(k hashset.Key, ord int64) error {
	b := &c.buckets[k[0]>>56]
	if b.buf == nil {
		b.buf = make([]byte, 0, blockSize)
	}
	b.buf = binary.LittleEndian.AppendUint64(b.buf, k[0])
	b.buf = binary.LittleEndian.AppendUint64(b.buf, k[1])
	b.buf = binary.LittleEndian.AppendUint64(b.buf, uint64(ord))
	if len(b.buf) == blockSize {
		return c.flush(b)
	}
	return nil
}

func (c *Checker) flush(b *bucket) error {
	if len(b.buf) == 0 {
		return nil
	}
	if _, err := c.w.Write(b.buf); err != nil {
		return fmt.Errorf("report ids beyond the memory budget: %w", err)
	}
	b.blocks = append(b.blocks, c.off)
	b.last = len(b.buf) / entrySize
	c.off += int64(len(b.buf))
	b.buf = b.buf[:0]
	return nil
}

// Spilled reports whether the run went beyond the budget.
func (c *Checker) Spilled() bool { return c.spillAt >= 0 }

// Finish ends a first pass. It returns nil when every answer of Check was
// exact, and otherwise the duplicates Check let through, for a second pass
// with Known; the caller closes them. It frees the Checker.
func (c *Checker) Finish() (*Dups, error) {
	defer c.close()
	if c.known != nil || c.spillAt < 0 {
		return nil, nil
	}
	for i := range c.buckets {
		if err := c.flush(&c.buckets[i]); err != nil {
			return nil, err
		}
	}
	if err := c.w.Flush(); err != nil {
		return nil, fmt.Errorf("report ids beyond the memory budget: %w", err)
	}
	d := &Dups{spillAt: c.spillAt, dir: c.dir}
	var set hashset.Set
	var present []bool
	var keys []hashset.Key
	var ords []int64
	var buf []byte
	for bi := range c.buckets {
		b := &c.buckets[bi]
		keys, ords = keys[:0], ords[:0]
		for k, off := range b.blocks {
			n := blockEntries
			if k == len(b.blocks)-1 {
				n = b.last
			}
			buf = append(buf[:0], make([]byte, n*entrySize)...)
			if _, err := c.spill.ReadAt(buf, off); err != nil {
				return nil, fmt.Errorf("report ids beyond the memory budget: %w", err)
			}
			for e := 0; e < len(buf); e += entrySize {
				// The halves swapped: every key of a bucket has the same
				// top byte, which would put them all in one shard of
				// the set below.
				keys = append(keys, hashset.Key{binary.LittleEndian.Uint64(buf[e+8:]), binary.LittleEndian.Uint64(buf[e:])})
				ords = append(ords, int64(binary.LittleEndian.Uint64(buf[e+16:])))
			}
		}
		b.blocks = nil
		// Entries of a bucket are in ordinal order (the set's, at -1,
		// first): the first of a key stands, later ones are duplicates.
		set = hashset.Set{}
		set.Reserve(len(keys))
		present = append(present[:0], make([]bool, len(keys))...)
		set.InsertMany(keys, present)
		var run []int64
		for e, p := range present {
			if p {
				run = append(run, ords[e])
			}
		}
		if len(run) > 0 {
			if err := d.addRun(run); err != nil {
				d.Close()
				return nil, err
			}
		}
	}
	if d.n == 0 {
		d.Close()
		return nil, nil
	}
	if err := d.w.Flush(); err != nil {
		d.Close()
		return nil, fmt.Errorf("duplicate report ids: %w", err)
	}
	return d, nil
}

func (c *Checker) close() {
	if c.spill != nil {
		c.spill.Close()
		c.spill = nil
	}
	c.set = hashset.Set{}
	c.buckets = [256]bucket{}
}

// Dups holds the ordinals of the duplicate ids a first pass let through, in
// a temporary file as up to 256 sorted runs, merged as a second pass asks.
type Dups struct {
	spillAt int64
	dir     string
	f       *os.File
	w       *bufio.Writer
	runs    []run
	n       int64 // ordinals in all
	h       runHeap
}

type run struct {
	off, n int64 // where in the file (bytes), and how many ordinals
	r      *bufio.Reader
	head   int64 // the next ordinal, when left > 0
	left   int64
}

// Len returns the number of duplicates.
func (d *Dups) Len() int64 { return d.n }

func (d *Dups) addRun(ords []int64) error {
	if d.f == nil {
		f, err := os.CreateTemp(d.dir, "seams-dups-*")
		if err != nil {
			return fmt.Errorf("duplicate report ids: %w", err)
		}
		os.Remove(f.Name())
		d.f, d.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	off := d.n * 8
	var b [8]byte
	for _, o := range ords {
		binary.LittleEndian.PutUint64(b[:], uint64(o))
		if _, err := d.w.Write(b[:]); err != nil {
			return fmt.Errorf("duplicate report ids: %w", err)
		}
	}
	d.runs = append(d.runs, run{off: off, n: int64(len(ords))})
	d.n += int64(len(ords))
	return nil
}

// reset readies the runs to be read from their starts.
func (d *Dups) reset() {
	d.h = d.h[:0]
	for i := range d.runs {
		r := &d.runs[i]
		r.r = bufio.NewReaderSize(io.NewSectionReader(d.f, r.off, r.n*8), 4096)
		r.left = r.n
		if r.advance() {
			d.h = append(d.h, r)
		}
	}
	heap.Init(&d.h)
}

func (r *run) advance() bool {
	if r.left == 0 {
		return false
	}
	var b [8]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		// The file is ours and was written whole; a short read is a
		// failing disk. Treat the run as ended; the run's output is then
		// as if those duplicates were new.
		r.left = 0
		return false
	}
	r.head = int64(binary.LittleEndian.Uint64(b[:]))
	r.left--
	return true
}

// has reports whether ord is a duplicate; ords must be asked in increasing
// order.
func (d *Dups) has(ord int64) bool {
	for len(d.h) > 0 && d.h[0].head < ord {
		d.pop()
	}
	if len(d.h) > 0 && d.h[0].head == ord {
		d.pop()
		return true
	}
	return false
}

func (d *Dups) pop() {
	r := d.h[0]
	if r.advance() {
		heap.Fix(&d.h, 0)
	} else {
		heap.Pop(&d.h)
	}
}

// Close removes the file.
func (d *Dups) Close() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return h[i].head < h[j].head }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}

// Reserve sizes the set for about n ids, within the budget, so that it does
// not grow (and copy itself) on the way.
func (c *Checker) Reserve(n int) {
	if c.spillAt < 0 || c.known != nil {
		c.set.ReserveWithin(n, c.budget)
	}
}
