package derive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
	"github.com/seams-dev/seams/internal/chunk"
	"github.com/seams-dev/seams/internal/ordered"
	"github.com/seams-dev/seams/observe"
)

// One pass over the observations is package ordered's pipeline, as xref's
// run is:
//
//	read (1 goroutine)  ->  parse + locate (Workers goroutines)  ->  aggregate (the caller's goroutine)
//
// The reader (readFile) cuts JSON Lines into chunks of whole lines; CSV
// and Parquet, which cannot be cut without parsing, it parses itself into
// batches of observations. Workers (process) parse chunks, place every
// observation against the footprints, and keep only what the pass needs.
// The caller takes batches in input order, so rejections are written in
// input order; the aggregate itself does not depend on the order (first
// and last times, sets and counts), which is why re-running on the same
// data in any order gives the same registry. At most ordered.InFlight
// batches exist at once, which bounds memory.

// rec is one observation as the aggregation sees it.
type rec struct {
	dev      seams.DeviceID // its strings are valid while its batch is
	at       int64          // Unix nanoseconds
	lat, lon float64
	acc      float64 // the accuracy used: given, or Options.AssumeAccuracy
	noAcc    bool    // none was given
	ip       netip.Addr
	where    footprint.Where
	inOff    int32 // compounds holding it: batch.ins[inOff:inOff+inN]
	inN      int32
}

// batch is a run of observations of one file on its way through a pass.
type batch struct {
	file int
	// Input: a chunk of JSON Lines, or observations already parsed.
	c    *chunk.Chunk
	cr   *chunk.Reader
	recs []rec
	// Output of the workers.
	ins     []int32
	records int // records read: lines that are not blank, or rows
	rejects []seams.RecordError
	where   [4]int // count of each footprint.Where
	noAcc   int
	// Dropped before anything else: older than the retention limit, or
	// at a sensitive place.
	retained, excluded int
	// The first and last instant of the observations kept.
	firstAt, lastAt int64
}

// passKind says what a pass keeps.
type passKind int

const (
	// passPlaces keeps the observations inside a footprint and counts
	// the others; it writes rejections.
	passPlaces passKind = iota + 1
	// passCandidates keeps the observations of candidate devices and
	// those whose address is relevant, inside or outside; it counts
	// records only.
	passCandidates
)

// fileStamp identifies the content of an input between the two passes.
type fileStamp struct {
	size int64
	mod  time.Time
}

// scanner runs passes over the observation files.
type scanner struct {
	o      *Options
	x      *footprint.Index
	zones  *footprint.ZoneIndex // nil: none
	cutoff int64                // retention: observations before it are dropped
	stamps []fileStamp
	// cands numbers the addresses used inside a footprint (pass 1), and
	// relevant says, in pass 2, which of them are worth placing; candHash
	// holds the hashes of the candidate devices. Workers only read them,
	// and only in pass 2.
	cands    map[addrKey]int32
	relevant []bool
	candHash hashes
	// pool recycles batches, whose slices are what the pass allocates.
	pool sync.Pool
}

// newBatch returns an empty batch of file fi, recycled if one is free.
func (s *scanner) newBatch(fi int) *batch {
	b, _ := s.pool.Get().(*batch)
	if b == nil {
		return &batch{file: fi}
	}
	b.file = fi
	return b
}

// recycle empties a batch for newBatch. What it pointed to (the chunk, its
// reader, the strings of its observations, which point into the chunk) must
// not outlive it: a file's reader and buffers are freed with the file.
func (s *scanner) recycle(b *batch) {
	clear(b.recs[:cap(b.recs)])
	clear(b.rejects[:cap(b.rejects)])
	*b = batch{recs: b.recs[:0], ins: b.ins[:0], rejects: b.rejects[:0]}
	s.pool.Put(b)
}

const batchObs = 8192 // observations of a batch of CSV or Parquet

// chunkSize is the size of a chunk of JSON Lines: about 1,700 observations.
// Each file has its own chunk reader, whose buffers are freed a GC or two
// after the file ends; small chunks keep those few.
const chunkSize = 256 << 10

// run runs one pass, calling handle with every batch in input order.
func (s *scanner) run(ctx context.Context, kind passKind, handle func(*batch) error) error {
	return ordered.Run(ctx, ordered.Stages[*batch]{
		Workers: s.o.Workers,
		Read: func(ctx context.Context, send func(*batch) bool) error {
			for fi, name := range s.o.Observations {
				if err := s.readFile(ctx, fi, name, kind, send); err != nil {
					return err
				}
			}
			return nil
		},
		NewWorker: func() func(*batch) error {
			return func(b *batch) error {
				s.process(b, kind)
				return nil
			}
		},
		Write: func(b *batch) error {
			err := handle(b)
			if b.c != nil {
				b.cr.Release(b.c)
			}
			s.recycle(b)
			return err
		},
		Name: func(b *batch) string { return s.o.Observations[b.file] },
	})
}

// readFile produces the batches of one file.
func (s *scanner) readFile(ctx context.Context, fi int, name string, kind passKind, send func(*batch) bool) error {
	in, err := observe.Open(name, s.o.Format)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := s.stamp(fi, name, kind); err != nil {
		return err
	}
	if in.Format == observe.JSONL {
		cr := chunk.NewReader(in.Stream, chunkSize, observe.MaxLine, seams.MaxRaw)
		for {
			c, err := cr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			b := s.newBatch(fi)
			b.c, b.cr = c, cr
			if !send(b) {
				return ctx.Err()
			}
		}
	}
	r, err := in.Reader()
	if err != nil {
		return err
	}
	b := s.newBatch(fi)
	for {
		var o observe.Observation
		_, err := r.Next(&o, func(e *seams.RecordError) {
			b.records++
			if kind == passPlaces {
				e := *e
				e.Raw = "" // an observation holds a location, which derive writes nowhere
				b.rejects = append(b.rejects, e)
			}
		})
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b.records++
		dev := seams.DeviceID{Type: strings.Clone(o.Device.Type), Value: strings.Clone(o.Device.Value)}
		b.recs = append(b.recs, s.recOf(&o, dev, b))
		if len(b.recs) == batchObs {
			if !send(b) {
				return ctx.Err()
			}
			b = s.newBatch(fi)
		}
	}
	if b.records > 0 && !send(b) {
		return ctx.Err()
	}
	return nil
}

// stamp remembers the size and time of a file in the first pass and checks
// them in the second: both passes must read the same data.
func (s *scanner) stamp(fi int, name string, kind passKind) error {
	st, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	fs := fileStamp{st.Size(), st.ModTime()}
	if kind == passPlaces {
		s.stamps[fi] = fs
		return nil
	}
	if s.stamps[fi] != fs {
		return fmt.Errorf("%s changed between the two passes over it (size or time): derive reads every input twice; give it files that stay as they are", name)
	}
	return nil
}

// recOf makes the rec of an observation, counting a missing accuracy.
func (s *scanner) recOf(o *observe.Observation, dev seams.DeviceID, b *batch) rec {
	r := rec{dev: dev, at: o.At.UnixNano(), lat: o.Lat, lon: o.Lon, acc: o.Accuracy, ip: o.IP}
	if !o.HasAccuracy {
		r.acc, r.noAcc = s.o.AssumeAccuracy, true
	}
	return r
}

// process is a worker's part: parse a chunk of JSON Lines, place every
// observation, and keep what the pass needs.
func (s *scanner) process(b *batch, kind passKind) {
	if b.c != nil {
		s.parseChunk(b, kind)
	}
	keep := b.recs[:0]
	b.firstAt, b.lastAt = math.MaxInt64, math.MinInt64
	for _, r := range b.recs {
		// Governance first: an observation older than the retention
		// limit, or at a sensitive place, is dropped before anything
		// else looks at it.
		if r.at < s.cutoff {
			b.retained++
			continue
		}
		if s.zones != nil {
			if _, hit := s.zones.Touches(r.lon, r.lat, r.acc); hit {
				b.excluded++
				continue
			}
		}
		if kind == passCandidates && !s.relevantIP(r.ip) && !s.candHash.has(hashDevice(r.dev)) {
			// Neither a candidate's nor a relevant address's.
			continue
		}
		if r.noAcc {
			b.noAcc++
		}
		b.firstAt, b.lastAt = min(b.firstAt, r.at), max(b.lastAt, r.at)
		n := len(b.ins)
		b.ins, r.where = s.x.Locate(r.lon, r.lat, r.acc, b.ins)
		r.inOff, r.inN = int32(n), int32(len(b.ins)-n)
		b.where[r.where]++
		switch {
		case r.where == footprint.Inside || kind == passCandidates:
			// Pass 2 keeps every placed observation: a candidate's vague
			// fixes (too coarse, across an edge) place it nowhere, but
			// count towards shared coordinates.
			keep = append(keep, r)
		case r.where == footprint.OnEdge || r.where == footprint.TooCoarse && s.pointInside(r.lon, r.lat, b):
			// A vague fix near a footprint: its day counts towards
			// making the device a candidate (so that a coordinate many
			// devices report is seen by all of them).
			keep = append(keep, r)
		}
	}
	b.recs = keep
}

// parseChunk parses the lines of a chunk of JSON Lines into b.recs.
func (s *scanner) parseChunk(b *batch, kind passKind) {
	c := b.c
	if c.Long {
		b.records++
		if kind == passPlaces {
			// No raw: an observation line holds a location.
			b.rejects = append(b.rejects, seams.RecordError{File: s.o.Observations[b.file], Line: c.FirstLine,
				Reason: fmt.Sprintf("line longer than %d bytes", observe.MaxLine)})
		}
		return
	}
	data, line := c.Data, c.FirstLine
	var o observe.Observation
	for len(data) > 0 {
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if kind == passCandidates {
			// The second pass wants only the lines of candidate devices
			// and those with a relevant address, and counts the others
			// without parsing them; a line is a record when it is not
			// blank, whether it parses or not.
			if isBlank(l) {
				line++
				continue
			}
			if s.skipUnparsed(l) {
				b.records++
				line++
				continue
			}
		}
		why := observe.ParseLine(l, &o)
		switch {
		case why == "":
			b.records++
			b.recs = append(b.recs, s.recOf(&o, o.Device, b))
		case observe.IsBlank(why):
		default:
			b.records++
			if kind == passPlaces {
				// No raw: an observation line holds a location, which
				// derive writes nowhere (the line number finds it).
				b.rejects = append(b.rejects, seams.RecordError{File: s.o.Observations[b.file], Line: line, Reason: why})
			}
		}
		line++
	}
}

// pointInside reports whether a point, taken as exact, lies inside a
// footprint.
func (s *scanner) pointInside(lon, lat float64, b *batch) bool {
	n := len(b.ins)
	var where footprint.Where
	b.ins, where = s.x.Locate(lon, lat, 0, b.ins)
	b.ins = b.ins[:n]
	return where == footprint.Inside
}

// relevantIP reports whether an address is one pass 2 counts users of.
func (s *scanner) relevantIP(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ai, ok := s.cands[keyOf(ip)]
	return ok && s.relevant[ai]
}

// skipUnparsed reports whether pass 2 may skip a line of JSON Lines without
// parsing it: it is sure the line's address is not relevant and its device
// not a candidate (or the line is too long to be a record).
func (s *scanner) skipUnparsed(l []byte) bool {
	if len(l) > observe.MaxLine {
		return true
	}
	ip, ok := observe.QuickIP(l)
	if !ok || s.relevantIP(ip) {
		return false
	}
	dev, ok := observe.QuickDevice(l)
	return ok && !s.candHash.has(hashDeviceText(dev))
}

// isBlank reports whether a line holds only white space, as ParseLine
// decides it.
func isBlank(l []byte) bool {
	for _, c := range l {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
