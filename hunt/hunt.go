// Package hunt cross-references what a store holds: it matches the stored
// reports against the stored registry with package match, compares the
// findings with those already stored, and commits what changed (new,
// upgraded, downgraded, withdrawn or revised findings) as one run.
//
// When the registry is unchanged since the last run, only reports stored
// since then are matched. When indicators or shared space changed (or the
// drift did), every stored report is matched again: a retro-hunt, so that
// a new indicator finds old reports and a retired one withdraws what it
// alone supported.
package hunt

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
)

// Options configures a run. Use NewOptions for the defaults.
type Options struct {
	Drift time.Duration // see match.NewMatcher
	// Full re-evaluates every stored report even when nothing calls for
	// it.
	Full   bool
	Logger *slog.Logger
}

// NewOptions returns the default options.
func NewOptions() Options {
	return Options{Drift: match.DefaultDrift, Logger: slog.New(slog.DiscardHandler)}
}

// Run cross-references the store and commits the run on behalf of p. It
// returns seams.ErrConflict if the store changed under it; nothing is
// written then, and running again is safe.
func Run(ctx context.Context, st seams.Hunter, p seams.Principal, o Options) (seams.Run, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	started := time.Now()
	snap, err := st.Snapshot(ctx)
	if err != nil {
		return seams.Run{}, fmt.Errorf("snapshot: %w", err)
	}
	defer snap.Close()
	state := snap.State()
	last := state.LastRun
	full := o.Full || last == nil || last.RegistryVersion != state.RegistryVersion || last.Drift != o.Drift
	var after, base int64
	if last != nil {
		base = last.ID
		if !full {
			after = last.Through
		}
	}
	reg, err := snap.Registry(ctx)
	if err != nil {
		return seams.Run{}, fmt.Errorf("registry: %w", err)
	}
	o.Logger.Info("cross-referencing the store", "full", full, "after_report", after, "compounds", len(reg.Compounds),
		"indicators", len(reg.Indicators), "registry_version", state.RegistryVersion)

	h := newHunter(reg, o.Drift)
	res := &seams.RunResult{Base: base, RegistryVersion: state.RegistryVersion, Drift: o.Drift, Full: full,
		Through: state.MaxReport, Started: started}
	for r, err := range snap.Reports(ctx, after) {
		if err != nil {
			return seams.Run{}, fmt.Errorf("reports: %w", err)
		}
		sc, err := h.scope(r.Org)
		if err != nil {
			return seams.Run{}, err
		}
		if res.Changes, err = sc.diff(r, res.Changes); err != nil {
			return seams.Run{}, err
		}
		res.Scanned++
		if res.Scanned%100000 == 0 {
			o.Logger.Debug("matched", "reports", res.Scanned, "changes", len(res.Changes))
			if err := ctx.Err(); err != nil {
				return seams.Run{}, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return seams.Run{}, err
	}
	if err := snap.Close(); err != nil {
		return seams.Run{}, err
	}
	o.Logger.Info("matched", "reports", res.Scanned, "changes", len(res.Changes), "took", time.Since(started).Round(time.Millisecond))
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

// warnings says which organisations' reports were matched against no
// indicator at all: a run that reports 0 tied for them found nothing
// because there was nothing to find it with.
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
	return out
}

// hunter holds the indexes of a run: one for each organisation that has
// indicators of its own that it has not shared, and one of the shared
// indicators for every other organisation.
type hunter struct {
	reg     *seams.StoredRegistry
	drift   time.Duration
	private map[string]bool // organisations with unshared indicators
	scopes  map[string]*scope
	seen    map[string]int // reports matched, by organisation
}

func newHunter(reg *seams.StoredRegistry, drift time.Duration) *hunter {
	h := &hunter{reg: reg, drift: drift, private: map[string]bool{}, scopes: map[string]*scope{}, seen: map[string]int{}}
	for i := range reg.Indicators {
		if si := &reg.Indicators[i]; !si.Shared {
			h.private[si.Org] = true
		}
	}
	return h
}

// scope is what one organisation's reports are matched against: its own
// indicators and those others shared. Reports are never matched against
// an indicator their organisation may not see, so a finding never shows
// one organisation another's unshared data.
type scope struct {
	m      *match.Matcher
	stored []*seams.StoredIndicator // by the position the index was given as Line
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
	sc := &scope{}
	for i := range h.reg.Indicators {
		si := &h.reg.Indicators[i]
		if !si.Shared && si.Org != org {
			continue
		}
		if si.Kind == seams.KindASN {
			// An AS is matched through an ASN database, which a store's
			// runs do not have yet: kept, not used (docs/store.md).
			continue
		}
		// The index rebuilds the indicators of evidence from its own
		// records, so the evidence cannot point at the stored version.
		// Its Line can: the index is given the version's position in
		// this scope as the line (and no file), and hands it back.
		in := si.Indicator
		in.Line, in.File = len(sc.stored), ""
		if err := b.Add(&in); err != nil {
			return nil, fmt.Errorf("index for %s: indicator %d: %w", org, si.ID, err)
		}
		sc.stored = append(sc.stored, si)
	}
	b.AddShared(h.reg.Shared...)
	x, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("index for %s: %w", org, err)
	}
	sc.m = match.NewMatcher(x, h.drift)
	h.scopes[key] = sc
	return sc, nil
}

// diff matches r and appends to changes what differs from its stored
// findings (sorted by compound).
func (sc *scope) diff(r *seams.SnapshotReport, changes []seams.FindingChange) ([]seams.FindingChange, error) {
	old := r.Findings
	found := sc.m.Match(&r.Report)
	byCompound := func(c string) (seams.CurrentFinding, bool) {
		i, ok := slices.BinarySearchFunc(old, c, func(f seams.CurrentFinding, c string) int { return cmp.Compare(f.Compound, c) })
		if !ok {
			return seams.CurrentFinding{}, false
		}
		return old[i], true
	}
	for i := range found {
		f := &found[i]
		ev := make([]seams.StoredEvidence, len(f.Evidence))
		private := false
		var at time.Time
		for k := range f.Evidence {
			e := &f.Evidence[k]
			n := e.Indicator.Line
			if n < 0 || n >= len(sc.stored) || sc.stored[n].Value != e.Indicator.Value || sc.stored[n].Compound != e.Indicator.Compound {
				return nil, fmt.Errorf("report %s: evidence names indicator %s %q at position %d, which this run did not index", r.ID, e.Indicator.Kind, e.Indicator.Value, n)
			}
			si := sc.stored[n]
			private = private || !si.Shared
			ev[k] = e.Stored(si.ID)
			if t := e.Observed.At; !t.IsZero() && (at.IsZero() || t.Before(at)) {
				at = t
			}
		}
		d := Digest(ev, private)
		prev, ok := byCompound(f.Compound)
		kind, changed := seams.ChangeOf(prev.Tier, f.Tier, ok && bytes.Equal(prev.Digest, d))
		if !changed {
			continue
		}
		changes = append(changes, seams.FindingChange{Finding: prev.ID, Report: r.Seq, Compound: f.Compound, Kind: kind,
			From: prev.Tier, To: f.Tier, Evidence: ev, Digest: d, At: at, Private: private})
	}
	for _, prev := range old {
		if prev.Tier == seams.TierNone {
			continue
		}
		if slices.ContainsFunc(found, func(f seams.Finding) bool { return f.Compound == prev.Compound }) {
			continue
		}
		changes = append(changes, seams.FindingChange{Finding: prev.ID, Report: r.Seq, Compound: prev.Compound,
			Kind: seams.ChangeWithdrawn, From: prev.Tier, To: seams.TierNone, Digest: []byte{}})
	}
	return changes, nil
}

// Digest identifies what a finding says: its evidence (each indicator
// version and the observation that fired it, whether it is an associated
// account's, and why its address is shared space) and whether any of it
// is private. Two runs that find the same give the same digest, and a run
// records a change only when the digest or the tier differs.
//
// The associated flags and the reasons come last, and only when some
// evidence has one: evidence without them digests as it did before they
// were stored (schema version 4), so that a store's findings are not all
// revised by the first run after the upgrade.
func Digest(ev []seams.StoredEvidence, private bool) []byte {
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
	if private {
		num(1)
	} else {
		num(0)
	}
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
		if e.Observed.Proxy {
			num(1)
		} else {
			num(0)
		}
		num(int64(e.Drift))
		str(e.Shared.String())
	}
	if slices.ContainsFunc(ev, func(e seams.StoredEvidence) bool { return e.Observed.Associated || e.SharedWhy != "" }) {
		// After the whole of the older input, whose count says where it
		// ends: no evidence without flags or reasons hashes these bytes.
		str("associated, shared_why")
		for i := range ev {
			if ev[i].Observed.Associated {
				num(1)
			} else {
				num(0)
			}
			str(ev[i].SharedWhy)
		}
	}
	return h.Sum(nil)
}
