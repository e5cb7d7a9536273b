// Package derive builds a registry of compound indicators from device
// observations inside compound footprints: the step before a
// cross-reference. A device seen inside a compound's footprint on enough
// distinct days within a window is resident there and becomes a device
// indicator; an address that resident devices used inside becomes an ip
// indicator, unless devices that were never inside use it so much that it
// is shared infrastructure (carrier NAT, satellite), which goes to a
// shared list instead. Every indicator comes with its evidence in
// provenance.jsonl.
//
// Run reads the observation files twice: first to find where each device
// was (residents), then to count, for the addresses residents used, who
// else used them and where. Between the passes it keeps state per device
// and compound and per address used inside a footprint, never per
// observation, so memory does not grow with the observations read.
package derive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/footprint"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/input"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/observe"
	"github.com/seams-dev/seams/registry"
)

// Options configures a derivation. Use NewOptions for the defaults.
type Options struct {
	Compounds    string   // compounds CSV, as for xref
	Footprints   string   // GeoJSON footprints; optional
	Observations []string // observation files: .jsonl, .csv (either maybe .gz), .parquet
	// Format, when set, is the format of every observation file, whatever
	// its name.
	Format observe.Format
	// Previous is an indicators CSV of an earlier derivation, whose windows
	// are extended (never shrunk) by this one; optional.
	Previous string
	Out      string // output directory, created if missing

	// Radius is the radius in meters of the circle that stands for a
	// compound with a location and no footprint.
	Radius float64
	// MaxAccuracy is the largest accuracy radius, in meters, of an
	// observation that is used; coarser ones are discarded.
	MaxAccuracy float64
	// AssumeAccuracy is the accuracy, in meters, taken for an observation
	// that gives none.
	AssumeAccuracy float64
	// MinDays is how many distinct days (UTC) a device must be seen inside
	// a compound, within Window, to be resident there.
	MinDays int
	// Window is the span within which those days must fall; whole days.
	Window time.Duration
	// MaxOutsideShare is the largest share of an address's devices that
	// may have used it only outside every footprint for it to be an
	// indicator; above it, the address is shared infrastructure.
	MaxOutsideShare float64
	// MinOutsideDevices is the fewest devices outside that make an address
	// shared, whatever the share: "many devices".
	MinOutsideDevices int
	// Source is written in the source column of every derived indicator.
	Source string

	// MaxRejected aborts the run when more records than this are
	// rejected; negative means no limit.
	MaxRejected int
	// Workers is the number of goroutines parsing and placing
	// observations; 0 means GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
}

// Defaults of the options.
const (
	DefaultRadius            = 250
	DefaultMaxAccuracy       = 100
	DefaultMinDays           = 3
	DefaultWindow            = 30 * 24 * time.Hour
	DefaultMaxOutsideShare   = 0.5
	DefaultMinOutsideDevices = 3
	DefaultSource            = "seams-derive"
)

// NewOptions returns Options with the defaults filled in.
func NewOptions() Options {
	return Options{
		Radius: DefaultRadius, MaxAccuracy: DefaultMaxAccuracy, MinDays: DefaultMinDays, Window: DefaultWindow,
		MaxOutsideShare: DefaultMaxOutsideShare, MinOutsideDevices: DefaultMinOutsideDevices,
		Source: DefaultSource, MaxRejected: -1, Logger: slog.New(slog.DiscardHandler),
	}
}

// ErrOptions is returned for options Run cannot honour.
var ErrOptions = errors.New("invalid options")

// ErrTooManyRejected is returned when more records were rejected than
// Options.MaxRejected allows; no output is written then.
var ErrTooManyRejected = errors.New("too many rejected records")

func (o *Options) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Compounds == "":
		return bad("no compounds file")
	case len(o.Observations) == 0:
		return bad("no observation files")
	case o.Out == "":
		return bad("no output directory")
	case footprint.CheckRadius(o.Radius) != nil:
		return bad("%v", footprint.CheckRadius(o.Radius))
	case !(o.MaxAccuracy >= 0 && o.MaxAccuracy <= footprint.MaxReach):
		return bad("max accuracy %g m (want 0 to %d)", o.MaxAccuracy, footprint.MaxReach)
	case !(o.AssumeAccuracy >= 0 && o.AssumeAccuracy <= footprint.MaxReach):
		return bad("assumed accuracy %g m (want 0 to %d)", o.AssumeAccuracy, footprint.MaxReach)
	case o.MinDays < 1 || o.MinDays > 10000:
		return bad("min days %d (want 1 to 10000)", o.MinDays)
	case o.Window < 24*time.Hour || o.Window%(24*time.Hour) != 0 || o.Window > 10000*24*time.Hour:
		return bad("window %s (want a whole number of days, 1 to 10000)", o.Window)
	case o.Window < time.Duration(o.MinDays)*24*time.Hour:
		return bad("window of %d days cannot hold %d distinct days", o.Window/(24*time.Hour), o.MinDays)
	case !(o.MaxOutsideShare >= 0 && o.MaxOutsideShare <= 1):
		return bad("max outside share %g (want a fraction in [0,1])", o.MaxOutsideShare)
	case o.MinOutsideDevices < 1:
		return bad("min outside devices %d (want 1 or more)", o.MinOutsideDevices)
	}
	seen := map[string]bool{}
	for _, f := range o.Observations {
		if f == "-" {
			return bad("observations cannot be read from standard input: derive reads its inputs twice")
		}
		if seen[f] {
			return bad("observation file %s given twice", f)
		}
		seen[f] = true
	}
	return nil
}

// The names of the output files in the output directory.
const (
	IndicatorsFile = "indicators.csv"
	SharedFile     = "shared.txt"
	ProvenanceFile = "provenance.jsonl"
	SummaryFile    = "summary.json"
	RejectedFile   = "rejected.jsonl"
)

// Run derives the registry and returns its summary. On error nothing is
// written to the output directory; on success the five outputs replace any
// earlier ones, summary.json last.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o750); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	var files []*atomicfile.File
	create := func(name string) (*atomicfile.File, error) {
		f, err := atomicfile.Create(filepath.Join(o.Out, name))
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	defer func() {
		for _, f := range files {
			f.Abort()
		}
	}()
	var out outputs
	for _, f := range []struct {
		name string
		w    **atomicfile.File
	}{{RejectedFile, &out.rejected}, {IndicatorsFile, &out.indicators}, {SharedFile, &out.shared},
		{ProvenanceFile, &out.provenance}, {SummaryFile, &out.summary}} {
		var err error
		if *f.w, err = create(f.name); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	d := &deriver{o: &o, rj: &rejections{w: out.rejected, max: o.MaxRejected}}
	if err := d.load(); err != nil {
		return nil, err
	}
	o.Logger.Info("footprints loaded", "compounds", len(d.compounds), "footprints", len(d.x.Footprints()),
		"took", time.Since(start).Round(time.Millisecond))
	if err := d.passResidents(ctx); err != nil {
		return nil, err
	}
	d.decideResidents()
	o.Logger.Info("pass 1 done", "observations", d.sum.Observations.Read, "residents", d.sum.Residents,
		"addresses", len(d.addrs), "took", time.Since(start).Round(time.Millisecond))
	if err := d.passAddresses(ctx); err != nil {
		return nil, err
	}
	o.Logger.Info("pass 2 done", "took", time.Since(start).Round(time.Millisecond))
	if err := d.write(&out); err != nil {
		return nil, err
	}
	// The summary goes last: its presence says the run completed.
	for _, f := range files {
		if err := f.Commit(); err != nil {
			return nil, err
		}
	}
	o.Logger.Info("done", "device_indicators", d.sum.DeviceIndicators, "ip_indicators", d.sum.IPIndicators,
		"shared", d.sum.SharedAddresses, "rejected", d.sum.Rejected, "took", time.Since(start).Round(time.Millisecond))
	return &d.sum, nil
}

type outputs struct {
	rejected, indicators, shared, provenance, summary *atomicfile.File
}

// rejections writes rejected records and counts them against the limit.
type rejections struct {
	w   io.Writer
	buf []byte
	n   int
	max int
}

func (r *rejections) add(e *seams.RecordError) error {
	r.n++
	if r.max >= 0 && r.n > r.max {
		return fmt.Errorf("%w: more than %d (see --max-rejected)", ErrTooManyRejected, r.max)
	}
	r.buf = jsonl.AppendRejected(r.buf[:0], e)
	if _, err := r.w.Write(r.buf); err != nil {
		return fmt.Errorf("write %s: %w", RejectedFile, err)
	}
	return nil
}

// deriver is one derivation's state.
type deriver struct {
	o  *Options
	rj *rejections

	compounds []seams.Compound
	ids       map[string]int
	x         *footprint.Index
	fpSources [][]string // footprint sources of each compound
	previous  []seams.Indicator

	sc      *scanner
	devs    interner
	pairIdx map[uint64]int32 // comp<<32 | dev
	pairs   []pair
	addrs   []addr
	useIdx  map[uint64]int32 // comp<<32 | addr
	uses    []usage
	perComp []CompoundCounts
	inputs  []seams.InputCount
	obsIn   []int // index in inputs of each observation file

	sum Summary
}

// load reads the compounds, footprints and previous indicators, writes their
// rejections, and builds the footprint index.
func (d *deriver) load() error {
	o := d.o
	var werr error
	read := func(path, kind string, fn func(io.Reader, func(*seams.RecordError)) (int, error)) error {
		f, err := input.Open(context.Background(), path, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		defer f.Close()
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		in := seams.InputCount{File: path, Kind: kind}
		n, err := fn(r, func(e *seams.RecordError) {
			in.Rejected++
			if werr == nil {
				werr = d.rj.add(e)
			}
		})
		if err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		in.Records = n + in.Rejected
		d.inputs = append(d.inputs, in)
		return nil
	}
	if err := read(o.Compounds, "compounds", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
		d.compounds, err = registry.ReadCompounds(r, o.Compounds, rej)
		return len(d.compounds), err
	}); err != nil {
		return err
	}
	d.ids = make(map[string]int, len(d.compounds))
	for i, c := range d.compounds {
		d.ids[c.ID] = i
	}
	var fps []footprint.Footprint
	if o.Footprints != "" {
		if err := read(o.Footprints, "footprints", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
			fps, err = footprint.ReadGeoJSON(r, o.Footprints, d.compounds, rej)
			return len(fps), err
		}); err != nil {
			return err
		}
	}
	d.sum.Footprints.Features = len(fps)
	all, none, err := footprint.WithCircles(fps, d.compounds, o.Radius, o.Compounds, func(e *seams.RecordError) {
		if werr == nil {
			werr = d.rj.add(e)
		}
	})
	if err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	d.sum.Footprints.Circles = len(all) - len(fps)
	d.sum.Footprints.CompoundsWithout = len(none)
	if d.x, err = footprint.NewIndex(all, d.compounds, o.MaxAccuracy); err != nil {
		return err
	}
	d.fpSources = make([][]string, len(d.compounds))
	d.perComp = make([]CompoundCounts, len(d.compounds))
	for i, c := range d.compounds {
		d.perComp[i] = CompoundCounts{Compound: c.ID, Name: c.Name, Country: c.Country}
	}
	for i := range all {
		ci := d.x.Compound(i)
		d.fpSources[ci] = append(d.fpSources[ci], all[i].Source())
		d.perComp[ci].Footprints++
	}
	if o.Previous != "" {
		if err := read(o.Previous, "previous", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
			d.previous, err = registry.ReadIndicators(r, o.Previous, d.ids, rej)
			return len(d.previous), err
		}); err != nil {
			return err
		}
	}
	d.sc = &scanner{o: o, x: d.x, stamps: make([]fileStamp, len(o.Observations))}
	d.obsIn = make([]int, len(o.Observations))
	for i, f := range o.Observations {
		d.obsIn[i] = len(d.inputs)
		d.inputs = append(d.inputs, seams.InputCount{File: f, Kind: "observations"})
	}
	d.pairIdx = make(map[uint64]int32)
	d.useIdx = make(map[uint64]int32)
	d.sc.cands = make(map[netip.Addr]int32)
	return nil
}

// passResidents is the first pass: where every device was.
func (d *deriver) passResidents(ctx context.Context) error {
	oc := &d.sum.Observations
	return d.sc.run(ctx, passResidents, func(b *batch) error {
		in := &d.inputs[d.obsIn[b.file]]
		in.Records += b.records
		in.Rejected += len(b.rejects)
		oc.Read += b.records
		oc.Rejected += len(b.rejects)
		oc.Inside += b.where[footprint.Inside]
		oc.OutsideFootprints += b.where[footprint.Outside]
		oc.AccuracyCrossesEdge += b.where[footprint.OnEdge]
		oc.AccuracyTooCoarse += b.where[footprint.TooCoarse]
		oc.AccuracyAssumed += b.noAcc
		for i := range b.rejects {
			if err := d.rj.add(&b.rejects[i]); err != nil {
				return err
			}
		}
		for i := range b.recs {
			r := &b.recs[i]
			dev := d.devs.intern(r.dev)
			day := dayOf(r.at)
			if r.inN > 1 {
				oc.InsideSeveral++
			}
			for _, c := range b.ins[r.inOff : r.inOff+r.inN] {
				k := uint64(c)<<32 | uint64(dev)
				pi, ok := d.pairIdx[k]
				if !ok {
					pi = int32(len(d.pairs))
					d.pairIdx[k] = pi
					d.pairs = append(d.pairs, pair{comp: c, dev: dev})
				}
				p := &d.pairs[pi]
				p.add(r.at)
				p.days.add(day)
				d.perComp[c].ObservationsInside++
			}
			if !r.ip.IsValid() {
				continue
			}
			oc.InsideWithIP++
			if seams.NonRoutable(r.ip) != "" {
				oc.InsideUnroutableIP++
				continue
			}
			ai, ok := d.sc.cands[r.ip]
			if !ok {
				ai = int32(len(d.addrs))
				d.sc.cands[r.ip] = ai
				d.addrs = append(d.addrs, addr{addr: r.ip})
			}
			d.addrs[ai].inside.add(dev)
		}
		return nil
	})
}

// decideResidents marks the resident pairs, and the addresses a resident
// device used inside somewhere, which are the only ones the second pass
// looks at.
func (d *deriver) decideResidents() {
	w := int32(d.o.Window / (24 * time.Hour))
	resident := make([]bool, len(d.devs.devs))
	for i := range d.pairs {
		p := &d.pairs[i]
		d.perComp[p.comp].DevicesInside++
		if p.days.bestWindow(w) >= d.o.MinDays {
			p.resident = true
			resident[p.dev] = true
			d.sum.Residents++
			d.perComp[p.comp].Residents++
		} else {
			d.sum.PassersBy++
			d.perComp[p.comp].PassersBy++
		}
	}
	for i := range d.addrs {
		a := &d.addrs[i]
		for _, dev := range a.inside {
			if resident[dev] {
				a.relevant = true
				break
			}
		}
		d.sc.relevant = append(d.sc.relevant, a.relevant)
		if a.relevant {
			// Count outside devices up to what decides the address, or
			// up to countLimit for the provenance, whichever is more.
			t := sharedThreshold(len(a.inside), d.o.MaxOutsideShare, d.o.MinOutsideDevices)
			a.limit = max(t, countLimit)
		}
	}
}

// countLimit is how many devices outside the footprints are counted, at
// least, for an address: beyond what decides whether it is shared, the
// count is for people to read, and memory stays bounded by it.
const countLimit = 100

// passAddresses is the second pass: who used the candidate addresses, and
// where.
func (d *deriver) passAddresses(ctx context.Context) error {
	records := make([]int, len(d.o.Observations))
	err := d.sc.run(ctx, passAddresses, func(b *batch) error {
		records[b.file] += b.records
		for i := range b.recs {
			r := &b.recs[i]
			ai := d.sc.cands[r.ip]
			a := &d.addrs[ai]
			dev, known := d.devs.lookup(r.dev)
			if r.where == footprint.Outside {
				if !known || !a.inside.has(dev) {
					a.addOutside(hashDevice(r.dev))
				}
				continue
			}
			for _, c := range b.ins[r.inOff : r.inOff+r.inN] {
				pi, ok := d.pairIdx[uint64(c)<<32|uint64(dev)]
				if !ok || !known || !d.pairs[pi].resident {
					continue
				}
				k := uint64(c)<<32 | uint64(ai)
				ui, ok := d.useIdx[k]
				if !ok {
					ui = int32(len(d.uses))
					d.useIdx[k] = ui
					d.uses = append(d.uses, usage{comp: c, addr: ai})
				}
				u := &d.uses[ui]
				u.add(r.at)
				u.days.add(dayOf(r.at))
				u.devs.add(dev)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, n := range records {
		if want := d.inputs[d.obsIn[i]].Records; n != want {
			return fmt.Errorf("%s: %d records in the second pass, %d in the first: the file changed while it was read", d.o.Observations[i], n, want)
		}
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// round2 rounds a confidence to the two decimals written.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// jsonMarshal is json.Marshal without HTML escaping, so that values read as
// they are written.
func jsonMarshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
