// Package xref runs a cross-reference: it reads a registry (compounds,
// indicators, shared space) and report files, matches every report, and
// writes findings.jsonl, summary.json and rejected.jsonl atomically.
package xref

import (
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
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/failpoint"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/internal/outdir"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
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

	// MinConfidence leaves out of the index every indicator whose stated
	// confidence is below it (derived registries grade each indicator by
	// its support); an indicator without a confidence is kept. 0 keeps
	// all.
	MinConfidence float64

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
// a usage error: seams.ErrUsage, which every FieldError matches.
var ErrUsage = seams.ErrUsage

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
	o.fillDefaults()
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
	x, inputs, belowMin, err := loadRegistry(ctx, o, rj, enr)
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
	s := summarize(&o, t, x, enr, over, rj.n, append(inputs, reportInputs...), warnings)
	s.Registry.BelowMinConfidence = belowMin
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

// fillDefaults fills the fields of o left at zero that have a default.
func (o *Options) fillDefaults() {
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
}

// summarize makes the run's summary from its tally and what it knows of
// its registry, enrichment, inputs and rule parameters.
func summarize(o *Options, t *tally, x *match.Index, enr *enrich.Enrichment, over []seams.OverCorrelated,
	rejected int, inputs []seams.InputCount, warnings []string) *seams.Summary {
	s := t.summary(x)
	s.MaxReportsPerIndicator = max(o.MaxReportsPerIndicator, 0)
	s.OverCorrelated = over
	if s.OverCorrelated == nil {
		s.OverCorrelated = []seams.OverCorrelated{}
	}
	s.Rejected = rejected
	s.Drift = o.Drift.String()
	s.Seams = seams.ThisBuild()
	s.Parameters = o.parameters()
	s.Inputs = inputs
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
	return s
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
	p := seams.RunParameters{Drift: o.Drift.String(), MaxReportsPerIndicator: max(o.MaxReportsPerIndicator, 0), MinConfidence: o.MinConfidence,
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

func registryCounts(x *match.Index) seams.RegistryCounts {
	c := x.Counts()
	return seams.RegistryCounts{Compounds: len(x.Compounds()), SharedPrefixes: len(x.SharedPrefixes()),
		IPIndicators: c.IP, CIDRIndicators: c.CIDR, DeviceIndicators: c.Device, ASNIndicators: c.ASN}
}
