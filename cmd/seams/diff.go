package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
)

var diffCommand = &command{
	summary: "explain how the figures changed from one run of a store to another",
	usage: `Usage:
  seams diff (--data DIR | --db URL) --from RUN --to RUN [--json]

Explain how the findings of a store changed between two of its runs (seams
xref --store prints each run's id; the API lists them at /api/runs):

  parameters   whether the two runs decided with the same parameters, and
               how they differ (drift, over-correlation limit, lifted caps,
               shared ASNs and presets, databases)
  reports      how many reports were stored between them
  registry     the indicator versions added, retired and changed (one
               version retired and another of the same file, compound, kind
               and value added: a correction, with what changed: window,
               confidence, source), those whose sharing changed, the shared
               space added and removed, the compounds new or changed;
               each run's registry is the one it matched (as of its
               record time, as seams xref --as-of run:ID replays it)
  findings     each finding whose state after the first run differs from
               its state after the second: new, withdrawn, upgraded
               (potential -> tied), downgraded, or revised (same tier,
               other evidence), with the rules of its evidence before and
               after and the indicator versions it gained and lost

RUN is a run id, or run:ID. The runs need not be consecutive: the changes
of every run between them are composed. At the command line you are the
store's operator: you see every organisation's data. The read is audited.

Flags:
` + storeFlagsHelp + `  --from RUN          the earlier run
  --to RUN            the later run
  --json              one JSON object for tools instead of text (the
                      fields of the text, indicators with their ids)

Examples:
  seams diff --data case/ --from 3 --to 4
  seams diff --data case/ --from run:1 --to run:7 --json | jq '.findings[] | select(.kind == "withdrawn")'
`,
	run: runDiff,
}

// differ is a store that compares two runs (package sqlstore's Diff).
type differ interface {
	Diff(ctx context.Context, p seams.Principal, from, to int64) (*seams.RunDiff, error)
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "run:"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("want a run id (a positive number, or run:ID), not %q", s)
	}
	return id, nil
}

func runDiff(ctx context.Context, e *env, args []string) error {
	fs := newFlags("diff")
	var sa storeArgs
	sa.register(fs)
	var from, to string
	var asJSON bool
	fs.StringVar(&from, "from", "", "")
	fs.StringVar(&to, "to", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if from == "" || to == "" {
		return usagef("diff", "missing --from RUN and --to RUN")
	}
	a, err := parseRunID(from)
	if err != nil {
		return usagef("diff", "--from: %v", err)
	}
	b, err := parseRunID(to)
	if err != nil {
		return usagef("diff", "--to: %v", err)
	}
	st, err := sa.open(ctx, "diff", newLogger(e.stderr, false))
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	df, ok := st.(differ)
	if !ok {
		return fmt.Errorf("store %T cannot compare runs", st)
	}
	p := operator(defaultOrg)
	d, err := df.Diff(ctx, p, a, b)
	if err != nil {
		return err
	}
	// The indicator versions findings gained and lost, to name them.
	var ids []int64
	for _, f := range d.Findings {
		ids = append(ids, f.Gained...)
		ids = append(ids, f.Lost...)
	}
	inds := map[int64]seams.StoredIndicator{}
	if len(ids) > 0 {
		page, err := st.Indicators(ctx, p, seams.IndicatorQuery{IDs: ids})
		if err != nil {
			return err
		}
		for _, si := range page.Indicators {
			inds[si.ID] = si
		}
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if asJSON {
		b, err := json.Marshal(diffJSONOf(d, inds))
		if err != nil {
			return err
		}
		w.Write(append(b, '\n'))
		return nil
	}
	writeDiffText(w, d, inds)
	return nil
}

// indicatorText names an indicator version for people.
func indicatorText(si *seams.StoredIndicator) string {
	return fmt.Sprintf("%s %s %s %s (%s of %s, version %d, id %d)", si.Compound, si.Kind, si.Value, windowText(si.Window), si.File, si.Org, si.Version, si.ID)
}

func windowText(w seams.Window) string {
	day := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 ||
			t.Hour() == 23 && t.Minute() == 59 && t.Second() == 59 && t.Nanosecond() == 999999999 {
			return t.Format("2006-01-02")
		}
		return t.Format(time.RFC3339)
	}
	return "[" + day(w.First, "…") + " .. " + day(w.Last, "…") + "]"
}

// indicatorDelta says what differs between two versions of an indicator.
func indicatorDelta(a, b *seams.StoredIndicator) string {
	var parts []string
	if a.Window != b.Window {
		parts = append(parts, "window "+windowText(a.Window)+" -> "+windowText(b.Window))
	}
	conf := func(si *seams.StoredIndicator) string {
		if !si.HasConfidence {
			return "none"
		}
		return strconv.FormatFloat(si.Confidence, 'g', -1, 64)
	}
	if a.HasConfidence != b.HasConfidence || a.Confidence != b.Confidence {
		parts = append(parts, "confidence "+conf(a)+" -> "+conf(b))
	}
	if a.HasDrift != b.HasDrift || a.Drift != b.Drift {
		bound := func(si *seams.StoredIndicator) string {
			if !si.HasDrift {
				return "the run's"
			}
			return si.Drift.String()
		}
		parts = append(parts, "drift "+bound(a)+" -> "+bound(b))
	}
	if a.Source != b.Source {
		parts = append(parts, fmt.Sprintf("source %q -> %q", a.Source, b.Source))
	}
	if a.Shared != b.Shared {
		parts = append(parts, fmt.Sprintf("shared %v -> %v", a.Shared, b.Shared))
	}
	if len(parts) == 0 {
		return "the same"
	}
	return strings.Join(parts, ", ")
}

func runText(r *seams.Run) string {
	kind := "incremental"
	if r.Full {
		kind = "full"
	}
	return fmt.Sprintf("run %d (%s, started %s, %d reports matched)", r.ID, kind, r.Started.Format(time.RFC3339), r.Scanned)
}

func rulesText(rs []seams.Rule) string {
	if len(rs) == 0 {
		return "-"
	}
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return strings.Join(s, ",")
}

func writeDiffText(w io.Writer, d *seams.RunDiff, inds map[int64]seams.StoredIndicator) {
	fmt.Fprintf(w, "from %s\nto   %s\n", runText(&d.From), runText(&d.To))
	if d.ParametersSame {
		fmt.Fprintln(w, "parameters  the same")
	} else {
		fmt.Fprintf(w, "parameters  differ:\n  from %s\n  to   %s\n", parametersText(d.From.Parameters), parametersText(d.To.Parameters))
	}
	fmt.Fprintf(w, "reports     %d stored between them\n", d.Reports)

	fmt.Fprintf(w, "\nregistry    %d indicators added, %d retired, %d changed, %d resharing; shared space %d added, %d removed; %d compounds new or changed\n",
		len(d.Added), len(d.Retired), len(d.Changed), len(d.Resharing), len(d.SharedAdded), len(d.SharedRemoved), len(d.Compounds))
	for i := range d.Added {
		fmt.Fprintf(w, "  added     %s\n", indicatorText(&d.Added[i]))
	}
	for i := range d.Retired {
		fmt.Fprintf(w, "  retired   %s\n", indicatorText(&d.Retired[i]))
	}
	for i := range d.Changed {
		c := &d.Changed[i]
		fmt.Fprintf(w, "  changed   %s %s %s (%s of %s, version %d -> %d, id %d -> %d): %s\n", c.To.Compound, c.To.Kind, c.To.Value,
			c.To.File, c.To.Org, c.From.Version, c.To.Version, c.From.ID, c.To.ID, indicatorDelta(&c.From, &c.To))
	}
	for i := range d.Resharing {
		si := &d.Resharing[i]
		fmt.Fprintf(w, "  sharing   %s: shared %v\n", indicatorText(si), si.Shared)
	}
	for _, x := range d.SharedAdded {
		fmt.Fprintf(w, "  shared    + %s\n", x)
	}
	for _, x := range d.SharedRemoved {
		fmt.Fprintf(w, "  shared    - %s\n", x)
	}
	for _, c := range d.Compounds {
		if c.From.ID == "" {
			fmt.Fprintf(w, "  compound  %s %q (%s): new\n", c.To.ID, c.To.Name, c.To.Country)
			continue
		}
		fmt.Fprintf(w, "  compound  %s: %s\n", c.To.ID, compoundDelta(&c.From, &c.To))
	}

	counts := map[seams.ChangeKind]int{}
	for _, f := range d.Findings {
		counts[f.Kind]++
	}
	var cs []string
	for _, k := range seams.ChangeKinds {
		if counts[k] > 0 {
			cs = append(cs, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	fmt.Fprintf(w, "\nfindings    %d changed", len(d.Findings))
	if len(cs) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(cs, ", "))
	}
	fmt.Fprintln(w)
	if len(d.Findings) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  finding\treport\tcompound\tchange\ttier\trules\tindicators")
	name := func(id int64) string {
		if si, ok := inds[id]; ok {
			return fmt.Sprintf("%s %s v%d", si.Kind, si.Value, si.Version)
		}
		return fmt.Sprintf("indicator %d", id)
	}
	for _, f := range d.Findings {
		tier := f.From.String() + " -> " + f.To.String()
		if f.CappedBefore || f.CappedAfter {
			tier += fmt.Sprintf(" (capped %v -> %v)", f.CappedBefore, f.CappedAfter)
		}
		var why []string
		for _, id := range f.Gained {
			why = append(why, "+"+name(id))
		}
		for _, id := range f.Lost {
			why = append(why, "-"+name(id))
		}
		if len(why) == 0 {
			why = []string{"the same, other evidence"}
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s -> %s\t%s\n", f.Finding, f.Report, f.Compound, f.Kind, tier,
			rulesText(f.FromRules), rulesText(f.ToRules), strings.Join(why, "; "))
	}
	tw.Flush()
}

func compoundDelta(a, b *seams.Compound) string {
	var parts []string
	if a.Name != b.Name {
		parts = append(parts, fmt.Sprintf("name %q -> %q", a.Name, b.Name))
	}
	if a.Country != b.Country {
		parts = append(parts, fmt.Sprintf("country %s -> %s", a.Country, b.Country))
	}
	if a.Province != b.Province {
		parts = append(parts, fmt.Sprintf("province %q -> %q", a.Province, b.Province))
	}
	if a.Status != b.Status {
		parts = append(parts, fmt.Sprintf("status %s -> %s", a.Status, b.Status))
	}
	if a.HasLocation != b.HasLocation || a.Lat != b.Lat || a.Lon != b.Lon {
		parts = append(parts, "location")
	}
	if strings.Join(a.Aliases, ",") != strings.Join(b.Aliases, ",") {
		parts = append(parts, "aliases")
	}
	return strings.Join(parts, ", ")
}

func parametersText(p seams.StoreRunParameters) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// The JSON form of a diff.
type diffJSON struct {
	From           runRefJSON           `json:"from"`
	To             runRefJSON           `json:"to"`
	ParametersSame bool                 `json:"parameters_same"`
	Reports        int                  `json:"reports"`
	Added          []indicatorJSON      `json:"added"`
	Retired        []indicatorJSON      `json:"retired"`
	Changed        []indicatorChange    `json:"changed"`
	Resharing      []indicatorJSON      `json:"resharing"`
	SharedAdded    []string             `json:"shared_added"`
	SharedRemoved  []string             `json:"shared_removed"`
	Compounds      []compoundChangeJSON `json:"compounds"`
	Findings       []findingDiffJSON    `json:"findings"`
}

type runRefJSON struct {
	ID         int64                    `json:"id"`
	Started    time.Time                `json:"started"`
	AsOf       time.Time                `json:"as_of"`
	Full       bool                     `json:"full"`
	Through    int64                    `json:"through"`
	Parameters seams.StoreRunParameters `json:"parameters"`
}

type indicatorJSON struct {
	ID         int64    `json:"id"`
	Org        string   `json:"org"`
	File       string   `json:"file"`
	Version    int      `json:"version"`
	Compound   string   `json:"compound"`
	Kind       string   `json:"kind"`
	Value      string   `json:"value"`
	FirstSeen  string   `json:"first_seen,omitempty"`
	LastSeen   string   `json:"last_seen,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
	Source     string   `json:"source"`
	Shared     bool     `json:"shared"`
}

type indicatorChange struct {
	From indicatorJSON `json:"from"`
	To   indicatorJSON `json:"to"`
}

type compoundChangeJSON struct {
	ID   string        `json:"id"`
	New  bool          `json:"new"`
	From *compoundJSON `json:"from,omitempty"`
	To   compoundJSON  `json:"to"`
}

type compoundJSON struct {
	Name     string `json:"name"`
	Country  string `json:"country"`
	Province string `json:"province"`
	Status   string `json:"status"`
}

func compoundJSONOf(c *seams.Compound) compoundJSON {
	return compoundJSON{Name: c.Name, Country: c.Country, Province: c.Province, Status: string(c.Status)}
}

type findingDiffJSON struct {
	Finding   int64    `json:"finding"`
	Report    string   `json:"report"`
	Compound  string   `json:"compound"`
	Kind      string   `json:"kind"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	FromRules []string `json:"from_rules"`
	ToRules   []string `json:"to_rules"`
	Gained    []int64  `json:"gained"`
	Lost      []int64  `json:"lost"`
	Capped    [2]bool  `json:"capped"` // before, after
}

func indicatorJSONOf(si *seams.StoredIndicator) indicatorJSON {
	j := indicatorJSON{ID: si.ID, Org: si.Org, File: si.File, Version: si.Version, Compound: si.Compound, Kind: si.Kind.String(),
		Value: si.Value, Source: si.Source, Shared: si.Shared}
	if !si.Window.First.IsZero() {
		j.FirstSeen = si.Window.First.Format(time.RFC3339Nano)
	}
	if !si.Window.Last.IsZero() {
		j.LastSeen = si.Window.Last.Format(time.RFC3339Nano)
	}
	if si.HasConfidence {
		c := si.Confidence
		j.Confidence = &c
	}
	return j
}

func diffJSONOf(d *seams.RunDiff, _ map[int64]seams.StoredIndicator) diffJSON {
	ref := func(r *seams.Run) runRefJSON {
		return runRefJSON{ID: r.ID, Started: r.Started, AsOf: r.AsOf, Full: r.Full, Through: r.Through, Parameters: r.Parameters}
	}
	out := diffJSON{From: ref(&d.From), To: ref(&d.To), ParametersSame: d.ParametersSame, Reports: d.Reports,
		Added: []indicatorJSON{}, Retired: []indicatorJSON{}, Changed: []indicatorChange{}, Resharing: []indicatorJSON{},
		SharedAdded: []string{}, SharedRemoved: []string{}, Compounds: []compoundChangeJSON{}, Findings: []findingDiffJSON{}}
	for i := range d.Added {
		out.Added = append(out.Added, indicatorJSONOf(&d.Added[i]))
	}
	for i := range d.Retired {
		out.Retired = append(out.Retired, indicatorJSONOf(&d.Retired[i]))
	}
	for i := range d.Changed {
		out.Changed = append(out.Changed, indicatorChange{indicatorJSONOf(&d.Changed[i].From), indicatorJSONOf(&d.Changed[i].To)})
	}
	for i := range d.Resharing {
		out.Resharing = append(out.Resharing, indicatorJSONOf(&d.Resharing[i]))
	}
	for _, x := range d.SharedAdded {
		out.SharedAdded = append(out.SharedAdded, x.String())
	}
	for _, x := range d.SharedRemoved {
		out.SharedRemoved = append(out.SharedRemoved, x.String())
	}
	for _, c := range d.Compounds {
		j := compoundChangeJSON{ID: c.To.ID, New: c.From.ID == "", To: compoundJSONOf(&c.To)}
		if c.From.ID != "" {
			from := compoundJSONOf(&c.From)
			j.From = &from
		}
		out.Compounds = append(out.Compounds, j)
	}
	rules := func(rs []seams.Rule) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.String())
		}
		return out
	}
	ids := func(l []int64) []int64 {
		if l == nil {
			return []int64{}
		}
		return l
	}
	for _, f := range d.Findings {
		out.Findings = append(out.Findings, findingDiffJSON{Finding: f.Finding, Report: f.Report, Compound: f.Compound, Kind: string(f.Kind),
			From: f.From.String(), To: f.To.String(), FromRules: rules(f.FromRules), ToRules: rules(f.ToRules),
			Gained: ids(f.Gained), Lost: ids(f.Lost), Capped: [2]bool{f.CappedBefore, f.CappedAfter}})
	}
	return out
}
