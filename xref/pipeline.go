package xref

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/chunk"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
)

// The pipeline, all in this file:
//
//	read (1 goroutine)  ->  parse + match (Workers goroutines)  ->  write (the caller's goroutine)
//
// The reader cuts each input into chunks of whole lines and numbers them.
// Workers parse and match a chunk at a time and encode its findings and
// rejections into the chunk's result; nothing they do depends on another
// chunk. The writer takes results in chunk order, so output is in input
// order whatever the timing, and does the only order-dependent work: the
// duplicate-id check ("the first one stands"), the tally and the writes.
// At most inFlight chunks exist at once, which bounds memory.

type pipeline struct {
	o        Options
	x        *match.Index
	findings io.Writer
	rj       *rejections
	tally    *tally

	bytesRead atomic.Int64
	reports   atomic.Int64
}

// job is one chunk on its way through the pipeline.
type job struct {
	seq  int
	file int
	cr   *chunk.Reader
	c    *chunk.Chunk
	err  error // a read error; it ends the run when its turn comes
	res  result
}

// result is what a worker made of a chunk.
type result struct {
	recs     []rec
	findings []byte // encoded findings of all reports, in order
	rejects  []byte // encoded rejections, in order
	cts      []compoundTier
	ids      []byte // report ids, for the duplicate check's message
}

// rec is the outcome of one non-blank line.
type rec struct {
	line     int
	report   bool // false: the line was rejected whole (rejects[rejOff:rejEnd])
	hash     [2]uint64
	idOff    int
	idEnd    int
	rawOff   int // the line in the chunk, for a duplicate's rejection
	rawEnd   int
	findOff  int
	findEnd  int
	rejOff   int
	rejEnd   int
	nrej     int // rejections in rejects[rejOff:rejEnd]
	ctOff    int
	ctEnd    int
	events   int
	devices  int
	unroute  int
	nfinding int
}

// compoundTier is one finding of a report, for the tally.
type compoundTier struct {
	compound int32
	tier     seams.Tier
}

func (p *pipeline) run(ctx context.Context) ([]seams.InputCount, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := p.o.Workers
	inFlight := 2*workers + 2
	slots := make(chan struct{}, inFlight) // a slot per chunk in flight
	jobs := make(chan *job, inFlight)
	results := make(chan *job, inFlight) // never blocks: at most inFlight jobs exist

	// Jobs are recycled with their result buffers, so a long run does not
	// make garbage in proportion to its input.
	pool := sync.Pool{New: func() any { return new(job) }}
	newJob := func(file int, cr *chunk.Reader, c *chunk.Chunk, err error) *job {
		j := pool.Get().(*job)
		res := j.res
		*j = job{file: file, cr: cr, c: c, err: err, res: result{
			recs: res.recs[:0], findings: res.findings[:0], rejects: res.rejects[:0], cts: res.cts[:0], ids: res.ids[:0]}}
		return j
	}

	// Read.
	go func() {
		defer close(jobs)
		seq := 0
		send := func(j *job) bool {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			j.seq = seq
			seq++
			jobs <- j
			return true
		}
		for i, name := range p.o.Reports {
			r, closeFn, err := openReports(name, p.o.Stdin)
			if err != nil {
				send(newJob(i, nil, nil, err))
				return
			}
			cr := chunk.NewReader(r, p.o.ChunkSize, p.o.MaxLine, seams.MaxRaw)
			for {
				c, err := cr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					closeFn()
					send(newJob(i, nil, nil, fmt.Errorf("%s: %w", name, err)))
					return
				}
				if !send(newJob(i, cr, c, nil)) {
					closeFn()
					return
				}
			}
			if err := closeFn(); err != nil {
				send(newJob(i, nil, nil, fmt.Errorf("%s: %w", name, err)))
				return
			}
		}
	}()

	// Parse and match.
	seed := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{o: &p.o, x: p.x, m: match.NewMatcher(p.x, p.o.Drift), seed: seed}
			for j := range jobs {
				if j.err == nil {
					w.process(j)
				}
				results <- j
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	stopProgress := p.progress()
	defer stopProgress()

	// Write, in order.
	inputs := make([]seams.InputCount, len(p.o.Reports))
	for i, name := range p.o.Reports {
		inputs[i] = seams.InputCount{File: name, Kind: "reports"}
	}
	ids := newIDSet()
	pending := map[int]*job{}
	next := 0
	for j := range results {
		pending[j.seq] = j
		for {
			j, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if j.err != nil {
				return nil, j.err
			}
			if err := p.write(j, ids, &inputs[j.file]); err != nil {
				return nil, err
			}
			j.cr.Release(j.c)
			pool.Put(j)
			<-slots
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return inputs, nil
}

// write commits one chunk's results in order.
func (p *pipeline) write(j *job, ids *idSet, in *seams.InputCount) error {
	res := &j.res
	name := p.o.Reports[j.file]
	for i := range res.recs {
		r := &res.recs[i]
		in.Records++
		if !r.report {
			in.Rejected++
			if err := p.rj.addBytes(res.rejects[r.rejOff:r.rejEnd], 1); err != nil {
				return err
			}
			continue
		}
		if ids.insert(r.hash) {
			in.Rejected++
			e := seams.RecordError{File: name, Line: r.line,
				Reason: fmt.Sprintf("duplicate report id %q (the first one stands)", res.ids[r.idOff:r.idEnd]),
				Raw:    seams.TruncateRaw(j.c.Data[r.rawOff:r.rawEnd])}
			if err := p.rj.add(&e); err != nil {
				return err
			}
			continue
		}
		if _, err := p.findings.Write(res.findings[r.findOff:r.findEnd]); err != nil {
			return fmt.Errorf("write %s: %w", FindingsFile, err)
		}
		if r.nrej > 0 {
			in.PartsRejected += r.nrej
			if err := p.rj.addBytes(res.rejects[r.rejOff:r.rejEnd], r.nrej); err != nil {
				return err
			}
		}
		p.tally.add(r, res.cts[r.ctOff:r.ctEnd])
	}
	p.bytesRead.Add(int64(len(j.c.Data)))
	p.reports.Add(int64(len(res.recs)))
	return nil
}

// worker parses and matches chunks. Each has its own parser, report and
// matcher, so the steady state allocates nothing.
type worker struct {
	o      *Options
	x      *match.Index
	m      *match.Matcher
	p      jsonl.Parser
	r      seams.Report
	seed   [2]maphash.Seed
	ids    map[string]int32 // compound id -> index
	rejBuf seams.RecordError
}

func (w *worker) process(j *job) {
	res := &j.res
	name := w.o.Reports[j.file]
	if w.ids == nil {
		w.ids = make(map[string]int32, len(w.x.Compounds()))
		for i, c := range w.x.Compounds() {
			w.ids[c.ID] = int32(i)
		}
	}
	defer w.p.Reset()
	c := j.c
	if c.Long {
		res.rejects = jsonl.AppendRejected(res.rejects, jsonl.LongLine(name, c.FirstLine, c.Data, w.o.MaxLine))
		res.recs = append(res.recs, rec{line: c.FirstLine, rejEnd: len(res.rejects)})
		return
	}
	data := c.Data
	for n, off := c.FirstLine, 0; off < len(data); n++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		line := data[off:end]
		lineOff := off
		off = end + 1

		ok, rej := w.p.ParseLine(name, n, line, w.o.MaxLine, &w.r)
		if rej != nil {
			start := len(res.rejects)
			res.rejects = jsonl.AppendRejected(res.rejects, rej)
			res.recs = append(res.recs, rec{line: n, rejOff: start, rejEnd: len(res.rejects)})
			continue
		}
		if !ok {
			continue // blank line
		}
		r := &w.r
		rc := rec{line: n, report: true, rawOff: lineOff, rawEnd: end,
			events: len(r.IPs), devices: len(r.Devices)}
		rc.hash = [2]uint64{maphash.String(w.seed[0], r.ID), maphash.String(w.seed[1], r.ID)}
		rc.idOff = len(res.ids)
		res.ids = append(res.ids, r.ID...)
		rc.idEnd = len(res.ids)

		rc.rejOff = len(res.rejects)
		for k := range w.p.Problems {
			q := &w.p.Problems[k]
			w.rejBuf = seams.RecordError{File: name, Line: n, Item: q.Item(), Reason: q.Reason, Raw: seams.TruncateRaw(q.Raw)}
			res.rejects = jsonl.AppendRejected(res.rejects, &w.rejBuf)
		}
		rc.nrej = len(w.p.Problems)
		rc.rejEnd = len(res.rejects)

		for k := range r.IPs {
			if seams.NonRoutable(r.IPs[k].Addr) != "" {
				rc.unroute++
			}
		}
		rc.findOff, rc.ctOff = len(res.findings), len(res.cts)
		for _, f := range w.m.Match(r) {
			res.findings = jsonl.AppendFinding(res.findings, &f)
			res.cts = append(res.cts, compoundTier{w.ids[f.Compound], f.Tier})
		}
		rc.findEnd, rc.ctEnd = len(res.findings), len(res.cts)
		rc.nfinding = rc.ctEnd - rc.ctOff
		res.recs = append(res.recs, rc)
	}
}

// progress draws a progress line on o.Progress every half second until the
// returned function is called, which clears it.
func (p *pipeline) progress() func() {
	if p.o.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(p.o.Progress, "\r\033[K")
				return
			case <-tick.C:
				b := p.bytesRead.Load()
				secs := time.Since(start).Seconds()
				fmt.Fprintf(p.o.Progress, "\r\033[Kreading reports: %s, %d lines, %.0f MB/s",
					humanBytes(b), p.reports.Load(), float64(b)/1e6/secs)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
