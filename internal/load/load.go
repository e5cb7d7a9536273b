// Package load imports files into a store: compounds, indicators and
// shared-space lists in any format package registryfile reads (CSV and the
// text list, STIX 2.1 bundles, MISP events and warninglists,
// FollowTheMoney entities), and reports in any format package reportfile
// reads (JSON Lines, CSV, CyberTipline XML). Every file is opened through
// package internal/input: "-" is standard input, and gzip or Zstandard
// data is decompressed, found from its first bytes. Every record read is
// stored, already stored, or handed to the Reject function with its file,
// line (or element path) and reason.
//
// Registry files are loaded in one transaction each: a file is a version,
// stored whole or not at all. Reports are loaded in batches of
// Options.Batch, one transaction each, so a load that is stopped keeps the
// batches it committed; loading the file again stores the rest and changes
// nothing else.
package load

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/hashset"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
)

// Options configures a load. Use NewOptions for the defaults.
type Options struct {
	// Name is the file's name in the store (provenance, and for indicator
	// files the set a load replaces); default: the base name of the path,
	// "stdin" for "-".
	Name string
	// Shared makes the loaded indicators or reports visible to other
	// organisations, and a shared-space list apply to their reports.
	Shared bool
	// Coalition loads a shared-space list into the coalition-wide set
	// (a coalition steward's, or the operator's).
	Coalition bool
	// Confirm stores a change that needs confirmation: a shared-space
	// list covering much of the address space, a compound moved far or to
	// another country (seams.ErrNeedsConfirm).
	Confirm bool
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
	// Compounds is what storing the compounds an indicators file defines
	// (a STIX bundle, MISP events) and the store did not hold did.
	Compounds seams.LoadResult
}

// Changed reports whether the load changed what the store holds: the
// file's records, or the compounds it defined.
func (r Result) Changed() bool { return r.LoadResult.Changed() || r.Compounds.Changed() }

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

// label is how rejections and errors name the input: its path, or for
// standard input the name it is stored under (an upload's file name).
func (o *Options) label(path string) string {
	if path == "-" {
		return o.Name
	}
	return path
}

// counter counts rejections and passes them on. A rejection that names
// an item is a part of a stored report; for a registry file (registry set)
// every rejection is a record, as seams xref counts them.
type counter struct {
	o        *Options
	registry bool
	whole    int
	parts    int
}

func (c *counter) reject(e *seams.RecordError) {
	if e.Item == "" || c.registry {
		c.whole++
	} else {
		c.parts++
	}
	if c.o.Reject != nil {
		c.o.Reject(e)
	}
}

// registryInput is an opened registry file.
type registryInput struct {
	in     *input.File
	r      *bufio.Reader // the decompressed bytes, the first ones peeked
	format registryfile.Format
	hash   hash.Hash // of the decompressed bytes read
}

// openRegistry opens a registry file of kind k through package input
// ("-" is o.Stdin; compressed data is decompressed, found from its first
// bytes) and finds its format (package registryfile).
func openRegistry(ctx context.Context, path string, k registryfile.Kind, o *Options) (*registryInput, error) {
	in, err := input.Open(ctx, path, o.Stdin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	r, err := in.Reader()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	h := sha256.New()
	br, head, err := registryfile.Peek(io.TeeReader(r, h))
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	return &registryInput{in: in, r: br, format: registryfile.Detect(k, head), hash: h}, nil
}

// sum reads what is left of the file, so that every byte is hashed (and
// a file cut short or grown while it is read is found out), and returns
// the SHA-256 of its decompressed content.
func (ri *registryInput) sum(path string) ([32]byte, error) {
	var s [32]byte
	if _, err := io.Copy(io.Discard, ri.r); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	ri.hash.Sum(s[:0])
	return s, nil
}

// storable drops, as rejected, the compounds the store cannot keep.
func storable(cs []seams.Compound, path string, c *counter) []seams.Compound {
	keep := cs[:0]
	for i := range cs {
		if why := seams.UnstorableCompound(&cs[i]); why != "" {
			c.reject(&seams.RecordError{File: path, Reason: fmt.Sprintf("compound %s: %s", cs[i].ID, why)})
			continue
		}
		keep = append(keep, cs[i])
	}
	return keep
}

// Compounds loads a compounds file in any format package registryfile
// reads for compounds (CSV, FollowTheMoney entities).
func Compounds(ctx context.Context, st seams.Loader, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	c := &counter{o: &o, registry: true}
	ri, err := openRegistry(ctx, path, registryfile.Compounds, &o)
	if err != nil {
		return res, err
	}
	defer ri.in.Close()
	file := o.label(path)
	cs, err := registryfile.ReadCompounds(ri.format, ri.r, file, c.reject)
	if err != nil {
		return res, err
	}
	if _, err := ri.sum(file); err != nil {
		return res, err
	}
	keep := storable(cs, file, c)
	res.Read = len(keep) + c.whole
	res.Rejected = c.whole
	res.LoadResult, err = st.PutCompounds(ctx, p, seams.CompoundFile{Name: o.Name, Confirm: o.Confirm}, keep)
	return res, err
}

// Indicators loads an indicators file (CSV, a STIX 2.1 bundle or MISP
// events: any format package registryfile reads for indicators) as the new
// version of the file named o.Name of p's organisation. The compounds its
// indicators name must be stored, or come with the file: a STIX bundle or
// MISP events may define compounds, and those the store does not hold yet
// are stored first (Result.Compounds), in a transaction of their own. A
// compound the store holds keeps what the store says, as a compounds file
// has the last word over a bundle's compounds in seams xref.
func Indicators(ctx context.Context, st interface {
	seams.Loader
	Compounds(context.Context) ([]seams.Compound, error)
}, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	c := &counter{o: &o, registry: true}
	compounds, err := st.Compounds(ctx)
	if err != nil {
		return res, err
	}
	known := registryfile.IDs(compounds)
	ri, err := openRegistry(ctx, path, registryfile.Indicators, &o)
	if err != nil {
		return res, err
	}
	defer ri.in.Close()
	file := o.label(path)
	added, inds, err := registryfile.ReadIndicators(ri.format, ri.r, file, known, c.reject)
	if err != nil {
		return res, err
	}
	sum, err := ri.sum(file)
	if err != nil {
		return res, err
	}
	// A compound the file defines that the store cannot keep takes its
	// indicators with it.
	added = storable(added, file, c)
	addedIDs := registryfile.IDs(added)
	keep := inds[:0]
	for i := range inds {
		in := &inds[i]
		_, isKnown := known[in.Compound]
		_, isAdded := addedIDs[in.Compound]
		if why := seams.UnstorableIndicator(in); why != "" {
			c.reject(&seams.RecordError{File: file, Line: in.Line, Reason: why})
			continue
		}
		if !isKnown && !isAdded {
			c.reject(&seams.RecordError{File: file, Line: in.Line, Item: in.Value,
				Reason: fmt.Sprintf("compound %q, which the file defines, cannot be stored", in.Compound)})
			continue
		}
		in.File = o.Name
		keep = append(keep, *in)
	}
	res.Read = len(keep) + c.whole
	res.Rejected = c.whole
	if len(added) > 0 {
		if res.Compounds, err = st.PutCompounds(ctx, p, seams.CompoundFile{Name: o.Name, Confirm: o.Confirm}, added); err != nil {
			return res, fmt.Errorf("the compounds of %s: %w", file, err)
		}
	}
	res.LoadResult, err = st.PutIndicators(ctx, p, seams.IndicatorFile{Name: o.Name, Shared: o.Shared, SHA256: sum}, keep)
	return res, err
}

// Shared loads a shared-space file (the text list, or a MISP warninglist),
// replacing what the list of the same name of p's organisation (or of the
// coalition, with o.Coalition) held before. It applies to the
// organisation's own reports, to every organisation's with o.Shared, and
// to every organisation's as the coalition set with o.Coalition. The ASes
// a warninglist names are kept with its prefixes: a run given an ASN
// database applies their networks, as seams xref does.
func Shared(ctx context.Context, st seams.Loader, p seams.Principal, path string, o Options) (Result, error) {
	o.defaults(path)
	var res Result
	if o.Shared && o.Coalition {
		return res, fmt.Errorf("%w: a shared-space list is either an organisation's (shared or not) or the coalition's, not both", seams.ErrInvalid)
	}
	c := &counter{o: &o, registry: true}
	ri, err := openRegistry(ctx, path, registryfile.Shared, &o)
	if err != nil {
		return res, err
	}
	defer ri.in.Close()
	file := o.label(path)
	prefixes, asns, err := registryfile.ReadShared(ri.format, ri.r, file, c.reject)
	if err != nil {
		return res, err
	}
	if _, err := ri.sum(file); err != nil {
		return res, err
	}
	res.Read = len(prefixes) + len(asns) + c.whole
	res.Rejected = c.whole
	l := seams.SharedSpaceList{Name: o.Name, Prefixes: prefixes, ASNs: asns, Confirm: o.Confirm}
	switch {
	case o.Coalition:
		l.Scope = seams.SharedCoalition
	case o.Shared:
		l.Scope = seams.SharedAll
	}
	res.LoadResult, err = st.PutShared(ctx, p, l)
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
	name := o.label(path) // as rejections name the input
	in, err := openReports(ctx, path, &o)
	if err != nil {
		return res, err
	}
	defer in.Close()
	batch := seams.ReportBatch{File: o.Name, Source: o.Source, Shared: o.Shared}
	recorded := false // whether the store recorded a batch in its audit log
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
		recorded = recorded || lr.New > 0 || lr.Updated > 0 || len(rej) > 0
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
			// Named as rejections name the input (an upload by its name,
			// not "-"), once: the readers' errors often name it already.
			if !strings.HasPrefix(err.Error(), name+":") {
				err = fmt.Errorf("%s: %w", name, err)
			}
			return l.result(res, c), err
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
	if err := flush(); err != nil {
		return l.result(res, c), err
	}
	// A file that changed nothing leaves one entry in the audit log (the
	// store records only batches that change or reject something).
	if a, ok := l.st.(auditor); ok && !recorded {
		if err := a.Audit(ctx, l.p, seams.AuditEvent{Action: "reports.load", Object: "file:" + o.Name,
			Detail: fmt.Sprintf("%d reports read: %d already stored, %d rejected; nothing changed", res.Read, res.Unchanged, c.whole)}); err != nil {
			return l.result(res, c), err
		}
	}
	return l.result(res, c), nil
}

// auditor is the part of a store's audit log a load records in.
type auditor interface {
	Audit(ctx context.Context, p seams.Principal, e seams.AuditEvent) error
}

func (l *reportLoader) result(res Result, c *counter) Result {
	res.Rejected, res.PartsRejected = c.whole, c.parts
	return res
}

// openReports opens a report input through package reportfile (and so
// package input: compressed data is decompressed whatever the name).
// Standard input is named o.Name in rejections, and that name says its
// format when o.Format does not.
func openReports(ctx context.Context, path string, o *Options) (*reportfile.Input, error) {
	in, err := input.Open(ctx, path, o.Stdin)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	rd, err := reportfile.FromInput(in, o.label(path), o.Format, reportfile.NewReaderOptionsDefault())
	if err != nil {
		in.Close()
		return nil, err
	}
	return rd, nil
}
