package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams/derive"
	"github.com/seams-dev/seams/observe"
)

var deriveCommand = &command{
	summary: "derive a registry of compound indicators from device observations",
	usage: `Usage:
  seams derive --compounds FILE [--footprints FILE] --observations FILE [--observations FILE ...]
               [--exclude FILE] [--retain DURATION [--as-of TIME]]
               [--min-dwell DURATION] [--min-days N] [--min-nights N] [--window DURATION]
               [--min-address-devices N] [--min-address-days N] [--lease-gap DURATION]
               [--previous FILE] --out DIR

Build the registry that "seams xref" reads from location observations of
devices (the shape of commercial location data: a device, a time, a place,
the accuracy of the fix, and the IP address it used then). Every
observation is placed against the compounds' footprints, and:
  a device that dwells in a compound is a device indicator: its stays
  there (runs of fixes inside, with no fix elsewhere between them and no
  silence longer than --max-gap, lasting at least --min-stay) add up to
  --min-dwell on --min-days local days within --window. With --min-nights
  nights inside it is a resident, else a worker. A rider in for twenty
  minutes, a visitor, a neighbour whose fix strays over the wall, is not.
  On a day with time in two compounds that share a wall, the day counts
  for the one with more.
  an address that --min-address-devices of those devices used inside on
  --min-address-days days is an ip indicator for each lease window (use
  cut where it was not seen for longer than --lease-gap), unless others
  used it at the same time (within --share-margin): when devices never
  seen inside are at least --min-outside-devices and more than
  --max-outside-share of its users then, it is shared infrastructure,
  carrier NAT or satellite, and goes to shared.txt; above
  --max-competing-share it is contested and written nowhere. IPv6
  addresses are taken by /64 and become cidr indicators (a /56 where
  several /64 of one delegation show).
An observation counts as inside only when its whole circle of accuracy
lies inside a footprint; one without accuracy is taken as --assume-accuracy
(default --max-accuracy, never a precise point); a coordinate reported
exactly by --spot-devices devices or more (a geocoder's centroid, a cell
tower) places no one and is discounted.

Location data is used for this purpose only: observations at the places
of --exclude (places of worship, clinics, schools, shelters) and older
than --retain are dropped before anything else, and counted; the outputs
hold infrastructure and counts, never a device's locations (rejected
observation lines are listed without their content). summary.json says
what was dropped, the period the registry comes from, and the rules.

Into DIR it writes:
  indicators.csv    the registry, in the format of "seams xref --indicators"
  shared.txt        shared addresses, with the counts that put them there,
                    in the format of "seams xref --shared"
  provenance.jsonl  for each indicator, in the same order: the stays or
                    uses behind it, the files and period, its confidence
  summary.json      what became of every observation; residents, workers
                    and passers-by by compound; warnings; governance
  rejected.jsonl    every record that could not be used, with file, line and
                    reason
The files are written under temporary names and renamed when the run
completes: a failed run leaves DIR as it was. Inputs are read twice, so they
must be files, not standard input. Memory grows with the observations of
devices seen inside footprints, not with the others.

Flags:
  --compounds FILE        compounds CSV, as for xref: id,name,country,lat,lon,...
  --footprints FILE       compound footprints, GeoJSON: a FeatureCollection of
                          Polygon or MultiPolygon features naming their compound
                          in properties.compound or in "id". Invalid features are
                          rejected with the reason; a compound left without a
                          feature falls back to a circle, with a warning.
                          Footprints larger than 5 km² are flagged. Optional.
  --radius M              a compound with a location and no footprint gets a
                          circle of M meters around it. Default 250.
  --observations FILE     observations: JSON Lines (.jsonl, .ndjson), CSV (.csv),
                          either maybe gzipped (.gz), or Parquet (.parquet).
                          Fields device (TYPE:VALUE), at (RFC 3339), lat, lon,
                          accuracy_m (optional), ip (optional). Repeat for
                          several files.
  --format F              read every observations file as jsonl, csv or parquet,
                          whatever its name.
  --exclude FILE          sensitive places, GeoJSON: Polygon, MultiPolygon or
                          Point features (a point is a circle of
                          properties.radius_m, default 100 m). Observations whose
                          circle of accuracy touches one are dropped first.
  --retain DURATION       drop observations older than this (whole days: 365d),
                          counted from --as-of.
  --as-of TIME            the time retention counts from (RFC 3339). Default now.
  --max-accuracy M        discard fixes whose accuracy radius is above M meters.
                          Default 100.
  --assume-accuracy M     take M meters for a fix that gives no accuracy.
                          Default: --max-accuracy.
  --spot-devices N        a coordinate reported exactly by N or more devices is
                          a shared position; its fixes are discounted.
                          Default 5; 0: no check.
  --min-stay DURATION     the shortest stay that counts. Default 1h.
  --max-gap DURATION      the longest silence within a stay. Default 10h.
  --min-dwell DURATION    time inside that makes a member, within --window.
                          Default 24h.
  --min-days N            local days with time inside, within --window. Default 3.
  --min-fixes N           for devices too sparse to show stays: at least N fixes
                          within --window...  Default 5.
  --min-share F           ...of which a share of at least F inside (with 95%
                          confidence: the low end of its Wilson interval) make
                          a member. Default 0.25.
  --min-nights N          nights (half of the night hours inside) that make a
                          resident rather than a worker. Default 2.
  --night H-H             the night hours, local solar time. Default 0-6.
  --window DURATION       the span those must fall within, in whole days: 30d,
                          or 720h. Default 30d.
  --min-address-devices N members using an address inside, in one window, to
                          make it an indicator. Default 2.
  --min-address-days N    ...on N local days. Default 2.
  --lease-gap DURATION    a longer time without use inside ends an address's
                          window (whole days). Default 7d. Address indicators
                          are written with drift 0: xref, with its defaults,
                          takes no report in a gap or a later lease as
                          evidence.
  --share-margin DURATION outside use counts against a window within this of it
                          (whole days). Default 1d.
  --max-outside-share F   an address is shared when more than F of its users in
                          a window never used it inside... Default 0.5.
  --min-outside-devices N ...and at least N of them did. Default 3.
  --max-competing-share F the largest outside share an indicator may have.
                          Default 0.2.
  --source TEXT           the source column of derived indicators.
                          Default seams-derive.
  --previous FILE         an indicators.csv of an earlier run: indicators derived
                          again get the union of both windows (windows only
                          grow); those not derived again are kept as they were;
                          ip indicators now found shared are dropped.
  --out DIR               output directory, created if missing.
  --max-rejected N        fail (exit 1, nothing written) when more than N records
                          are rejected. Default: no limit.
  --workers N             goroutines parsing and placing observations.
                          Default: one per CPU.
  --cpuprofile FILE       write a CPU profile (go tool pprof).
  --memprofile FILE       write a heap profile at the end of the run.
  --verbose               log progress details on standard error.

Examples:
  seams derive --compounds compounds.csv --footprints footprints.geojson \
               --observations 2024-q1.parquet --observations 2024-q2.parquet \
               --exclude sensitive.geojson --retain 365d --out registry/
  seams xref --compounds compounds.csv --indicators registry/indicators.csv \
             --shared registry/shared.txt --reports reports.jsonl --out out/
  seams derive --compounds compounds.csv --observations more.jsonl.gz \
               --previous registry/indicators.csv --min-days 5 --out registry2/

Exit status: 0 when the run completed, even with rejected records; 1 when it
could not complete; 2 for a usage error.
`,
	run: runDerive,
}

// deriveArgs are the flags of derive that are not derive.Options fields.
type deriveArgs struct {
	format, night, asOf    string
	window, retain         durationFlag
	minStay, maxGap        durationFlag
	minDwell               durationFlag
	leaseGap, shareMargin  durationFlag
	assumeAccuracy         float64
	cpuprofile, memprofile string
	verbose                bool
}

func deriveFlags(o *derive.Options, a *deriveArgs) *flag.FlagSet {
	fs := newFlags("derive")
	a.window, a.minStay, a.maxGap, a.minDwell = durationFlag(o.Window), durationFlag(o.MinStay), durationFlag(o.MaxGap), durationFlag(o.MinDwell)
	a.leaseGap, a.shareMargin = durationFlag(o.LeaseGap), durationFlag(o.ShareMargin)
	a.assumeAccuracy = -1
	fs.StringVar(&o.Compounds, "compounds", "", "")
	fs.StringVar(&o.Footprints, "footprints", "", "")
	fs.Float64Var(&o.Radius, "radius", o.Radius, "")
	fs.Var((*listFlag)(&o.Observations), "observations", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.StringVar(&o.Exclude, "exclude", "", "")
	fs.Var(&a.retain, "retain", "")
	fs.StringVar(&a.asOf, "as-of", "", "")
	fs.Float64Var(&o.MaxAccuracy, "max-accuracy", o.MaxAccuracy, "")
	fs.Float64Var(&a.assumeAccuracy, "assume-accuracy", -1, "")
	fs.IntVar(&o.SpotDevices, "spot-devices", o.SpotDevices, "")
	fs.Var(&a.minStay, "min-stay", "")
	fs.Var(&a.maxGap, "max-gap", "")
	fs.Var(&a.minDwell, "min-dwell", "")
	fs.IntVar(&o.MinDays, "min-days", o.MinDays, "")
	fs.IntVar(&o.MinFixes, "min-fixes", o.MinFixes, "")
	fs.Float64Var(&o.MinShare, "min-share", o.MinShare, "")
	fs.IntVar(&o.MinNights, "min-nights", o.MinNights, "")
	fs.StringVar(&a.night, "night", fmt.Sprintf("%d-%d", o.NightStart, o.NightEnd), "")
	fs.Var(&a.window, "window", "")
	fs.IntVar(&o.MinAddrDevices, "min-address-devices", o.MinAddrDevices, "")
	fs.IntVar(&o.MinAddrDays, "min-address-days", o.MinAddrDays, "")
	fs.Var(&a.leaseGap, "lease-gap", "")
	fs.Var(&a.shareMargin, "share-margin", "")
	fs.Float64Var(&o.MaxOutsideShare, "max-outside-share", o.MaxOutsideShare, "")
	fs.IntVar(&o.MinOutsideDevices, "min-outside-devices", o.MinOutsideDevices, "")
	fs.Float64Var(&o.MaxCompetingShare, "max-competing-share", o.MaxCompetingShare, "")
	fs.StringVar(&o.Source, "source", o.Source, "")
	fs.StringVar(&o.Previous, "previous", "", "")
	fs.StringVar(&o.Out, "out", "", "")
	fs.IntVar(&o.MaxRejected, "max-rejected", -1, "")
	fs.IntVar(&o.Workers, "workers", 0, "")
	fs.StringVar(&a.cpuprofile, "cpuprofile", "", "")
	fs.StringVar(&a.memprofile, "memprofile", "", "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
	return fs
}

func runDerive(ctx context.Context, e *env, args []string) error {
	o := derive.NewOptions()
	var a deriveArgs
	fs := deriveFlags(&o, &a)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	for _, f := range []struct{ name, val string }{{"compounds", o.Compounds}, {"out", o.Out}} {
		if f.val == "" {
			return usagef("derive", "missing --%s", f.name)
		}
	}
	if len(o.Observations) == 0 {
		return usagef("derive", "missing --observations")
	}
	if a.format != "" {
		f, err := observe.ParseFormat(a.format)
		if err != nil {
			return usagef("derive", "--format: %v", err)
		}
		o.Format = f
	}
	if _, err := fmt.Sscanf(a.night, "%d-%d", &o.NightStart, &o.NightEnd); err != nil || fmt.Sprintf("%d-%d", o.NightStart, o.NightEnd) != a.night {
		return usagef("derive", "--night %q: want two hours, as 0-6 or 22-5", a.night)
	}
	if a.asOf != "" {
		t, err := time.Parse(time.RFC3339, a.asOf)
		if err != nil {
			return usagef("derive", "--as-of %q: want an RFC 3339 time", a.asOf)
		}
		if a.retain == 0 {
			return usagef("derive", "--as-of applies to --retain only")
		}
		o.AsOf = t
	}
	if a.assumeAccuracy >= 0 {
		o.AssumeAccuracy = a.assumeAccuracy
	} else {
		o.AssumeAccuracy = o.MaxAccuracy
	}
	o.Window, o.Retain = time.Duration(a.window), time.Duration(a.retain)
	o.MinStay, o.MaxGap, o.MinDwell = time.Duration(a.minStay), time.Duration(a.maxGap), time.Duration(a.minDwell)
	o.LeaseGap, o.ShareMargin = time.Duration(a.leaseGap), time.Duration(a.shareMargin)
	o.Logger = newLogger(e.stderr, a.verbose)

	if a.cpuprofile != "" {
		f, err := os.Create(a.cpuprofile)
		if err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	s, err := derive.Run(ctx, o)
	if a.memprofile != "" {
		if f, ferr := os.Create(a.memprofile); ferr == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	switch {
	case errors.Is(err, derive.ErrOptions):
		// What the flags said cannot be done: a usage error.
		return usagef("derive", "%s", strings.TrimPrefix(err.Error(), derive.ErrOptions.Error()+": "))
	case errors.Is(err, derive.ErrTooManyRejected):
		return fmt.Errorf("%w; nothing was written to %s", err, o.Out)
	case err != nil:
		return err
	}
	// Warnings go to standard error, where they are seen even when the
	// table goes to a file.
	for _, w := range s.Warnings {
		fmt.Fprintf(e.stderr, "WARNING: %s\n", w)
	}
	printDeriveSummary(e.stdout, s, &o, time.Since(start))
	return nil
}

// printDeriveSummary prints the table people read after a derivation.
func printDeriveSummary(w io.Writer, s *derive.Summary, o *derive.Options, took time.Duration) {
	oc := s.Observations
	fmt.Fprintf(w, "observations read        %d (%d rejected)\n", oc.Read, oc.Rejected)
	if oc.OlderThanRetention+oc.AtSensitivePlaces > 0 || o.Exclude != "" || o.Retain > 0 {
		fmt.Fprintf(w, "dropped first            %d older than the retention limit, %d at sensitive places\n", oc.OlderThanRetention, oc.AtSensitivePlaces)
	}
	fmt.Fprintf(w, "inside a footprint       %d\n", oc.Inside)
	fmt.Fprintf(w, "discarded                %d outside every footprint, %d too coarse, %d crossing an edge\n",
		oc.OutsideFootprints, oc.AccuracyTooCoarse, oc.AccuracyCrossesEdge)
	sc := s.SharedCoordinates
	fmt.Fprintf(w, "shared coordinates       %d (%d inside footprints; %d fixes discounted)\n", sc.Coordinates, sc.InsideFootprints, sc.FixesInside+sc.FixesOutside+sc.FixesVague)
	fmt.Fprintf(w, "members                  %d residents, %d workers (passers-by: %d)\n", s.Residents, s.Workers, s.PassersBy)
	fmt.Fprintf(w, "indicators               %d device, %d ip, %d cidr\n", s.DeviceIndicators, s.IPIndicators, s.CIDRIndicators)
	fmt.Fprintf(w, "shared addresses         %d\n", s.SharedAddresses)
	a := s.Addresses
	fmt.Fprintf(w, "address windows dropped  %d too little support, %d contested, %d of shared addresses\n", a.Unsupported, a.Contested, a.DroppedShared)
	if p := s.Previous; p != nil {
		fmt.Fprintf(w, "previous run             %d extended, %d carried, %d retired as shared\n", p.Extended, p.Carried, p.Retired)
	}
	fmt.Fprintf(w, "rejected records         %d\n", s.Rejected)
	if len(s.Warnings) > 0 {
		fmt.Fprintf(w, "WARNINGS                 %d: footprints to check (above, and in summary.json)\n", len(s.Warnings))
	}
	if len(s.ByCompound) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "compound\tname\tresidents\tworkers\tpassers-by\tip\tcidr")
		const top = 10
		shown := 0
		for _, c := range s.ByCompound {
			if shown == top {
				fmt.Fprintf(tw, "… %d more in summary.json\t\t\t\t\t\t\n", len(s.ByCompound)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", c.Compound, c.Name, c.Residents, c.Workers, c.PassersBy, c.IPIndicators, c.CIDRIndicators)
			shown++
		}
		tw.Flush()
	}
	files := []string{derive.IndicatorsFile, derive.SharedFile, derive.ProvenanceFile, derive.SummaryFile, derive.RejectedFile}
	for i, f := range files {
		files[i] = filepath.Join(o.Out, f)
	}
	fmt.Fprintf(w, "\nderived in %s; wrote %s\n", took.Round(time.Millisecond), strings.Join(files, ", "))
	fmt.Fprintf(w, "next: seams xref --compounds %s --indicators %s --shared %s --reports REPORTS --out OUT\n",
		o.Compounds, files[0], files[1])
}
