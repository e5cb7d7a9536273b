package hunt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/match"
)

// Replayer is a store that opens a view of itself as it was (package
// sqlstore's SnapshotAsOf).
type Replayer interface {
	SnapshotAsOf(ctx context.Context, p seams.Principal, at seams.AsOf) (seams.Snapshot, *seams.Run, error)
}

// Replayed is what a replay found: the findings of the store as it was,
// as seams xref writes them.
type Replayed struct {
	At  seams.AsOf
	Run *seams.Run // the run replayed, when At names one
	// Recorded is the record time of the registry replayed, Through the
	// highest report Seq it matched.
	Recorded time.Time
	Through  int64
	Scanned  int
	// Parameters are those the replay ran with: the run's, or the
	// options'.
	Parameters seams.StoreRunParameters
	// Findings in report order (Seq), then by compound id: the order of
	// the findings file of a store's run (FindingsOrder).
	Findings       []seams.Finding
	OverCorrelated []seams.RunOverCorrelated
}

// OptionsOfRun returns the options that make a run with the parameters of
// run: its drift, limit, lift list, shared ASNs and presets, and its
// databases by the files it recorded, unless dbs names others (role
// "asn" or "geo" to files), which Replay then holds to be the same
// databases.
func OptionsOfRun(run *seams.Run, dbs map[string][]string) (Options, error) {
	o := NewOptions()
	p := run.Parameters
	d, err := time.ParseDuration(p.Drift)
	if err != nil {
		return o, fmt.Errorf("run %d: drift %q: %w", run.ID, p.Drift, err)
	}
	o.Drift, o.MaxReportsPerIndicator = d, p.MaxReportsPerIndicator
	o.LiftCap = slices.Clone(p.LiftCap)
	o.Enrich = enrich.Options{SharedASN: slices.Clone(p.SharedASN), SharedPresets: strings.Join(p.SharedPresets, ",")}
	for _, db := range p.Databases {
		if _, given := dbs[db.Role]; given {
			continue
		}
		switch db.Role {
		case "asn":
			o.Enrich.ASNDB = append(o.Enrich.ASNDB, db.File)
		case "geo":
			o.Enrich.GeoDB = append(o.Enrich.GeoDB, db.File)
		default:
			return o, fmt.Errorf("run %d: database %s of role %q", run.ID, db.File, db.Role)
		}
	}
	o.Enrich.ASNDB = append(o.Enrich.ASNDB, dbs["asn"]...)
	o.Enrich.GeoDB = append(o.Enrich.GeoDB, dbs["geo"]...)
	return o, nil
}

// ErrNotReplayable says that a replay cannot reproduce the run it names:
// the databases given (or found under the names the run recorded) are not
// the run's.
var ErrNotReplayable = errors.New("the run cannot be replayed")

// Replay cross-references the store as it was at `at` (see
// sqlstore.SnapshotAsOf) with the options o, and returns the findings,
// without writing anything but its audit entry. For a run, the replay
// takes the run's parameters (OptionsOfRun), the databases of o.Enrich in
// place of those the run recorded when given, and they must be the run's
// (StoreRunParameters.Same), or it fails with ErrNotReplayable.
//
// A replay of a run finds what the store held after that run: the run
// matched the registry recorded by its AsOf and the reports up to its
// Through, and every earlier run's findings of those reports are what
// matching them again under the same registry and parameters gives (an
// incremental run counts the capping as a full one would).
func Replay(ctx context.Context, st Replayer, p seams.Principal, at seams.AsOf, o Options) (*Replayed, error) {
	if o.Logger == nil {
		o.Logger = NewOptions().Logger
	}
	snap, run, err := st.SnapshotAsOf(ctx, p, at)
	if err != nil {
		return nil, fmt.Errorf("as of %s: %w", at, err)
	}
	defer snap.Close()
	if run != nil {
		given := map[string][]string{}
		if len(o.Enrich.ASNDB) > 0 {
			given["asn"] = o.Enrich.ASNDB
		}
		if len(o.Enrich.GeoDB) > 0 {
			given["geo"] = o.Enrich.GeoDB
		}
		ro, err := OptionsOfRun(run, given)
		if err != nil {
			return nil, err
		}
		ro.Logger, ro.Decay = o.Logger, run.Parameters.Decay
		o = ro
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	rule := match.CapRule{Limit: max(o.MaxReportsPerIndicator, 0), Lift: map[string]bool{}}
	for _, v := range o.LiftCap {
		c, _ := match.LiftValue(v) // Validate checked it
		rule.Lift[c] = true
	}
	dbs, err := enrich.OpenDatabases(o.Enrich)
	if err != nil {
		if errors.Is(err, enrich.ErrOptions) {
			return nil, &FieldError{"Enrich", strings.TrimPrefix(err.Error(), enrich.ErrOptions.Error()+": ")}
		}
		return nil, err
	}
	defer dbs.Close()
	params := o.parameters(dbs)
	if run != nil && !run.Parameters.Same(params) {
		return nil, fmt.Errorf("%w: run %d ran with %s; the replay would run with %s (give the run's databases with --asn-db and --geo-db)",
			ErrNotReplayable, run.ID, describe(run.Parameters), describe(params))
	}
	state := snap.State()
	reg, err := snap.Registry(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry as of %s: %w", at, err)
	}
	o.Logger.Info("replaying the store", "as_of", at.String(), "recorded", state.Recorded, "through", state.MaxReport,
		"compounds", len(reg.Compounds), "indicators", len(reg.Indicators), "shared", len(reg.SharedLists))
	ids := &reportIDs{Snapshot: snap, ids: map[int64]string{}}
	h := newHunter(reg, o.Drift, dbs, rule, o.Logger)
	res, err := h.pass(ctx, ids, state, true)
	if err != nil {
		return nil, err
	}
	out := &Replayed{At: at, Run: run, Recorded: state.Recorded, Through: state.MaxReport, Scanned: res.Scanned,
		Parameters: params, OverCorrelated: res.OverCorrelated}
	counts := map[int64]int{}
	for _, oc := range res.OverCorrelated {
		counts[oc.Indicator] = oc.Reports
	}
	inds := make(map[int64]*seams.Indicator, len(reg.Indicators))
	for i := range reg.Indicators {
		inds[reg.Indicators[i].ID] = &reg.Indicators[i].Indicator
	}
	for i := range res.OverCorrelated {
		oc := &res.OverCorrelated[i]
		if in := inds[oc.Indicator]; in != nil {
			oc.Compound, oc.Kind, oc.Value = in.Compound, in.Kind.String(), in.Value
		}
	}
	type keyed struct {
		seq int64
		f   seams.Finding
	}
	var found []keyed
	for i := range res.Changes {
		c := &res.Changes[i]
		if c.To == seams.TierNone {
			continue
		}
		sf := seams.StoredFinding{Report: ids.ids[c.Report], ReportSeq: c.Report, Compound: c.Compound, Tier: c.To,
			Evidence: c.Evidence, Signals: c.Signals}
		for _, id := range c.Capped {
			sf.Capped = append(sf.Capped, seams.StoredCap{Indicator: id, Reports: counts[id], Limit: params.MaxReportsPerIndicator})
		}
		f, err := sf.Resolve(inds)
		if err != nil {
			return nil, err
		}
		found = append(found, keyed{c.Report, f})
	}
	slices.SortStableFunc(found, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.f.Compound, b.f.Compound))
	})
	out.Findings = make([]seams.Finding, len(found))
	for i := range found {
		out.Findings[i] = found[i].f
	}
	return out, nil
}

// describe says what parameters are, for an error.
func describe(p seams.StoreRunParameters) string {
	var dbs []string
	for _, d := range p.Databases {
		dbs = append(dbs, fmt.Sprintf("%s %s (%s, built %s, %d networks)", d.Role, d.File, d.Type, d.Built, d.Networks))
	}
	if len(dbs) == 0 {
		dbs = []string{"no database"}
	}
	return fmt.Sprintf("drift %s, limit %d, lift %v, shared ASNs %v, presets %v, %s", p.Drift, p.MaxReportsPerIndicator,
		p.LiftCap, p.SharedASN, p.SharedPresets, strings.Join(dbs, ", "))
}

// reportIDs is a snapshot that remembers the id of every report it
// yields, by Seq: a replay's findings name their reports.
type reportIDs struct {
	seams.Snapshot
	ids map[int64]string
}

func (r *reportIDs) Reports(ctx context.Context, after int64) iter.Seq2[*seams.SnapshotReport, error] {
	return func(yield func(*seams.SnapshotReport, error) bool) {
		for sr, err := range r.Snapshot.Reports(ctx, after) {
			if err == nil {
				r.ids[sr.Seq] = sr.ID
			}
			if !yield(sr, err) {
				return
			}
		}
	}
}

// Published returns the current findings of the store that p may see, as
// seams xref writes them, in the order of a replay's: by report Seq, then
// compound id. Right after run N, they are what a replay of run N finds.
func Published(ctx context.Context, st interface {
	seams.FindingStore
	seams.Reader
}, p seams.Principal) ([]seams.Finding, error) {
	var stored []seams.StoredFinding
	q := seams.FindingQuery{Limit: 1000}
	for {
		page, err := st.Findings(ctx, p, q)
		if err != nil {
			return nil, err
		}
		stored = append(stored, page.Findings...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	var ids []int64
	for i := range stored {
		ids = append(ids, stored[i].Indicators()...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	inds := make(map[int64]*seams.Indicator, len(ids))
	for chunk := range slices.Chunk(ids, 5000) {
		page, err := st.Indicators(ctx, p, seams.IndicatorQuery{IDs: chunk})
		if err != nil {
			return nil, err
		}
		for i := range page.Indicators {
			inds[page.Indicators[i].ID] = &page.Indicators[i].Indicator
		}
	}
	slices.SortStableFunc(stored, func(a, b seams.StoredFinding) int {
		return cmp.Or(cmp.Compare(a.ReportSeq, b.ReportSeq), strings.Compare(a.Compound, b.Compound))
	})
	out := make([]seams.Finding, len(stored))
	for i := range stored {
		f, err := stored[i].Resolve(inds)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}
