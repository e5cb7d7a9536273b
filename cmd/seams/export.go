package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/export"
)

var exportCommand = &command{
	summary: "write the findings of a run as STIX, MISP, CSV, Parquet or a signal feed",
	usage: `Usage:
  seams export --format FORMAT --from DIR --out FILE
               [--compounds FILE --indicators FILE] [--org NAME] [--time TIME] [--bom]
  seams export --format FORMAT (--data DIR | --db URL) --out FILE
               [filters of seams findings] [--org NAME] [--time TIME] [--bom]

Read the output of "seams xref" in DIR (findings.jsonl and summary.json) and
write it in a format partners and tools already use. The file is written
under a temporary name and renamed when complete, with mode 0600: it holds
report metadata. docs/formats.md has every mapping.

With --data or --db, read the current findings of a store instead (as its
operator: every organisation's), selected by the filters of seams findings;
GET /api/findings/export writes the same bytes for the same filters. The
compounds written are those of the findings, the indicators those of their
evidence.

Formats:
  stix     a STIX 2.1 bundle: each compound as Infrastructure located at a
           Location, each indicator as an Indicator that indicates it, and
           one Sighting per finding and indicator (count, first_seen and
           last_seen from the evidence, confidence 85 for tied and 50 for
           potential, sighted by the --org Identity). Ids are UUIDv5 of
           what identifies each object, so a re-export updates rather than
           duplicates; modified is --time plus 0-999 ms taken from a digest
           of the object, so a changed object is a new version. Timestamps
           have three fraction digits (valid_until is the millisecond after
           an indicator's last_seen); an edge finer than that is also
           written exactly in x_seams_first_seen or x_seams_last_seen.
  misp     MISP events, one per compound, unpublished and for your
           organisation only: the indicators as attributes (ip-src, AS, or
           text for devices), each evidence item as a sighting of its
           attribute. Evidence without a time cannot be a MISP sighting and
           is counted on standard error.
  csv      the findings, one row per evidence item, columns in a fixed
           order, RFC 4180 (CRLF after each row; a cell with a comma, quote,
           CR or LF is quoted and otherwise kept byte for byte). A cell a
           spreadsheet could run as a formula (= + - @ first, also after
           white space; or a leading tab or CR) is prefixed with ', and so
           is one that starts with ': take one leading ' off to read the
           value. Times in UTC to the microsecond, as in parquet.
  parquet  the same rows and values as Parquet, for DuckDB, pandas and
           Spark.
  gse      a flat feed of compound addresses (ip, cidr, asn; never devices
           or anything of the reports) as scam signals in the shape of the
           Global Signal Exchange, one JSON object a line.

Flags:
  --format FORMAT     stix, misp, csv, parquet or gse. Required.
  --from DIR          the output directory of seams xref. Required, unless
                      a store is given.
` + storeFlagsHelp + `  --tier, --compound, --country, --incident, --report, --review, --from-time,
  --to, --withdrawn, --stale, --rule, --source, --asn, --newest, --queue
                      with a store: the filters of seams findings (--from-time
                      is seams findings' --from: --from names the directory)
  --out FILE          the file to write; "-" writes standard output. Required.
  --compounds FILE    the compounds CSV of the run: gives every compound its
                      aliases, province, coordinates and status. Without it,
                      the compounds with findings are known by the id, name
                      and country of summary.json.
  --indicators FILE   the indicators CSV of the run (needs --compounds):
                      stix, misp and gse then write every indicator, not only
                      those of the findings' evidence.
  --org NAME          the reporting organisation: the STIX Identity that
                      sighted the findings, the MISP creator and sighting
                      source, the signal source. Required for stix, misp, gse.
  --time TIME         the time stamped on the objects (STIX created and
                      modified, MISP timestamps), RFC 3339. Default: the
                      latest instant in the data, so that the same data gives
                      the same bytes and new evidence moves it forward.
  --bom               csv only: begin the file with the UTF-8 byte-order mark,
                      so that Excel opens non-ASCII names and events
                      correctly (without it Excel on Windows guesses a
                      legacy code page). Other readers mostly skip it.

Examples:
  seams export --format stix --from out/ --org "Hotline Example" \
               --compounds compounds.csv --indicators indicators.csv --out findings.stix.json
  seams export --format csv --from out/ --out findings.csv
  seams export --format csv --bom --from out/ --out findings-for-excel.csv
  seams export --format parquet --from out/ --out findings.parquet
  duckdb -c "select compound, tier, count(*) from 'findings.parquet' group by all"

Exit status: 0 when written; 1 when the input cannot be read or the output
written (nothing is left behind); 2 for a usage error.
`,
	run: runExport,
}

// exportFlagOf maps the fields of export.Options to their flags.
var exportFlagOf = map[string]string{
	"Format": "format", "From": "from", "Out": "out", "Compounds": "compounds", "Indicators": "indicators",
	"Org": "org", "Time": "time", "BOM": "bom",
}

func exportFlags(o *export.Options, format, at *string) *flag.FlagSet {
	fs := newFlags("export")
	fs.StringVar(format, "format", "", "")
	fs.StringVar(&o.From, "from", "", "")
	fs.StringVar(&o.Out, "out", "", "")
	fs.StringVar(&o.Compounds, "compounds", "", "")
	fs.StringVar(&o.Indicators, "indicators", "", "")
	fs.StringVar(&o.Org, "org", "", "")
	fs.StringVar(at, "time", "", "")
	fs.BoolVar(&o.BOM, "bom", false, "")
	return fs
}

func runExport(ctx context.Context, e *env, args []string) error {
	var o export.Options
	var format, at string
	fs := exportFlags(&o, &format, &at)
	var sa storeArgs
	sa.register(fs)
	var ff findingFlags
	ff.register(fs, "from-time")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sa.given() {
		return exportStore(ctx, e, sa, ff, format, at, o)
	}
	if ff.given() {
		return usagef("export", "the filters of seams findings take a store (--data or --db)")
	}
	var err error
	if format != "" {
		if o.Format, err = export.ParseFormat(format); err != nil {
			return usagef("export", "--format: %v", err)
		}
	}
	if at != "" {
		if o.Time, err = seams.ParseTime(at); err != nil {
			return usagef("export", "--time: %v", err)
		}
	}
	if err := o.Validate(); err != nil {
		return fieldUsage("export", exportFlagOf, err)
	}
	o.Stdout = e.stdout
	res, err := export.Run(ctx, o)
	if errors.Is(err, export.ErrNoTime) {
		return fmt.Errorf("%w with --time (e.g. --time %s)", err, time.Now().UTC().Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%d findings", res.Findings)
	switch o.Format {
	case export.CSV, export.Parquet:
		what += fmt.Sprintf(", %d rows", res.Rows)
	case export.STIX:
		what += fmt.Sprintf(", %d STIX objects", res.Objects)
	case export.MISP:
		what += fmt.Sprintf(", %d MISP attributes", res.Objects)
	case export.GSE:
		what += fmt.Sprintf(", %d signals", res.Objects)
	}
	if o.Out != "-" {
		fmt.Fprintf(e.stderr, "wrote %s (%s)\n", o.Out, what)
	}
	if res.Skipped != "" {
		fmt.Fprintf(e.stderr, "note: %s\n", res.Skipped)
	}
	if res.Rejected > 0 {
		fmt.Fprintf(e.stderr, "note: %d rows of the registry files could not be used (see the rejected.jsonl of the run)\n", res.Rejected)
	}
	return nil
}

// exportStore is seams export --data: the findings of a store.
func exportStore(ctx context.Context, e *env, sa storeArgs, ff findingFlags, format, at string, o export.Options) error {
	if o.From != "" || o.Compounds != "" || o.Indicators != "" {
		return usagef("export", "--from, --compounds and --indicators read the output of seams xref; a store (--data, --db) replaces them")
	}
	for _, f := range []struct{ name, val string }{{"format", format}, {"out", o.Out}} {
		if f.val == "" {
			return usagef("export", "missing --%s", f.name)
		}
	}
	so := export.StoreOptions{Org: o.Org, BOM: o.BOM}
	var err error
	if so.Format, err = export.ParseFormat(format); err != nil {
		return usagef("export", "--format: %v", err)
	}
	if (so.Format == export.STIX || so.Format == export.MISP || so.Format == export.GSE) && so.Org == "" {
		return usagef("export", "--format %s needs --org, the reporting organisation", so.Format)
	}
	if so.BOM && so.Format != export.CSV {
		return usagef("export", "--bom is for --format csv, not %s", so.Format)
	}
	if at != "" {
		if so.Time, err = seams.ParseTime(at); err != nil {
			return usagef("export", "--time: %v", err)
		}
	}
	if so.Query, err = ff.query("export"); err != nil {
		return err
	}
	st, err := sa.open(ctx, "export", newLogger(e.stderr, false))
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	var w io.Writer = e.stdout
	commit, abort := func() error { return nil }, func() {}
	if o.Out != "-" {
		f, err := atomicfile.Create(o.Out)
		if err != nil {
			return err
		}
		w, commit, abort = f, f.Commit, f.Abort
	}
	defer abort()
	res, err := export.FromStore(ctx, st, operator(defaultOrg), so, w)
	if errors.Is(err, export.ErrNoTime) {
		return fmt.Errorf("%w with --time (e.g. --time %s)", err, time.Now().UTC().Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	if err := commit(); err != nil {
		return err
	}
	if o.Out != "-" {
		fmt.Fprintf(e.stderr, "wrote %s (%d findings)\n", o.Out, res.Findings)
	}
	if res.Skipped != "" {
		fmt.Fprintf(e.stderr, "note: %s\n", res.Skipped)
	}
	return nil
}
