package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/seams-dev/seams"
)

// Diff explains how the figures changed from run from to run to (see
// seams.RunDiff): the registries are those each run matched (read as of
// its AsOf, as a replay reads them), the state of a finding after a run
// is its last version made by that run or an earlier one. What p may not
// see is left out: indicators of other organisations not shared with it,
// findings as Findings hides them. The read is audited.
func (s *Store) Diff(ctx context.Context, p seams.Principal, from, to int64) (*seams.RunDiff, error) {
	out := &seams.RunDiff{}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		for _, r := range []struct {
			id  int64
			run *seams.Run
		}{{from, &out.From}, {to, &out.To}} {
			runs, err := t.runs(v, `WHERE id = ?`, r.id)
			if err != nil {
				return err
			}
			if len(runs) != 1 {
				return fmt.Errorf("run %d: %w", r.id, seams.ErrNotFound)
			}
			*r.run = runs[0]
		}
		a, b := &out.From, &out.To
		out.ParametersSame = a.Parameters.Same(b.Parameters)
		lo, hi := min(a.Through, b.Through), max(a.Through, b.Through)
		if err := t.queryRow(`SELECT COUNT(*) FROM reports r WHERE r.seq > ? AND r.seq <= ? AND `+sees("r"), append([]any{lo, hi}, v.args()...)...).Scan(&out.Reports); err != nil {
			return err
		}
		if err := t.diffRegistry(v, p, out); err != nil {
			return err
		}
		if err := t.diffFindings(v, out); err != nil {
			return err
		}
		t.record("runs.diff", fmt.Sprintf("run:%d", to), fmt.Sprintf("from run %d: %d indicators added, %d retired, %d changed; %d findings", from,
			len(out.Added), len(out.Retired), len(out.Changed), len(out.Findings)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *tx) diffRegistry(v viewer, p seams.Principal, out *seams.RunDiff) error {
	recA, recB := runAsOf(&out.From), runAsOf(&out.To)
	visible := func(list []seams.StoredIndicator) map[int64]seams.StoredIndicator {
		m := map[int64]seams.StoredIndicator{}
		for _, si := range list {
			if v.all || si.Org == p.Org || si.Shared {
				m[si.ID] = si
			}
		}
		return m
	}
	la, err := t.indicatorsAsOf(recA)
	if err != nil {
		return err
	}
	lb, err := t.indicatorsAsOf(recB)
	if err != nil {
		return err
	}
	ia, ib := visible(la), visible(lb)
	type key struct{ org, file, compound, kind, value string }
	keyOf := func(si *seams.StoredIndicator) key {
		return key{si.Org, si.File, si.Compound, si.Kind.String(), si.Value}
	}
	added := map[key][]seams.StoredIndicator{}
	for _, id := range sortedIDs(ib) {
		si := ib[id]
		old, ok := ia[id]
		switch {
		case !ok:
			added[keyOf(&si)] = append(added[keyOf(&si)], si)
		case old.Shared != si.Shared:
			out.Resharing = append(out.Resharing, si)
		}
	}
	for _, id := range sortedIDs(ia) {
		si := ia[id]
		if _, ok := ib[id]; ok {
			continue
		}
		if l := added[keyOf(&si)]; len(l) > 0 {
			out.Changed = append(out.Changed, seams.IndicatorChange{From: si, To: l[0]})
			added[keyOf(&si)] = l[1:]
			continue
		}
		out.Retired = append(out.Retired, si)
	}
	for _, id := range sortedIDs(ib) {
		si := ib[id]
		if l := added[keyOf(&si)]; slices.ContainsFunc(l, func(x seams.StoredIndicator) bool { return x.ID == id }) {
			out.Added = append(out.Added, si)
		}
	}

	sa, err := t.sharedAsOf(recA)
	if err != nil {
		return err
	}
	sb, err := t.sharedAsOf(recB)
	if err != nil {
		return err
	}
	for _, x := range sb {
		if !slices.Contains(sa, x) {
			out.SharedAdded = append(out.SharedAdded, x)
		}
	}
	for _, x := range sa {
		if !slices.Contains(sb, x) {
			out.SharedRemoved = append(out.SharedRemoved, x)
		}
	}

	ca, err := t.compoundsAsOf(recA)
	if err != nil {
		return err
	}
	cb, err := t.compoundsAsOf(recB)
	if err != nil {
		return err
	}
	for i := range cb {
		j := slices.IndexFunc(ca, func(c seams.Compound) bool { return c.ID == cb[i].ID })
		switch {
		case j < 0:
			out.Compounds = append(out.Compounds, seams.CompoundChange{To: cb[i]})
		case !sameCompound(&ca[j], &cb[i]):
			out.Compounds = append(out.Compounds, seams.CompoundChange{From: ca[j], To: cb[i]})
		}
	}
	return nil
}

func sortedIDs(m map[int64]seams.StoredIndicator) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// diffFindings compares the state of every finding some run between the
// two changed, after each of them.
func (t *tx) diffFindings(v viewer, out *seams.RunDiff) error {
	a, b := out.From.ID, out.To.ID
	lo, hi := min(a, b), max(a, b)
	rows, err := t.query(`SELECT c.finding, c.run, c.tier, c.private, c.evidence, c.capped, c.signals, r.rid, f.compound, f.org, r.shared
		FROM finding_versions c JOIN findings f ON f.id = c.finding JOIN reports r ON r.seq = f.report
		WHERE c.run <= ? AND c.finding IN (SELECT finding FROM finding_versions WHERE run > ? AND run <= ?)
		ORDER BY c.finding, c.run, c.id`, hi, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	type state struct {
		tier     seams.Tier
		private  bool
		evidence string
		capped   string
		signals  int64
	}
	type finding struct {
		id               int64
		report, compound string
		org              int64
		shared           bool
		atA, atB         state
	}
	var cur *finding
	flush := func() error {
		if cur == nil {
			return nil
		}
		f := cur
		visible := v.all || f.org == v.org || f.shared && !f.atA.private && !f.atB.private
		same := f.atA.evidence == f.atB.evidence && f.atA.capped == f.atB.capped && f.atA.signals == f.atB.signals && f.atA.private == f.atB.private
		kind, changed := seams.ChangeOf(f.atA.tier, f.atB.tier, same)
		if !visible || !changed {
			return nil
		}
		d := seams.FindingDiff{Finding: f.id, Report: f.report, Compound: f.compound, Kind: kind, From: f.atA.tier, To: f.atB.tier,
			CappedBefore: f.atA.capped != "", CappedAfter: f.atB.capped != ""}
		ea, err := decodeState(f.atA.evidence)
		if err != nil {
			return fmt.Errorf("finding %d: %w", f.id, err)
		}
		eb, err := decodeState(f.atB.evidence)
		if err != nil {
			return fmt.Errorf("finding %d: %w", f.id, err)
		}
		d.FromRules, d.ToRules = rulesOf(ea), rulesOf(eb)
		d.Gained, d.Lost = indicatorsOnly(eb, ea), indicatorsOnly(ea, eb)
		out.Findings = append(out.Findings, d)
		return nil
	}
	for rows.Next() {
		var id, run, tier, private, org, shared, signals int64
		var ev, capped, rid, compound string
		if err := rows.Scan(&id, &run, &tier, &private, &ev, &capped, &signals, &rid, &compound, &org, &shared); err != nil {
			return err
		}
		if cur == nil || cur.id != id {
			if err := flush(); err != nil {
				return err
			}
			cur = &finding{id: id, report: rid, compound: compound, org: org, shared: shared == 1}
		}
		st := state{tier: seams.Tier(tier), private: private == 1, evidence: ev, capped: capped, signals: signals}
		if run <= a {
			cur.atA = st
		}
		if run <= b {
			cur.atB = st
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// decodeState decodes the evidence of a finding's state; a finding with
// no version yet, or withdrawn, has none.
func decodeState(s string) ([]seams.StoredEvidence, error) {
	if s == "" || s == "[]" || s == "null" {
		return nil, nil
	}
	return DecodeEvidence(s)
}

func rulesOf(ev []seams.StoredEvidence) []seams.Rule {
	var out []seams.Rule
	for _, e := range ev {
		if !slices.Contains(out, e.Rule) {
			out = append(out, e.Rule)
		}
	}
	return out
}

// indicatorsOnly returns the indicator versions of a's evidence that b's
// does not name, in id order.
func indicatorsOnly(a, b []seams.StoredEvidence) []int64 {
	var out []int64
	for _, e := range a {
		if !slices.ContainsFunc(b, func(x seams.StoredEvidence) bool { return x.Indicator == e.Indicator }) && !slices.Contains(out, e.Indicator) {
			out = append(out, e.Indicator)
		}
	}
	slices.Sort(out)
	return out
}
