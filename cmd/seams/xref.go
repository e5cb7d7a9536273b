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

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/reportfile"
	"github.com/seams-dev/seams/sharedlist"
	"github.com/seams-dev/seams/xref"
)

var xrefCommand = &command{
	summary: "cross-reference reports against a registry of compound infrastructure",
	usage: `Usage:
  seams xref --compounds FILE --indicators FILE --reports FILE [--reports FILE ...]
             [--shared FILE] [--drift DURATION] --out DIR
  seams xref --store DIR [--drift DURATION] [--full]     (or --db URL)
             [--max-reports-per-indicator N] [--lift-cap VALUE ...]
             [--asn-db FILE] [--geo-db FILE] [--shared-asn LIST]
             [--shared-preset LIST] [--out DIR]
  seams xref --store DIR --as-of run:ID|TIME [--out DIR] [--asn-db FILE] ...

Cross-reference every report against the registry and write, into DIR:
  findings.jsonl  one line per (report, compound) pair with evidence: its tier
                  (tied or potential) and every indicator that fired
  summary.json    counts: reports, events, tied and potential reports, by
                  compound and by country (and by AS, with --asn-db); the
                  over-correlated indicators, the signals, what could not
                  be used, and the databases and lists in force
  rejected.jsonl  every record that could not be used, with file, line, item
                  and reason; nothing read is lost
The three files appear at once when the run completes (written in a
staging folder beside DIR, swapped in with one rename): a failed, killed
or interrupted run leaves DIR as it was, never a mix of two runs, and a
second run into the same DIR is refused while one is writing it. A short
summary table is printed on standard output; warnings (an empty input, one
whose every record was rejected) go to standard error and summary.json.

Flags:
  --compounds FILE    compounds CSV: id,name,aliases,country,province,lat,lon,
                      status; or FollowTheMoney entities (JSON lines).
                      May be left out when --indicators names compounds.
  --indicators FILE   indicators CSV: compound,kind,value,first_seen,last_seen,
                      confidence,source[,drift]; kind is ip, cidr, device or asn
                      (an asn needs --asn-db). Or a
                      STIX 2.1 bundle, or MISP events (JSON): their
                      compounds join those of --compounds (which wins).
  --reports FILE      reports; repeat for several files. gzip and Zstandard
                      data are decompressed (found from the content); "-"
                      reads standard input, and a FIFO, /dev/stdin or <(...)
                      are read once, as streams. Each input is opened once;
                      one that changes while it is read fails the run.
                      Report ids must be unique across all files.
  --format FORMAT     format of the report files: jsonl (seams' own, one
                      report a line), cybertip (CyberTipline report XML) or
                      csv (one row per ip event or device). Default: found
                      for each file from its name (.jsonl, .xml, .csv, with
                      or without .gz/.zst) or, failing that, its first bytes.
  --csv-memory BYTES  reports CSV: how many bytes of rows to group in memory
                      before spilling sorted runs to disk (rows of one report
                      may be anywhere in the file). Default 268435456; at
                      least 1048576.
  --id-memory BYTES   how much memory the check that report ids are unique
                      may take: about 20 bytes an id, so the default,
                      268435456, holds about 13 million. Beyond it, ids go
                      to a temporary file (24 bytes an id), checked at the
                      end; if one repeats there, the reports are read a
                      second time. Memory then stays the same for any number
                      of reports. An input that is not a regular file
                      (standard input, a pipe) keeps every id in memory (it
                      cannot be read twice). At least 262144.
  --tmp-dir DIR       where the CSV reader and the id check spill; default
                      the system's.
  --shared FILE       shared address space (carrier NAT, satellite, VPN): one
                      address or CIDR a line, # comments; or a MISP
                      warninglist (JSON). Evidence from shared
                      space is never tied. 100.64.0.0/10 is always shared.
  --asn-db FILE       IP-to-ASN database in MaxMind DB format (GeoLite2-ASN,
                      DB-IP, IPinfo, ip-location-db; scripts/fetch-ipdb gets
                      openly licensed ones). Repeat for several: the first
                      with a record answers. Findings then give the AS and
                      its organisation of every observed address, asn
                      indicators match, shared ASNs can be given, and a
                      finding is flagged foreign-asn when an address of its
                      evidence is on an AS none of the compound's own
                      address indicators is on.
  --geo-db FILE       IP-to-location database (country, city), the same way.
                      Findings then give country and city, and are flagged
                      cross-border when an address of its evidence is in
                      another country than the compound. (Signals are
                      reported; they never change a tier.)
  --shared-asn LIST   ASes whose every address is shared space, such as
                      AS14593,AS13335 (needs --asn-db).
  --shared-preset LIST
                      curated shared-space lists to turn on, by name:
                      satellite, cdn, public-dns, vpn (docs/enrich.md lists
                      what each holds). Off by default, so that a result depends
                      only on what you gave; summary.json records the lists
                      and databases in force, with their dates.
  --drift DURATION    how far outside an ip indicator's window an event at the
                      same address still counts, as rule ip-drift (potential).
                      Go syntax (2160h, 36h30m) or days (90d). Default 90d.
                      An indicator's own drift column (0 for a window observed
                      lease by lease, as seams derive writes) bounds it
                      further: the smaller applies, and 0 is none.
  --rules LIST        keep only the evidence of these rules, comma-separated
                      (device, ip, ip-drift, cidr, asn, ip-undated): the
                      others are dropped before findings are formed, so tiers,
                      capping and counts are what those rules alone give.
                      summary.json records the list under parameters.rules.
                      --rules device,ip is what a private match (seams psi
                      query) can see: the reference to compare it with.
                      Default: every rule.
  --out DIR           output directory, created if missing. It is replaced
                      as a whole: it may hold files (kept), not folders.
  --max-reports-per-indicator N
                      over-correlation limit: an ip or device indicator with
                      evidence in more than N distinct reports is probably
                      shared (carrier NAT, VPN exit, a device id an app
                      reports for everyone). It is listed in summary.json
                      under over_correlated, and the findings it alone ties
                      are capped at potential (marked "capped"). Default
                      500; 0 turns the check off.
  --min-confidence F  leave out indicators whose confidence is below F (0 to
                      1): a derived registry grades each indicator by its
                      support (docs/derive.md). Indicators without a
                      confidence are kept. Default 0: all.
  --lift-cap VALUE    exempt one indicator from the cap (an address, or a
                      device as TYPE:VALUE), when you know it is not shared;
                      repeat for several. It is still listed.
  --max-rejected N    fail (exit 1, nothing written) when more than N records
                      are rejected. Default: no limit.
  --workers N         goroutines parsing and matching. Default: one per CPU.
  --max-line BYTES    longest report line accepted. Default 4194304 (4 MiB).
  --cpuprofile FILE   write a CPU profile (go tool pprof) for a slow case.
  --memprofile FILE   write a heap profile at the end of the run.
  --verbose           log progress details on standard error.
  --store DIR         cross-reference what the store in DIR holds instead of
                      files (see seams load) and store the findings: new,
                      upgraded, downgraded, withdrawn and revised ones are
                      recorded as a run, with the seams build and every
                      parameter below. Only reports stored since the last
                      run are matched, unless indicators or shared space
                      changed, or a parameter did (--drift, the limit, the
                      lift list, a database, a shared list): then every
                      stored report is (a retro-hunt). The run takes
                      --drift, --max-reports-per-indicator, --lift-cap,
                      --asn-db, --geo-db, --shared-asn and --shared-preset
                      as a run over files does, and its findings are the
                      ones seams xref writes for the same files and flags.
                      The over-correlation count of an indicator spans every
                      stored report it is matched against (all
                      organisations' for a shared indicator); an
                      incremental run whose new reports take an indicator
                      over the limit is a retro-hunt. --compounds,
                      --indicators, --reports and --shared are not used.
                      Review marks survive.
  --db URL            the same for a PostgreSQL store (postgres://...).
  --full              with --store: match every stored report anyway.
  --decay-lifetime D, --decay-speed F, --decay-threshold F, --decay-base F
                      with --store: the decay model the store scores its
                      indicators and findings with after the run (MISP's
                      polynomial model: score = base * (1 - (t /
                      lifetime)^(1 / speed)), t since the last sighting;
                      decayed below the threshold). Defaults 180d, 1, 30,
                      100 (the base of an indicator without a confidence;
                      one with a confidence starts at 100 times it). Kept
                      with the run's parameters; a score never changes a
                      tier and a new model is not a retro-hunt.
                      docs/decay.md.
  --decay-source SOURCE=LIFETIME[,SPEED[,THRESHOLD[,BASE]]]
                      with --store: another model for the indicators of one
                      source (their source column); repeat for several:
                      --decay-source partner-d=730d,0.5
  --out DIR           with --store: after the run, write DIR/findings.jsonl,
                      the store's findings as seams xref writes them, by
                      report (in the order they were stored), then compound:
                      the run's figures, to publish. (Only findings.jsonl:
                      the store keeps the rest.)
  --as-of WHEN        with --store: replay the store as it was, and write
                      the findings it held then (to --out DIR's
                      findings.jsonl, or standard output), storing nothing.
                      WHEN is run:ID (the registry as recorded when that
                      run read it, the reports it covered, and the run's
                      parameters: the file --out wrote after that run, byte
                      for byte), or a time, RFC 3339 or a date (its end),
                      meaning what was recorded by then: indicator versions
                      and their sharing, shared space and compounds by their
                      record time, reports by their load time, with the
                      parameters of the other flags. With run:ID, the rule
                      flags are refused; --asn-db and --geo-db may name the
                      run's databases where they are now (a database that
                      is not the run's, by type, build date and size, is
                      refused). seams diff explains what changed between
                      two runs. docs/store.md, "Record time and replays".

Tiers:
  tied       a device of the report matches a device indicator in its window;
             or an event's address equals an ip indicator's, in its window,
             and the event is not flagged proxy and the address is not in
             shared space.
  potential  any other evidence: an exact address from a proxy or shared
             space, an address within --drift of the window (ip-drift), an
             address inside a cidr indicator in its window, or an address
             on the AS of an asn indicator in its window (with --asn-db),
             or an exact address of an event without a time (ip-undated).
             And a finding tied only by indicators over
             --max-reports-per-indicator is capped at potential.

Examples:
  seams xref --compounds compounds.csv --indicators indicators.csv \
             --reports reports.jsonl.gz --out out/
  seams xref --store case/ --out published/            # run, and publish
  seams xref --store case/ --as-of run:12 --out again/  # the same file, later
  seams xref --store case/ --as-of 2024-06-30 > june.jsonl
  zcat 2024-*.jsonl.gz | seams xref --compounds c.csv --indicators i.csv \
             --reports - --shared shared.txt --drift 30d --out out/

Exit status: 0 when the run completed, even with rejected records; 1 when it
could not complete (a bad or changed input, an interrupt, another run in
DIR); 2 for a usage error only.

Build seams cgo-free (CGO_ENABLED=0 go install ./cmd/seams): see
docs/xref.md, "A cgo-free binary".
`,
	run: runXref,
}

// xrefArgs are the flags of xref that are not xref.Options fields.
type xrefArgs struct {
	reports                []string
	drift                  durationFlag
	cpuprofile, memprofile string
	verbose                bool
	format                 string
	store, db              string // --store DIR, --db URL: cross-reference a store
	full                   bool
	liftCap                []string
	sharedASN              string
	rules                  string
	asOf                   string // --as-of: replay the store as it was
	set                    map[string]bool
	decay                  seams.DecayModel // --decay-*: the default model
	decaySources           []string         // --decay-source SOURCE=...
}

// xrefFlags returns the flag set of xref, filling o and a.
func xrefFlags(o *xref.Options, a *xrefArgs) *flag.FlagSet {
	fs := newFlags("xref")
	a.drift = durationFlag(o.Drift)
	fs.StringVar(&o.Compounds, "compounds", "", "")
	fs.StringVar(&o.Indicators, "indicators", "", "")
	fs.Var((*listFlag)(&a.reports), "reports", "")
	fs.StringVar(&a.format, "format", "", "")
	fs.Int64Var(&o.Readers.CSV.Memory, "csv-memory", o.Readers.CSV.Memory, "")
	fs.StringVar(&o.Readers.CSV.TempDir, "tmp-dir", "", "")
	fs.IntVar(&o.IDMemory, "id-memory", idset.DefaultBudget, "")
	fs.StringVar(&o.Shared, "shared", "", "")
	fs.Var(&a.drift, "drift", "")
	fs.StringVar(&o.Out, "out", "", "")
	fs.IntVar(&o.MaxRejected, "max-rejected", -1, "")
	fs.IntVar(&o.MaxReportsPerIndicator, "max-reports-per-indicator", o.MaxReportsPerIndicator, "")
	fs.Float64Var(&o.MinConfidence, "min-confidence", 0, "")
	fs.Var((*listFlag)(&a.liftCap), "lift-cap", "")
	fs.Var((*listFlag)(&o.ASNDB), "asn-db", "")
	fs.Var((*listFlag)(&o.GeoDB), "geo-db", "")
	fs.StringVar(&a.sharedASN, "shared-asn", "", "")
	fs.StringVar(&o.SharedPresets, "shared-preset", "", "")
	fs.IntVar(&o.Workers, "workers", 0, "")
	fs.IntVar(&o.MaxLine, "max-line", o.MaxLine, "")
	fs.StringVar(&a.cpuprofile, "cpuprofile", "", "")
	fs.StringVar(&a.memprofile, "memprofile", "", "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
	fs.StringVar(&a.store, "store", "", "")
	fs.StringVar(&a.db, "db", "", "")
	fs.BoolVar(&a.full, "full", false, "")
	fs.StringVar(&a.rules, "rules", "", "")
	fs.StringVar(&a.asOf, "as-of", "", "")
	def := seams.DefaultDecay().Default
	a.decay = def
	fs.StringVar(&a.decay.Lifetime, "decay-lifetime", def.Lifetime, "")
	fs.Float64Var(&a.decay.DecaySpeed, "decay-speed", def.DecaySpeed, "")
	fs.Float64Var(&a.decay.Threshold, "decay-threshold", def.Threshold, "")
	fs.Float64Var(&a.decay.BaseScore, "decay-base", def.BaseScore, "")
	fs.Var((*listFlag)(&a.decaySources), "decay-source", "")
	return fs
}

func runXref(ctx context.Context, e *env, args []string) error {
	o := xref.NewOptions()
	var a xrefArgs
	fs := xrefFlags(&o, &a)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if a.store != "" || a.db != "" {
		// A store's runs take the rule parameters and --full; a flag of a
		// run over files would be ignored, which is worse than refused.
		var ignored []string
		a.set = map[string]bool{}
		fs.Visit(func(f *flag.Flag) {
			a.set[f.Name] = true
			switch f.Name {
			case "store", "db", "drift", "full", "verbose", "cpuprofile", "memprofile",
				"max-reports-per-indicator", "lift-cap", "asn-db", "geo-db", "shared-asn", "shared-preset", "as-of", "out",
				"decay-lifetime", "decay-speed", "decay-threshold", "decay-base", "decay-source":
			default:
				ignored = append(ignored, "--"+f.Name)
			}
		})
		if len(ignored) > 0 {
			return usagef("xref", "%s cannot be used with --store or --db (a store's run takes --drift, --full, --max-reports-per-indicator, --lift-cap, --asn-db, --geo-db, --shared-asn, --shared-preset, --as-of and --out)", strings.Join(ignored, ", "))
		}
		if a.asOf != "" {
			return runXrefAsOf(ctx, e, &a, &o)
		}
		ho, err := huntOptions(&o, &a)
		if err != nil {
			return err
		}
		return runXrefStore(ctx, e, &a, ho, o.Out)
	}
	var storeOnly []string
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "decay-") {
			storeOnly = append(storeOnly, "--"+f.Name)
		}
	})
	if len(storeOnly) > 0 {
		return usagef("xref", "%s: only with --store or --db (a store scores its indicators; a run over files writes no scores)", strings.Join(storeOnly, ", "))
	}
	// --compounds may be left out when the indicators come in an exchange
	// format that names its compounds (STIX, MISP): xref.Run reads the
	// indicators file and says so when it is a CSV.
	if len(a.reports) == 0 {
		return usagef("xref", "missing --reports")
	}
	f, err := reportfile.ParseFormat(a.format)
	if err != nil {
		return usagef("xref", "--format: %v", err)
	}
	o.Format = f
	o.LiftCap = a.liftCap
	if a.sharedASN != "" {
		asns, err := sharedlist.ParseASNs(a.sharedASN)
		if err != nil {
			return usagef("xref", "--shared-asn: %v", err)
		}
		o.SharedASN = asns
	}
	if a.rules != "" {
		for name := range strings.SplitSeq(a.rules, ",") {
			r, err := seams.ParseRule(strings.TrimSpace(name))
			if err != nil {
				return usagef("xref", "--rules: %v", err)
			}
			o.Rules = append(o.Rules, r)
		}
	}
	o.Reports = a.reports
	o.Drift = time.Duration(a.drift)
	o.Stdin = e.stdin
	o.Logger = newLogger(e.stderr, a.verbose)
	if isTerminal(e.stderr) {
		o.Progress = e.stderr
	}

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
	if err := o.Validate(); err != nil {
		return xrefUsage(err)
	}
	s, err := xref.Run(ctx, o)
	if a.memprofile != "" {
		if f, ferr := os.Create(a.memprofile); ferr == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if err != nil {
		if errors.Is(err, xref.ErrUsage) {
			return xrefUsage(err)
		}
		if errors.Is(err, xref.ErrTooManyRejected) {
			return fmt.Errorf("%w; nothing was written to %s", err, o.Out)
		}
		return err
	}
	printSummary(e.stdout, s, o.Out)
	return nil
}

// xrefFlagOf maps the fields of xref.Options to their flags.
var xrefFlagOf = map[string]string{
	"Compounds": "compounds", "Indicators": "indicators", "Reports": "reports", "Out": "out",
	"Format": "format", "MaxLine": "max-line", "Readers.CSV.Memory": "csv-memory", "IDMemory": "id-memory",
	"MaxReportsPerIndicator": "max-reports-per-indicator", "LiftCap": "lift-cap", "SharedASN": "shared-asn",
	"SharedPresets": "shared-preset", "Drift": "drift", "ASNDB": "asn-db", "GeoDB": "geo-db",
	"MinConfidence": "min-confidence", "Rules": "rules",
}

// xrefUsage turns the field errors of xref.Options into one usage error
// that names flags: "missing --out", "--max-line: 10 is too small".
func xrefUsage(err error) error { return fieldUsage("xref", xrefFlagOf, err) }

// printSummary prints the table people read after a run.
func printSummary(w io.Writer, s *seams.Summary, out string) {
	fmt.Fprintf(w, "reports scanned          %d (%d ip events, %d devices)\n", s.Reports, s.Events, s.Devices)
	fmt.Fprintf(w, "tied                     %d reports\n", s.TiedReports)
	fmt.Fprintf(w, "potentially associated   %d reports\n", s.PotentialReports)
	fmt.Fprintf(w, "compounds with tied      %d\n", s.CompoundsTied)
	fmt.Fprintf(w, "rejected records         %d\n", s.Rejected)
	for _, u := range s.Unusable {
		fmt.Fprintf(w, "unusable                 %d %s: %s\n", u.Count, u.What, u.Reason)
	}
	if s.Signals != nil {
		fmt.Fprintf(w, "signals                  %d cross-border, %d foreign-asn findings\n", s.Signals.CrossBorder, s.Signals.ForeignASN)
	}
	for i, oc := range s.OverCorrelated {
		if i == 3 {
			fmt.Fprintf(w, "                         … %d more in summary.json\n", len(s.OverCorrelated)-i)
			break
		}
		what := "capped at potential"
		if !oc.Capped {
			what = "cap lifted"
		}
		fmt.Fprintf(w, "over-correlated          %s %s of %s in %d reports (over %d): %s\n",
			oc.Kind, oc.Value, oc.Compound, oc.Reports, s.MaxReportsPerIndicator, what)
	}
	if len(s.ByCompound) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "compound\tname\tcountry\ttied\tpotential")
		const top = 10
		for i, c := range s.ByCompound {
			if i == top {
				fmt.Fprintf(tw, "… %d more in summary.json\t\t\t\t\n", len(s.ByCompound)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", c.Compound, c.Name, c.Country, c.Tied, c.Potential)
		}
		tw.Flush()
	}
	if len(s.ByASN) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "network (AS)\torganisation\ttied\tpotential")
		const top = 5
		for i, a := range s.ByASN {
			if i == top {
				fmt.Fprintf(tw, "… %d more in summary.json\t\t\t\n", len(s.ByASN)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", seams.FormatASN(a.ASN), a.Org, a.Tied, a.Potential)
		}
		tw.Flush()
	}
	files := []string{xref.FindingsFile, xref.SummaryFile, xref.RejectedFile}
	for i, f := range files {
		files[i] = filepath.Join(out, f)
	}
	fmt.Fprintf(w, "\nwrote %s\n", strings.Join(files, ", "))
}
