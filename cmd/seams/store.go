package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/hunt"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/postgres"
	"github.com/seams-dev/seams/sharedlist"
	"github.com/seams-dev/seams/sqlite"
	"github.com/seams-dev/seams/xref"
)

// storeArgs are the flags that say which store a command works on.
type storeArgs struct {
	data string // --data DIR: the SQLite store in DIR
	db   string // --db URL: a PostgreSQL store
}

// storeFlagsHelp is the part of a manual that describes storeArgs.
const storeFlagsHelp = `  --data DIR          the store in data directory DIR (SQLite, created if
                      missing, mode 0700)
  --db URL            a PostgreSQL store instead: postgres://user@host/db
                      (or $SEAMS_DB, which keeps a password out of the
                      process list)
`

func (a *storeArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.data, "data", "", "")
	fs.StringVar(&a.db, "db", "", "")
}

// given reports whether a store was named.
func (a *storeArgs) given() bool { return a.data != "" || a.db != "" || os.Getenv("SEAMS_DB") != "" }

// open opens the store the flags name, migrating its schema.
func (a *storeArgs) open(ctx context.Context, cmd string, log *slog.Logger) (seams.Store, error) {
	db := a.db
	if db == "" && a.data == "" {
		db = os.Getenv("SEAMS_DB")
	}
	switch {
	case a.data != "" && db != "":
		return nil, usagef(cmd, "--data and --db both given: pick one store")
	case a.data != "":
		o := sqlite.NewOptions()
		o.Logger = log
		return sqlite.Open(ctx, a.data, o)
	case db != "":
		if !strings.HasPrefix(db, "postgres://") && !strings.HasPrefix(db, "postgresql://") {
			return nil, usagef(cmd, "--db wants a postgres:// URL")
		}
		o := postgres.NewOptions()
		o.Logger = log
		return postgres.Open(ctx, db, o)
	}
	return nil, usagef(cmd, "missing --data DIR (or --db URL)")
}

// operator is the principal of the command line: the operator, acting on
// behalf of org.
func operator(org string) seams.Principal {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "operator"
	}
	return seams.Operator(org, name)
}

// defaultOrg is the organisation the command line acts for without --org.
const defaultOrg = "local"

// parseMixed parses flags that may stand before, between or after
// the positional arguments, and returns the positional ones.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef(fs.Name(), "%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// storeError adds a hint to the errors a person can act on.
func storeError(err error) error {
	switch {
	case errors.Is(err, seams.ErrSchemaTooNew):
		return fmt.Errorf("%w (upgrade seams to open this store)", err)
	case errors.Is(err, seams.ErrConflict):
		return fmt.Errorf("%w (another run or a load of indicators finished first)", err)
	case errors.Is(err, seams.ErrNeedsConfirm):
		return fmt.Errorf("%w\nTry: the same command with --confirm, if that is meant", err)
	}
	return err
}

// huntOptions returns the options of a store's run from the flags xref
// shares with a run over files.
func huntOptions(xo *xref.Options, a *xrefArgs) (hunt.Options, error) {
	o := hunt.NewOptions()
	o.Drift, o.Full = time.Duration(a.drift), a.full
	o.MaxReportsPerIndicator, o.LiftCap = xo.MaxReportsPerIndicator, a.liftCap
	o.Enrich = enrich.Options{ASNDB: xo.ASNDB, GeoDB: xo.GeoDB, SharedPresets: xo.SharedPresets}
	if a.sharedASN != "" {
		asns, err := sharedlist.ParseASNs(a.sharedASN)
		if err != nil {
			return o, usagef("xref", "--shared-asn: %v", err)
		}
		o.Enrich.SharedASN = asns
	}
	o.Decay = seams.DecayParameters{Default: a.decay}
	for _, v := range a.decaySources {
		src, m, err := seams.ParseDecaySource(v, a.decay)
		if err != nil {
			return o, usagef("xref", "--decay-source: %v", err)
		}
		if o.Decay.Sources == nil {
			o.Decay.Sources = map[string]seams.DecayModel{}
		}
		o.Decay.Sources[src] = m
	}
	if err := o.Validate(); err != nil {
		return o, huntUsage("xref", err)
	}
	return o, nil
}

// huntFlagOf maps the fields of hunt.Options to their flags.
var huntFlagOf = map[string]string{
	"LiftCap": "--lift-cap", "Enrich.SharedASN": "--shared-asn", "Enrich.SharedPresets": "--shared-preset", "Enrich": "--asn-db",
	"Decay": "--decay-*",
}

// huntUsage turns the field errors of hunt.Options into one usage error
// that names flags.
func huntUsage(cmd string, err error) error {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *hunt.FieldError
		if errors.As(err, &fe) && huntFlagOf[fe.Field] != "" {
			lines = append(lines, huntFlagOf[fe.Field]+": "+fe.Reason)
			return
		}
		lines = append(lines, err.Error())
	}
	walk(err)
	return usagef(cmd, "%s", strings.Join(lines, "\n"))
}

// runXrefStore is seams xref --store: a cross-reference run over what the
// store holds, recorded in it.
func runXrefStore(ctx context.Context, e *env, a *xrefArgs, o hunt.Options, out string) error {
	log := newLogger(e.stderr, a.verbose)
	sa := storeArgs{data: a.store, db: a.db}
	st, err := sa.open(ctx, "xref", log)
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	o.Logger = log
	p := operator(defaultOrg)
	var run seams.Run
	// A run that another run or an indicator load overtook is refused
	// whole; matching again on the new state is all it takes.
	for try := 1; ; try++ {
		run, err = hunt.Run(ctx, st, p, o)
		if !errors.Is(err, seams.ErrConflict) || try == 3 {
			break
		}
		log.Warn("the store changed during the run; running again", "try", try+1)
	}
	if err != nil {
		return storeError(err)
	}
	kind := "incremental: reports stored since the last run"
	if run.Full {
		kind = "full: every stored report (retro-hunt)"
	}
	fmt.Fprintf(e.stdout, "run %d, %s: %d reports matched\n", run.ID, kind, run.Scanned)
	for _, w := range run.Warnings {
		fmt.Fprintf(e.stdout, "  warning: %s\n", w)
	}
	for _, k := range seams.ChangeKinds {
		fmt.Fprintf(e.stdout, "  %-11s %d findings\n", k, run.Counts[k])
	}
	printRunParameters(e.stdout, run)
	sum, err := st.Summary(ctx, p, seams.SummaryQuery{})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nreports stored           %d (%d ip events, %d devices)\n", sum.Reports, sum.Events, sum.Devices)
	fmt.Fprintf(e.stdout, "tied                     %d reports\n", sum.TiedReports)
	fmt.Fprintf(e.stdout, "potentially associated   %d reports\n", sum.PotentialReports)
	fmt.Fprintf(e.stdout, "compounds with tied      %d\n", sum.CompoundsTied)
	fmt.Fprintf(e.stdout, "reviewed                 %d confirmed, %d dismissed (%d changed since)\n", sum.Reviews.Confirmed, sum.Reviews.Dismissed, sum.Reviews.Stale)
	// As seams xref prints them, when the run had databases.
	if sum.Signals != nil {
		fmt.Fprintf(e.stdout, "signals                  %d cross-border, %d foreign-asn findings\n", sum.Signals.CrossBorder, sum.Signals.ForeignASN)
	}
	if len(sum.ByASN) > 0 {
		fmt.Fprintln(e.stdout)
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "network (AS)\torganisation\ttied\tpotential")
		const top = 5
		for i, a := range sum.ByASN {
			if i == top {
				fmt.Fprintf(tw, "… %d more in GET /api/summary\t\t\t\n", len(sum.ByASN)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", seams.FormatASN(a.ASN), a.Org, a.Tied, a.Potential)
		}
		tw.Flush()
	}
	if out != "" {
		fs, err := hunt.Published(ctx, st, p)
		if err != nil {
			return err
		}
		path, err := writeFindingsFile(out, fs)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\nwrote %s (%d findings after run %d; seams xref %s --as-of run:%d writes it again)\n", path, len(fs), run.ID, sa.flagText(), run.ID)
	}
	fmt.Fprintf(e.stdout, "\nseams findings %s lists them.\n", sa.flagText())
	return nil
}

// writeFindingsFile writes findings.jsonl into dir (created if missing),
// under a temporary name renamed into place when complete.
func writeFindingsFile(dir string, fs []seams.Finding) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("--out: %w", err)
	}
	path := filepath.Join(dir, xref.FindingsFile)
	f, err := atomicfile.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	var b []byte
	for i := range fs {
		b = jsonl.AppendFinding(b[:0], &fs[i])
		if _, err := f.Write(b); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	}
	return path, f.Commit()
}

// runXrefAsOf is seams xref --store --as-of: the findings of the store as
// it was, replayed; nothing is stored.
func runXrefAsOf(ctx context.Context, e *env, a *xrefArgs, xo *xref.Options) error {
	at, err := seams.ParseAsOf(a.asOf)
	if err != nil {
		return usagef("xref", "--as-of: %v", err)
	}
	if a.set["full"] {
		return usagef("xref", "--full cannot be used with --as-of (a replay matches every report it covers)")
	}
	if at.Run != 0 {
		var rule []string
		for _, f := range []string{"drift", "max-reports-per-indicator", "lift-cap", "shared-asn", "shared-preset"} {
			if a.set[f] {
				rule = append(rule, "--"+f)
			}
		}
		if len(rule) > 0 {
			return usagef("xref", "%s cannot be used with --as-of run:ID: a replay of a run takes the run's parameters (--asn-db and --geo-db may say where its databases are now)", strings.Join(rule, ", "))
		}
	}
	o, err := huntOptions(xo, a)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, a.verbose)
	o.Logger = log
	sa := storeArgs{data: a.store, db: a.db}
	st, err := sa.open(ctx, "xref", log)
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	rp, ok := st.(hunt.Replayer)
	if !ok {
		return fmt.Errorf("store %T cannot replay", st)
	}
	r, err := hunt.Replay(ctx, rp, operator(defaultOrg), at, o)
	if err != nil {
		return storeError(err)
	}
	info := e.stdout
	if xo.Out == "" {
		// The findings are the data: on standard output; the rest is for
		// people.
		info = e.stderr
		w := bufio.NewWriter(e.stdout)
		var b []byte
		for i := range r.Findings {
			b = jsonl.AppendFinding(b[:0], &r.Findings[i])
			w.Write(b)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	what := "the store as recorded at " + r.Recorded.Format(time.RFC3339Nano)
	if r.Run != nil {
		what = fmt.Sprintf("run %d (started %s): the registry as recorded at %s, its parameters", r.Run.ID, r.Run.Started.Format(time.RFC3339), r.Recorded.Format(time.RFC3339Nano))
	}
	tied, potential := 0, 0
	for i := range r.Findings {
		if r.Findings[i].Tier == seams.TierTied {
			tied++
		} else {
			potential++
		}
	}
	fmt.Fprintf(info, "replayed %s\n  reports through %d: %d matched; %d findings (%d tied, %d potential); nothing stored\n",
		what, r.Through, r.Scanned, len(r.Findings), tied, potential)
	if xo.Out != "" {
		path, err := writeFindingsFile(xo.Out, r.Findings)
		if err != nil {
			return err
		}
		fmt.Fprintf(info, "wrote %s\n", path)
	}
	return nil
}

// printRunParameters prints what a store's run decided with: the
// databases, and the over-correlated indicators (the first few).
func printRunParameters(w io.Writer, run seams.Run) {
	d := run.Parameters.Decay.OrDefault().Default
	fmt.Fprintf(w, "  decay       lifetime %s, speed %g, threshold %g, base %g", d.Lifetime, d.DecaySpeed, d.Threshold, d.BaseScore)
	if n := len(run.Parameters.Decay.Sources); n > 0 {
		fmt.Fprintf(w, "; %d sources with their own", n)
	}
	fmt.Fprintln(w, " (scores beside findings; tiers unchanged)")
	for _, d := range run.Parameters.Databases {
		fmt.Fprintf(w, "  database    %s %s (%s, built %s)\n", d.Role, d.File, d.Type, d.Built)
	}
	for i, oc := range run.OverCorrelated {
		if i == 3 {
			fmt.Fprintf(w, "  …           %d more over-correlated (the API's run view lists them)\n", len(run.OverCorrelated)-i)
			break
		}
		what := "capped at potential"
		if !oc.Capped {
			what = "cap lifted"
		}
		fmt.Fprintf(w, "  over-correlated %s %s of %s in %d stored reports (over %d): %s\n",
			oc.Kind, oc.Value, oc.Compound, oc.Reports, run.Parameters.MaxReportsPerIndicator, what)
	}
}

// flagText is the flag that names the store, for hints.
func (a *storeArgs) flagText() string {
	if a.data != "" {
		return "--data " + a.data
	}
	return "--db URL"
}
