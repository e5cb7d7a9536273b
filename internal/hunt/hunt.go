// Package hunt cross-references what a store holds: it matches the stored
// reports against the stored registry with package match, applies the
// same over-correlation cap and the same enrichment as seams xref on files
// (packages match and enrich), compares the findings with those already
// stored, and commits what changed (new, upgraded, downgraded, withdrawn
// or revised findings) as one run, with the build and the parameters that
// made it.
//
// When the registry and the parameters are unchanged since the last run,
// only reports stored since then are matched. When indicators or shared
// space changed, or a parameter did (the drift, the limit, the lift list,
// a database, a shared list), every stored report is matched again: a
// retro-hunt, so that a new indicator finds old reports and a retired one
// withdraws what it alone supported. The cap needs counts over every
// stored report (see capping.go): an incremental run adds the counts of
// the new reports to those of the stored findings, and turns into a
// retro-hunt when that changes which indicators are capped.
package hunt

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/sharedlist"
)

// Options configures a run. Use NewOptions for the defaults.
type Options struct {
	Drift time.Duration // see match.NewMatcher
	// Full re-evaluates every stored report even when nothing calls for
	// it.
	Full bool
	// MaxReportsPerIndicator is the over-correlation limit, as seams
	// xref's: an ip or device indicator version with evidence in more
	// distinct stored reports than this is over-correlated, and the
	// findings it alone ties are capped at potential. Zero or less turns
	// the cap off.
	MaxReportsPerIndicator int
	// LiftCap lists indicators (by value: an address, or a device as
	// type:value) exempt from the cap; they are still listed.
	LiftCap []string
	// Enrich names the enrichment databases and shared lists (package
	// enrich): the AS and location of every evidence address, asn
	// indicators, shared ASNs and presets, signals.
	Enrich enrich.Options
	// Decay is the decay model the store scores indicators and findings
	// with after the run (seams.DecayParameters; zero for the defaults):
	// kept with the run's parameters, it never changes a finding.
	Decay  seams.DecayParameters
	Logger *slog.Logger
}

// NewOptions returns the default options: the drift and the
// over-correlation limit of seams xref, no enrichment.
func NewOptions() Options {
	return Options{Drift: match.DefaultDrift, MaxReportsPerIndicator: match.DefaultMaxReportsPerIndicator,
		Decay: seams.DefaultDecay(), Logger: slog.New(slog.DiscardHandler)}
}

// ErrOptions marks an error in the Options (see FieldError).
var ErrOptions = errors.New("run options")

// FieldError is a mistake in one field of Options, named as Go spells it
// ("LiftCap", "Enrich.SharedPresets"); a command line maps it to its flag.
// errors.Is(err, ErrOptions) holds for it.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes a FieldError match ErrOptions.
func (e *FieldError) Is(target error) bool { return target == ErrOptions }

// Validate checks the options: every lift value is an address or a device,
// shared ASNs come with an ASN database, every preset exists and one that
// lists ASes has an ASN database. It opens no database.
func (o *Options) Validate() error {
	var errs []error
	for _, v := range o.LiftCap {
		if _, err := match.LiftValue(v); err != nil {
			errs = append(errs, &FieldError{"LiftCap", err.Error()})
		}
	}
	if err := o.Decay.OrDefault().Validate(); err != nil {
		errs = append(errs, &FieldError{"Decay", err.Error()})
	}
	hasASN := len(o.Enrich.ASNDB) > 0
	if len(o.Enrich.SharedASN) > 0 && !hasASN {
		errs = append(errs, &FieldError{"Enrich.SharedASN", "shared ASNs need an ASN database"})
	}
	if o.Enrich.SharedPresets != "" {
		lists, err := sharedlist.Presets(o.Enrich.SharedPresets)
		if err != nil {
			errs = append(errs, &FieldError{"Enrich.SharedPresets", err.Error()})
		}
		for _, l := range lists {
			if len(l.ASNs) > 0 && !hasASN {
				errs = append(errs, &FieldError{"Enrich.SharedPresets", "preset " + l.Name + " lists autonomous systems: it needs an ASN database"})
			}
		}
	}
	return errors.Join(errs...)
}

// parameters returns the rule parameters of the run, as a run records
// them and compares them with the last run's.
func (o *Options) parameters(dbs *enrich.Databases) seams.StoreRunParameters {
	p := seams.StoreRunParameters{Drift: o.Drift.String(), MaxReportsPerIndicator: max(o.MaxReportsPerIndicator, 0),
		LiftCap: []string{}, SharedASN: []uint32{}, SharedPresets: []string{}, Databases: dbs.Info()}
	if p.MaxReportsPerIndicator > 0 {
		// Without a cap, a lift list says nothing.
		for _, v := range o.LiftCap {
			if c, err := match.LiftValue(v); err == nil {
				p.LiftCap = append(p.LiftCap, c)
			}
		}
		slices.Sort(p.LiftCap)
		p.LiftCap = slices.Compact(p.LiftCap)
	}
	// An AS list is a set (package enrich sorts it); presets keep their
	// order, which says whose reason stands for a prefix two list.
	p.SharedASN = append(p.SharedASN, o.Enrich.SharedASN...)
	slices.Sort(p.SharedASN)
	p.SharedASN = slices.Compact(p.SharedASN)
	for _, name := range strings.Split(o.Enrich.SharedPresets, ",") {
		if name = strings.TrimSpace(name); name != "" && !slices.Contains(p.SharedPresets, name) {
			p.SharedPresets = append(p.SharedPresets, name)
		}
	}
	if p.Databases == nil {
		p.Databases = []seams.DatabaseInfo{}
	}
	p.Decay = o.Decay.OrDefault()
	p.Decay.Sources = maps.Clone(p.Decay.Sources)
	return p
}

// Run cross-references the store and commits the run on behalf of p. It
// returns seams.ErrConflict if the store changed under it; nothing is
// written then, and running again is safe. An error in the options wraps
// ErrOptions.
func Run(ctx context.Context, st seams.Hunter, p seams.Principal, o Options) (seams.Run, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := o.Validate(); err != nil {
		return seams.Run{}, err
	}
	rule := match.CapRule{Limit: max(o.MaxReportsPerIndicator, 0), Lift: map[string]bool{}}
	for _, v := range o.LiftCap {
		c, _ := match.LiftValue(v) // Validate checked it
		rule.Lift[c] = true
	}
	dbs, err := enrich.OpenDatabases(o.Enrich)
	if err != nil {
		if errors.Is(err, enrich.ErrOptions) {
			return seams.Run{}, &FieldError{"Enrich", strings.TrimPrefix(err.Error(), enrich.ErrOptions.Error()+": ")}
		}
		return seams.Run{}, err
	}
	defer dbs.Close()
	params := o.parameters(dbs)

	started := time.Now()
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return seams.Run{}, fmt.Errorf("snapshot: %w", err)
	}
	defer snap.Close()
	state := snap.State()
	last := state.LastRun
	full := o.Full || last == nil || last.RegistryVersion != state.RegistryVersion
	if !full && !last.Parameters.Same(params) {
		o.Logger.Info("the parameters differ from the last run's: every stored report is matched again")
		full = true
	}
	reg, err := snap.Registry(ctx)
	if err != nil {
		return seams.Run{}, fmt.Errorf("registry: %w", err)
	}
	o.Logger.Info("cross-referencing the store", "full", full, "compounds", len(reg.Compounds),
		"indicators", len(reg.Indicators), "registry_version", state.RegistryVersion, "max_reports_per_indicator", rule.Limit,
		"enrichment", dbs.On())

	h := newHunter(reg, o.Drift, dbs, rule, o.Logger)
	res, err := h.pass(ctx, snap, state, full)
	if errors.Is(err, errCappedChanged) {
		o.Logger.Info("the new reports change which indicators are over-correlated: every stored report is matched again")
		res, err = h.pass(ctx, snap, state, true)
	}
	if err != nil {
		return seams.Run{}, err
	}
	if err := snap.Close(); err != nil {
		return seams.Run{}, err
	}
	res.Started, res.Seams, res.Parameters, res.AsOf = started, seams.ThisBuild(), params, state.Recorded
	o.Logger.Info("matched", "reports", res.Scanned, "changes", len(res.Changes), "over_correlated", len(res.OverCorrelated),
		"took", time.Since(started).Round(time.Millisecond))
	run, err := st.CommitRun(ctx, p, res)
	if err != nil {
		return run, err
	}
	run.Warnings = h.warnings()
	for _, w := range run.Warnings {
		o.Logger.Warn(w)
	}
	return run, nil
}

// errCappedChanged says that an incremental run found another set of
// capped indicators than the last run's: the stored findings those
// indicators tie are to be decided again, by a full run.
var errCappedChanged = errors.New("the capped indicators changed")

// pass matches the reports the run is to match (every stored one when
// full, else those stored since the last run), caps and diffs their
// findings, and returns the run's result.
func (h *hunter) pass(ctx context.Context, snap seams.Snapshot, state seams.StoreState, full bool) (*seams.RunResult, error) {
	last := state.LastRun
	var after, base int64
	if last != nil {
		base = last.ID
		if !full {
			after = last.Through
		}
	}
	clear(h.seen)
	res := &seams.RunResult{Base: base, RegistryVersion: state.RegistryVersion, Drift: h.drift, Full: full, Through: state.MaxReport}
	c := newCounter(h.rule)
	// A report with a tied finding waits for the capping decision, which
	// needs the counts of every report; the others are final at once.
	var waiting []report
	for r, err := range snap.Reports(ctx, after) {
		if err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
		sc, err := h.scope(r.Org)
		if err != nil {
			return nil, err
		}
		cands, err := sc.candidates(r, h, c)
		if err != nil {
			return nil, err
		}
		if c.on() && slices.ContainsFunc(cands, func(f candidate) bool { return f.tier == seams.TierTied }) {
			waiting = append(waiting, report{seq: r.Seq, stored: slices.Clone(r.Findings), found: cands})
		} else {
			res.Changes = diff(r.Seq, r.Findings, cands, res.Changes)
		}
		res.Scanned++
		if res.Scanned%100000 == 0 {
			h.log.Debug("matched", "reports", res.Scanned, "changes", len(res.Changes))
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !c.on() {
		return res, nil
	}
	if !full {
		start := time.Now()
		how, err := c.addStored(ctx, snap, after, last, h.kind)
		if err != nil {
			return nil, err
		}
		h.log.Info("counted the reports stored before", "how", how, "took", time.Since(start).Round(time.Millisecond))
	}
	over, capped := c.decide(h.indicator)
	if !full && !sameKeys(capped, last.Capped()) {
		return nil, errCappedChanged
	}
	for i := range waiting {
		w := &waiting[i]
		for k := range w.found {
			c.capFinding(&w.found[k], capped)
		}
		res.Changes = diff(w.seq, w.stored, w.found, res.Changes)
	}
	if len(waiting) > 0 {
		// In report order, as if no report had waited: new findings get
		// their ids in the order of their reports.
		slices.SortStableFunc(res.Changes, func(a, b seams.FindingChange) int {
			return cmp.Or(cmp.Compare(a.Report, b.Report), cmp.Compare(a.Compound, b.Compound))
		})
	}
	res.OverCorrelated = c.overCorrelated(over)
	return res, nil
}

// report is a matched report whose findings wait for the capping
// decision.
type report struct {
	seq    int64
	stored []seams.CurrentFinding
	found  []candidate
}

// sameKeys reports whether two maps have the same keys.
func sameKeys[A, B any](a map[int64]A, b map[int64]B) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// warnings says which organisations' reports were matched against no
// indicator at all (a run that reports 0 tied for them found nothing
// because there was nothing to find it with), and what of the registry
// the run could not use (asn indicators without an ASN database).
func (h *hunter) warnings() []string {
	var out []string
	for _, org := range slices.Sorted(maps.Keys(h.seen)) {
		sc := h.scopes[h.key(org)]
		if sc == nil || len(sc.stored) > 0 {
			continue
		}
		what := "the store holds no indicator"
		if len(h.reg.Indicators) > 0 {
			what = fmt.Sprintf("none of the store's %d indicators is visible to it (none is its own, none was shared with it)", len(h.reg.Indicators))
		}
		out = append(out, fmt.Sprintf("organisation %q: %d reports matched against no indicator: %s; load indicators for it, or share some with it", org, h.seen[org], what))
	}
	// Each scope says what it could not use of the indicators it sees;
	// a shared indicator is in every scope, so the largest count of each
	// kind is the run's (exact with one scope, a lower bound with more).
	type key struct{ what, reason string }
	most := map[key]int{}
	var order []key
	for _, k := range slices.Sorted(maps.Keys(h.scopes)) {
		for _, u := range h.scopes[k].enr.Unusable() {
			kk := key{u.What, u.Reason}
			if _, ok := most[kk]; !ok {
				order = append(order, kk)
			}
			most[kk] = max(most[kk], u.Count)
		}
	}
	for _, k := range order {
		out = append(out, fmt.Sprintf("%d %s not used: %s", most[k], k.what, k.reason))
	}
	return out
}

// hunter holds the indexes of a run: one for each organisation that has
// indicators of its own that it has not shared, and one of the shared
// indicators for every other organisation.
type hunter struct {
	reg      *seams.StoredRegistry
	drift    time.Duration
	dbs      *enrich.Databases
	rule     match.CapRule
	log      *slog.Logger
	private  map[string]bool // organisations with unshared indicators
	scopes   map[string]*scope
	seen     map[string]int             // reports matched, by organisation
	compound map[string]int             // compound id -> its index in reg.Compounds (and every index)
	byID     map[int64]*seams.Indicator // the active indicator versions
	kinds    map[int64]seams.Kind       // their kinds, for counting stored findings
}

func newHunter(reg *seams.StoredRegistry, drift time.Duration, dbs *enrich.Databases, rule match.CapRule, log *slog.Logger) *hunter {
	h := &hunter{reg: reg, drift: drift, dbs: dbs, rule: rule, log: log, private: map[string]bool{}, scopes: map[string]*scope{},
		seen: map[string]int{}, compound: map[string]int{}, byID: map[int64]*seams.Indicator{}, kinds: map[int64]seams.Kind{}}
	for i := range reg.Compounds {
		h.compound[reg.Compounds[i].ID] = i
	}
	for i := range reg.Indicators {
		si := &reg.Indicators[i]
		if !si.Shared {
			h.private[si.Org] = true
		}
		h.byID[si.ID] = &si.Indicator
		h.kinds[si.ID] = si.Kind
	}
	// A shared-space list an organisation keeps to itself makes its
	// scope its own, as an unshared indicator does.
	for i := range reg.SharedLists {
		if l := &reg.SharedLists[i]; l.Scope == seams.SharedOwn {
			h.private[l.Org] = true
		}
	}
	return h
}

// indicator returns the indicator version id.
func (h *hunter) indicator(id int64) *seams.Indicator { return h.byID[id] }

// kind returns the kind of the active indicator version id.
func (h *hunter) kind(id int64) (seams.Kind, bool) { k, ok := h.kinds[id]; return k, ok }

// compoundOf returns the index and the compound of an id, as the indexes
// number them (package enrich's signals).
func (h *hunter) compoundOf(id string) (int, *seams.Compound) {
	i := h.compound[id]
	return i, &h.reg.Compounds[i]
}

// scope is what one organisation's reports are matched against: its own
// indicators and those others shared. Reports are never matched against
// an indicator their organisation may not see, so a finding never shows
// one organisation another's unshared data.
type scope struct {
	m      *match.Matcher
	enr    *enrich.Enrichment
	stored []*seams.StoredIndicator // by the position the index was given as Line
	ids    []int64                  // the indicator version of each record of the index (Evidence.Ref)
	refs   []int32                  // scratch
}

// key names the scope of an organisation's reports.
func (h *hunter) key(org string) string {
	if h.private[org] {
		return "org:" + org
	}
	return ""
}

func (h *hunter) scope(org string) (*scope, error) {
	h.seen[org]++
	key := h.key(org)
	if sc, ok := h.scopes[key]; ok {
		return sc, nil
	}
	b, err := match.NewBuilder(h.reg.Compounds)
	if err != nil {
		return nil, err
	}
	// Each index has its own enrichment (its asn indicators, the ASes of
	// its compounds' address indicators) over the run's databases.
	sc := &scope{enr: h.dbs.NewBuild()}
	for i := range h.reg.Indicators {
		si := &h.reg.Indicators[i]
		if !si.Shared && si.Org != org {
			continue
		}
		// The index rebuilds the indicators of evidence from its own
		// records, so the evidence cannot point at the stored version.
		// Its Line can: the index is given the version's position in
		// this scope as the line (and no file), and hands it back.
		in := si.Indicator
		in.Line, in.File = len(sc.stored), ""
		if err := sc.enr.Add(b, h.compound[in.Compound], &in); err != nil {
			return nil, fmt.Errorf("index for %s: indicator %d: %w", org, si.ID, err)
		}
		sc.stored = append(sc.stored, si)
	}
	// As seams xref: the store's shared space that applies to this
	// organisation's reports (its own lists, those others share, the
	// coalition set: plain prefixes, whose evidence names the prefix; the
	// ASes the lists name, with their reasons, need an ASN database),
	// then the presets and shared ASNs of the run, with their reasons
	// (enrich.Finish).
	prefixes, lists := h.sharedFor(org)
	b.AddShared(prefixes...)
	for _, l := range lists {
		sc.enr.AddSharedList(l.Name, "store", "", len(l.Prefixes), l.ASNs, nil)
	}
	if err := sc.enr.Finish(b); err != nil {
		return nil, fmt.Errorf("index for %s: %w", org, err)
	}
	x, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("index for %s: %w", org, err)
	}
	sc.ids = make([]int64, x.Records())
	for ref := range sc.ids {
		n := x.Line(int32(ref))
		if n < 0 || n >= len(sc.stored) {
			return nil, fmt.Errorf("index for %s: record %d has position %d, which this run did not index", org, ref, n)
		}
		sc.ids[ref] = sc.stored[n].ID
	}
	sc.m = match.NewMatcher(x, h.drift)
	h.scopes[key] = sc
	return sc, nil
}

// sharedFor returns the shared-space prefixes that apply to the reports
// of org (each once, in the order of their text, as a store listed them
// before lists had owners), and the lists that name ASes.
func (h *hunter) sharedFor(org string) ([]netip.Prefix, []*seams.StoredSharedList) {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	var withASN []*seams.StoredSharedList
	for i := range h.reg.SharedLists {
		l := &h.reg.SharedLists[i]
		if !l.AppliesTo(org) {
			continue
		}
		for _, p := range l.Prefixes {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		if len(l.ASNs) > 0 {
			withASN = append(withASN, l)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out, withASN
}

// candidate is a finding of a report as the run makes it, before the cap:
// what it will store, and the indicator versions whose evidence ties it.
type candidate struct {
	compound string
	tier     seams.Tier
	ev       []seams.StoredEvidence
	signals  seams.Signals
	private  bool
	at       time.Time
	tie      []int64 // match.TieRefs, as indicator versions; only with the cap on
	capped   []int64 // the capped indicators that alone tie it (then tier is potential)
}

// candidates matches r and enriches its findings, and counts the
// indicators of their evidence.
func (sc *scope) candidates(r *seams.SnapshotReport, h *hunter, c *counter) ([]candidate, error) {
	found := sc.m.Match(&r.Report)
	if len(found) == 0 {
		return nil, nil
	}
	sc.enr.Enrich(found, h.compoundOf)
	out := make([]candidate, len(found))
	for i := range found {
		f := &found[i]
		cd := &out[i]
		cd.compound, cd.tier, cd.signals = f.Compound, f.Tier, f.Signals
		cd.ev = make([]seams.StoredEvidence, len(f.Evidence))
		for k := range f.Evidence {
			e := &f.Evidence[k]
			n := e.Indicator.Line
			if n < 0 || n >= len(sc.stored) || sc.stored[n].Value != e.Indicator.Value || sc.stored[n].Compound != e.Indicator.Compound ||
				int(e.Ref) >= len(sc.ids) || sc.ids[e.Ref] != sc.stored[n].ID {
				return nil, fmt.Errorf("report %s: evidence names indicator %s %q at position %d, which this run did not index", r.ID, e.Indicator.Kind, e.Indicator.Value, n)
			}
			si := sc.stored[n]
			cd.private = cd.private || !si.Shared
			cd.ev[k] = e.Stored(si.ID)
			if t := e.Observed.At; !t.IsZero() && (cd.at.IsZero() || t.Before(cd.at)) {
				cd.at = t
			}
		}
		if c.on() && f.Tier == seams.TierTied {
			sc.refs = match.TieRefs(sc.refs[:0], f)
			cd.tie = make([]int64, len(sc.refs))
			for k, ref := range sc.refs {
				cd.tie[k] = sc.ids[ref]
			}
		}
	}
	if c.on() {
		// The distinct indicators the report counts for (the rule's
		// CountedRefs, as seams xref counts them).
		sc.refs = match.CountedRefs(sc.refs[:0], found)
		for _, ref := range sc.refs {
			c.counts[sc.ids[ref]]++
		}
	}
	return out, nil
}

// diff appends to changes what the findings found of report seq change of
// its stored findings (sorted by compound).
func diff(seq int64, old []seams.CurrentFinding, found []candidate, changes []seams.FindingChange) []seams.FindingChange {
	byCompound := func(c string) (seams.CurrentFinding, bool) {
		i, ok := slices.BinarySearchFunc(old, c, func(f seams.CurrentFinding, c string) int { return cmp.Compare(f.Compound, c) })
		if !ok {
			return seams.CurrentFinding{}, false
		}
		return old[i], true
	}
	for i := range found {
		f := &found[i]
		d := Digest(f.ev, f.private, f.signals, f.capped)
		prev, ok := byCompound(f.compound)
		kind, changed := seams.ChangeOf(prev.Tier, f.tier, ok && bytes.Equal(prev.Digest, d))
		if !changed {
			continue
		}
		changes = append(changes, seams.FindingChange{Finding: prev.ID, Report: seq, Compound: f.compound, Kind: kind,
			From: prev.Tier, To: f.tier, Evidence: f.ev, Digest: d, At: f.at, Private: f.private, Signals: f.signals, Capped: f.capped})
	}
	for _, prev := range old {
		if prev.Tier == seams.TierNone {
			continue
		}
		if slices.ContainsFunc(found, func(f candidate) bool { return f.compound == prev.Compound }) {
			continue
		}
		changes = append(changes, seams.FindingChange{Finding: prev.ID, Report: seq, Compound: prev.Compound,
			Kind: seams.ChangeWithdrawn, From: prev.Tier, To: seams.TierNone, Digest: []byte{}})
	}
	return changes
}

// Digest identifies what a finding says: its evidence (each indicator
// version and the observation that fired it, whether it is an associated
// account's, why its address is shared space, and what enrichment says of
// it), whether any of it is private, its signals and the indicator
// versions that capped it. Two runs that find the same give the same
// digest, and a run records a change only when the digest or the tier
// differs. The counts of a capping indicator are the run's, not the
// finding's: a report stored later changes them without revising the
// findings the indicator capped.
//
// What later schema versions store comes last, and only when a finding
// has any of it: the associated flags and the reasons (version 4), then
// what enrichment says and the cap (version 5). A finding without them
// digests as it did before they were stored, so that a store's findings
// are not all revised by the first run after an upgrade.
func Digest(ev []seams.StoredEvidence, private bool, signals seams.Signals, capped []int64) []byte {
	h := sha256.New()
	var b [8]byte
	num := func(n int64) {
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	flag := func(v bool) {
		if v {
			num(1)
		} else {
			num(0)
		}
	}
	flag(private)
	num(int64(len(ev)))
	for i := range ev {
		e := &ev[i]
		num(int64(e.Rule))
		num(e.Indicator)
		a := e.Observed.IP.As16()
		if !e.Observed.IP.IsValid() {
			a = [16]byte{}
		}
		h.Write(a[:])
		str(e.Observed.Device.Type)
		str(e.Observed.Device.Value)
		if e.Observed.At.IsZero() {
			num(-1 << 63)
		} else {
			num(e.Observed.At.UnixNano())
		}
		str(e.Observed.Event)
		num(int64(e.Observed.Port))
		flag(e.Observed.Proxy)
		num(int64(e.Drift))
		str(e.Shared.String())
	}
	if slices.ContainsFunc(ev, func(e seams.StoredEvidence) bool { return e.Observed.Associated || e.SharedWhy != "" }) {
		// After the whole of the older input, whose count says where it
		// ends: no evidence without flags or reasons hashes these bytes.
		str("associated, shared_why")
		for i := range ev {
			flag(ev[i].Observed.Associated)
			str(ev[i].SharedWhy)
		}
	}
	if signals.Any() || len(capped) > 0 || slices.ContainsFunc(ev, func(e seams.StoredEvidence) bool { return e.Observed.Net != seams.AddrInfo{} }) {
		// Likewise: a label no earlier part can end with, then counts
		// that say where each list ends.
		str("net, signals, capped")
		for i := range ev {
			n := &ev[i].Observed.Net
			num(int64(n.ASN))
			str(n.Org)
			str(n.Country)
			str(n.City)
		}
		flag(signals.CrossBorder)
		flag(signals.ForeignASN)
		num(int64(len(capped)))
		for _, id := range capped {
			num(id)
		}
	}
	return h.Sum(nil)
}
