package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/hunt"
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
	if err := o.Validate(); err != nil {
		return o, huntUsage("xref", err)
	}
	return o, nil
}

// huntFlagOf maps the fields of hunt.Options to their flags.
var huntFlagOf = map[string]string{
	"LiftCap": "--lift-cap", "Enrich.SharedASN": "--shared-asn", "Enrich.SharedPresets": "--shared-preset", "Enrich": "--asn-db",
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
func runXrefStore(ctx context.Context, e *env, a *xrefArgs, o hunt.Options) error {
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
	fmt.Fprintf(e.stdout, "\nseams findings %s lists them.\n", sa.flagText())
	return nil
}

// printRunParameters prints what a store's run decided with: the
// databases, and the over-correlated indicators (the first few).
func printRunParameters(w io.Writer, run seams.Run) {
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
