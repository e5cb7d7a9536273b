package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/load"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/reportfile"
)

var loadCommand = &command{
	summary: "import compounds, indicators, shared space or reports into a store",
	usage: `Usage:
  seams load (--data DIR | --db URL) KIND FILE [FILE ...] [flags]

Import files into the case store. KIND is what the files hold; each kind
is read in every format seams xref reads it in, found from the first bytes:
  compounds   a compounds CSV or FollowTheMoney entities: new compounds
              are added (they belong to ORG), changed ones updated; none
              is ever deleted. A change that moves a compound more than
              500 km, or to another country, needs --confirm. (Over the
              API only the compound's organisation or a coalition steward
              may change it; the operator may change any.)
  indicators  an indicators CSV, a STIX 2.1 bundle or MISP events: it
              becomes the new version of the indicator file of that name
              (--name) of the organisation; rows already stored stay as
              they are, new rows are new indicator versions, rows no
              longer listed are retired. Old findings keep pointing at the
              versions that made them. The compounds a CSV names must be
              loaded first; those a bundle or MISP events define and the
              store lacks are stored with them (a stored compound keeps
              what the store says, as a compounds file wins in seams xref)
  shared      a shared-space list or a MISP warninglist, replacing what the
              list of that name listed before. Without --org it is the
              coalition-wide set, which applies to every organisation's
              reports (the operator owns the store); with --org ORG it is
              ORG's list, applied to ORG's reports only, or to every
              organisation's with --shared. The ASes a warninglist names
              are kept with it: a run given --asn-db applies their networks,
              as seams xref does. A default route (0.0.0.0/0, ::/0) is
              refused; a list covering more than 1/256 of IPv4 or of IPv6
              needs --confirm
  reports     report files in any format seams reads (JSON Lines,
              CyberTipline XML, CSV; see --format), stored 2,000 reports a
              transaction: a load that is stopped keeps what it committed,
              and loading the file again stores the rest
FILE "-" is standard input. Gzip and zstd data is decompressed, found from
its first bytes, whatever the name.
Loading the same file twice changes nothing, and says so. Every record
read is stored, already stored, or rejected with its file, line and reason:
rejections go to standard error, one a line, or with --rejected to a file
as JSON Lines (the format of xref's rejected.jsonl). A line per file on
standard output says what was done.
A store made by a seams before schema version 4 kept no associated-account
flags (CyberTipline associatedAccount): loading the same report files again
restores them, and the next seams xref --store revises the findings they
touch.

Flags:
` + storeFlagsHelp + `  --org ORG           the organisation the data belongs to (default local);
                      created if new
  --shared            make the indicators or reports visible to the other
                      organisations of the store, or ORG's shared-space
                      list apply to their reports (default: only to ORG)
  --coalition         load a shared-space list into the coalition-wide set
                      (the default of shared without --org)
  --confirm           store a change that needs confirmation: a shared-space
                      list covering more than 1/256 of an address family,
                      a compound moved more than 500 km or to another
                      country (without it the load is refused, nothing
                      stored, and says why)
  --name NAME         the name the file is stored under (default: its base
                      name; "stdin" for -). Indicator files of one name and
                      organisation are versions of one set.
  --source TEXT       where reports came from (default: the name)
  --format FORMAT     format of report files: jsonl, cybertip or csv
                      (default: from the name, or the first bytes)
  --batch N           reports per transaction (default 2000)
  --rejected FILE     write rejections to FILE as JSON Lines ("-" for
                      standard output) instead of standard error
  --verbose           log progress on standard error

Examples:
  seams load --data case/ compounds compounds.csv
  seams load --data case/ indicators partner-a.csv --org partner-a --shared
  seams load --data case/ indicators partner-b.stix.json.zst --org partner-b
  seams load --data case/ reports 2024-*.jsonl.gz --org hotline
  seams load --data case/ shared satellite.txt --org partner-a --shared
  seams load --data case/ compounds moved.csv --confirm
  zcat today.xml.gz | seams load --data case/ reports - --name today.xml

Exit status: 0 when the files were loaded, even with rejected records; 1 when
a file could not be read or stored (batches committed before stay); 2 for
a usage error.
`,
	run: runLoad,
}

func runLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlags("load")
	var sa storeArgs
	sa.register(fs)
	o := load.NewOptions()
	org := defaultOrg
	var rejected, format string
	var verbose bool
	fs.StringVar(&org, "org", org, "")
	fs.BoolVar(&o.Shared, "shared", false, "")
	fs.BoolVar(&o.Coalition, "coalition", false, "")
	fs.BoolVar(&o.Confirm, "confirm", false, "")
	fs.StringVar(&o.Name, "name", "", "")
	fs.StringVar(&o.Source, "source", "", "")
	fs.StringVar(&format, "format", "", "")
	fs.IntVar(&o.Batch, "batch", load.DefaultBatch, "")
	fs.StringVar(&rejected, "rejected", "", "")
	fs.BoolVar(&verbose, "verbose", false, "")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("load", "want a kind (compounds, indicators, shared or reports) and a file")
	}
	kind, files := pos[0], pos[1:]
	switch kind {
	case "compounds", "indicators", "shared":
		if len(files) != 1 {
			return usagef("load", "%s: one file at a time (got %d)", kind, len(files))
		}
	case "reports":
	default:
		return usagef("load", "unknown kind %q (want compounds, indicators, shared or reports)", kind)
	}
	orgGiven := false
	fs.Visit(func(f *flag.Flag) { orgGiven = orgGiven || f.Name == "org" })
	if o.Coalition && (kind != "shared" || o.Shared) {
		return usagef("load", "--coalition is for shared-space lists, and a list is either the coalition's or an organisation's (--shared)")
	}
	if kind == "shared" && !orgGiven && !o.Shared {
		// The operator's list, as before lists had owners: every
		// organisation's reports.
		o.Coalition = true
	}
	if o.Batch < 1 || o.Batch > 100000 {
		return usagef("load", "--batch %d out of range (1 to 100000)", o.Batch)
	}
	if o.Name != "" && len(files) > 1 {
		return usagef("load", "--name names one file, not %d", len(files))
	}
	stdin := 0
	for _, f := range files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usagef("load", "- (standard input) given more than once")
	}
	if o.Format, err = reportfile.ParseFormat(format); err != nil {
		return usagef("load", "--format: %v", err)
	}
	o.Stdin = e.stdin
	o.Logger = newLogger(e.stderr, verbose)

	// Rejections: one line each on stderr, or JSON Lines in a file.
	var rw *bufio.Writer
	var rerr error
	switch rejected {
	case "":
		o.Reject = func(r *seams.RecordError) { fmt.Fprintf(e.stderr, "rejected %s\n", r.Error()) }
	default:
		var w io.Writer = e.stdout
		if rejected != "-" {
			f, err := os.OpenFile(rejected, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return fmt.Errorf("rejected: %w", err)
			}
			defer f.Close()
			w = f
		}
		rw = bufio.NewWriter(w)
		var buf []byte
		o.Reject = func(r *seams.RecordError) {
			buf = jsonl.AppendRejected(buf[:0], r)
			if _, err := rw.Write(buf); err != nil && rerr == nil {
				rerr = err
			}
		}
	}

	st, err := sa.open(ctx, "load", o.Logger)
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	p := operator(org)
	var res load.Result
	switch kind {
	case "compounds":
		res, err = load.Compounds(ctx, st, p, files[0], o)
	case "indicators":
		res, err = load.Indicators(ctx, st, p, files[0], o)
	case "shared":
		res, err = load.Shared(ctx, st, p, files[0], o)
	case "reports":
		for _, f := range files {
			var r load.Result
			r, err = load.Reports(ctx, st, p, []string{f}, o)
			printLoad(e, kind, f, r)
			if err != nil {
				break
			}
		}
	}
	if kind != "reports" {
		printLoad(e, kind, files[0], res)
	}
	if rw != nil {
		if ferr := rw.Flush(); rerr == nil {
			rerr = ferr
		}
	}
	if err != nil {
		return storeError(err)
	}
	if rerr != nil {
		return fmt.Errorf("rejected: %w", rerr)
	}
	return nil
}

// printLoad says what a load did with one file.
func printLoad(e *env, kind, file string, r load.Result) {
	switch kind {
	case "reports":
		fmt.Fprintf(e.stdout, "%s: %d records read: %d stored, %d already stored", file, r.Read, r.New, r.Unchanged+r.Updated)
		if r.Updated > 0 {
			// Updated: sharing changed, or (a store made before schema
			// version 3) associated-account flags restored.
			fmt.Fprintf(e.stdout, " (%d of them updated: now shared or unshared, or associated-account flags restored)", r.Updated)
		}
		fmt.Fprintf(e.stdout, ", %d rejected", r.Rejected)
		if r.PartsRejected > 0 {
			fmt.Fprintf(e.stdout, "; %d parts of stored reports rejected", r.PartsRejected)
		}
	case "indicators":
		fmt.Fprintf(e.stdout, "%s: %d rows read: %d new indicator versions, %d kept, %d retired, %d rejected; file version %d",
			file, r.Read, r.New, r.Unchanged+r.Updated, r.Retired, r.Rejected, r.Version)
		if r.Compounds.New > 0 {
			fmt.Fprintf(e.stdout, "; %d new compounds defined by the file", r.Compounds.New)
		}
	case "shared":
		fmt.Fprintf(e.stdout, "%s: %d entries read: %d new, %d kept, %d retired, %d rejected", file, r.Read, r.New, r.Unchanged, r.Retired, r.Rejected)
	default:
		fmt.Fprintf(e.stdout, "%s: %d rows read: %d new, %d updated, %d unchanged, %d rejected", file, r.Read, r.New, r.Updated, r.Unchanged, r.Rejected)
	}
	if !r.Changed() {
		fmt.Fprint(e.stdout, "; nothing changed")
	}
	fmt.Fprintln(e.stdout)
}
