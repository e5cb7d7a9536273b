package hunt

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/match"
)

// Over-correlation in a store: the rule is match's (which indicators a
// report counts for, which counts are over the limit, what a tied finding
// becomes), as seams xref applies it over files; what is the store's is
// how the counts are gathered.
//
// An indicator version's count is the number of distinct stored reports
// with its evidence, over every organisation whose reports it is matched
// against (all of them for a shared indicator, its own organisation's for
// an unshared one): the count one seams xref run over all the stored
// reports would make. A full run counts as it matches. An incremental run
// matches the new reports only; the reports stored before have stored
// findings whose evidence is exactly what matching them again would give
// (the registry and the parameters are unchanged, or the run would be
// full), so their counts are those of the stored findings: taken from the
// last run's list when it holds every indicator the new reports count for
// (a report adds one to a count; an indicator the last run did not list
// was under the limit, and its count is unknown), else counted over the
// current findings (Snapshot.FindingRefs). When the capped set so counted
// differs from the last run's, findings of reports the run did not match
// would change: the run becomes full.

// counter counts, per indicator version, the distinct reports with its
// evidence, and the current findings each capped indicator capped.
type counter struct {
	rule       match.CapRule
	counts     map[int64]int
	downgraded map[int64]int
}

func newCounter(rule match.CapRule) *counter {
	return &counter{rule: rule, counts: map[int64]int{}, downgraded: map[int64]int{}}
}

// on reports whether the cap is on.
func (c *counter) on() bool { return c.rule.On() }

// addStored adds the counts of the reports with sequence <= through, which
// the run did not match: from the last run's list when it can, else from
// the stored findings (it says which, for the log). kind gives the kind
// of an active indicator version.
func (c *counter) addStored(ctx context.Context, snap seams.Snapshot, through int64, last *seams.Run, kind func(int64) (seams.Kind, bool)) (how string, err error) {
	listed := map[int64]seams.RunOverCorrelated{}
	for _, o := range last.OverCorrelated {
		listed[o.Indicator] = o
	}
	fromList := true
	for id := range c.counts {
		if _, ok := listed[id]; !ok {
			fromList = false
			break
		}
	}
	if fromList {
		for id, o := range listed {
			c.counts[id] += o.Reports
			c.downgraded[id] += o.Downgraded
		}
		return "from the last run's list", nil
	}
	findings := 0
	var seen []int64
	for f, err := range snap.FindingRefs(ctx, through) {
		if err != nil {
			return "", fmt.Errorf("counting the stored findings: %w", err)
		}
		findings++
		// An indicator is of one compound, so it is in one finding of a
		// report at most: counting it once a finding counts it once a
		// report.
		seen = seen[:0]
		for _, id := range f.Indicators {
			k, ok := kind(id)
			if !ok {
				// The registry is as the last run saw it: a finding of
				// that run names active indicators only.
				return "", fmt.Errorf("counting the stored findings: a finding of report %d names indicator version %d, which is not active; run again with a full run", f.Report, id)
			}
			if match.Counted(k) && !slices.Contains(seen, id) {
				seen = append(seen, id)
				c.counts[id]++
			}
		}
		for _, id := range f.Capped {
			c.downgraded[id]++
		}
	}
	return fmt.Sprintf("from %d stored findings", findings), nil
}

// decide returns the over-correlated indicator versions (as match.Decide
// lists them, keys in id order, which is registry order) and the notes of
// the capped ones.
func (c *counter) decide(indicator func(int64) *seams.Indicator) ([]match.Over[int64], map[int64]seams.CapNote) {
	keys := slices.Sorted(maps.Keys(c.counts))
	return match.Decide(c.rule, keys, indicator, func(id int64) int { return c.counts[id] })
}

// capFinding caps f when it is tied and every indicator that ties it is
// capped (match.CapNotes), counting it for those indicators.
func (c *counter) capFinding(f *candidate, capped map[int64]seams.CapNote) {
	if f.tier != seams.TierTied {
		return
	}
	if _, ok := match.CapNotes(f.tie, func(id int64) (seams.CapNote, bool) { n, ok := capped[id]; return n, ok }); !ok {
		return
	}
	f.tier, f.capped = seams.TierPotential, f.tie
	for _, id := range f.tie {
		c.downgraded[id]++
	}
}

// overCorrelated returns the run's list of over-correlated indicators.
func (c *counter) overCorrelated(over []match.Over[int64]) []seams.RunOverCorrelated {
	out := make([]seams.RunOverCorrelated, len(over))
	for i, o := range over {
		out[i] = seams.RunOverCorrelated{Indicator: o.Key, OverCorrelated: o.OverCorrelated}
		out[i].Downgraded = c.downgraded[o.Key]
	}
	return out
}
