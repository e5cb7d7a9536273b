package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seams-dev/seams/internal/gen"
	"github.com/seams-dev/seams/xref"
)

var genCommand = &command{
	summary: "write a synthetic data set: compounds, indicators, reports, ground truth",
	usage: `Usage:
  seams gen --out DIR [--reports N] [--indicators N] [--compounds N] [--seed N]
            [--tied-rate F] [--potential-rate F] [--bad-rate F] [--gzip]

Write a realistic synthetic data set into DIR, for trying seams, testing it,
and reproducing the performance figures:
  compounds.csv   the first seven are real, publicly reported compounds at
                  approximate locations; the rest "Synthetic compound NNN"
  indicators.csv  ip, cidr and device indicators with windows; addresses come
                  from real registry ranges of Cambodia, Myanmar and Laos and
                  from Starlink (data: DB-IP and RouteViews, CC BY 4.0)
  shared.txt      satellite (Starlink) prefixes as shared space
  reports.jsonl   reports with IP events and devices; a few planted as tied or
                  potentially associated, the rest matching nothing
  truth.jsonl     the findings a cross-reference with the default drift must
                  produce: {"report","compound","tier"} per line
All identifiers, devices and reports are synthetic. The same seed and flags
give the same bytes.

Flags:
  --out DIR              output directory (created if missing)
  --reports N            report lines (default 100000); 10,000,000 is ~3 GB
  --indicators N         indicators over all compounds (default 2000)
  --compounds N          compounds (default 40)
  --seed N               random seed (default 1)
  --tied-rate F          fraction of reports planted tied (default 0.005)
  --potential-rate F     fraction planted potentially associated (default 0.02)
  --bad-rate F           fraction of malformed lines, to exercise rejections
                         (default 0)
  --gzip                 write reports.jsonl.gz

Example:
  seams gen --out /tmp/set --reports 1000000 --indicators 100000
  seams xref --compounds /tmp/set/compounds.csv --indicators /tmp/set/indicators.csv \
             --shared /tmp/set/shared.txt --reports /tmp/set/reports.jsonl --out /tmp/out

Observations (the inputs of "seams derive"):
  seams gen --observations N --out DIR [--compounds N] [--reports N] [--seed N]
            [--format jsonl|csv|parquet] [--bad-rate F] [--gzip]

With --observations, gen writes instead a world of compounds with footprints
and exactly N location observations of devices, for "seams derive", written
from how towns, people, phones and networks behave (docs/derive.md):
  compounds.csv       compounds located to the microdegree (default 12); some
                      share a wall; a special economic zone the size of a
                      district
  footprints.geojson  polygons and two-block multipolygons; a quarter of the
                      compounds have none and get derive's circle of 250 m
  observations.jsonl  (or .csv, .parquet) device, at, lat, lon, accuracy_m, ip:
                      residents (moved between compounds now and then), day
                      workers, delivery riders, neighbours at the fence,
                      visitors, phones that report a geocoder's centroid, the
                      towns; pings sparse to dense; GPS wrong beyond its
                      accuracy, Wi-Fi positioning, cell towers; carrier NAT
                      by session, fibre leases that pass to households and
                      come back, IPv6 /56 with daily privacy addresses,
                      satellite NAT shared with far-away terminals
  sensitive.geojson   clinics, places of worship and schools, for --exclude
  world.jsonl         the ground truth: residents and workers, the compounds'
                      leases and prefixes with their observed use, shared
                      addresses, later leases, riders, neighbours, visitors,
                      centroid phones
  reports.jsonl       reports planted on each phenomenon, and background
                      (default 10,000 lines)
  truth.jsonl         the findings "seams xref" (its defaults) must make of
                      them against the derived registry
  planted.jsonl       every planted report and what it was planted on
A world needs some 40,000 observations a compound at least.
  --observations N       observation lines, malformed ones included
  --format F             jsonl (default), csv or parquet
  --reports, --compounds, --seed, --bad-rate and --gzip as above; --indicators,
  --tied-rate and --potential-rate do not apply.
Example:
  seams gen --observations 1000000 --out /tmp/world
  seams derive --compounds /tmp/world/compounds.csv --footprints /tmp/world/footprints.geojson \
               --observations /tmp/world/observations.jsonl --exclude /tmp/world/sensitive.geojson \
               --out /tmp/world/registry
`,
	run: runGen,
}

// genFlagOf maps the fields of gen.Options and gen.ObservationOptions to
// the flags of seams gen (and seams demo, which has the first ones).
var genFlagOf = map[string]string{
	"Compounds": "compounds", "Indicators": "indicators", "Reports": "reports",
	"TiedRate": "--tied-rate, --potential-rate", "BadRate": "bad-rate", "Gzip": "gzip",
	"Observations": "observations", "Format": "format",
}

// genFlags registers the generator's flags on fs, filling o.
func genFlags(fs interface {
	Uint64Var(*uint64, string, uint64, string)
	IntVar(*int, string, int, string)
	Float64Var(*float64, string, float64, string)
	BoolVar(*bool, string, bool, string)
}, o *gen.Options) {
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "")
	fs.IntVar(&o.Reports, "reports", o.Reports, "")
	fs.IntVar(&o.Indicators, "indicators", o.Indicators, "")
	fs.IntVar(&o.Compounds, "compounds", o.Compounds, "")
	fs.Float64Var(&o.TiedRate, "tied-rate", o.TiedRate, "")
	fs.Float64Var(&o.PotentialRate, "potential-rate", o.PotentialRate, "")
	fs.Float64Var(&o.BadRate, "bad-rate", o.BadRate, "")
	fs.BoolVar(&o.Gzip, "gzip", o.Gzip, "")
}

// genCommandFlags are the flags of seams gen.
func genCommandFlags(o *gen.Options, out *string, obs *int, format *string) *flag.FlagSet {
	fs := newFlags("gen")
	genFlags(fs, o)
	fs.StringVar(out, "out", "", "")
	fs.IntVar(obs, "observations", 0, "")
	fs.StringVar(format, "format", "", "")
	return fs
}

func runGen(ctx context.Context, e *env, args []string) error {
	o := gen.DefaultOptions()
	var out, format string
	var obs int
	fs := genCommandFlags(&o, &out, &obs, &format)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" {
		return usagef("gen", "missing --out")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["observations"] {
		return genObservations(e, out, obs, format, o, set)
	}
	if set["format"] {
		return usagef("gen", "--format applies to --observations only")
	}
	if err := o.Validate(); err != nil {
		return fieldUsage("gen", genFlagOf, err)
	}
	start := time.Now()
	files, err := gen.Generate(out, o)
	if err != nil {
		return err
	}
	fi, _ := os.Stat(files.Reports)
	var size int64
	if fi != nil {
		size = fi.Size()
	}
	fmt.Fprintf(e.stdout, "wrote %d compounds, %d indicators, %d reports (%s) into %s in %s\n",
		o.Compounds, o.Indicators, o.Reports, humanSize(size), out, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "next: seams xref --compounds %s --indicators %s --shared %s --reports %s --asn-db %s --geo-db %s --out %s\n",
		files.Compounds, files.Indicators, files.Shared, files.Reports, files.IPDB, files.IPDB, filepath.Join(out, "out"))
	return nil
}

var demoCommand = &command{
	summary: "generate a demo data set, cross-reference it, print the summary",
	usage: `Usage:
  seams demo [--keep DIR] [--reports N] [--indicators N] [--seed N] ...

Generate a synthetic data set into a temporary folder (see "seams help gen"),
cross-reference it as "seams xref" would, print the summary, and check the
findings against the generator's ground truth. The folder is removed at the
end unless --keep names a directory to write into instead.

Flags:
  --keep DIR    write the data set and the outputs into DIR and keep them
  --verbose     log details on standard error
  and every flag of "seams gen" (--reports, --indicators, --compounds, --seed,
  --tied-rate, --potential-rate, --bad-rate, --gzip).

Example:
  go run ./cmd/seams demo
  seams demo --reports 1000000 --keep /tmp/demo
`,
	run: runDemo,
}

func runDemo(ctx context.Context, e *env, args []string) error {
	o := gen.DefaultOptions()
	o.BadRate = 0.001 // a few malformed lines, to show rejected.jsonl at work
	fs := newFlags("demo")
	genFlags(fs, &o)
	var keep string
	var verbose bool
	fs.StringVar(&keep, "keep", "", "")
	fs.BoolVar(&verbose, "verbose", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "seams-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := o.Validate(); err != nil {
		return fieldUsage("demo", genFlagOf, err)
	}
	start := time.Now()
	files, err := gen.Generate(dir, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "generated %d compounds, %d indicators and %d reports in %s (%s)\n\n",
		o.Compounds, o.Indicators, o.Reports, dir, time.Since(start).Round(time.Millisecond))

	xo := xref.NewOptions()
	xo.Compounds, xo.Indicators, xo.Shared = files.Compounds, files.Indicators, files.Shared
	// The generated addresses are real carriers' ranges: the demo names them.
	xo.ASNDB, xo.GeoDB = []string{files.IPDB}, []string{files.IPDB}
	xo.Reports = []string{files.Reports}
	xo.Out = filepath.Join(dir, "out")
	xo.Logger = newLogger(e.stderr, verbose)
	start = time.Now()
	s, err := xref.Run(ctx, xo)
	if err != nil {
		return err
	}
	took := time.Since(start)
	printSummary(e.stdout, s, xo.Out)

	diff, err := gen.CompareTruth(files.Truth, filepath.Join(xo.Out, xref.FindingsFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cross-referenced in %s; ", took.Round(time.Millisecond))
	if diff != "" {
		return fmt.Errorf("findings differ from the generator's ground truth:\n%s", diff)
	}
	fmt.Fprintln(e.stdout, "findings agree with the ground truth")
	return nil
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// genObservations is "seams gen --observations": a world for seams derive.
// o holds the values of the flags the two modes share.
func genObservations(e *env, out string, n int, format string, o gen.Options, set map[string]bool) error {
	for _, f := range []string{"indicators", "tied-rate", "potential-rate"} {
		if set[f] {
			return usagef("gen", "--%s does not apply to --observations", f)
		}
	}
	if n < 0 {
		return usagef("gen", "--observations %d: want 0 or more", n)
	}
	oo := gen.DefaultObservationOptions()
	oo.Observations, oo.Seed, oo.BadRate, oo.Gzip = n, o.Seed, o.BadRate, o.Gzip
	if set["compounds"] {
		oo.Compounds = o.Compounds
	}
	if set["reports"] {
		oo.Reports = o.Reports
	}
	if format != "" {
		oo.Format = format
	}
	start := time.Now()
	f, err := gen.GenerateObservations(out, oo)
	if errors.Is(err, gen.ErrOptions) {
		return fieldUsage("gen", genFlagOf, err)
	}
	if err != nil {
		return err
	}
	var size int64
	if fi, _ := os.Stat(f.Observations); fi != nil {
		size = fi.Size()
	}
	fmt.Fprintf(e.stdout, "wrote %d compounds, %d observations (%s), %d reports into %s in %s\n",
		oo.Compounds, oo.Observations, humanSize(size), oo.Reports, out, time.Since(start).Round(time.Millisecond))
	reg := filepath.Join(out, "registry")
	fmt.Fprintf(e.stdout, "next: seams derive --compounds %s --footprints %s --observations %s --exclude %s --out %s\n",
		f.Compounds, f.Footprints, f.Observations, f.Sensitive, reg)
	fmt.Fprintf(e.stdout, "then: seams xref --compounds %s --indicators %s --shared %s --reports %s --out %s\n",
		f.Compounds, filepath.Join(reg, "indicators.csv"), filepath.Join(reg, "shared.txt"), f.Reports, filepath.Join(out, "out"))
	return nil
}
