// Package xref runs a cross-reference: it reads a registry (compounds,
// indicators, shared space) and report files, matches every report, and
// writes findings.jsonl, summary.json and rejected.jsonl atomically.
package xref

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/enrich"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/failpoint"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/internal/outdir"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
	"github.com/seams-dev/seams/reportfile"
)

// Options configures a run. Use NewOptions for the defaults.
type Options struct {
	Compounds  string   // compounds: CSV or FollowTheMoney; "" when Indicators names them
	Indicators string   // indicators: CSV, STIX 2.1 bundle or MISP events
	Reports    []string // report files; ".gz" and ".zst" are decompressed, "-" is Stdin
	// Format is the format of every report input; "" finds each one's
	// from its name and content (see package reportfile).
	Format reportfile.Format
	// Readers holds the options of the readers of formats other than
	// JSON Lines (the CSV reader's memory budget and spill directory).
	Readers reportfile.ReaderOptions
	Shared  string // optional shared-space list: one prefix a line, or a MISP warninglist

	// ASNDB and GeoDB are enrichment databases in MaxMind DB format (see
	// packages mmdb and enrich): ASN and location of every evidence
	// address, asn indicators, shared ASNs, consistency signals.
	ASNDB, GeoDB []string
	// SharedASN lists ASes whose every address is shared space (needs
	// ASNDB); SharedPresets names curated lists to turn on
	// ("satellite,cdn"; see package sharedlist). Off by default.
	SharedASN     []uint32
	SharedPresets string
	Drift         time.Duration
	Out           string // output directory, created if missing

	// Rules restricts the run to the evidence of these rules (see
	// match.Matcher.Only); empty keeps every rule. summary.json records
	// a restriction under parameters.rules.
	Rules []seams.Rule

	// MaxReportsPerIndicator is the over-correlation limit: an ip or device
	// indicator with evidence in more distinct reports than this is flagged
	// in the summary and cannot tie a report on its own (see capping.go).
	// Zero or less turns the check off.
	MaxReportsPerIndicator int
	// LiftCap lists indicators (by value: an address, or a device as
	// type:value) exempt from the cap; they are still flagged.
	LiftCap []string

	// MaxRejected aborts the run when more records than this are rejected;
	// negative means no limit.
	MaxRejected int
	// Workers is the number of goroutines parsing and matching; 0 means
	// GOMAXPROCS.
	Workers int
	// ChunkSize is the size of the blocks of lines handed to workers.
	ChunkSize int
	// MaxLine is the longest report line accepted, in bytes.
	MaxLine int
	// IDMemory is the memory budget, in bytes, of the duplicate check of
	// report ids; 0 means idset.DefaultBudget. Beyond it ids spill to
	// Readers.CSV.TempDir, and a run with a repeat there is made twice
	// (see package idset). A run that reads standard input keeps every id
	// in memory.
	IDMemory int

	dups *idset.Dups // on a second pass: the repeats the first one found

	Stdin    io.Reader
	Progress io.Writer // where to draw a progress line; nil for none
	Logger   *slog.Logger
}

// NewOptions returns Options with the defaults filled in.
func NewOptions() Options {
	return Options{
		Drift:                  match.DefaultDrift,
		MaxReportsPerIndicator: DefaultMaxReportsPerIndicator,
		Readers:                reportfile.NewReaderOptionsDefault(),
		MaxRejected:            -1,
		ChunkSize:              1 << 20,
		MaxLine:                jsonl.DefaultMaxLine,
		Stdin:                  os.Stdin,
		Logger:                 slog.New(slog.DiscardHandler),
	}
}

// ErrUsage marks an error in the options, which a command line reports as
// a usage error.
var ErrUsage = errors.New("usage")

// ErrTooManyRejected is returned when more records were rejected than
// Options.MaxRejected allows; no output is written then.
var ErrTooManyRejected = errors.New("too many rejected records")

// The names of the output files in the output directory.
const (
	FindingsFile = "findings.jsonl"
	SummaryFile  = "summary.json"
	RejectedFile = "rejected.jsonl"
)

// Run performs the cross-reference and returns its summary. On error nothing
// is written to the output directory (files from an earlier run stay as they
// were); on success the three outputs replace any earlier ones at once (see
// package outdir): a reader, or a run killed at any instant, sees the old
// outputs or the new, never a mix.
func Run(ctx context.Context, o Options) (*seams.Summary, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	d, err := outdir.Open(o.Out, []string{FindingsFile, SummaryFile, RejectedFile})
	if err != nil {
		return nil, err
	}
	defer d.Abort()
	ins := newInputs(&o)
	defer ins.close()
	s, err := run(ctx, o, d, ins)
	var again *errRerun
	if errors.As(err, &again) {
		if !ins.rereadable() {
			// newChecker keeps every id in memory when an input cannot be
			// read twice, so this cannot happen; if it did, the first
			// pass's output must not stand.
			again.dups.Close()
			return nil, fmt.Errorf("report ids repeat beyond the id memory budget and an input cannot be read twice: %w", err)
		}
		o.Logger.Info("report ids repeat beyond the id memory budget: reading the reports again", "repeats", again.dups.Len())
		o.dups = again.dups
		s, err = run(ctx, o, d, ins)
		again.dups.Close()
	}
	if err != nil {
		return nil, err
	}
	failpoint.Inject("xref-before-commit")
	if err := d.Commit(); err != nil {
		return nil, err
	}
	return s, nil
}

func run(ctx context.Context, o Options, d *outdir.Dir, ins *inputs) (*seams.Summary, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 20
	}
	if o.MaxLine <= 0 {
		o.MaxLine = jsonl.DefaultMaxLine
	}
	findings, err := atomicfile.Create(d.Path(FindingsFile))
	if err != nil {
		return nil, err
	}
	defer findings.Abort()
	rejected, err := atomicfile.Create(d.Path(RejectedFile))
	if err != nil {
		return nil, err
	}
	defer rejected.Abort()
	summary, err := atomicfile.Create(d.Path(SummaryFile))
	if err != nil {
		return nil, err
	}
	defer summary.Abort()

	rj := &rejections{w: rejected, max: o.MaxRejected}
	start := time.Now()
	lift, err := liftSet(o.LiftCap)
	if err != nil {
		return nil, err
	}
	enr, err := enrich.Open(o.enrichOptions())
	if err != nil {
		return nil, enrichError(err)
	}
	defer enr.Close()
	x, inputs, err := loadRegistry(ctx, o, rj, enr)
	if err != nil {
		return nil, err
	}
	// Reading the registry made garbage in proportion to its files (CSV
	// rows, slices grown by doubling); give it back before the long part
	// of the run, so that peak memory is the index plus the stream.
	debug.FreeOSMemory()
	c := x.Counts()
	o.Logger.Info("registry loaded", "compounds", len(x.Compounds()), "indicators", c.IP+c.CIDR+c.Device+c.ASN,
		"index_bytes", x.Bytes(), "took", time.Since(start).Round(time.Millisecond))

	t := newTally(x)
	p := pipeline{o: o, x: x, findings: findings, rj: rj, tally: t, e: enr, ins: ins, arrays: make([]bool, len(o.Reports)), sums: make([]inputSum, len(o.Reports)),
		skipped: make([]int, len(o.Reports)), replaced: make([]int, len(o.Reports))}
	if o.capping() {
		p.caps.on, p.caps.counts, p.caps.dir = true, make([]int32, x.Records()), o.Readers.CSV.TempDir
	}
	defer p.caps.close()
	reportInputs, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	warnings, err := checkInputs(reportInputs, p.arrays)
	if err != nil {
		return nil, err
	}
	warnings = append(registryWarnings(inputs), warnings...)
	over, revised, err := p.caps.apply(x, o.MaxReportsPerIndicator, lift, t, findings, d.Path(FindingsFile))
	if err != nil {
		return nil, err
	}
	if revised != findings {
		findings = revised
		defer findings.Abort()
	}
	s := t.summary(x)
	s.MaxReportsPerIndicator = max(o.MaxReportsPerIndicator, 0)
	s.OverCorrelated = over
	if s.OverCorrelated == nil {
		s.OverCorrelated = []seams.OverCorrelated{}
	}
	s.Rejected = rj.n
	s.Drift = o.Drift.String()
	s.Seams = seams.ThisBuild()
	s.Parameters = o.parameters()
	s.Inputs = append(inputs, reportInputs...)
	s.Warnings = warnings
	for _, w := range warnings {
		o.Logger.Warn(w)
	}
	s.Registry = registryCounts(x)
	s.Databases = enr.Databases()
	s.SharedLists = enr.Lists()
	s.Unusable = enr.Unusable()
	if enr.On() {
		s.ByASN = t.asn.list()
		if s.ByASN == nil {
			s.ByASN = []seams.ASNCount{}
		}
		s.Signals = &t.signals
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	if _, err := summary.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("write %s: %w", SummaryFile, err)
	}
	// The files are complete in the staging folder; Run swaps it in.
	for i, f := range []*atomicfile.File{rejected, findings, summary} {
		if err := f.Commit(); err != nil {
			return nil, err
		}
		failpoint.Inject(fmt.Sprintf("xref-after-file-%d", i+1))
	}
	o.Logger.Info("done", "reports", s.Reports, "findings", s.Findings, "rejected", s.Rejected,
		"took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// checkInputs looks at what the run made of each report input, for the
// mistakes of a whole file. A JSON array (it opens with '[' and most of its
// lines were rejected: the last element of a pretty-printed array, with no
// comma after it, reads as a report) fails the run with what to do; an
// empty input, or one of which every record was rejected, is a warning: the
// run completes, and rejected.jsonl says why.
func checkInputs(ins []seams.InputCount, arrays []bool) (warnings []string, err error) {
	for i, in := range ins {
		switch accepted := in.Records - in.Rejected; {
		case arrays[i] && in.Rejected > accepted:
			return nil, fmt.Errorf("%s: %s", in.File, reportfile.ArrayHint(in.File))
		case accepted > 0:
		case in.Records == 0:
			warnings = append(warnings, fmt.Sprintf("%s: no report in it (the file is empty, or blank lines only)", in.File))
		default:
			warnings = append(warnings, fmt.Sprintf("%s: every one of its %d records was rejected; see %s for why", in.File, in.Records, RejectedFile))
		}
	}
	return warnings, nil
}

// registryWarnings says which registry files gave nothing usable: a run
// with no indicator completes, but can find nothing.
func registryWarnings(ins []seams.InputCount) []string {
	var out []string
	for _, in := range ins {
		switch {
		case in.Records > 0 && in.Records == in.Rejected:
			out = append(out, fmt.Sprintf("%s: every one of its %d %s was rejected; see %s for why", in.File, in.Records, in.Kind, RejectedFile))
		case in.Records == 0 && in.Kind != "shared":
			out = append(out, fmt.Sprintf("%s: no %s in it", in.File, in.Kind))
		}
	}
	return out
}

// idBudget is the memory budget of the duplicate check of report ids.
func (o *Options) idBudget() int {
	if o.IDMemory <= 0 {
		return idset.DefaultBudget
	}
	return o.IDMemory
}

// parameters returns the rule parameters of the run, for the summary.
func (o *Options) parameters() seams.RunParameters {
	p := seams.RunParameters{Drift: o.Drift.String(), MaxReportsPerIndicator: max(o.MaxReportsPerIndicator, 0),
		LiftCap: []string{}, SharedASN: []uint32{}, SharedPresets: []string{}, Format: string(o.Format)}
	for _, v := range o.LiftCap {
		if c, err := liftValue(v); err == nil {
			p.LiftCap = append(p.LiftCap, c)
		}
	}
	slices.Sort(p.LiftCap)
	p.LiftCap = slices.Compact(p.LiftCap)
	for _, r := range o.Rules {
		p.Rules = append(p.Rules, r.String())
	}
	slices.Sort(p.Rules)
	p.Rules = slices.Compact(p.Rules)
	p.SharedASN = append(p.SharedASN, o.SharedASN...)
	for _, name := range strings.Split(o.SharedPresets, ",") {
		if name = strings.TrimSpace(name); name != "" {
			p.SharedPresets = append(p.SharedPresets, name)
		}
	}
	return p
}

// enrichOptions returns the options of the run's enrichment.
func (o *Options) enrichOptions() enrich.Options {
	return enrich.Options{ASNDB: o.ASNDB, GeoDB: o.GeoDB, SharedASN: o.SharedASN, SharedPresets: o.SharedPresets}
}

// capping reports whether the over-correlation check is on.
func (o *Options) capping() bool { return o.MaxReportsPerIndicator > 0 }

// liftSet parses the values of Options.LiftCap into the canonical values of
// indicators: an address or a device type:value.
func liftSet(values []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, v := range values {
		c, err := liftValue(v)
		if err != nil {
			return nil, invalid("LiftCap", "%v", err)
		}
		out[c] = true
	}
	return out, nil
}

// rejections writes rejected records and counts them against the limit.
type rejections struct {
	w   io.Writer
	buf []byte
	n   int
	max int
}

// add writes one rejection.
func (r *rejections) add(e *seams.RecordError) error {
	r.buf = jsonl.AppendRejected(r.buf[:0], e)
	return r.addBytes(r.buf, 1)
}

// addBytes writes n rejections already encoded.
func (r *rejections) addBytes(b []byte, n int) error {
	r.n += n
	if r.max >= 0 && r.n > r.max {
		return fmt.Errorf("%w: more than %d (see --max-rejected)", ErrTooManyRejected, r.max)
	}
	if _, err := r.w.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", RejectedFile, err)
	}
	return nil
}

// loadRegistry reads the compounds, indicators and shared list, writes their
// rejections, and builds the index. Each file may be in any registry format
// (package registryfile): compounds as CSV or FollowTheMoney, indicators
// as CSV, a STIX 2.1 bundle or MISP events (which may bring compounds of
// their own), shared space as a list or a MISP warninglist.
func loadRegistry(ctx context.Context, o Options, rj *rejections, enr *enrich.Enrichment) (*match.Index, []seams.InputCount, error) {
	var inputs []seams.InputCount
	var werr error
	// open opens a registry file once (package input: decompressed, never
	// reopened, a pipe read as a pipe) and peeks at its first bytes.
	open := func(path, kind string) (*input.File, *bufio.Reader, []byte, error) {
		in, err := input.Open(ctx, path, o.Stdin)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", kind, err)
		}
		r, err := in.Reader()
		if err != nil {
			in.Close()
			return nil, nil, nil, fmt.Errorf("%s: %w", kind, err)
		}
		br := bufio.NewReaderSize(r, 64<<10)
		head, err := br.Peek(registryfile.SniffSize)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			in.Close()
			return nil, nil, nil, fmt.Errorf("%s: %w", kind, wrapName(path, err))
		}
		return in, br, head, nil
	}
	read := func(path, kind string, f *input.File, br *bufio.Reader, fn func(io.Reader, registry.Reject) (int, error)) error {
		in := seams.InputCount{File: path, Kind: kind}
		n, err := fn(br, func(e *seams.RecordError) {
			in.Rejected++
			if werr == nil {
				werr = rj.add(e)
			}
		})
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		in.Records = n + in.Rejected
		if in.Size, in.SHA256, err = f.Finish(); err != nil {
			return fmt.Errorf("%s: %w", kind, wrapName(path, err))
		}
		inputs = append(inputs, in)
		return nil
	}
	// readFile reads a compounds or shared file in the format its first
	// bytes show.
	readFile := func(path string, kind registryfile.Kind, fn func(registryfile.Format, io.Reader, registry.Reject) (int, error)) error {
		in, br, head, err := open(path, string(kind))
		if err != nil {
			return err
		}
		defer in.Close()
		f := registryfile.Detect(kind, head)
		return read(path, string(kind), in, br, func(r io.Reader, rej registry.Reject) (int, error) { return fn(f, r, rej) })
	}

	var compounds []seams.Compound
	if o.Compounds != "" {
		if err := readFile(o.Compounds, registryfile.Compounds, func(f registryfile.Format, r io.Reader, rej registry.Reject) (n int, err error) {
			compounds, err = registryfile.ReadCompounds(f, r, o.Compounds, rej)
			return len(compounds), err
		}); err != nil {
			return nil, nil, err
		}
	}
	indIn, indBR, indHead, err := open(o.Indicators, "indicators")
	if err != nil && o.Compounds == "" {
		return nil, nil, missing("Compounds")
	}
	if err != nil {
		return nil, nil, err
	}
	defer indIn.Close()
	indFormat := registryfile.Detect(registryfile.Indicators, indHead)
	if o.Compounds == "" && indFormat == registryfile.CSV {
		return nil, nil, missing("Compounds")
	}
	// Indicators in an exchange format are read whole (their readers
	// resolve references across the file) and may bring compounds, which
	// join those of the compounds file; a CSV is streamed into the index.
	var inds []seams.Indicator
	if indFormat != registryfile.CSV {
		if err := read(o.Indicators, "indicators", indIn, indBR, func(r io.Reader, rej registry.Reject) (n int, err error) {
			var more []seams.Compound
			more, inds, err = registryfile.ReadIndicators(indFormat, r, o.Indicators, registryfile.IDs(compounds), rej)
			compounds = append(compounds, more...)
			return len(inds), err
		}); err != nil {
			return nil, nil, err
		}
	}
	ids := registryfile.IDs(compounds)
	b, err := match.NewBuilder(compounds)
	if err != nil {
		return nil, nil, err
	}
	// add puts an indicator in the index, but for one of an AS, which
	// waits for the ASN database's networks (package enrich).
	add := func(in *seams.Indicator) error { return enr.Add(b, ids[in.Compound], in) }
	if indFormat == registryfile.CSV {
		// Indicators go straight into the index as they are read: a
		// registry of millions of rows never exists as a slice of
		// seams.Indicator.
		if err := read(o.Indicators, "indicators", indIn, indBR, func(r io.Reader, rej registry.Reject) (n int, err error) {
			err = registry.ScanIndicators(r, o.Indicators, ids, rej, func(in *seams.Indicator) error {
				n++
				return add(in)
			})
			return n, err
		}); err != nil {
			return nil, nil, err
		}
	} else {
		for i := range inds {
			if err := add(&inds[i]); err != nil {
				return nil, nil, err
			}
		}
	}
	if o.Shared != "" {
		if err := readFile(o.Shared, registryfile.Shared, func(f registryfile.Format, r io.Reader, rej registry.Reject) (n int, err error) {
			shared, asns, err := registryfile.ReadShared(f, r, o.Shared, rej)
			// The prefix in the evidence says why: it is listed. Only
			// lists by AS and presets add a reason (enrich.go).
			b.AddShared(shared...)
			enr.AddSharedList(o.Shared, "file", "", len(shared), asns, nil)
			return len(shared) + len(asns), err
		}); err != nil {
			return nil, nil, err
		}
	}
	if err := enr.Finish(b); err != nil {
		return nil, nil, enrichError(err)
	}
	x, err := b.Build()
	if err != nil {
		return nil, nil, err
	}
	return x, inputs, nil
}

func registryCounts(x *match.Index) seams.RegistryCounts {
	c := x.Counts()
	return seams.RegistryCounts{Compounds: len(x.Compounds()), SharedPrefixes: len(x.SharedPrefixes()),
		IPIndicators: c.IP, CIDRIndicators: c.CIDR, DeviceIndicators: c.Device, ASNIndicators: c.ASN}
}
