package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// SnapshotAsOf opens a read-only view of the store as it was at `at`, for
// a replay: its registry is what had been recorded by then (indicator
// versions recorded at or before the time and not retired by it, with the
// sharing of their file's version of that time; shared prefixes likewise;
// each compound's version of that time), its reports those a run named by
// `at` covered (Seq <= its Through) or those loaded by the time, with no
// stored findings, and no last run: a run over it matches everything and
// finds what the run found. It returns the run when `at` names one. It
// takes an analyst, as a run does, and the replay is audited.
func (s *Store) SnapshotAsOf(ctx context.Context, p seams.Principal, at seams.AsOf) (seams.Snapshot, *seams.Run, error) {
	if at.Run == 0 && at.Time.IsZero() {
		return nil, nil, fmt.Errorf("%w: as of nothing", seams.ErrInvalid)
	}
	var run *seams.Run
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		if at.Run != 0 {
			runs, err := t.runs(viewer{all: true}, `WHERE id = ?`, at.Run)
			if err != nil {
				return err
			}
			if len(runs) != 1 {
				return fmt.Errorf("run %d: %w", at.Run, seams.ErrNotFound)
			}
			run = &runs[0]
		}
		t.record("xref.replay", "as-of:"+at.String(), "")
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sqltx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.Dollar, Isolation: s.readIsolation()})
	if err != nil {
		return nil, nil, err
	}
	sn := &asOfSnapshot{snapshot: snapshot{s: s, tx: sqltx}}
	t := sn.t(ctx)
	if run != nil {
		sn.rec, sn.state.MaxReport, sn.loaded = runAsOf(run), run.Through, maxTime
		sn.state.RegistryVersion = run.RegistryVersion
	} else {
		sn.rec, sn.loaded = at.Time.UnixNano(), at.Time.UnixNano()
		if err := t.queryRow(`SELECT COALESCE(MAX(seq), 0) FROM reports WHERE loaded_ns <= ?`, sn.loaded).Scan(&sn.state.MaxReport); err != nil {
			sqltx.Rollback()
			return nil, nil, err
		}
	}
	sn.state.Recorded = time.Unix(0, sn.rec).UTC()
	return sn, run, nil
}

// runAsOf is the record time of the registry run matched: its AsOf, or
// its finish for a run handed none (a run made by hand, as tests do).
func runAsOf(run *seams.Run) int64 {
	if run.AsOf.IsZero() {
		return run.Finished.UnixNano()
	}
	return run.AsOf.UnixNano()
}

// maxTime is the greatest time: a replay of a run reads its reports by
// Seq alone.
const maxTime = int64(^uint64(0) >> 1)

// asOfSnapshot is a snapshot of the store as it was at a record time.
type asOfSnapshot struct {
	snapshot
	rec    int64 // record time: the registry recorded at or before it
	loaded int64 // reports loaded at or before it (and Seq <= MaxReport)
}

func (sn *asOfSnapshot) Registry(ctx context.Context) (*seams.StoredRegistry, error) {
	t := sn.t(ctx)
	reg := &seams.StoredRegistry{}
	var err error
	if reg.Compounds, err = t.compoundsAsOf(sn.rec); err != nil {
		return nil, err
	}
	if reg.Indicators, err = t.indicatorsAsOf(sn.rec); err != nil {
		return nil, err
	}
	if reg.SharedLists, err = t.sharedLists(sn.rec); err != nil {
		return nil, err
	}
	return reg, nil
}

// compoundsAsOf reads each compound's version recorded last at or before
// rec, by id.
func (t *tx) compoundsAsOf(rec int64) ([]seams.Compound, error) {
	rows, err := t.query(`SELECT v.compound, v.name, v.aliases, v.country, v.province, v.lat, v.lon, v.status
		FROM compound_versions v JOIN (SELECT compound, MAX(recorded_ns) AS at FROM compound_versions WHERE recorded_ns <= ? GROUP BY compound) l
		ON l.compound = v.compound AND l.at = v.recorded_ns ORDER BY v.compound`, rec)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seams.Compound
	for rows.Next() {
		c, err := scanCompound(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// indicatorsAsOf reads the indicator versions active at record time rec,
// in id order, each shared as its file's version of that time said.
func (t *tx) indicatorsAsOf(rec int64) ([]seams.StoredIndicator, error) {
	type file struct{ org, name string }
	shared := map[file]bool{}
	rows, err := t.query(`SELECT o.name, f.name, f.shared FROM indicator_files f JOIN orgs o ON o.id = f.org
		WHERE f.recorded_ns <= ? ORDER BY f.org, f.name, f.version`, rec)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var f file
		var sh int64
		if err := rows.Scan(&f.org, &f.name, &sh); err != nil {
			rows.Close()
			return nil, err
		}
		shared[f] = sh == 1 // the last version of each file stands
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	list, err := t.indicators(`WHERE i.recorded_ns <= ? AND (i.retired_ns IS NULL OR i.retired_ns > ?) ORDER BY i.id`, rec, rec)
	if err != nil {
		return nil, err
	}
	for i := range list {
		si := &list[i]
		sh, ok := shared[file{si.Org, si.File}]
		if !ok {
			return nil, fmt.Errorf("indicator %d: no version of its file %q of %s recorded by then", si.ID, si.File, si.Org)
		}
		si.Shared, si.Retired = sh, time.Time{}
	}
	return list, nil
}

// Reports yields the reports of the replay, without stored findings.
func (sn *asOfSnapshot) Reports(ctx context.Context, after int64) iter.Seq2[*seams.SnapshotReport, error] {
	return func(yield func(*seams.SnapshotReport, error) bool) {
		t := sn.t(ctx)
		var out seams.SnapshotReport
		for {
			page, err := t.reportPage(`WHERE r.seq > ? AND r.seq <= ? ORDER BY r.seq LIMIT ?`, []any{after, sn.state.MaxReport, snapshotPage}, true)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for i := range page {
				if page[i].Loaded.UnixNano() > sn.loaded {
					continue // loaded after the time, before a report loaded by it
				}
				out.StoredReport, out.Findings = page[i], nil
				if !yield(&out, nil) {
					return
				}
			}
			after = page[len(page)-1].Seq
		}
	}
}

// FindingRefs is not for a replay: it matches every report.
func (sn *asOfSnapshot) FindingRefs(ctx context.Context, through int64) iter.Seq2[*seams.FindingRefs, error] {
	return func(yield func(*seams.FindingRefs, error) bool) {
		yield(nil, errors.New("a replay has no stored findings"))
	}
}

// sharedAsOf returns every prefix of the shared-space lists active at
// record time rec, whoever owns them, once each and in order.
func (t *tx) sharedAsOf(rec int64) ([]netip.Prefix, error) {
	lists, err := t.sharedLists(rec)
	if err != nil {
		return nil, err
	}
	reg := seams.StoredRegistry{SharedLists: lists}
	out := reg.SharedPrefixes()
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out, nil
}
