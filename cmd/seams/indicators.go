package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
)

var indicatorsCommand = &command{
	summary: "list a store's indicator versions with their decay score, sightings and false positives",
	usage: `Usage:
  seams indicators (--data DIR | --db URL) [--compound ID] [--kind KIND]
                   [--file NAME] [--org ORG] [--retired] [--limit N]
                   [--format table|jsonl]

List the active indicator versions of the store (with --retired, the
retired ones too), in id order, each with its freshness now: the decay
score of MISP's polynomial model, by the model of the last run (seams
xref --store --decay-*; docs/decay.md), counting from its last sighting
(the end of its window, its record time when the window is open, or the
latest observation of a confirmed finding whose evidence names it); the
sightings (confirmed findings) and false positives (dismissed ones) that
analysts' reviews gave it. A score never changes a finding's tier.

Flags:
` + storeFlagsHelp + `  --compound ID       indicators of this compound
  --kind KIND         ip, cidr, device or asn
  --file NAME         of this indicator file (the name it was loaded as)
  --org ORG           loaded by this organisation
  --retired           include retired versions
  --limit N           at most N (default: all)
  --format FORMAT     table (default) or jsonl (one JSON object a line)

Examples:
  seams indicators --data case/ --compound c-jinbei
  seams indicators --data case/ --format jsonl | jq 'select(.freshness.decayed)'
`,
	run: runIndicators,
}

func runIndicators(ctx context.Context, e *env, args []string) error {
	fs := newFlags("indicators")
	var sa storeArgs
	sa.register(fs)
	var q seams.IndicatorQuery
	var kind, format string
	var n int
	fs.StringVar(&q.Compound, "compound", "", "")
	fs.StringVar(&kind, "kind", "", "")
	fs.StringVar(&q.File, "file", "", "")
	fs.StringVar(&q.Org, "org", "", "")
	fs.BoolVar(&q.Retired, "retired", false, "")
	fs.IntVar(&n, "limit", 0, "")
	fs.StringVar(&format, "format", "table", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if kind != "" {
		k, err := seams.ParseKind(kind)
		if err != nil {
			return usagef("indicators", "--kind: %v", err)
		}
		q.Kind = k
	}
	if err := checkListing("indicators", format, n); err != nil {
		return err
	}
	st, err := sa.open(ctx, "indicators", newLogger(e.stderr, false))
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	p := operator(defaultOrg)
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	var tw *tabwriter.Writer
	if format == "table" {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tcompound\tkind\tvalue\twindow\tsource\tfile\tscore\tsince\tsightings\tfalse positives\tretired")
	}
	count := 0
	for {
		q.Limit = 10000
		if n > 0 {
			q.Limit = min(10000, n-count)
		}
		page, err := st.Indicators(ctx, p, q)
		if err != nil {
			return err
		}
		for i := range page.Indicators {
			si := &page.Indicators[i]
			if tw == nil {
				b, err := json.Marshal(struct {
					indicatorJSON
					Retired   string           `json:"retired,omitempty"`
					Freshness *seams.Freshness `json:"freshness,omitempty"`
				}{indicatorJSONOf(si), timeText(si.Retired), si.Freshness})
				if err != nil {
					return err
				}
				w.Write(append(b, '\n'))
				continue
			}
			score, since, seen, fps := "-", "-", "-", "-"
			if f := si.Freshness; f != nil {
				score = scoreText(f)
				since = timeText(f.Since)
				seen, fps = strconv.Itoa(f.Sightings), strconv.Itoa(f.FalsePositives)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s v%d (%s)\t%s\t%s\t%s\t%s\t%s\n", si.ID, si.Compound, si.Kind, si.Value, windowText(si.Window),
				dash(si.Source), si.File, si.Version, si.Org, score, since, seen, fps, dash(timeText(si.Retired)))
		}
		count += len(page.Indicators)
		if page.Next == "" || n > 0 && count >= n {
			break
		}
		q.Cursor = page.Next
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// scoreText is a freshness as a person reads it: "72.5", "12 (decayed)".
func scoreText(f *seams.Freshness) string {
	s := strconv.FormatFloat(f.Score, 'f', -1, 64)
	if f.Decayed {
		s += " (decayed)"
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
