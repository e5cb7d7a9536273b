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
               [--min-days N] [--window DURATION] [--max-accuracy M] [--max-outside-share F]
               [--previous FILE] --out DIR

Build the registry that "seams xref" reads from location observations of
devices (the shape of commercial location data: a device, a time, a place,
the accuracy of the fix, and the IP address it used then). Every
observation is placed against the compounds' footprints, and:
  a device seen inside a compound's footprint on at least --min-days distinct
  (UTC) days within --window is resident there: a device indicator, its
  window from its first to its last observation inside. Devices seen inside
  on fewer days are passers-by: counted, never indicators.
  an address that resident devices used inside the footprint is an ip
  indicator, its window spanning those observations; unless devices never
  seen inside used it so much (at least --min-outside-devices of them, and
  more than --max-outside-share of all devices using it) that it is shared
  infrastructure, carrier NAT or satellite: it goes to shared.txt instead.
An observation counts only when its whole circle of accuracy lies inside a
footprint: one that crosses a wall, or is coarser than --max-accuracy, is
discarded and counted.

Into DIR it writes:
  indicators.csv    the registry, in the format of "seams xref --indicators"
  shared.txt        shared addresses, with the counts that put them there,
                    in the format of "seams xref --shared"
  provenance.jsonl  for each indicator, in the same order: the observations,
                    days and devices behind it, the footprints, its confidence
  summary.json      what became of every observation: inside, outside every
                    footprint, too coarse, crossing an edge, or rejected;
                    residents and passers-by by compound
  rejected.jsonl    every record that could not be used, with file, line and
                    reason
The files are written under temporary names and renamed when the run
completes: a failed run leaves DIR as it was. Inputs are read twice (where
devices were, then who used their addresses), so they must be files, not
standard input. Memory grows with the devices and addresses seen inside
footprints, not with the observations.

Flags:
  --compounds FILE        compounds CSV, as for xref: id,name,country,lat,lon,...
  --footprints FILE       compound footprints, GeoJSON: a FeatureCollection of
                          Polygon or MultiPolygon features naming their compound
                          in properties.compound or in "id". Invalid features are
                          rejected with the reason. Optional.
  --radius M              a compound with a location and no footprint gets a
                          circle of M meters around it. Default 250.
  --observations FILE     observations: JSON Lines (.jsonl, .ndjson), CSV (.csv),
                          either maybe gzipped (.gz), or Parquet (.parquet).
                          Fields device (TYPE:VALUE), at (RFC 3339), lat, lon,
                          accuracy_m (optional), ip (optional). Repeat for
                          several files.
  --format F              read every observations file as jsonl, csv or parquet,
                          whatever its name.
  --max-accuracy M        discard fixes whose accuracy radius is above M meters.
                          Default 100.
  --assume-accuracy M     take M meters for a fix that gives no accuracy.
                          Default 0: the point as given.
  --min-days N            distinct days inside that make a resident. Default 3.
  --window DURATION       the span those days must fall within, in whole days:
                          30d, or 720h. Default 30d.
  --max-outside-share F   an address is shared when more than F of the devices
                          that used it never used it inside a footprint...
                          Default 0.5.
  --min-outside-devices N ...and at least N of them did. Default 3.
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
               --observations 2024-q1.parquet --observations 2024-q2.parquet --out registry/
  seams xref --compounds compounds.csv --indicators registry/indicators.csv \
             --shared registry/shared.txt --reports reports.jsonl --out out/
  seams derive --compounds compounds.csv --observations more.jsonl.gz \
               --previous registry/indicators.csv --min-days 5 --window 14d --out registry2/

Exit status: 0 when the run completed, even with rejected records; 1 when it
could not complete; 2 for a usage error.
`,
	run: runDerive,
}

// deriveArgs are the flags of derive that are not derive.Options fields.
type deriveArgs struct {
	format                 string
	window                 durationFlag
	cpuprofile, memprofile string
	verbose                bool
}

func deriveFlags(o *derive.Options, a *deriveArgs) *flag.FlagSet {
	fs := newFlags("derive")
	a.window = durationFlag(o.Window)
	fs.StringVar(&o.Compounds, "compounds", "", "")
	fs.StringVar(&o.Footprints, "footprints", "", "")
	fs.Float64Var(&o.Radius, "radius", o.Radius, "")
	fs.Var((*listFlag)(&o.Observations), "observations", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.Float64Var(&o.MaxAccuracy, "max-accuracy", o.MaxAccuracy, "")
	fs.Float64Var(&o.AssumeAccuracy, "assume-accuracy", o.AssumeAccuracy, "")
	fs.IntVar(&o.MinDays, "min-days", o.MinDays, "")
	fs.Var(&a.window, "window", "")
	fs.Float64Var(&o.MaxOutsideShare, "max-outside-share", o.MaxOutsideShare, "")
	fs.IntVar(&o.MinOutsideDevices, "min-outside-devices", o.MinOutsideDevices, "")
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
	o.Window = time.Duration(a.window)
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
	printDeriveSummary(e.stdout, s, &o, time.Since(start))
	return nil
}

// printDeriveSummary prints the table people read after a derivation.
func printDeriveSummary(w io.Writer, s *derive.Summary, o *derive.Options, took time.Duration) {
	oc := s.Observations
	fmt.Fprintf(w, "observations read        %d (%d rejected)\n", oc.Read, oc.Rejected)
	fmt.Fprintf(w, "inside a footprint       %d\n", oc.Inside)
	fmt.Fprintf(w, "discarded                %d outside every footprint, %d too coarse, %d crossing an edge\n",
		oc.OutsideFootprints, oc.AccuracyTooCoarse, oc.AccuracyCrossesEdge)
	fmt.Fprintf(w, "residents                %d (passers-by: %d)\n", s.Residents, s.PassersBy)
	fmt.Fprintf(w, "indicators               %d device, %d ip\n", s.DeviceIndicators, s.IPIndicators)
	fmt.Fprintf(w, "shared addresses         %d\n", s.SharedAddresses)
	if p := s.Previous; p != nil {
		fmt.Fprintf(w, "previous run             %d extended, %d carried, %d retired as shared\n", p.Extended, p.Carried, p.Retired)
	}
	fmt.Fprintf(w, "rejected records         %d\n", s.Rejected)
	if len(s.ByCompound) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "compound\tname\tresidents\tpassers-by\tip indicators")
		const top = 10
		shown := 0
		for _, c := range s.ByCompound {
			if shown == top {
				fmt.Fprintf(tw, "… %d more in summary.json\t\t\t\t\n", len(s.ByCompound)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", c.Compound, c.Name, c.Residents, c.PassersBy, c.IPIndicators)
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
