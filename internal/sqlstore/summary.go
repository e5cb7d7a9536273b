package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// dayOf is the day number (since 1970-01-01, rounded down) of f.at_ns in
// either engine: integer division truncates toward zero in both.
const dayOf = `CASE WHEN f.at_ns < 0 THEN (f.at_ns + 1) / 86400000000000 - 1 ELSE f.at_ns / 86400000000000 END`

// Summary implements seams.Reader. The counts mean what summary.json's
// mean (docs/xref.md), over the findings and reports p may see.
func (s *Store) Summary(ctx context.Context, p seams.Principal, q seams.SummaryQuery) (*seams.StoreSummary, error) {
	sum := &seams.StoreSummary{ByCompound: []seams.CompoundCount{}, ByCountry: []seams.CountryCount{}, ByMonth: []seams.MonthCount{}}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		from := ` FROM findings f JOIN reports r ON r.seq = f.report JOIN compounds c ON c.id = f.compound WHERE ` + seesFinding + ` AND f.tier > 0`
		args := v.args()
		if q.Compound != "" {
			from += ` AND f.compound = ?`
			args = append(args, q.Compound)
		}
		if err := t.queryRow(`SELECT COUNT(DISTINCT CASE WHEN f.tier = 2 THEN f.report END), COUNT(DISTINCT f.report), COUNT(*),
			COUNT(DISTINCT CASE WHEN f.tier = 2 THEN f.compound END),
			COALESCE(SUM(CASE WHEN f.mark = 'confirmed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.mark = 'dismissed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.mark = '' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.mark <> '' AND f.reviewed_version <> f.version THEN 1 ELSE 0 END), 0)`+from, args...).
			Scan(&sum.TiedReports, &sum.PotentialReports, &sum.Findings, &sum.CompoundsTied,
				&sum.Reviews.Confirmed, &sum.Reviews.Dismissed, &sum.Reviews.Unreviewed, &sum.Reviews.Stale); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		sum.PotentialReports -= sum.TiedReports

		compounds, err := t.compounds()
		if err != nil {
			return err
		}
		byCompound := map[string]*seams.CompoundCount{}
		err = t.each(`SELECT f.compound, f.tier, COUNT(*)`+from+` GROUP BY f.compound, f.tier`, args, func(rows *sql.Rows) error {
			var id string
			var tier int64
			var n int
			if err := rows.Scan(&id, &tier, &n); err != nil {
				return err
			}
			cc := byCompound[id]
			if cc == nil {
				c := compounds[id]
				cc = &seams.CompoundCount{Compound: id, Name: c.Name, Country: c.Country}
				byCompound[id] = cc
			}
			if seams.Tier(tier) == seams.TierTied {
				cc.Tied += n
			} else {
				cc.Potential += n
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, cc := range byCompound {
			sum.ByCompound = append(sum.ByCompound, *cc)
		}
		slices.SortFunc(sum.ByCompound, func(a, b seams.CompoundCount) int {
			return rank(a.Tied, a.Potential, a.Compound, b.Tied, b.Potential, b.Compound)
		})

		err = t.each(`SELECT c.country, COUNT(DISTINCT CASE WHEN f.tier = 2 THEN f.report END), COUNT(DISTINCT f.report)`+from+` GROUP BY c.country`, args,
			func(rows *sql.Rows) error {
				var cc seams.CountryCount
				var any int
				if err := rows.Scan(&cc.Country, &cc.Tied, &any); err != nil {
					return err
				}
				cc.Potential = any - cc.Tied
				sum.ByCountry = append(sum.ByCountry, cc)
				return nil
			})
		if err != nil {
			return err
		}
		slices.SortFunc(sum.ByCountry, func(a, b seams.CountryCount) int {
			return rank(a.Tied, a.Potential, a.Country, b.Tied, b.Potential, b.Country)
		})

		months := map[string]*seams.MonthCount{}
		err = t.each(`SELECT `+dayOf+`, f.tier, COUNT(*)`+from+` GROUP BY `+dayOf+`, f.tier`, args, func(rows *sql.Rows) error {
			var day sql.NullInt64
			var tier int64
			var n int
			if err := rows.Scan(&day, &tier, &n); err != nil {
				return err
			}
			m := ""
			if day.Valid {
				m = time.Unix(day.Int64*86400, 0).UTC().Format("2006-01")
			}
			mc := months[m]
			if mc == nil {
				mc = &seams.MonthCount{Month: m}
				months[m] = mc
			}
			if seams.Tier(tier) == seams.TierTied {
				mc.Tied += n
			} else {
				mc.Potential += n
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, mc := range months {
			sum.ByMonth = append(sum.ByMonth, *mc)
		}
		slices.SortFunc(sum.ByMonth, func(a, b seams.MonthCount) int { return strings.Compare(a.Month, b.Month) })

		if err := t.queryRow(`SELECT COUNT(*) FROM reports r WHERE `+sees("r"), v.args()...).Scan(&sum.Reports); err != nil {
			return err
		}
		if err := t.queryRow(`SELECT COUNT(*) FROM report_ips e JOIN reports r ON r.seq = e.report WHERE `+sees("r"), v.args()...).Scan(&sum.Events); err != nil {
			return err
		}
		if err := t.queryRow(`SELECT COUNT(*) FROM report_devices e JOIN reports r ON r.seq = e.report WHERE `+sees("r"), v.args()...).Scan(&sum.Devices); err != nil {
			return err
		}
		if sum.Registry, err = t.registryCounts(v); err != nil {
			return err
		}
		var lastRun int64
		if err := t.queryRow(`SELECT last_run FROM state WHERE id = 1`).Scan(&lastRun); err != nil {
			return err
		}
		if lastRun > 0 {
			runs, err := t.runs(`WHERE id = ?`, lastRun)
			if err != nil {
				return err
			}
			if len(runs) == 1 {
				sum.LastRun = &runs[0]
			}
		}
		t.record("summary.read", "summary", fmt.Sprintf("%d findings", sum.Findings))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// rank orders counts as summary.json does: by tied, then potential,
// descending, then id.
func rank(at, ap int, aid string, bt, bp int, bid string) int {
	if c := cmp.Compare(bt, at); c != 0 {
		return c
	}
	if c := cmp.Compare(bp, ap); c != 0 {
		return c
	}
	return strings.Compare(aid, bid)
}

// each runs a query and calls fn on every row.
func (t *tx) each(query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := t.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t *tx) registryCounts(v viewer) (seams.RegistryCounts, error) {
	var rc seams.RegistryCounts
	if err := t.queryRow(`SELECT COUNT(*) FROM compounds`).Scan(&rc.Compounds); err != nil {
		return rc, err
	}
	err := t.each(`SELECT i.kind, COUNT(*) FROM indicators i WHERE i.retired_ns IS NULL AND `+sees("i")+` GROUP BY i.kind`, v.args(), func(rows *sql.Rows) error {
		var kind int64
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return err
		}
		switch seams.Kind(kind) {
		case seams.KindIP:
			rc.IPIndicators = n
		case seams.KindCIDR:
			rc.CIDRIndicators = n
		case seams.KindDevice:
			rc.DeviceIndicators = n
		}
		return nil
	})
	if err != nil {
		return rc, err
	}
	// As summary.json counts it: the distinct prefixes, 100.64.0.0/10
	// always among them.
	nat := seams.CarrierNAT.String()
	var hasNAT int
	if err := t.queryRow(`SELECT COUNT(DISTINCT prefix), COUNT(CASE WHEN prefix = ? THEN 1 END) FROM shared_space WHERE retired_ns IS NULL`, nat).
		Scan(&rc.SharedPrefixes, &hasNAT); err != nil {
		return rc, err
	}
	if hasNAT == 0 {
		rc.SharedPrefixes++
	}
	return rc, nil
}

// CompoundStats implements seams.Reader.
func (s *Store) CompoundStats(ctx context.Context, p seams.Principal, ids ...string) ([]seams.CompoundStats, error) {
	var out []seams.CompoundStats
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		compounds, err := t.compounds()
		if err != nil {
			return err
		}
		stats := map[string]*seams.CompoundStats{}
		want := ids
		if len(want) == 0 {
			for id := range compounds {
				want = append(want, id)
			}
		}
		for _, id := range want {
			c, ok := compounds[id]
			if !ok {
				if len(ids) > 0 {
					return fmt.Errorf("compound %q: %w", clean(id), seams.ErrNotFound)
				}
				continue
			}
			stats[id] = &seams.CompoundStats{Compound: c}
		}
		err = t.each(`SELECT i.compound, i.kind, COUNT(*), MIN(i.first_ns), MAX(i.last_ns) FROM indicators i
			WHERE i.retired_ns IS NULL AND `+sees("i")+` GROUP BY i.compound, i.kind`, v.args(), func(rows *sql.Rows) error {
			var id string
			var kind int64
			var n int
			var first, last sql.NullInt64
			if err := rows.Scan(&id, &kind, &n, &first, &last); err != nil {
				return err
			}
			cs := stats[id]
			if cs == nil {
				return nil
			}
			switch seams.Kind(kind) {
			case seams.KindIP:
				cs.Indicators.IP += n
			case seams.KindCIDR:
				cs.Indicators.CIDR += n
			case seams.KindDevice:
				cs.Indicators.Device += n
			case seams.KindASN:
				cs.Indicators.ASN += n
			}
			cs.IndicatorFirst = earliest(cs.IndicatorFirst, timeOf(first))
			cs.IndicatorLast = latest(cs.IndicatorLast, timeOf(last))
			return nil
		})
		if err != nil {
			return err
		}
		err = t.each(`SELECT f.compound, f.tier, COUNT(*), COALESCE(SUM(CASE WHEN f.mark = 'confirmed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.mark = 'dismissed' THEN 1 ELSE 0 END), 0), MIN(f.at_ns), MAX(f.at_ns)
			FROM findings f JOIN reports r ON r.seq = f.report WHERE f.tier > 0 AND `+seesFinding+` GROUP BY f.compound, f.tier`, v.args(),
			func(rows *sql.Rows) error {
				var id string
				var tier int64
				var n, conf, dis int
				var first, last sql.NullInt64
				if err := rows.Scan(&id, &tier, &n, &conf, &dis, &first, &last); err != nil {
					return err
				}
				cs := stats[id]
				if cs == nil {
					return nil
				}
				if seams.Tier(tier) == seams.TierTied {
					cs.Tied += n
				} else {
					cs.Potential += n
				}
				cs.Confirmed += conf
				cs.Dismissed += dis
				cs.First = earliest(cs.First, timeOf(first))
				cs.Last = latest(cs.Last, timeOf(last))
				return nil
			})
		if err != nil {
			return err
		}
		for _, cs := range stats {
			out = append(out, *cs)
		}
		slices.SortFunc(out, func(a, b seams.CompoundStats) int { return strings.Compare(a.ID, b.ID) })
		t.record("compounds.read", "compounds", fmt.Sprintf("%d compounds with finding counts", len(out)))
		return nil
	})
	return out, err
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}
