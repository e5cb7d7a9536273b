package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/aggregate"
	"github.com/seams-dev/seams/internal/runread"
)

var aggregateCommand = &command{
	summary: "publication-safe counts by compound, incident type, month and tier",
	usage: `Usage:
  seams aggregate --from OUTDIR --reports FILE [--reports FILE...] [--k N] --out FILE
  seams aggregate (--data DIR | --db URL) [--k N] --out FILE

Write, as CSV, the number of distinct reports with a finding by compound,
incident type, month and tier, safe to publish: counts from 1 to k-1 are
suppressed, and so are enough others (complementary suppression) that no
suppressed count can be worked out from the published ones and the
totals. The file starts with '#' lines that state the method; give them
to whoever reads the figures.

  tier      tied and potential are separate tables, never added together
  level     cell, compound total (the sum of the compound's cells),
            incident-month total and total (each report counted once)
  incident  the report's incident type ("unspecified" when it gave none)
  month     the month (UTC) of the finding's earliest observation, the
            month the store and the brief use too ("undated" when no
            evidence has a time)
  reports   the count; empty when suppressed
  status    published or suppressed

A report with findings for two compounds is counted in a cell of each, and
once in the incident-month totals and the total, which can therefore be
less than the sum of their cells. Combinations not listed are zero.

The incident type comes from the reports: with --from, give the report
files of the run (--reports, as many times as the run had them). Each must
be the very file the run read (its SHA-256 is checked against
summary.json). With a store, the findings' reports are in it.

Flags:
  --from OUTDIR       the output folder of seams xref
  --reports FILE      a report file of that run (repeat for each)
` + storeFlagsHelp + `  --k N               the smallest count published (default 10)
  --out FILE          the CSV to write ("-" for standard output)

Examples:
  seams aggregate --from out/ --reports reports.jsonl.gz --out figures.csv
  seams aggregate --data case/ --k 20 --out figures.csv
`,
	run: runAggregate,
}

func runAggregate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("aggregate")
	var from, out string
	var reports listFlag
	var sa storeArgs
	k := aggregate.DefaultK
	fs.StringVar(&from, "from", "", "")
	fs.Var(&reports, "reports", "")
	sa.register(fs)
	fs.IntVar(&k, "k", aggregate.DefaultK, "")
	fs.StringVar(&out, "out", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case out == "":
		return usagef("aggregate", "missing --out FILE")
	case k < 2:
		return usagef("aggregate", "--k %d: the smallest count published must be at least 2", k)
	case from != "" && (sa.data != "" || sa.db != ""):
		return usagef("aggregate", "--from and a store both given: pick one")
	case from != "" && len(reports) == 0:
		return usagef("aggregate", "--from needs the run's report files (--reports FILE), for the incident types")
	case from == "" && len(reports) > 0:
		return usagef("aggregate", "--reports goes with --from")
	}
	var fsOut []aggregate.Finding
	var about []string
	if from != "" {
		run, err := runread.Open(from)
		if err != nil {
			return err
		}
		incident := map[string]string{}
		if _, err := run.Findings(func(f *seams.Finding) error {
			incident[f.Report] = ""
			fsOut = append(fsOut, aggregate.Finding{Report: f.Report, Compound: f.Compound, Tier: f.Tier, At: aggregate.Earliest(f.Evidence)})
			return nil
		}); err != nil {
			return err
		}
		found := 0
		if _, err := run.Reports(ctx, reports, func(r *runread.Report) error {
			if _, ok := incident[r.ID]; ok {
				// r is valid until fn returns: copy what is kept.
				incident[r.ID] = strings.Clone(r.Incident)
				found++
			}
			return nil
		}); err != nil {
			return err
		}
		if found != len(incident) {
			return fmt.Errorf("%d of the %d reports with findings are not in the report files given: give every report file of the run", len(incident)-found, len(incident))
		}
		for i := range fsOut {
			fsOut[i].Incident = incident[fsOut[i].Report]
		}
		about = append(about, fmt.Sprintf("Source: the run in %s (summary.json sha256 %s), made by seams %s.", from, run.SummarySHA256, run.Summary.Seams.Version))
	} else {
		st, err := sa.open(ctx, "aggregate", newLogger(e.stderr, false))
		if err != nil {
			return storeError(err)
		}
		defer st.Close()
		if err := eachStoredFinding(ctx, st, operator(defaultOrg), seams.FindingQuery{}, func(f *seams.StoredFinding) error {
			fsOut = append(fsOut, aggregate.Finding{Report: f.Report, Compound: f.Compound, Tier: f.Tier, Incident: f.Incident, At: f.At})
			return nil
		}); err != nil {
			return err
		}
		about = append(about, fmt.Sprintf("Source: the current findings of the store %s, every organisation's.", sa.flagText()))
	}
	res, err := aggregate.Build(fsOut, k)
	if err != nil {
		return err
	}
	if err := writeOutput(e, out, func(w io.Writer) error { return aggregate.Write(w, res, about) }); err != nil {
		return err
	}
	if out != "-" {
		sup := 0
		for _, t := range res.Tables {
			sup += t.SuppressedCount()
		}
		fmt.Fprintf(e.stderr, "wrote %s (%d findings of %d reports; %d counts suppressed, k = %d)\n", out, res.Findings, res.Reports, sup, k)
	}
	return nil
}
