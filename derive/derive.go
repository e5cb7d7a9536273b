// Package derive builds a registry of compound indicators from device
// observations inside compound footprints: the step before a
// cross-reference.
//
// A device becomes a device indicator of a compound when it dwells there:
// its stays inside the footprint (runs of fixes inside, no fix elsewhere
// between them, each gap short enough to be presence) add up to enough
// hours on enough days within a window, and, for a resident rather than a
// worker, cover nights. An address becomes an indicator when several of
// those devices used it inside on several days and no one else used it at
// the same time; an address that outside devices used as much, in the same
// period, is shared infrastructure (carrier NAT, satellite) and goes to a
// shared list instead. Windows of addresses are cut where the address was
// not seen for longer than a lease. IPv6 addresses are taken by /64 (the
// network a site's privacy addresses rotate in) and become cidr
// indicators, a /56 where several /64 of one delegation show. Every
// indicator comes with its evidence in provenance.jsonl.
//
// Run reads the observation files twice: first to place every observation
// against the footprints and find the devices that may dwell in a compound
// (candidates) and the addresses used inside; then to collect every
// observation of the candidates (inside or not: stays need both) and who
// used the candidate addresses, inside and outside, day by day. Nothing is
// kept for devices never seen inside, and nothing but counts for a day
// outside an address's period of use.
//
// Governance: observations at sensitive places (--exclude) and older than
// the retention limit (--retain) are dropped before anything else and only
// counted; outputs hold infrastructure (devices, addresses, prefixes, with
// counts), never a device's locations, and rejected observation lines are
// written without their content.
package derive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
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

	// Exclude is a GeoJSON file of sensitive places (places of worship,
	// clinics, schools, shelters): an observation whose circle of accuracy
	// touches one is dropped before anything else and counted. Optional.
	Exclude string
	// Retain, when above 0, drops observations older than AsOf − Retain
	// before anything else, counted.
	Retain time.Duration
	// AsOf is the time retention is measured from; zero means now.
	AsOf time.Time

	// Radius is the radius in meters of the circle that stands for a
	// compound with a location and no footprint.
	Radius float64
	// MaxAccuracy is the largest accuracy radius, in meters, of an
	// observation that is used; coarser ones are discarded.
	MaxAccuracy float64
	// AssumeAccuracy is the accuracy, in meters, taken for an observation
	// that gives none: by default MaxAccuracy, as coarse as any fix used,
	// never a precise point.
	AssumeAccuracy float64
	// SpotDevices is how many distinct devices must report one identical
	// coordinate for it to be taken as a shared position (a geocoder's
	// centroid, a cell tower, an access point's stored place) and its
	// fixes discounted; 0 turns the check off.
	SpotDevices int

	// MinStay is the shortest stay that counts: a run of fixes inside one
	// compound, with no fix elsewhere between them, from its first fix to
	// its last.
	MinStay time.Duration
	// MaxGap is the longest time between two fixes of a stay: a longer
	// silence ends it.
	MaxGap time.Duration
	// MinDwell is the time inside, in stays of at least MinStay, that makes
	// a device a resident or worker, within Window.
	MinDwell time.Duration
	// MinDays is how many distinct local days with stay time inside (or,
	// for the share of fixes, with fixes inside) it takes, within Window.
	MinDays int
	// MinFixes and MinShare are the other way to be a member, for devices
	// whose fixes are too sparse to show stays: within Window, at least
	// MinFixes fixes, of which a share inside the compound that is at
	// least MinShare with 95% confidence.
	MinFixes int
	MinShare float64
	// MinNights is how many nights inside make a resident rather than a
	// worker: a night counts when stays cover at least half of the night
	// hours.
	MinNights int
	// NightStart and NightEnd are the night hours, local time at the
	// compound (its longitude's solar time), 0-23; NightStart > NightEnd
	// crosses midnight.
	NightStart, NightEnd int
	// Window is the span within which MinDwell, MinDays and MinNights must
	// be met; whole days.
	Window time.Duration

	// MinAddrDevices and MinAddrDays are the support an address needs to
	// become an indicator of a compound: resident or worker devices using
	// it inside, on distinct local days, within one lease window.
	MinAddrDevices int
	MinAddrDays    int
	// LeaseGap splits an address's use into windows: a longer time without
	// use inside the compound ends a window.
	LeaseGap time.Duration
	// ShareMargin widens a window when counting who else used the address:
	// outside devices count against it when they used it during the
	// window or within this margin of it; whole days.
	ShareMargin time.Duration
	// MaxOutsideShare and MinOutsideDevices make an address shared: at
	// least MinOutsideDevices devices that never used it inside used it
	// outside every footprint in the window, and they are more than
	// MaxOutsideShare of all its devices then.
	MaxOutsideShare   float64
	MinOutsideDevices int
	// MaxCompetingShare is the largest share of outside devices an address
	// may have in its window and still be an indicator ("no competing
	// use"); between it and shared, an address is contested: neither.
	MaxCompetingShare float64

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

// Defaults of the options; docs/derive.md gives the reasons.
const (
	DefaultRadius            = 250
	DefaultMaxAccuracy       = 100
	DefaultSpotDevices       = 5
	DefaultMinStay           = time.Hour
	DefaultMaxGap            = 10 * time.Hour
	DefaultMinDwell          = 24 * time.Hour
	DefaultMinDays           = 3
	DefaultMinFixes          = 5
	DefaultMinShare          = 0.25
	DefaultMinNights         = 2
	DefaultNightStart        = 0
	DefaultNightEnd          = 6
	DefaultWindow            = 30 * 24 * time.Hour
	DefaultMinAddrDevices    = 2
	DefaultMinAddrDays       = 2
	DefaultLeaseGap          = 7 * 24 * time.Hour
	DefaultShareMargin       = 24 * time.Hour
	DefaultMaxOutsideShare   = 0.5
	DefaultMinOutsideDevices = 3
	DefaultMaxCompetingShare = 0.2
	DefaultSource            = "seams-derive"
)

// NewOptions returns Options with the defaults filled in.
func NewOptions() Options {
	return Options{
		Radius: DefaultRadius, MaxAccuracy: DefaultMaxAccuracy, AssumeAccuracy: DefaultMaxAccuracy, SpotDevices: DefaultSpotDevices,
		MinStay: DefaultMinStay, MaxGap: DefaultMaxGap, MinDwell: DefaultMinDwell, MinDays: DefaultMinDays,
		MinFixes: DefaultMinFixes, MinShare: DefaultMinShare,
		MinNights: DefaultMinNights, NightStart: DefaultNightStart, NightEnd: DefaultNightEnd, Window: DefaultWindow,
		MinAddrDevices: DefaultMinAddrDevices, MinAddrDays: DefaultMinAddrDays, LeaseGap: DefaultLeaseGap, ShareMargin: DefaultShareMargin,
		MaxOutsideShare: DefaultMaxOutsideShare, MinOutsideDevices: DefaultMinOutsideDevices, MaxCompetingShare: DefaultMaxCompetingShare,
		Source: DefaultSource, MaxRejected: -1, Logger: slog.New(slog.DiscardHandler),
	}
}

// ErrOptions matches every mistake in the Options (a *seams.FieldError,
// see Validate): it is seams.ErrUsage.
var ErrOptions = seams.ErrUsage

// ErrTooManyRejected is returned when more records were rejected than
// Options.MaxRejected allows; no output is written then.
var ErrTooManyRejected = errors.New("too many rejected records")

const day = 24 * time.Hour

// Validate returns the mistakes in o, each a *seams.FieldError naming the
// field as Go spells it, joined; nil when there is none. Run calls it; a
// command line calls it to report every mistake at once, by flag.
func (o *Options) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, seams.InvalidField(field, format, args...))
	}
	wholeDays := func(d time.Duration) bool { return d%day == 0 }
	o.validateFiles(&errs)
	if err := footprint.CheckRadius(o.Radius); err != nil {
		bad("Radius", "%v", err)
	}
	if !(o.MaxAccuracy >= 0 && o.MaxAccuracy <= footprint.MaxReach) {
		bad("MaxAccuracy", "%g m (want 0 to %d)", o.MaxAccuracy, footprint.MaxReach)
	}
	if !(o.AssumeAccuracy >= 0 && o.AssumeAccuracy <= footprint.MaxReach) {
		bad("AssumeAccuracy", "%g m (want 0 to %d)", o.AssumeAccuracy, footprint.MaxReach)
	}
	if o.SpotDevices < 0 || o.SpotDevices == 1 {
		bad("SpotDevices", "%d (want 2 or more, or 0 for no check: one device repeating its own position is not a shared one)", o.SpotDevices)
	}
	if o.MinStay < 0 || o.MinStay > 7*day {
		bad("MinStay", "%s (want 0 to 7 days)", o.MinStay)
	}
	if o.MaxGap <= 0 || o.MaxGap > 7*day {
		bad("MaxGap", "%s (want more than 0, at most 7 days)", o.MaxGap)
	}
	if o.MinDwell < 0 {
		bad("MinDwell", "%s is negative", o.MinDwell)
	}
	if o.MinDays < 1 || o.MinDays > 10000 {
		bad("MinDays", "%d (want 1 to 10000)", o.MinDays)
	}
	if o.MinFixes < 1 {
		bad("MinFixes", "%d (want 1 or more)", o.MinFixes)
	}
	if !(o.MinShare > 0 && o.MinShare <= 1) {
		bad("MinShare", "%g (want a fraction in (0,1])", o.MinShare)
	}
	if o.MinNights < 0 || o.MinNights > 10000 {
		bad("MinNights", "%d (want 0 to 10000)", o.MinNights)
	}
	if o.NightStart < 0 || o.NightStart > 23 || o.NightEnd < 0 || o.NightEnd > 23 || o.NightStart == o.NightEnd {
		bad("NightStart", "night %d-%d (want two different hours 0 to 23)", o.NightStart, o.NightEnd)
	}
	switch {
	case o.Window < day || !wholeDays(o.Window) || o.Window > 10000*day:
		bad("Window", "%s (want a whole number of days, 1 to 10000)", o.Window)
	case o.Window < time.Duration(o.MinDays)*day:
		bad("Window", "%d days cannot hold %d distinct days", o.Window/day, o.MinDays)
	case o.Window < time.Duration(o.MinNights)*day:
		bad("Window", "%d days cannot hold %d nights", o.Window/day, o.MinNights)
	case o.MinDwell > o.Window:
		bad("MinDwell", "%s is longer than the window of %d days", o.MinDwell, o.Window/day)
	}
	if o.MinAddrDevices < 1 {
		bad("MinAddrDevices", "%d (want 1 or more)", o.MinAddrDevices)
	}
	if o.MinAddrDays < 1 {
		bad("MinAddrDays", "%d (want 1 or more)", o.MinAddrDays)
	}
	if o.LeaseGap < day || !wholeDays(o.LeaseGap) {
		bad("LeaseGap", "%s (want a whole number of days, at least 1)", o.LeaseGap)
	}
	if o.ShareMargin < 0 || !wholeDays(o.ShareMargin) || o.ShareMargin > 365*day {
		bad("ShareMargin", "%s (want a whole number of days, 0 to 365)", o.ShareMargin)
	}
	if !(o.MaxOutsideShare >= 0 && o.MaxOutsideShare <= 1) {
		bad("MaxOutsideShare", "%g (want a fraction in [0,1])", o.MaxOutsideShare)
	}
	if o.MinOutsideDevices < 1 {
		bad("MinOutsideDevices", "%d (want 1 or more)", o.MinOutsideDevices)
	}
	if !(o.MaxCompetingShare >= 0 && o.MaxCompetingShare <= o.MaxOutsideShare) {
		bad("MaxCompetingShare", "%g (want a fraction from 0 to the max outside share, %g)", o.MaxCompetingShare, o.MaxOutsideShare)
	}
	if o.Retain < 0 || o.Retain > 0 && !wholeDays(o.Retain) {
		bad("Retain", "%s (want a whole number of days)", o.Retain)
	}
	if !o.AsOf.IsZero() && o.Retain == 0 {
		bad("AsOf", "only applies with a retention period")
	}
	return errors.Join(errs...)
}

// validateFiles adds the mistakes in the names of the inputs and the
// output to errs.
func (o *Options) validateFiles(errs *[]error) {
	if o.Compounds == "" {
		*errs = append(*errs, seams.MissingField("Compounds"))
	}
	if len(o.Observations) == 0 {
		*errs = append(*errs, seams.MissingField("Observations"))
	}
	if o.Out == "" {
		*errs = append(*errs, seams.MissingField("Out"))
	}
	seen := map[string]bool{}
	for _, f := range o.Observations {
		if f == "-" {
			*errs = append(*errs, seams.InvalidField("Observations", "cannot be read from standard input: derive reads its inputs twice"))
			return
		}
		if seen[f] {
			*errs = append(*errs, seams.InvalidField("Observations", "%s given twice", f))
			return
		}
		seen[f] = true
	}
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
	if err := o.Validate(); err != nil {
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
	if err := d.passPlaces(ctx); err != nil {
		return nil, err
	}
	d.decideCandidates()
	o.Logger.Info("pass 1 done", "observations", d.sum.Observations.Read, "candidates", d.sum.Dwell.Candidates,
		"addresses", len(d.addrs), "took", time.Since(start).Round(time.Millisecond))
	if err := d.passCandidates(ctx); err != nil {
		return nil, err
	}
	o.Logger.Info("pass 2 done", "took", time.Since(start).Round(time.Millisecond))
	d.findSpots()
	d.decideMembers()
	d.decideAddresses()
	o.Logger.Info("decided", "members", len(d.members), "took", time.Since(start).Round(time.Millisecond))
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
		"cidr_indicators", d.sum.CIDRIndicators, "shared", d.sum.SharedAddresses, "rejected", d.sum.Rejected,
		"took", time.Since(start).Round(time.Millisecond))
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
	zones     *footprint.ZoneIndex
	cutoff    int64 // Unix ns; observations before it are dropped (retention); MinInt64 for none
	offset    []int64
	fpSources [][]string // footprint sources of each compound
	previous  []seams.Indicator

	sc      *scanner
	devs    interner
	pairIdx map[uint64]int32 // comp<<32 | dev
	pairs   []pair
	// devDays are the days each device was seen inside a footprint (local
	// days of the compound) or near one (UTC days of a vague fix: too
	// coarse, or across an edge): what makes a candidate.
	devDays []daySet
	addrs   []addr
	perComp []CompoundCounts
	inputs  []seams.InputCount
	obsIn   []int // index in inputs of each observation file

	// Between the passes and after: the candidates and what pass 2
	// collected.
	candOf     []int32   // candidate number of each device, or -1
	cands      []int32   // device of each candidate
	candInside []bool    // of each candidate: seen inside in pass 1 (not only near)
	events     [][]event // of each candidate
	dayUses    map[uint64]int32
	uses       []dayUse // who used a relevant address on a day: addr<<32 | uint32(day)
	spots      map[uint32]bool
	members    []member
	result     addressResult

	sum Summary
}

// load reads the compounds, footprints, zones and previous indicators,
// writes their rejections, and builds the footprint index.
func (d *deriver) load() error {
	if err := d.loadCompounds(); err != nil {
		return err
	}
	all, rejectedFeatures, err := d.loadFootprints()
	if err != nil {
		return err
	}
	if err := d.indexFootprints(all, rejectedFeatures); err != nil {
		return err
	}
	if err := d.loadExclusions(); err != nil {
		return err
	}
	d.setRetention()
	if err := d.loadPrevious(); err != nil {
		return err
	}
	d.prepareScan()
	return nil
}

// readInput opens an input of kind and reads it with fn, which returns
// the records it kept; rejections go to rejected.jsonl, and the input's
// counts to the summary.
func (d *deriver) readInput(path, kind string, fn func(io.Reader, func(*seams.RecordError)) (int, error)) error {
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
	var werr error
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

// loadCompounds reads the compounds and numbers them.
func (d *deriver) loadCompounds() error {
	o := d.o
	if err := d.readInput(o.Compounds, "compounds", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
		d.compounds, err = registry.ReadCompounds(r, o.Compounds, rej)
		return len(d.compounds), err
	}); err != nil {
		return err
	}
	d.ids = make(map[string]int, len(d.compounds))
	for i, c := range d.compounds {
		d.ids[c.ID] = i
	}
	return nil
}

// loadFootprints reads the footprints, if any, and gives every compound
// without one a circle of Options.Radius. It returns them all, and the
// reasons each compound's features were rejected.
func (d *deriver) loadFootprints() ([]footprint.Footprint, map[string][]string, error) {
	o := d.o
	var fps []footprint.Footprint
	rejectedFeatures := map[string][]string{} // compound -> reasons its features were rejected
	if o.Footprints != "" {
		if err := d.readInput(o.Footprints, "footprints", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
			fps, err = footprint.ReadGeoJSON(r, o.Footprints, d.compounds, func(e *seams.RecordError) {
				if c := featureCompound(e.Raw); c != "" {
					rejectedFeatures[c] = append(rejectedFeatures[c], fmt.Sprintf("%s:%d %s: %s", e.File, e.Line, e.Item, e.Reason))
				}
				rej(e)
			})
			return len(fps), err
		}); err != nil {
			return nil, nil, err
		}
	}
	d.sum.Footprints.Features = len(fps)
	var werr error
	all, none, err := footprint.WithCircles(fps, d.compounds, o.Radius, o.Compounds, func(e *seams.RecordError) {
		if werr == nil {
			werr = d.rj.add(e)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if werr != nil {
		return nil, nil, werr
	}
	d.sum.Footprints.Circles = len(all) - len(fps)
	d.sum.Footprints.CompoundsWithout = len(none)
	return all, rejectedFeatures, nil
}

// indexFootprints builds the index of the footprints, and per compound
// their sources, its local time offset and the footprints to flag: circles
// that replace rejected features, and areas far larger than a compound.
func (d *deriver) indexFootprints(all []footprint.Footprint, rejectedFeatures map[string][]string) error {
	var err error
	if d.x, err = footprint.NewIndex(all, d.compounds, d.o.MaxAccuracy); err != nil {
		return err
	}
	d.fpSources = make([][]string, len(d.compounds))
	d.perComp = make([]CompoundCounts, len(d.compounds))
	d.offset = make([]int64, len(d.compounds))
	for i, c := range d.compounds {
		d.perComp[i] = CompoundCounts{Compound: c.ID, Name: c.Name, Country: c.Country}
	}
	seenOffset := make([]bool, len(d.compounds))
	for i := range all {
		ci := d.x.Compound(i)
		fp := &all[i]
		d.fpSources[ci] = append(d.fpSources[ci], fp.Source())
		d.perComp[ci].Footprints++
		if !seenOffset[ci] {
			// Local solar time: 4 minutes an degree of longitude east.
			d.offset[ci] = int64(math.Round(fp.Center[0]*240)) * int64(time.Second)
			seenOffset[ci] = true
		}
		if fp.Circle {
			if reasons := rejectedFeatures[fp.Compound]; len(reasons) > 0 {
				d.sum.Footprints.FallbackCircles = append(d.sum.Footprints.FallbackCircles,
					FallbackCircle{Compound: fp.Compound, RadiusM: fp.Radius, Rejected: reasons})
			}
		} else if fp.AreaM2 > footprint.LargeAreaM2 {
			d.sum.Footprints.Large = append(d.sum.Footprints.Large,
				LargeFootprint{Compound: fp.Compound, Source: fp.Source(), AreaKM2: math.Round(fp.AreaM2/1e4) / 100})
		}
	}
	return nil
}

// loadExclusions reads the sensitive places of Options.Exclude, if any.
func (d *deriver) loadExclusions() error {
	o := d.o
	if o.Exclude == "" {
		return nil
	}
	var zones []footprint.Zone
	if err := d.readInput(o.Exclude, "exclude", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
		zones, err = footprint.ReadZones(r, o.Exclude, rej)
		return len(zones), err
	}); err != nil {
		return err
	}
	var err error
	if d.zones, err = footprint.NewZoneIndex(zones, o.MaxAccuracy); err != nil {
		return err
	}
	d.sum.Governance.Exclude = &Exclusions{File: o.Exclude, Zones: len(zones)}
	return nil
}

// setRetention sets the instant before which observations are dropped.
func (d *deriver) setRetention() {
	o := d.o
	d.cutoff = math.MinInt64
	if o.Retain <= 0 {
		return
	}
	asOf := o.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	cut := asOf.Add(-o.Retain).UTC()
	d.cutoff = cut.UnixNano()
	d.sum.Governance.Retention = &Retention{AsOf: rfc3339(asOf), RetainDays: int(o.Retain / day), Cutoff: rfc3339(cut)}
}

// loadPrevious reads the indicators of a previous run, if any.
func (d *deriver) loadPrevious() error {
	o := d.o
	if o.Previous == "" {
		return nil
	}
	return d.readInput(o.Previous, "previous", func(r io.Reader, rej func(*seams.RecordError)) (n int, err error) {
		d.previous, err = registry.ReadIndicators(r, o.Previous, d.ids, rej)
		return len(d.previous), err
	})
}

// prepareScan readies the scanner of the observations and their counts.
func (d *deriver) prepareScan() {
	o := d.o
	d.sc = &scanner{o: o, x: d.x, zones: d.zones, cutoff: d.cutoff, stamps: make([]fileStamp, len(o.Observations))}
	d.obsIn = make([]int, len(o.Observations))
	for i, f := range o.Observations {
		d.obsIn[i] = len(d.inputs)
		d.inputs = append(d.inputs, seams.InputCount{File: f, Kind: "observations"})
	}
	d.pairIdx = make(map[uint64]int32)
	d.sc.cands = make(map[addrKey]int32)
}

// featureCompound returns the compound a rejected feature names, as far
// as its text (maybe cut short) says: properties.compound, or else its id.
func featureCompound(raw string) string {
	if m := compoundRe.FindStringSubmatch(raw); m != nil {
		return strings.TrimSpace(m[1])
	}
	if m := idRe.FindStringSubmatch(raw); m != nil {
		return strings.TrimSpace(strings.Trim(m[1], `"`))
	}
	return ""
}

var (
	compoundRe = regexp.MustCompile(`"compound"\s*:\s*"([^"\\]*)"`)
	idRe       = regexp.MustCompile(`"id"\s*:\s*("[^"\\]*"|[0-9]+)`)
)

// localDay returns the local day, at compound c, of an instant.
func (d *deriver) localDay(c int32, ns int64) int32 { return dayOf(ns + d.offset[c]) }

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
