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
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/registry"
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
	// package mmdb and enrich.go): ASN and location of every evidence
	// address, asn indicators, shared ASNs, consistency signals.
	ASNDB, GeoDB []string
	// SharedASN lists ASes whose every address is shared space (needs
	// ASNDB); SharedPresets names curated lists to turn on
	// ("satellite,cdn"; see package sharedlist). Off by default.
	SharedASN     []uint32
	SharedPresets string
	Drift         time.Duration
	Out           string // output directory, created if missing

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
// were); on success the three outputs replace any earlier ones.
func Run(ctx context.Context, o Options) (*seams.Summary, error) {
	// A failed run leaves DIR as it was: if it did not exist, the
	// directories made for it go again (os.Remove takes only empty ones).
	made := missingDirs(o.Out)
	s, err := run(ctx, o)
	var again *errRerun
	if errors.As(err, &again) {
		o.Logger.Info("report ids repeat beyond the id memory budget: reading the reports again", "repeats", again.dups.Len())
		o.dups = again.dups
		s, err = run(ctx, o)
		again.dups.Close()
	}
	if err != nil {
		for _, d := range made {
			os.Remove(d)
		}
	}
	return s, err
}

// missingDirs returns the directories MkdirAll(dir) would create, the
// deepest first.
func missingDirs(dir string) []string {
	var out []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return out
		}
		out = append(out, d)
		if filepath.Dir(d) == d {
			return out
		}
	}
}

func run(ctx context.Context, o Options) (*seams.Summary, error) {
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
	if err := os.MkdirAll(o.Out, 0o750); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	findings, err := atomicfile.Create(filepath.Join(o.Out, FindingsFile))
	if err != nil {
		return nil, err
	}
	defer findings.Abort()
	rejected, err := atomicfile.Create(filepath.Join(o.Out, RejectedFile))
	if err != nil {
		return nil, err
	}
	defer rejected.Abort()
	summary, err := atomicfile.Create(filepath.Join(o.Out, SummaryFile))
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
	if len(o.SharedASN) > 0 && len(o.ASNDB) == 0 {
		return nil, fmt.Errorf("%w: shared ASNs need an ASN database (--asn-db)", ErrUsage)
	}
	enr, err := openEnrichment(&o)
	if err != nil {
		return nil, err
	}
	defer enr.close()
	x, inputs, err := loadRegistry(o, rj, enr)
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
	p := pipeline{o: o, x: x, findings: findings, rj: rj, tally: t, e: enr}
	if o.capping() {
		p.caps.on, p.caps.counts, p.caps.dir = true, make([]int32, x.Records()), o.Readers.CSV.TempDir
	}
	defer p.caps.close()
	reportInputs, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	over, revised, err := p.caps.apply(x, o.MaxReportsPerIndicator, lift, t, findings, filepath.Join(o.Out, FindingsFile))
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
	s.Inputs = append(inputs, reportInputs...)
	s.Registry = registryCounts(x)
	s.Databases = enr.databases()
	s.SharedLists = enr.lists
	s.Unusable = enr.unusable
	if enr.en != nil {
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
	// The summary goes last: its presence says the run completed.
	for _, f := range []*atomicfile.File{rejected, findings, summary} {
		if err := f.Commit(); err != nil {
			return nil, err
		}
	}
	o.Logger.Info("done", "reports", s.Reports, "findings", s.Findings, "rejected", s.Rejected,
		"took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// idBudget is the memory budget of the duplicate check of report ids.
func (o *Options) idBudget() int {
	if o.IDMemory <= 0 {
		return idset.DefaultBudget
	}
	return o.IDMemory
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
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		out[c] = true
	}
	return out, nil
}

// CheckLiftCap reports whether v can be a value of Options.LiftCap.
func CheckLiftCap(v string) error {
	_, err := liftValue(v)
	return err
}

func liftValue(v string) (string, error) {
	if in, err := seams.ParseIndicatorValue(seams.KindIP, v); err == nil {
		return in.Value, nil
	}
	in, err := seams.ParseIndicatorValue(seams.KindDevice, v)
	if err != nil {
		return "", fmt.Errorf("lift cap: %q is neither an IP address nor a device TYPE:VALUE (the cap applies to ip and device indicators)", v)
	}
	return in.Value, nil
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
// (see registryformat.go): compounds as CSV or FollowTheMoney, indicators
// as CSV, a STIX 2.1 bundle or MISP events (which may bring compounds of
// their own), shared space as a list or a MISP warninglist.
func loadRegistry(o Options, rj *rejections, enr *enrichment) (*match.Index, []seams.InputCount, error) {
	var inputs []seams.InputCount
	var werr error
	read := func(path, kind string, fn func(io.Reader, registry.Reject) (int, error)) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		defer f.Close()
		in := seams.InputCount{File: path, Kind: kind}
		n, err := fn(f, func(e *seams.RecordError) {
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
		inputs = append(inputs, in)
		return nil
	}

	var compounds []seams.Compound
	if o.Compounds != "" {
		if err := read(o.Compounds, "compounds", func(r io.Reader, rej registry.Reject) (n int, err error) {
			compounds, err = readCompounds(r, o.Compounds, rej)
			return len(compounds), err
		}); err != nil {
			return nil, nil, err
		}
	}
	indFormat, err := sniffFile(o.Indicators, detectIndicators)
	if err != nil && o.Compounds == "" {
		return nil, nil, fmt.Errorf("%w: missing --compounds", ErrUsage)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("indicators: %w", err)
	}
	if o.Compounds == "" && indFormat == formatCSV {
		return nil, nil, fmt.Errorf("%w: missing --compounds", ErrUsage)
	}
	// Indicators in an exchange format are read whole (their readers
	// resolve references across the file) and may bring compounds, which
	// join those of the compounds file; a CSV is streamed into the index.
	var inds []seams.Indicator
	if indFormat != formatCSV {
		if err := read(o.Indicators, "indicators", func(r io.Reader, rej registry.Reject) (n int, err error) {
			var more []seams.Compound
			more, inds, err = readExchangeIndicators(indFormat, r, o.Indicators, rej)
			compounds = mergeCompounds(compounds, more)
			inds = knownCompounds(inds, compounds, rej)
			return len(inds), err
		}); err != nil {
			return nil, nil, err
		}
	}
	ids := make(map[string]int, len(compounds))
	for i, c := range compounds {
		ids[c.ID] = i
	}
	b, err := match.NewBuilder(compounds)
	if err != nil {
		return nil, nil, err
	}
	// add puts an indicator in the index, but for one of an AS, which
	// waits for the ASN database's networks (enrich.go).
	belowMin := 0
	add := func(in *seams.Indicator) error {
		if in.HasConfidence && in.Confidence < o.MinConfidence {
			belowMin++
			return nil
		}
		enr.noteIndicator(ids[in.Compound], in)
		if in.Kind == seams.KindASN {
			enr.pendingASNs = append(enr.pendingASNs, *in)
			return nil
		}
		return b.Add(in)
	}
	if indFormat == formatCSV {
		// Indicators go straight into the index as they are read: a
		// registry of millions of rows never exists as a slice of
		// seams.Indicator.
		if err := read(o.Indicators, "indicators", func(r io.Reader, rej registry.Reject) (n int, err error) {
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
		if err := read(o.Shared, "shared", func(r io.Reader, rej registry.Reject) (n int, err error) {
			shared, asns, err := readShared(r, o.Shared, rej)
			// The prefix in the evidence says why: it is listed. Only
			// lists by AS and presets add a reason (enrich.go).
			b.AddShared(shared...)
			enr.addSharedList(o.Shared, "file", "", len(shared), asns, nil)
			return len(shared) + len(asns), err
		}); err != nil {
			return nil, nil, err
		}
	}
	if err := enr.loadSharedLists(&o, b); err != nil {
		return nil, nil, err
	}
	if belowMin > 0 {
		o.Logger.Info("indicators left out: confidence below --min-confidence", "indicators", belowMin, "min_confidence", o.MinConfidence)
	}
	if err := enr.finish(b); err != nil {
		return nil, nil, err
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
