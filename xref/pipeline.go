package xref

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/cybertip"
	"github.com/seams-dev/seams/internal/chunk"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/hashset"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/mapfile"
	"github.com/seams-dev/seams/internal/ordered"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/reportfile"
)

// The pipeline is package ordered's, as derive's is:
//
//	read (1 goroutine)  ->  parse + match (Workers goroutines)  ->  write (the caller's goroutine)
//
// The reader (read) cuts each input into chunks of whole lines, or parses
// an input in another format into batches of records. Workers (worker.process)
// parse and match a chunk at a time and encode its findings and
// rejections into the chunk's result; nothing they do depends on another
// chunk. The writer (writeJob) takes results in chunk order, so output is
// in input order whatever the timing, and does the only order-dependent
// work: the duplicate-id check ("the first one stands"), the tally and the
// writes. At most ordered.InFlight chunks exist at once, which bounds
// memory.

type pipeline struct {
	mapMu  sync.Mutex
	mapped []*mapfile.File // inputs mapped into memory, unmapped at the end
	over   bool            // the run is over: map nothing more
	ins    *inputs
	arrays []bool // per input: its first bytes open a JSON array
	// Per input: its size and SHA-256, for the summary; a mapped input is
	// hashed by a goroutine of its own (hashing), beside the workers, until
	// the run ends (hashCtx: the run's, which outlives the pipeline's).
	sums    []inputSum
	hashing sync.WaitGroup
	hashCtx context.Context
	// Per input read by the CyberTipline reader: elements skipped and
	// characters replaced (see cybertip.Counts).
	skipped, replaced []int
	o                 Options
	x                 *match.Index
	findings          io.Writer
	rj                *rejections
	tally             *tally
	pool              jobPool
	seed              [2]maphash.Seed // the workers' id hashes

	bytesRead atomic.Int64
	reports   atomic.Int64

	ids *idset.Checker
	// reserved: the id set was sized (see writeJob).
	reserved bool
	// Per report input: what the writer counted of it.
	inputs []seams.InputCount
	// Per report input: the lines of its chunks written so far, and the
	// start of its rejections as jsonl.AppendRejected writes them, up to
	// the line number.
	lineBase  []int
	rejPrefix [][]byte
	rejected  []byte        // writer scratch
	hashes    []hashset.Key // writer scratch
	dups      []bool

	written int64 // bytes written to findings
	caps    caps
	e       *enrich.Enrichment
}

// job is one chunk on its way through the pipeline.
type job struct {
	file int
	cr   *chunk.Reader
	c    *chunk.Chunk
	pre  *batch // records already parsed by a seams.ReportReader; c is nil then
	res  result
}

// batch is a run of records of an input in a format other than JSON Lines,
// parsed by the reader goroutine and copied out of the ReportReader, so
// that workers only match them.
type batch struct {
	reports []seams.Report
	items   []batchItem
	raw     []byte // the raw text of every record, back to back
}

// batchItem is one record of a batch.
type batchItem struct {
	line           int
	whole          *seams.RecordError // rejected whole
	parts          []seams.RecordError
	report         int // index in reports, when whole is nil
	rawOff, rawEnd int
}

// data returns the bytes a rec's rawOff/rawEnd refer to.
func (j *job) data() []byte {
	if j.pre != nil {
		return j.pre.raw
	}
	return j.c.Data
}

// release gives the job's input memory back.
func (j *job) release() {
	if j.c != nil {
		j.cr.Release(j.c)
	}
}

// result is what a worker made of a chunk.
type result struct {
	recs     []rec
	findings []byte // encoded findings of all reports, in order
	rejects  []byte // encoded rejections, in order
	cts      []compoundTier
	ids      []byte  // report ids, for the duplicate check's message
	refs     []int32 // distinct indicators in the evidence of each report
	tieRefs  []int32 // indicators whose evidence ties each tied finding
	asns     []asnOrg
	// lines is the number of lines of a chunk of JSON Lines, whose line
	// numbers are relative to the chunk (chunk.Reader.Relative) until the
	// writer adds the lines of the chunks before.
	lines int
}

// rec is the outcome of one non-blank line.
type rec struct {
	line     int
	report   bool // false: the line was rejected whole (rejects[rejOff:rejEnd])
	hash     hashset.Key
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
	refOff   int
	refEnd   int
	events   int
	devices  int
	unroute  int
	undated  int
	nfinding int
}

// compoundTier is one finding of a report, for the tally, and for a tied
// one, where it is and what tied it, in case its indicators turn out to be
// over-correlated (see capping.go).
type compoundTier struct {
	compound         int32
	tier             seams.Tier
	findOff, findEnd int32 // the finding's line in result.findings, from the report's findOff
	tieOff, tieEnd   int32 // result.tieRefs of a tied finding
	asnOff, asnEnd   int32 // result.asns: the ASes of its evidence addresses
	signals          seams.Signals
}

// run runs the pipeline over the report inputs and returns what was read
// of each.
func (p *pipeline) run(ctx context.Context) ([]seams.InputCount, error) {
	ctx, cancel := context.WithCancel(ctx)
	// Unmapping waits for the hashing of mapped inputs, which stops early
	// when the run is cancelled; ordered.Run has waited for the workers,
	// which read the mappings, by then.
	defer func() {
		cancel()
		p.unmapAll()
	}()
	p.hashCtx = ctx
	p.inputs = make([]seams.InputCount, len(p.o.Reports))
	for i, name := range p.o.Reports {
		p.inputs[i] = seams.InputCount{File: name, Kind: "reports"}
	}
	p.seed = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	stopProgress := p.progress()
	defer stopProgress()

	// Report ids seen so far, as 128-bit hashes, within the memory
	// budget (beyond it, see package idset).
	p.ids = p.newChecker()
	defer func() {
		if p.ids != nil {
			p.ids.Finish()
		}
	}()
	err := ordered.Run(ctx, ordered.Stages[*job]{
		Workers:   p.o.Workers,
		Read:      p.read,
		NewWorker: p.newWorker,
		Write:     p.writeJob,
		Name:      func(j *job) string { return p.o.Reports[j.file] },
		// The reader may be blocked on a pipe that never ends; a FIFO's
		// read can be interrupted, and the reader leaves any mapping
		// alone once the run is over (mapMu).
		Interrupt: p.ins.interrupt,
	})
	if err != nil {
		return nil, err
	}
	return p.finish(p.inputs)
}

// jobPool recycles jobs with their result buffers, so that a long run
// does not make garbage in proportion to its input.
type jobPool struct{ sync.Pool }

// get returns a job for a chunk of input file.
func (jp *jobPool) get(file int, cr *chunk.Reader, c *chunk.Chunk) *job {
	j, _ := jp.Get().(*job)
	if j == nil {
		j = new(job)
	}
	res := j.res
	*j = job{file: file, cr: cr, c: c, res: result{
		recs: res.recs[:0], findings: res.findings[:0], rejects: res.rejects[:0], cts: res.cts[:0], ids: res.ids[:0],
		refs: res.refs[:0], tieRefs: res.tieRefs[:0], asns: res.asns[:0]}}
	return j
}

// batch returns a job for a batch of records parsed by a ReportReader.
func (jp *jobPool) batch(file int, b *batch) *job {
	j := jp.get(file, nil, nil)
	j.pre = b
	return j
}

// read is the reader stage: it reads the inputs in order and sends their
// chunks and batches to the workers.
func (p *pipeline) read(ctx context.Context, send func(*job) bool) error {
	for i := range p.o.Reports {
		if ctx.Err() != nil {
			return nil
		}
		if err := p.safeReadInput(ctx, i, send); err != nil {
			return err
		}
	}
	return nil
}

// newWorker returns the work of one worker goroutine, with its own parser
// and matcher.
func (p *pipeline) newWorker() func(*job) error {
	w := &worker{o: &p.o, x: p.x, m: match.NewMatcher(p.x, p.o.Drift), seed: p.seed, e: p.e}
	w.m.Only(p.o.Rules...)
	w.ids = make(map[string]int32, len(p.x.Compounds()))
	for i, c := range p.x.Compounds() {
		w.ids[c.ID] = int32(i)
	}
	return func(j *job) error {
		w.process(j)
		return nil
	}
}

// writeJob is the writer stage: it writes one job's results, in input
// order, and recycles the job.
func (p *pipeline) writeJob(j *job) error {
	if !p.reserved && len(j.res.recs) > 0 && j.pre == nil {
		// Size the id set from the first chunk's line length and the
		// size of the plain input files, so that it never has to grow
		// (and copy itself) on the way.
		p.reserved = true
		p.ids.Reserve(int(p.ins.plainBytes(p.o.Format) / int64(max(len(j.data())/len(j.res.recs), 1))))
	}
	if err := p.write(j, &p.inputs[j.file]); err != nil {
		return err
	}
	j.release()
	p.pool.Put(j)
	return nil
}

// finish completes what the writer counted of each input with its size,
// hash and the reader's counts, and ends the duplicate check: a repeat
// beyond the id budget means the run must be made again (errRerun).
func (p *pipeline) finish(inputs []seams.InputCount) ([]seams.InputCount, error) {
	p.hashing.Wait()
	for i := range inputs {
		if err := p.sums[i].err; err != nil {
			return nil, err
		}
		inputs[i].Size, inputs[i].SHA256 = p.sums[i].size, p.sums[i].sum
		inputs[i].SkippedElements, inputs[i].ReplacedChars = p.skipped[i], p.replaced[i]
	}
	ids := p.ids
	p.ids = nil
	dups, err := ids.Finish()
	if err != nil {
		return nil, err
	}
	if dups != nil {
		return nil, &errRerun{dups}
	}
	return inputs, nil
}

// errRerun ends a run whose report ids went beyond the memory budget and
// repeated there: its output is wrong, and the run must be made again
// knowing the repeats (see package idset).
type errRerun struct{ dups *idset.Dups }

func (e *errRerun) Error() string {
	return fmt.Sprintf("%d duplicate report ids beyond the id memory budget: run again", e.dups.Len())
}

// newChecker returns the duplicate check of the run: a second pass knows
// the duplicates of the first. An input that is not a regular file (standard
// input, a pipe, a FIFO) cannot be read twice, so a run that reads one keeps
// every id in memory.
func (p *pipeline) newChecker() *idset.Checker {
	if p.o.dups != nil {
		return idset.Known(p.o.idBudget(), 0, p.o.dups)
	}
	budget := p.o.idBudget()
	if !p.ins.rereadable() {
		budget = math.MaxInt
	}
	return idset.New(budget, p.o.Readers.CSV.TempDir, 0)
}

// readInput reads report input i and sends its chunks or batches. A
// regular, uncompressed file of JSON Lines is mapped and cut into chunks in
// place; any other input of JSON Lines (standard input, a pipe, compressed
// data) is read into chunk buffers; an input in another format is parsed
// here by its ReportReader and handed on in batches. Each input is opened
// once (see package input): nothing is read twice or out of order.
func (p *pipeline) readInput(ctx context.Context, i int, send func(*job) bool) error {
	name := p.o.Reports[i]
	in, err := p.ins.open(ctx, i)
	if err != nil {
		return err
	}
	m, err := in.Map()
	switch {
	case err == nil:
		head := m.Data[:min(len(m.Data), reportfile.SniffSize)]
		f := reportfile.Detect(p.o.Format, name, head)
		if err := reportfile.CheckHead(name, f, head); err != nil {
			m.Close()
			return err
		}
		p.arrays[i] = f == reportfile.JSONL && reportfile.LooksLikeJSONArray(head)
		if f == reportfile.JSONL {
			if !p.addMapping(m) {
				return nil // the run is over
			}
			p.hashMapped(i, m)
			return p.sendMapped(i, m, func(cr *chunk.Reader, c *chunk.Chunk) bool { return send(p.pool.get(i, cr, c)) })
		}
		m.Close() // another format: read as a stream
	case !errors.Is(err, mapfile.ErrUnsupported):
		return err
	}
	r, err := in.Reader()
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(reportfile.SniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("%s: %w", name, err)
	}
	f := reportfile.Detect(p.o.Format, name, head)
	if err := reportfile.CheckHead(name, f, head); err != nil {
		return err
	}
	p.arrays[i] = f == reportfile.JSONL && reportfile.LooksLikeJSONArray(head)
	if f != reportfile.JSONL {
		if err := p.sendRecords(ctx, i, f, br, func(b *batch) bool { return send(p.pool.batch(i, b)) }); err != nil || ctx.Err() != nil {
			return err
		}
		return p.finishStream(i, in)
	}
	cr := chunk.NewReader(br, p.o.ChunkSize, p.o.MaxLine, seams.MaxRaw)
	cr.Relative = true // the writer numbers lines (relines)
	for {
		c, err := cr.Next()
		if err == io.EOF {
			return p.finishStream(i, in)
		}
		if err != nil {
			return wrapName(name, err)
		}
		if !send(p.pool.get(i, cr, c)) {
			return nil
		}
	}
}

// inputSum is the size and SHA-256 of an input as read.
type inputSum struct {
	size int64
	sum  string
	err  error
}

// finishStream records the size and SHA-256 of an input read as a stream,
// reading what its reader left (see input.File.Finish).
func (p *pipeline) finishStream(i int, in *input.File) error {
	size, sum, err := in.Finish()
	if err != nil {
		return wrapName(p.o.Reports[i], err)
	}
	p.sums[i] = inputSum{size: size, sum: sum}
	return nil
}

// hashMapped hashes a mapped input in a goroutine of its own, a
// megabyte at a time, stopping early when the run ends. A fault (the file
// cut short) is the input's error, met at the end of the run.
func (p *pipeline) hashMapped(i int, m *mapfile.File) {
	ctx := p.hashCtx
	p.hashing.Add(1)
	go func() {
		defer p.hashing.Done()
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if v := recover(); v != nil {
				p.sums[i] = inputSum{err: ordered.Recovered(p.o.Reports[i], v)}
			}
		}()
		h := sha256.New()
		for off := 0; off < len(m.Data); off += 1 << 20 {
			if ctx.Err() != nil {
				return
			}
			h.Write(m.Data[off:min(off+1<<20, len(m.Data))])
		}
		p.sums[i] = inputSum{size: int64(len(m.Data)), sum: hex.EncodeToString(h.Sum(nil))}
	}()
}

// safeReadInput is readInput, turning a panic in a reader into the run's
// error.
func (p *pipeline) safeReadInput(ctx context.Context, i int, send func(*job) bool) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = ordered.Recovered(p.o.Reports[i], v)
		}
	}()
	return p.readInput(ctx, i, send)
}

// wrapName prefixes err with an input's name unless it names it already.
func wrapName(name string, err error) error {
	if strings.HasPrefix(err.Error(), name+":") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// addMapping records a mapping to unmap at the end of the run, and holds
// mapMu for sendMapped: unmapAll waits for it. It returns false, having
// unmapped m, when the run is over already.
func (p *pipeline) addMapping(m *mapfile.File) bool {
	p.mapMu.Lock()
	if p.over {
		p.mapMu.Unlock()
		m.Close()
		return false
	}
	p.mapped = append(p.mapped, m)
	return true
}

// sendMapped cuts a mapped input into chunks and sends them; it is called
// with mapMu held (addMapping) and releases it. A fault while reading the
// mapping (the file was truncated meanwhile) becomes an error.
func (p *pipeline) sendMapped(file int, m *mapfile.File, send func(*chunk.Reader, *chunk.Chunk) bool) (err error) {
	defer p.mapMu.Unlock()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = ordered.Recovered(p.o.Reports[file], v)
		}
	}()
	cr := chunk.NewBytes(m.Data, p.o.ChunkSize, p.o.MaxLine, seams.MaxRaw)
	cr.Released = m.Drop
	cr.Relative = true // the writer numbers lines (relines)
	for {
		c, err := cr.Next()
		if err == io.EOF {
			return nil
		}
		if !send(cr, c) {
			return nil
		}
	}
}

// sendRecords reads an input of format f with its ReportReader and sends
// its records in batches of about ChunkSize bytes of raw text (or
// batchRecords records).
func (p *pipeline) sendRecords(ctx context.Context, file int, f reportfile.Format, r io.Reader, send func(*batch) bool) error {
	name := p.o.Reports[file]
	rd, err := newReportReader(f, r, name, p.o.Readers)
	if err != nil {
		return err
	}
	if c, ok := rd.(io.Closer); ok {
		defer c.Close() // a CSV reader's spill files
	}
	if c, ok := rd.(interface{ Counts() cybertip.Counts }); ok {
		defer func() {
			n := c.Counts()
			p.skipped[file], p.replaced[file] = n.Unknown, n.Replaced
		}()
	}
	const batchRecords = 4096
	b := &batch{}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		it := batchItem{line: rec.Line, rawOff: len(b.raw)}
		b.raw = append(b.raw, rec.Raw...)
		it.rawEnd = len(b.raw)
		if rec.Whole != nil {
			w := *rec.Whole
			it.whole = &w
		} else {
			it.report = len(b.reports)
			b.reports = append(b.reports, rec.Report.Clone())
			it.parts = slices.Clone(rec.Parts)
		}
		b.items = append(b.items, it)
		if len(b.items) >= batchRecords || len(b.raw) >= p.o.ChunkSize {
			if !send(b) {
				return ctx.Err()
			}
			b = &batch{}
		}
	}
	if len(b.items) > 0 && !send(b) {
		return ctx.Err()
	}
	return nil
}

// unmapAll unmaps the inputs at the end of the run, once no worker reads
// them; mapMu waits for a reader still cutting one into chunks.
func (p *pipeline) unmapAll() {
	p.hashing.Wait()
	p.mapMu.Lock()
	defer p.mapMu.Unlock()
	p.over = true
	for _, m := range p.mapped {
		m.Close()
	}
	p.mapped = nil
}

// relines turns the line numbers of a chunk of JSON Lines, which its
// worker numbered from 1, into the input's, in its records and in the
// rejections it encoded; they are rare, so the common case costs nothing
// but the sum.
func (p *pipeline) relines(j *job) {
	if p.lineBase == nil {
		p.lineBase = make([]int, len(p.o.Reports))
		p.rejPrefix = make([][]byte, len(p.o.Reports))
	}
	res := &j.res
	base := p.lineBase[j.file] + j.c.FirstLine - 1
	p.lineBase[j.file] += res.lines
	if base == 0 {
		return
	}
	for i := range res.recs {
		res.recs[i].line += base
	}
	if len(res.rejects) == 0 {
		return
	}
	prefix := p.rejPrefix[j.file]
	if prefix == nil {
		prefix = jsonl.AppendString([]byte(`{"file":`), p.o.Reports[j.file])
		prefix = append(prefix, `,"line":`...)
		p.rejPrefix[j.file] = prefix
	}
	out := p.rejected[:0]
	for i := range res.recs {
		r := &res.recs[i]
		start := len(out)
		for _, line := range bytes.SplitAfter(res.rejects[r.rejOff:r.rejEnd], []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			rest, ok := bytes.CutPrefix(line, prefix)
			k := bytes.IndexByte(rest, ',')
			n, err := strconv.Atoi(string(rest[:max(k, 0)]))
			if !ok || k < 0 || err != nil {
				panic(fmt.Sprintf("xref: a rejection not as jsonl.AppendRejected writes it: %.200q", line))
			}
			out = append(out, prefix...)
			out = strconv.AppendInt(out, int64(n+base), 10)
			out = append(out, rest[k:]...)
		}
		r.rejOff, r.rejEnd = start, len(out)
	}
	p.rejected, res.rejects = res.rejects, out
}

// write commits one chunk's results in order.
func (p *pipeline) write(j *job, in *seams.InputCount) error {
	res := &j.res
	name := p.o.Reports[j.file]
	if j.c != nil {
		p.relines(j)
	}
	// The duplicate check for the whole chunk at once (see InsertMany).
	p.hashes, p.dups = p.hashes[:0], p.dups[:0]
	for i := range res.recs {
		if res.recs[i].report {
			p.hashes = append(p.hashes, res.recs[i].hash)
		}
	}
	p.dups = slices.Grow(p.dups, len(p.hashes))[:len(p.hashes)]
	if err := p.ids.Check(p.hashes, p.dups); err != nil {
		return err
	}
	k := 0
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
		dup := p.dups[k]
		k++
		if dup {
			in.Rejected++
			e := seams.RecordError{File: name, Line: r.line,
				Reason: fmt.Sprintf("duplicate report id %q (the first one stands)", res.ids[r.idOff:r.idEnd]),
				Raw:    seams.TruncateRaw(j.data()[r.rawOff:r.rawEnd])}
			if err := p.rj.add(&e); err != nil {
				return err
			}
			continue
		}
		if _, err := p.findings.Write(res.findings[r.findOff:r.findEnd]); err != nil {
			return fmt.Errorf("write %s: %w", FindingsFile, err)
		}
		if err := p.caps.add(res, r, p.written); err != nil {
			return err
		}
		p.written += int64(r.findEnd - r.findOff)
		if r.nrej > 0 {
			in.PartsRejected += r.nrej
			if err := p.rj.addBytes(res.rejects[r.rejOff:r.rejEnd], r.nrej); err != nil {
				return err
			}
		}
		p.tally.add(r, res.cts[r.ctOff:r.ctEnd], res.asns)
	}
	p.bytesRead.Add(int64(len(j.data())))
	p.reports.Add(int64(len(res.recs)))
	return nil
}

// worker parses and matches chunks. Each has its own parser, reports and
// matcher, so the steady state allocates nothing.
type worker struct {
	o       *Options
	x       *match.Index
	m       *match.Matcher
	p       jsonl.Parser
	reports []seams.Report // the reports of the chunk being processed
	recOf   []int          // for each of them, its rec
	seed    [2]maphash.Seed
	ids     map[string]int32 // compound id -> index
	rejBuf  seams.RecordError
	e       *enrich.Enrichment
}

// compoundOf returns the index and the compound of an id.
func (w *worker) compoundOf(id string) (int, *seams.Compound) {
	i := w.ids[id]
	return int(i), &w.x.Compounds()[i]
}

// process parses every line of the chunk, then matches all its reports at
// once (Matcher.MatchAll overlaps their lookups), then encodes findings.
func (w *worker) process(j *job) {
	res := &j.res
	name := w.o.Reports[j.file]
	if w.ids == nil {
		w.ids = make(map[string]int32, len(w.x.Compounds()))
		for i, c := range w.x.Compounds() {
			w.ids[c.ID] = int32(i)
		}
	}
	if j.pre != nil {
		w.processBatch(j)
		return
	}
	defer w.p.Reset()
	c := j.c
	if c.Long {
		res.rejects = jsonl.AppendRejected(res.rejects, jsonl.LongLine(name, c.FirstLine, c.Data, w.o.MaxLine))
		res.recs = append(res.recs, rec{line: c.FirstLine, rejEnd: len(res.rejects)})
		res.lines = 1
		return
	}
	data := c.Data
	k := 0 // reports parsed
	w.recOf = w.recOf[:0]
	n := c.FirstLine
	defer func() { res.lines = n - c.FirstLine }()
	for off := 0; off < len(data); n++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		line := data[off:end]
		lineOff := off
		off = end + 1

		if k == len(w.reports) {
			w.reports = append(w.reports, seams.Report{})
		}
		r := &w.reports[k]
		ok, rej := w.p.ParseLine(name, n, line, w.o.MaxLine, r)
		if rej != nil {
			start := len(res.rejects)
			res.rejects = jsonl.AppendRejected(res.rejects, rej)
			res.recs = append(res.recs, rec{line: n, rejOff: start, rejEnd: len(res.rejects)})
			continue
		}
		if !ok {
			continue // blank line
		}
		rc := rec{line: n, report: true, rawOff: lineOff, rawEnd: end,
			events: len(r.IPs), devices: len(r.Devices)}
		rc.hash = hashset.Key{maphash.String(w.seed[0], r.ID), maphash.String(w.seed[1], r.ID)}
		rc.idOff = len(res.ids)
		res.ids = append(res.ids, r.ID...)
		rc.idEnd = len(res.ids)

		rc.rejOff = len(res.rejects)
		for q := range w.p.Problems {
			pr := &w.p.Problems[q]
			w.rejBuf = seams.RecordError{File: name, Line: n, Item: pr.Item(), Reason: pr.Reason, Raw: seams.TruncateRaw(pr.Raw)}
			res.rejects = jsonl.AppendRejected(res.rejects, &w.rejBuf)
		}
		rc.nrej = len(w.p.Problems)
		rc.rejEnd = len(res.rejects)
		rc.unroute, rc.undated = unroutable(r), undated(r)
		res.recs = append(res.recs, rc)
		w.recOf = append(w.recOf, len(res.recs)-1)
		k++
	}
	w.match(res, w.reports[:k])
}

// processBatch turns a batch of records parsed by a ReportReader into a
// result, as process does for a chunk of JSON Lines.
func (w *worker) processBatch(j *job) {
	res := &j.res
	b := j.pre
	w.recOf = w.recOf[:0]
	for i := range b.items {
		it := &b.items[i]
		if it.whole != nil {
			start := len(res.rejects)
			res.rejects = jsonl.AppendRejected(res.rejects, it.whole)
			res.recs = append(res.recs, rec{line: it.line, rejOff: start, rejEnd: len(res.rejects)})
			continue
		}
		r := &b.reports[it.report]
		rc := rec{line: it.line, report: true, rawOff: it.rawOff, rawEnd: it.rawEnd,
			events: len(r.IPs), devices: len(r.Devices)}
		rc.hash = hashset.Key{maphash.String(w.seed[0], r.ID), maphash.String(w.seed[1], r.ID)}
		rc.idOff = len(res.ids)
		res.ids = append(res.ids, r.ID...)
		rc.idEnd = len(res.ids)
		rc.rejOff = len(res.rejects)
		for q := range it.parts {
			res.rejects = jsonl.AppendRejected(res.rejects, &it.parts[q])
		}
		rc.nrej = len(it.parts)
		rc.rejEnd = len(res.rejects)
		rc.unroute, rc.undated = unroutable(r), undated(r)
		res.recs = append(res.recs, rc)
		w.recOf = append(w.recOf, len(res.recs)-1)
	}
	w.match(res, b.reports)
}

// newReportReader is reportfile.NewReader; tests replace it to send JSON
// Lines through the batch path and compare with the chunk path.
var newReportReader = reportfile.NewReaderOptions

// unroutable counts the ip events of r whose address can never match.
func unroutable(r *seams.Report) int {
	n := 0
	for e := range r.IPs {
		a := r.IPs[e].Addr
		if a.Is4() {
			if nonRoutable4(a.As4()) {
				n++
			}
		} else if seams.NonRoutable(a) != "" {
			n++
		}
	}
	return n
}

// undated counts the ip events of r without a time (rule ip-undated).
func undated(r *seams.Report) int {
	n := 0
	for e := range r.IPs {
		if r.IPs[e].At.IsZero() {
			n++
		}
	}
	return n
}

// nonRoutable4 is seams.NonRoutable(a) != "" for an IPv4 address, from its
// first two bytes: private (10/8, 172.16/12, 192.168/16), loopback
// (127/8), link-local (169.254/16), multicast (224/4), carrier-grade NAT
// (100.64/10), unspecified (0.0.0.0).
func nonRoutable4(a [4]byte) bool {
	switch a[0] {
	case 10, 127:
		return true
	case 172:
		return a[1]&0xf0 == 16
	case 192:
		return a[1] == 168
	case 169:
		return a[1] == 254
	case 100:
		return a[1]&0xc0 == 64
	case 0:
		return a == [4]byte{}
	}
	return a[0]&0xf0 == 224
}

// match matches reports, the i-th of which is the report of rec
// w.recOf[i], and encodes their findings into res.
func (w *worker) match(res *result, reports []seams.Report) {
	// A report without findings keeps the empty ranges findOff == findEnd
	// == 0 and ctOff == ctEnd == 0.
	w.m.MatchAll(reports, func(i int, fs []seams.Finding) {
		w.e.Enrich(fs, w.compoundOf)
		rc := &res.recs[w.recOf[i]]
		rc.findOff, rc.ctOff, rc.refOff = len(res.findings), len(res.cts), len(res.refs)
		for f := range fs {
			start := len(res.findings)
			res.findings = jsonl.AppendFinding(res.findings, &fs[f])
			ct := compoundTier{compound: w.ids[fs[f].Compound], tier: fs[f].Tier,
				findOff: int32(start - rc.findOff), findEnd: int32(len(res.findings) - rc.findOff)}
			ct.tieOff = int32(len(res.tieRefs))
			if w.o.capping() && fs[f].Tier == seams.TierTied {
				// Which indicators tie it, in case they are capped.
				res.tieRefs = match.TieRefs(res.tieRefs, &fs[f])
			}
			ct.tieEnd = int32(len(res.tieRefs))
			ct.asnOff = int32(len(res.asns))
			for e := range fs[f].Evidence {
				n := &fs[f].Evidence[e].Observed.Net
				if n.ASN != 0 && !slices.ContainsFunc(res.asns[ct.asnOff:], func(a asnOrg) bool { return a.asn == n.ASN }) {
					res.asns = append(res.asns, asnOrg{n.ASN, n.Org})
				}
			}
			ct.asnEnd = int32(len(res.asns))
			ct.signals = fs[f].Signals
			res.cts = append(res.cts, ct)
		}
		if w.o.capping() {
			// For the over-correlation check: the indicators the report
			// counts for (see match.CountedRefs).
			res.refs = match.CountedRefs(res.refs, fs)
		}
		rc.findEnd, rc.ctEnd, rc.refEnd = len(res.findings), len(res.cts), len(res.refs)
		rc.nfinding = len(fs)
	})
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
