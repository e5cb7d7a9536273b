package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/termsafe"
	"github.com/seams-dev/seams/jsonl"
)

var findingsCommand = &command{
	summary: "list the findings a store holds, with filters",
	usage: `Usage:
  seams findings (--data DIR | --db URL) [--tier TIER] [--compound ID]
                 [--country CC] [--incident TEXT] [--report ID]
                 [--review MARK] [--from TIME] [--to TIME] [--withdrawn]
                 [--stale] [--rule RULE] [--source NAME] [--asn N]
                 [--newest | --queue] [--limit N] [--format table|jsonl]

List the current findings of the store (those of the last run that
touched each), oldest first. At the command line you are the store's
operator: you see every organisation's findings. The read is audited.

--format jsonl writes each finding as a line of findings.jsonl, in the
format seams xref writes (report, compound, tier, and the evidence with
the indicator version that fired; signals, and the over-correlated
indicators that capped it with their counts as the last run made them),
so that the two can be compared. In the table, a finding capped at
potential by over-correlated indicators reads "potential (capped)". The
score column is the finding's freshness now: the decay score of the
freshest indicator of its evidence (docs/decay.md; "(decayed)" below the
threshold). It is shown beside the tier and never changes it; seams
indicators shows each indicator's, with its sightings and false
positives.

Flags:
` + storeFlagsHelp + `  --tier TIER         tied or potential
  --compound ID       findings of this compound
  --country CC        findings of compounds of this country
  --incident TEXT     findings of reports with this incident
  --report ID         findings of this report
  --review MARK       confirmed, dismissed or none (not reviewed)
  --from TIME         findings whose earliest observation is at or after
                      TIME (RFC 3339 or YYYY-MM-DD)
  --to TIME           ... and before TIME
  --withdrawn         list withdrawn findings instead
  --stale             reviewed findings a later run changed since
  --rule RULE         findings with evidence of this rule (ip, ip-drift,
                      cidr, device, asn)
  --source NAME       findings with evidence from an indicator of this source
  --asn N             findings with evidence observed from this AS (64500 or
                      AS64500; as the run's enrichment databases said)
  --newest            newest first
  --queue             the review queue's order: tied first, then the latest
                      observation first (with --review none: what to review)
  --limit N           at most N findings (default: all)
  --format FORMAT     table (default) or jsonl

Examples:
  seams findings --data case/ --tier tied --country KH
  seams findings --data case/ --format jsonl > stored.jsonl
  seams findings --data case/ --review none --queue --limit 20
`,
	run: runFindings,
}

var reviewCommand = &command{
	summary: "mark a finding confirmed or dismissed, with a comment",
	usage: `Usage:
  seams review (--data DIR | --db URL) --finding ID --mark MARK [--comment TEXT]

Record an analyst's review of a finding: confirmed, dismissed, or none to
clear the mark. The mark belongs to the (report, compound) pair and
survives later runs; when a run changes the finding afterwards, seams
findings shows the review as stale. The review is audited (its comment is
stored with the finding, not in the audit log).

Flags:
` + storeFlagsHelp + `  --finding ID        the finding's id (the first column of seams findings)
  --mark MARK         confirmed, dismissed or none
  --comment TEXT      why (at most 4096 bytes)

Example:
  seams review --data case/ --finding 42 --mark confirmed --comment "same login, same week"
`,
	run: runReview,
}

// findingFlags are the filters of seams findings, which seams export
// --data takes too.
type findingFlags struct {
	q                      seams.FindingQuery
	tier, review, from, to string
	rule, asn              string
	newest, queue          bool
}

// register adds the flags; the time filter's start is named from (seams
// export takes it as --from-time: its --from is a directory).
func (ff *findingFlags) register(fs *flag.FlagSet, from string) {
	fs.StringVar(&ff.tier, "tier", "", "")
	fs.StringVar(&ff.q.Compound, "compound", "", "")
	fs.StringVar(&ff.q.Country, "country", "", "")
	fs.StringVar(&ff.q.Incident, "incident", "", "")
	fs.StringVar(&ff.q.Report, "report", "", "")
	fs.StringVar(&ff.review, "review", "", "")
	fs.StringVar(&ff.from, from, "", "")
	fs.StringVar(&ff.to, "to", "", "")
	fs.BoolVar(&ff.q.Withdrawn, "withdrawn", false, "")
	fs.BoolVar(&ff.newest, "newest", false, "")
	fs.StringVar(&ff.rule, "rule", "", "")
	fs.StringVar(&ff.q.Source, "source", "", "")
	fs.StringVar(&ff.asn, "asn", "", "")
	fs.BoolVar(&ff.q.Stale, "stale", false, "")
	fs.BoolVar(&ff.queue, "queue", false, "")
}

// given reports whether any filter was set.
func (ff *findingFlags) given() bool {
	return ff.tier != "" || ff.q.Compound != "" || ff.q.Country != "" || ff.q.Incident != "" || ff.q.Report != "" ||
		ff.review != "" || ff.from != "" || ff.to != "" || ff.q.Withdrawn || ff.newest ||
		ff.rule != "" || ff.q.Source != "" || ff.asn != "" || ff.q.Stale || ff.queue
}

// query checks the flags of command cmd and returns the query they make.
func (ff *findingFlags) query(cmd string) (seams.FindingQuery, error) {
	q := ff.q
	var err error
	if ff.tier != "" {
		if q.Tier, err = seams.ParseTier(ff.tier); err != nil {
			return q, usagef(cmd, "--tier: %v", err)
		}
	}
	if ff.review != "" {
		m, err := seams.ParseMark(ff.review)
		if err != nil {
			return q, usagef(cmd, "--review: %v", err)
		}
		q.Mark = &m
	}
	if q.Country != "" {
		if q.Country, err = seams.ParseCountry(q.Country); err != nil {
			return q, usagef(cmd, "--country: %v", err)
		}
	}
	if q.From, err = parseWhen(ff.from, false); err != nil {
		return q, usagef(cmd, "--from: %v", err)
	}
	if q.To, err = parseWhen(ff.to, false); err != nil {
		return q, usagef(cmd, "--to: %v", err)
	}
	if ff.rule != "" {
		if q.Rule, err = seams.ParseRule(ff.rule); err != nil {
			return q, usagef(cmd, "--rule: %v", err)
		}
	}
	if ff.asn != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(ff.asn), "AS"), 10, 32)
		if err != nil || n == 0 {
			return q, usagef(cmd, "--asn %q: want an AS number (64500 or AS64500)", ff.asn)
		}
		q.ASN = uint32(n)
	}
	switch {
	case ff.newest && ff.queue:
		return q, usagef(cmd, "--newest and --queue are two orders; give one")
	case ff.newest:
		q.Sort = seams.SortNewest
	case ff.queue:
		q.Sort = seams.SortTier
	}
	return q, nil
}

func runFindings(ctx context.Context, e *env, args []string) error {
	fs := newFlags("findings")
	var sa storeArgs
	sa.register(fs)
	var ff findingFlags
	ff.register(fs, "from")
	var format string
	var n int
	fs.IntVar(&n, "limit", 0, "")
	fs.StringVar(&format, "format", "table", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q, err := ff.query("findings")
	if err != nil {
		return err
	}
	if err := checkListing("findings", format, n); err != nil {
		return err
	}
	st, err := sa.open(ctx, "findings", newLogger(e.stderr, false))
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
		fmt.Fprintln(tw, "id\treport\tcompound\ttier\tat\tevidence\tscore\treview")
	}
	inds := map[int64]*seams.Indicator{}
	var buf []byte
	count := 0
	q.Limit = 1000
	for {
		if n > 0 {
			q.Limit = min(1000, n-count)
		}
		page, err := st.Findings(ctx, p, q)
		if err != nil {
			return err
		}
		if format == "jsonl" {
			if err := resolveIndicators(ctx, st, p, page.Findings, inds); err != nil {
				return err
			}
		}
		for i := range page.Findings {
			f := &page.Findings[i]
			if tw != nil {
				mark := string(f.Review.Mark)
				if f.ReviewStale() {
					mark += " (stale)"
				}
				at := "-"
				if !f.At.IsZero() {
					at = f.At.Format(time.RFC3339)
				}
				tier := f.Tier.String()
				if len(f.Capped) > 0 {
					tier += " (capped)"
				}
				score := "-"
				if f.Freshness != nil {
					score = scoreText(f.Freshness)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, termsafe.String(f.Report), termsafe.String(f.Compound), tier, at, evidenceSummary(f.Evidence), score, dash(mark))
				continue
			}
			rf, err := f.Resolve(inds)
			if err != nil {
				return err
			}
			buf = jsonl.AppendFinding(buf[:0], &rf)
			w.Write(termsafe.JSON(buf))
		}
		count += len(page.Findings)
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

// resolveIndicators adds to inds the indicator versions fs name (those of
// the evidence, and those that capped a finding).
func resolveIndicators(ctx context.Context, st seams.Store, p seams.Principal, fs []seams.StoredFinding, inds map[int64]*seams.Indicator) error {
	var ids []int64
	for i := range fs {
		for _, id := range fs[i].Indicators() {
			if _, ok := inds[id]; !ok {
				ids = append(ids, id)
			}
		}
	}
	for chunk := range slices.Chunk(ids, 5000) {
		page, err := st.Indicators(ctx, p, seams.IndicatorQuery{IDs: chunk})
		if err != nil {
			return err
		}
		for i := range page.Indicators {
			inds[page.Indicators[i].ID] = &page.Indicators[i].Indicator
		}
	}
	return nil
}

// evidenceSummary names the rules of a finding's evidence: "ip, cidr".
func evidenceSummary(ev []seams.StoredEvidence) string {
	var rules []string
	for _, e := range ev {
		r := e.Rule.String()
		if !slices.Contains(rules, r) {
			rules = append(rules, r)
		}
	}
	s := ""
	for i, r := range rules {
		if i > 0 {
			s += ","
		}
		s += r
	}
	return s
}

// parseWhen parses an RFC 3339 time or a date (its start, or its end when
// end is set); "" is the zero time.
func parseWhen(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if end {
		w, err := seams.ParseWindow("", s)
		return w.Last, err
	}
	w, err := seams.ParseWindow(s, "")
	return w.First, err
}

func runReview(ctx context.Context, e *env, args []string) error {
	fs := newFlags("review")
	var sa storeArgs
	sa.register(fs)
	var id, mark, comment string
	fs.StringVar(&id, "finding", "", "")
	fs.StringVar(&mark, "mark", "", "")
	fs.StringVar(&comment, "comment", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return usagef("review", "--finding wants a finding id (a number), not %q", id)
	}
	if mark == "" {
		return usagef("review", "missing --mark (confirmed, dismissed or none)")
	}
	m, err := seams.ParseMark(mark)
	if err != nil {
		return usagef("review", "--mark: %v", err)
	}
	st, err := sa.open(ctx, "review", newLogger(e.stderr, false))
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	r, err := st.Review(ctx, operator(defaultOrg), n, m, comment)
	if err != nil {
		return err
	}
	if m == seams.MarkNone {
		fmt.Fprintf(e.stdout, "finding %d: review cleared\n", n)
		return nil
	}
	fmt.Fprintf(e.stdout, "finding %d (version %d): %s by %s\n", n, r.Version, r.Mark, r.By)
	return nil
}

// checkListing checks the --format and --limit of a command that lists
// what a store holds (seams findings, seams indicators).
func checkListing(cmd, format string, limit int) error {
	if format != "table" && format != "jsonl" {
		return usagef(cmd, "--format %q (want table or jsonl)", format)
	}
	if limit < 0 {
		return usagef(cmd, "--limit %d is negative", limit)
	}
	return nil
}
