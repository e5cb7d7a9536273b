package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/seams-dev/seams/internal/atomicfile"
	"github.com/seams-dev/seams/internal/brief"
	"github.com/seams-dev/seams/internal/chromium"
	"github.com/seams-dev/seams/internal/redact"
)

var briefCommand = &command{
	summary: "write the brief: figures, method, limitations, charts and evidence",
	usage: `Usage:
  seams brief --from OUTDIR [--reports FILE...] [--compounds FILE]
              [--redact KEYFILE] [--title TEXT] --out brief.html [--pdf brief.pdf]
  seams brief (--data DIR | --db URL) [--redact KEYFILE] [--title TEXT]
              --out brief.html [--pdf brief.pdf]

Write a self-contained HTML document that states the figures of a
cross-reference and how they were made, from the run itself, so that
nobody re-types a number:
  - the headline figures: reports scanned, tied, potentially associated,
    compounds with tied reports, and the period of the observations;
  - the method, from the run's real parameters: the rules and tiers, the
    drift, shared space and its presets, the over-correlation cap, the
    shared lists and databases in force with their sources and dates,
    the seams that ran it, every input with its SHA-256, and the SHA-256
    of summary.json and findings.jsonl;
  - the limitations, counted from the data: reports without usable
    events, unroutable and undated events, the share of potentially
    associated reports resting on a proxy or on shared space, the
    indicators capped as over-correlated;
  - charts (drawn as SVG by seams): reports by compound and by country by
    tier, reports by month by tier, and a map of the compounds drawn from
    the dashboard's Natural Earth outlines;
  - a table of the compounds, and an appendix with the evidence chain of
    every tied finding.
The document has no script and fetches nothing: styles and charts are
inside it. --pdf also prints it to PDF with headless Chromium (Debian's:
apt-get install chromium, or set SEAMS_CHROMIUM).

The period and the months are those of the observations (the times of the
IP events and devices that are evidence), UTC: a report's month is the one
of the earliest observation of its findings. With --reports (the run's
report files, each checked against the SHA-256 the run recorded) the
brief also counts the reports without usable events and says when the
reports with findings were received. The map needs the compounds'
locations: the run's compounds file, found where summary.json says, or
--compounds.

--redact KEYFILE replaces report ids and device identifiers with stable
keyed pseudonyms (HMAC-SHA-256 under the key of seams key new
--redaction), so that the appendix can travel: the same identifier gets
the same pseudonym in every brief made with that key, and nobody without
the key can trace one back. Addresses are kept.

With a store (--data or --db), the brief covers what the store holds:
its current findings, reports and reviews (the dashboard offers the same
brief, as GET /api/brief, for the caller's organisation). A store does not
yet record a run's parameters other than the drift, nor its inputs'
hashes; the brief says so.

Flags:
  --from OUTDIR       the output folder of seams xref
  --reports FILE      a report file of that run (repeat for each; all or none)
  --compounds FILE    the run's compounds file, for the map
` + storeFlagsHelp + `  --redact KEYFILE    pseudonymise report ids and devices with this key
  --title TEXT        the document's title
  --out FILE          the HTML to write ("-" for standard output)
  --pdf FILE          also print it to this PDF

Examples:
  seams brief --from out/ --reports reports.jsonl.gz --out brief.html --pdf brief.pdf
  seams brief --from out/ --redact team.redact --out brief-shareable.html
  seams brief --data case/ --out case-brief.html
`,
	run: runBrief,
}

func runBrief(ctx context.Context, e *env, args []string) error {
	fs := newFlags("brief")
	var from, compounds, redactFile, title, out, pdf string
	var reports listFlag
	var sa storeArgs
	fs.StringVar(&from, "from", "", "")
	fs.Var(&reports, "reports", "")
	fs.StringVar(&compounds, "compounds", "", "")
	sa.register(fs)
	fs.StringVar(&redactFile, "redact", "", "")
	fs.StringVar(&title, "title", "", "")
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&pdf, "pdf", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case out == "":
		return usagef("brief", "missing --out brief.html")
	case from != "" && (sa.data != "" || sa.db != ""):
		return usagef("brief", "--from and a store both given: pick one")
	case from == "" && !sa.given():
		return usagef("brief", "missing --from OUTDIR (or a store: --data DIR or --db URL)")
	case from == "" && (len(reports) > 0 || compounds != ""):
		return usagef("brief", "--reports and --compounds go with --from")
	case pdf != "" && out == "-":
		return usagef("brief", "--pdf needs the HTML in a file (--out brief.html)")
	}
	var key *redact.Key
	if redactFile != "" {
		b, err := os.ReadFile(redactFile)
		if err != nil {
			return err
		}
		if key, err = redact.Parse(b); err != nil {
			return fmt.Errorf("%s: %v", redactFile, err)
		}
	}
	var chrome string
	if pdf != "" {
		var err error
		if chrome, err = chromium.Find(); err != nil {
			return fmt.Errorf("--pdf: %w", err)
		}
	}
	made := time.Now()
	var d *brief.Data
	var err error
	if from != "" {
		d, err = brief.FromRun(ctx, brief.RunOptions{Dir: from, Reports: reports, Compounds: compounds, Title: title, Redact: key, Made: made})
	} else {
		st, oerr := sa.open(ctx, "brief", newLogger(e.stderr, false))
		if oerr != nil {
			return storeError(oerr)
		}
		defer st.Close()
		d, err = brief.FromStore(ctx, st, operator(defaultOrg), brief.StoreOptions{Title: title, Source: "the store " + sa.flagText(), Redact: key, Made: made})
	}
	if err != nil {
		return err
	}
	if err := writeOutput(e, out, func(w io.Writer) error { return brief.HTML(w, d) }); err != nil {
		return err
	}
	if out != "-" {
		fmt.Fprintf(e.stderr, "wrote %s (%s reports scanned, %d tied, %d potentially associated, %d evidence chains)\n", out, fmt.Sprint(d.Scanned), d.Tied, d.Potential, len(d.Chains))
	}
	if pdf != "" {
		if err := printPDF(ctx, chrome, out, pdf); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", pdf)
	}
	return nil
}

// printPDF prints the HTML file to a PDF with headless Chromium.
func printPDF(ctx context.Context, chrome, html, pdf string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	br, err := chromium.Start(ctx, chrome)
	if err != nil {
		return err
	}
	defer br.Close()
	b, err := br.PrintPDF(html)
	if err != nil {
		return err
	}
	f, err := atomicfile.Create(pdf)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Commit()
}
