package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seams-dev/seams"
)

// A scorer gives indicators and findings their freshness (seams.Freshness)
// at the store's present: by the decay model of the last run (the defaults
// before any run kept one), counting from the end of an indicator's window
// (its record time when the window is open) or from the latest
// observation of a confirmed finding whose evidence names the indicator,
// whichever is later. Reviews count as feedback on every version of an
// indicator's (compound, kind, value): a confirmed finding is a sighting,
// a dismissed one a false positive. A score is shown beside a tier and
// never changes it.
type scorer struct {
	params    seams.DecayParameters
	sightings map[sightingKey]seams.Sighting
	at        time.Time
}

type sightingKey struct {
	compound string
	kind     seams.Kind
	value    string
}

func keyOf(in *seams.Indicator) sightingKey { return sightingKey{in.Compound, in.Kind, in.Value} }

// scorer reads the decay model and the reviews' sightings.
func (t *tx) scorer() (*scorer, error) {
	sc := &scorer{params: seams.DefaultDecay(), sightings: map[sightingKey]seams.Sighting{}, at: t.s.now().UTC()}
	var params string
	var drift int64
	err := t.queryRow(`SELECT r.parameters, r.drift_ns FROM runs r JOIN state s ON s.last_run = r.id WHERE s.id = 1`).Scan(&params, &drift)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		p, err := decodeParameters(params, time.Duration(drift))
		if err != nil {
			return nil, fmt.Errorf("last run: %w", err)
		}
		sc.params = p.Decay.OrDefault()
	}
	// The current review of each finding, with the evidence of the
	// version reviewed: reviews are people's work, few beside findings.
	rows, err := t.query(`SELECT f.id, f.mark, f.reviewed_ns, v.evidence FROM findings f JOIN finding_versions v ON v.id = f.reviewed_version
		WHERE f.mark <> '' ORDER BY f.id`)
	if err != nil {
		return nil, err
	}
	type feedback struct {
		mark seams.Mark
		at   time.Time // the observation, or the review for evidence without a time
		ind  int64
	}
	var fb []feedback
	var ids []int64
	for rows.Next() {
		var id int64
		var mark, ev string
		var reviewed sql.NullInt64
		if err := rows.Scan(&id, &mark, &reviewed, &ev); err != nil {
			rows.Close()
			return nil, err
		}
		evidence, err := DecodeEvidence(ev)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding %d: %w", id, err)
		}
		for _, e := range evidence {
			at := e.Observed.At
			if at.IsZero() || seams.Mark(mark) == seams.MarkDismissed {
				at = timeOf(reviewed)
			}
			fb = append(fb, feedback{seams.Mark(mark), at, e.Indicator})
			ids = append(ids, e.Indicator)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	keys := map[int64]sightingKey{}
	for chunk := range slices.Chunk(ids, insertRows) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		list, err := t.indicators(`WHERE i.id IN (`+inList(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for i := range list {
			keys[list[i].ID] = keyOf(&list[i].Indicator)
		}
	}
	for _, f := range fb {
		k, ok := keys[f.ind]
		if !ok {
			return nil, fmt.Errorf("review names indicator %d, which is not stored", f.ind)
		}
		s := sc.sightings[k]
		switch f.mark {
		case seams.MarkConfirmed:
			s.Confirmed++
			if f.at.After(s.At) {
				s.At = f.at
			}
		case seams.MarkDismissed:
			s.Dismissed++
			if f.at.After(s.LastDismissed) {
				s.LastDismissed = f.at
			}
		}
		sc.sightings[k] = s
	}
	return sc, nil
}

func (sc *scorer) indicator(si *seams.StoredIndicator) *seams.Freshness {
	f := sc.params.FreshnessOf(&si.Indicator, si.Added, sc.sightings[keyOf(&si.Indicator)], sc.at)
	return &f
}

// score sets the freshness of each indicator of inds, and of each finding
// of fs, that of the freshest indicator of its evidence (read here when
// inds lacks it).
func (t *tx) score(fs []seams.StoredFinding, inds []seams.StoredIndicator) error {
	sc, err := t.scorer()
	if err != nil {
		return fmt.Errorf("decay: %w", err)
	}
	byID := map[int64]*seams.StoredIndicator{}
	for i := range inds {
		inds[i].Freshness = sc.indicator(&inds[i])
		byID[inds[i].ID] = &inds[i]
	}
	var missing []any
	for i := range fs {
		for _, e := range fs[i].Evidence {
			if _, ok := byID[e.Indicator]; !ok {
				byID[e.Indicator] = nil
				missing = append(missing, e.Indicator)
			}
		}
	}
	for chunk := range slices.Chunk(missing, insertRows) {
		list, err := t.indicators(`WHERE i.id IN (`+inList(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		for i := range list {
			list[i].Freshness = sc.indicator(&list[i])
			byID[list[i].ID] = &list[i]
		}
	}
	for i := range fs {
		f := &fs[i]
		for _, e := range f.Evidence {
			si := byID[e.Indicator]
			if si == nil {
				return fmt.Errorf("finding %d: indicator %d is not stored", f.ID, e.Indicator)
			}
			if f.Freshness == nil || si.Freshness.Score > f.Freshness.Score {
				f.Freshness = si.Freshness
			}
		}
	}
	return nil
}
