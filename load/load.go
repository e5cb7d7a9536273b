// Package load imports files into a store: compounds, indicators and
// shared-space lists (CSV and text, read with package registry) and reports
// in any format package reportfile reads (JSON Lines, CSV, CyberTipline
// XML). Every record read is stored, already stored, or handed to the
// Reject function with its file, line and reason.
//
// Registry files are loaded in one transaction each: a file is a version,
// stored whole or not at all. Reports are loaded in batches of
// Options.Batch, one transaction each, so a load that is stopped keeps the
// batches it committed; loading the file again stores the rest and changes
// nothing else.
package load

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hashset"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/reportfile"
)

// Options configures a load. Use NewOptions for the defaults.
type Options struct {
	// Name is the file's name in the store (provenance, and for indicator
	// files the set a load replaces); default: the base name of the path,
	// "stdin" for "-".
	Name string
	// Shared makes the loaded indicators or reports visible to other
	// organisations.
	Shared bool
	// Source says where reports came from (a hotline, a partner); default
	// the name.
	Source string
	// Format is the format of report files; "" finds it from the name and
	// the content (see package reportfile).
	Format reportfile.Format
	// Batch is the number of reports stored per transaction.
	Batch  int
	Stdin  io.Reader
	Reject func(*seams.RecordError) // nil drops rejections (they are still counted)
	Logger *slog.Logger
}

// DefaultBatch is the number of reports stored per transaction: large
// enough that a commit's cost (an fsync) is spread thin, small enough that
// a stopped load loses little work.
const DefaultBatch = 2000

// NewOptions returns the default options.
func NewOptions() Options {
	return Options{Batch: DefaultBatch, Stdin: os.Stdin, Logger: slog.New(slog.DiscardHandler)}
}

// Result is what a load did. Every record read is counted once: Read =
// New + Updated + Unchanged + Rejected for reports and compounds; for
// indicators and shared space, Unchanged counts the rows kept from the
// file's previous version and Retired those it no longer lists.
type Result struct {
	seams.LoadResult
	Read     int // records read
	Rejected int // records rejected whole
	// PartsRejected counts parts of stored reports rejected on their own
	// (an ip event, a device, a field).
	PartsRejected int
}

func (o *Options) defaults(path string) {
	if o.Name == "" {
		o.Name = filepath.Base(path)
		if path == "-" {
			o.Name = "stdin"
		}
	}
	if o.Source == "" {
		o.Source = o.Name
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
}

// counter counts rejections and passes them on.
type counter struct {
	o     *Options
	whole int
	parts int
}

func (c *counter) reject(e *seams.RecordError) {
	if e.Item == "" {
		c.whole++
	} else {
		c.parts++
	}
	if c.o.Reject != nil {
		c.o.Reject(e)
	}
}

// open opens path ("-" for o.Stdin; ".gz" decompressed) and returns a
// reader that also hashes the bytes read.
func open(path string, o *Options) (io.Reader, func() [32]byte, func() error, error) {
	var r io.Reader
	closeFn := func() error { return nil }
	if path == "-" {
		r = o.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, nil, err
		}
		r, closeFn = f, f.Close
	}
	h := sha256.New()
	r = io.TeeReader(r, h)
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(r)
		if err != nil {
			closeFn()
			return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = z
	}
	sum := func() [32]byte {
		var s [32]byte
		h.Sum(s[:0])
		return s
	}
	return r, sum, closeFn, nil
}

// Compounds loads a compounds CSV.
func Compounds(ctx context.Context, st seams.Loader, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	c := &counter{o: &o}
	r, _, closeFn, err := open(path, &o)
	if err != nil {
		return res, fmt.Errorf("compounds: %w", err)
	}
	defer closeFn()
	cs, err := registry.ReadCompounds(r, path, c.reject)
	if err != nil {
		return res, err
	}
	keep := cs[:0]
	for i := range cs {
		if why := seams.UnstorableCompound(&cs[i]); why != "" {
			c.reject(&seams.RecordError{File: path, Reason: fmt.Sprintf("compound %s: %s", cs[i].ID, why)})
			continue
		}
		keep = append(keep, cs[i])
	}
	res.Read = len(cs) + c.whole - (len(cs) - len(keep))
	res.LoadResult, err = st.PutCompounds(ctx, p, o.Name, keep)
	res.Rejected = c.whole
	return res, err
}

// Indicators loads an indicators CSV as the new version of the file named
// o.Name of p's organisation. The compounds must be stored first.
func Indicators(ctx context.Context, st interface {
	seams.Loader
	Compounds(context.Context) ([]seams.Compound, error)
}, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	c := &counter{o: &o}
	compounds, err := st.Compounds(ctx)
	if err != nil {
		return res, err
	}
	ids := make(map[string]int, len(compounds))
	for i, c := range compounds {
		ids[c.ID] = i
	}
	r, sum, closeFn, err := open(path, &o)
	if err != nil {
		return res, fmt.Errorf("indicators: %w", err)
	}
	defer closeFn()
	inds, err := registry.ReadIndicators(r, path, ids, c.reject)
	if err != nil {
		return res, err
	}
	if _, err := io.Copy(io.Discard, r); err != nil { // hash the whole file, even bytes the reader did not need
		return res, fmt.Errorf("%s: %w", path, err)
	}
	read := len(inds)
	keep := inds[:0]
	for i := range inds {
		if why := seams.UnstorableIndicator(&inds[i]); why != "" {
			c.reject(&seams.RecordError{File: path, Line: inds[i].Line, Reason: why})
			continue
		}
		inds[i].File = o.Name
		keep = append(keep, inds[i])
	}
	res.Read = read + c.whole - (read - len(keep))
	res.LoadResult, err = st.PutIndicators(ctx, p, seams.IndicatorFile{Name: o.Name, Shared: o.Shared, SHA256: sum()}, keep)
	res.Rejected = c.whole
	return res, err
}

// Shared loads a shared-space list, replacing what the file of the same
// name listed before.
func Shared(ctx context.Context, st seams.Loader, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	c := &counter{o: &o}
	r, _, closeFn, err := open(path, &o)
	if err != nil {
		return res, fmt.Errorf("shared: %w", err)
	}
	defer closeFn()
	prefixes, err := registry.ReadShared(r, path, c.reject)
	if err != nil {
		return res, err
	}
	res.Read = len(prefixes) + c.whole
	res.LoadResult, err = st.PutShared(ctx, p, o.Name, prefixes)
	res.Rejected = c.whole
	return res, err
}

// Reports loads report files, o.Batch reports a transaction. Report ids
// must be unique across the files of one call, as across the inputs of a
// cross-reference run: a repeated id is rejected (the first one stands).
// A report stored by an earlier load with the same content is already
// stored; with other content it is rejected.
func Reports(ctx context.Context, st seams.Loader, p seams.Principal, paths []string, o Options) (Result, error) {
	var total Result
	l := &reportLoader{st: st, p: p, seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	for _, path := range paths {
		oo := o
		oo.defaults(path)
		res, err := l.file(ctx, path, oo)
		total.Read += res.Read
		total.Rejected += res.Rejected
		total.PartsRejected += res.PartsRejected
		total.New += res.New
		total.Updated += res.Updated
		total.Unchanged += res.Unchanged
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

type reportLoader struct {
	st   seams.Loader
	p    seams.Principal
	ids  hashset.Set // ids read in this load
	seed [2]maphash.Seed
}

func (l *reportLoader) file(ctx context.Context, path string, o Options) (Result, error) {
	var res Result
	c := &counter{o: &o}
	name := path // as rejections name the input
	if path == "-" {
		name = o.Name
	}
	in, closeFn, err := openReports(path, &o)
	if err != nil {
		return res, err
	}
	defer closeFn()
	batch := seams.ReportBatch{File: o.Name, Source: o.Source, Shared: o.Shared}
	var reports []seams.Report
	var raws []string // each report's text, for a rejection by the store
	flush := func() error {
		if len(reports) == 0 {
			return nil
		}
		lr, rej, err := l.st.PutReports(ctx, l.p, batch, reports)
		if err != nil {
			return fmt.Errorf("store reports of %s lines %d-%d: %w", path, batch.Lines[0], batch.Lines[len(batch.Lines)-1], err)
		}
		for _, e := range rej {
			// The store names the file as stored; the person loading
			// knows it by the path given.
			e.File = name
			if e.Raw == "" {
				for i, n := range batch.Lines {
					if n == e.Line {
						e.Raw = raws[i]
						break
					}
				}
			}
			c.reject(e)
		}
		res.New += lr.New
		res.Updated += lr.Updated
		res.Unchanged += lr.Unchanged
		o.Logger.Debug("reports committed", "file", path, "through_line", batch.Lines[len(batch.Lines)-1], "new", lr.New)
		reports, raws, batch.Lines = reports[:0], raws[:0], batch.Lines[:0]
		return nil
	}
	for {
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return l.result(res, c), fmt.Errorf("%s: %w", path, err)
		}
		res.Read++
		if rec.Whole != nil {
			c.reject(rec.Whole)
			continue
		}
		r := &rec.Report
		if l.ids.Insert(hashset.Key{maphash.String(l.seed[0], r.ID), maphash.String(l.seed[1], r.ID)}) {
			c.reject(&seams.RecordError{File: name, Line: rec.Line, Reason: fmt.Sprintf("duplicate report id %q (the first one stands)", r.ID),
				Raw: seams.TruncateRaw(rec.Raw)})
			continue
		}
		for i := range rec.Parts {
			c.reject(&rec.Parts[i])
		}
		reports = append(reports, r.Clone())
		raws = append(raws, seams.TruncateRaw(rec.Raw))
		batch.Lines = append(batch.Lines, rec.Line)
		if len(reports) == o.Batch {
			if err := flush(); err != nil {
				return l.result(res, c), err
			}
			if err := ctx.Err(); err != nil {
				return l.result(res, c), err
			}
		}
	}
	err = flush()
	return l.result(res, c), err
}

func (l *reportLoader) result(res Result, c *counter) Result {
	res.Rejected, res.PartsRejected = c.whole, c.parts
	return res
}

// openReports opens a report input through package reportfile. Standard
// input is named o.Name in rejections (an upload is named by its file
// name), and decompressed when that name ends in .gz.
func openReports(path string, o *Options) (seams.ReportReader, func() error, error) {
	if path != "-" {
		in, err := reportfile.Open(path, o.Format, o.Stdin)
		if err != nil {
			return nil, nil, err
		}
		return in, in.Close, nil
	}
	var r io.Reader = o.Stdin
	if strings.HasSuffix(o.Name, ".gz") {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		r = z
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(reportfile.SniffSize) // a short input peeks short; errors surface on read
	in, err := reportfile.NewReader(reportfile.Detect(o.Format, o.Name, head), br, o.Name)
	if err != nil {
		return nil, nil, err
	}
	return in, func() error { return nil }, nil
}
