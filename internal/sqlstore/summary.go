package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// Summary implements seams.Reader. The counts mean what summary.json's
// mean (docs/xref.md), over the findings and reports p may see. They are
// read from the counts the store keeps (summarycounts.go): a few hundred
// rows, whatever the number of findings.
func (s *Store) Summary(ctx context.Context, p seams.Principal, q seams.SummaryQuery) (*seams.StoreSummary, error) {
	sum := &seams.StoreSummary{ByCompound: []seams.CompoundCount{}, ByCountry: []seams.CountryCount{}, ByMonth: []seams.MonthCount{}}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		compounds, err := t.compounds()
		if err != nil {
			return err
		}
		byCompound := map[string]*seams.CompoundCount{}
		months := map[string]*seams.MonthCount{}
		var signals seams.SignalCounts
		where, args := visibleCounts(v)
		if q.Compound != "" {
			where += ` AND s.compound = ?`
			args = append(args, q.Compound)
		}
		err = t.each(`SELECT s.compound, s.month, SUM(s.tied), SUM(s.potential), SUM(s.confirmed), SUM(s.dismissed), SUM(s.unreviewed), SUM(s.stale),
			SUM(s.cross_border), SUM(s.foreign_asn) FROM summary_findings s WHERE `+where+` GROUP BY s.compound, s.month`, args, func(rows *sql.Rows) error {
			var compound, month string
			var tied, potential, confirmed, dismissed, unreviewed, stale, cross, foreign int
			if err := rows.Scan(&compound, &month, &tied, &potential, &confirmed, &dismissed, &unreviewed, &stale, &cross, &foreign); err != nil {
				return err
			}
			if tied+potential == 0 {
				return nil
			}
			sum.Findings += tied + potential
			sum.Reviews.Confirmed += confirmed
			sum.Reviews.Dismissed += dismissed
			sum.Reviews.Unreviewed += unreviewed
			sum.Reviews.Stale += stale
			signals.CrossBorder += cross
			signals.ForeignASN += foreign
			cc := byCompound[compound]
			if cc == nil {
				c := compounds[compound]
				cc = &seams.CompoundCount{Compound: compound, Name: c.Name, Country: c.Country}
				byCompound[compound] = cc
			}
			cc.Tied += tied
			cc.Potential += potential
			mc := months[month]
			if mc == nil {
				mc = &seams.MonthCount{Month: month}
				months[month] = mc
			}
			mc.Tied += tied
			mc.Potential += potential
			return nil
		})
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		for _, cc := range byCompound {
			sum.ByCompound = append(sum.ByCompound, *cc)
			if cc.Tied > 0 {
				sum.CompoundsTied++
			}
		}
		slices.SortFunc(sum.ByCompound, func(a, b seams.CompoundCount) int {
			return rank(a.Tied, a.Potential, a.Compound, b.Tied, b.Potential, b.Compound)
		})
		for _, mc := range months {
			sum.ByMonth = append(sum.ByMonth, *mc)
		}
		slices.SortFunc(sum.ByMonth, func(a, b seams.MonthCount) int { return strings.Compare(a.Month, b.Month) })

		// Distinct reports. Of one compound a report has one finding at
		// most: its findings are its distinct reports, in its country.
		var byASN []seams.ASNCount
		if q.Compound != "" {
			if cc := byCompound[q.Compound]; cc != nil {
				sum.TiedReports, sum.PotentialReports = cc.Tied, cc.Potential
				sum.ByCountry = append(sum.ByCountry, seams.CountryCount{Country: cc.Country, Tied: cc.Tied, Potential: cc.Potential})
			}
		}
		where, args = visibleCounts(v)
		args = append(args, q.Compound)
		err = t.each(`SELECT s.kind, s.item, MIN(s.label), SUM(s.tied), SUM(s.potential) FROM summary_reports s WHERE `+where+` AND s.compound = ?
			GROUP BY s.kind, s.item`, args, func(rows *sql.Rows) error {
			var kind, item, label string
			var tied, potential int
			if err := rows.Scan(&kind, &item, &label, &tied, &potential); err != nil {
				return err
			}
			if tied+potential == 0 {
				return nil
			}
			switch kind {
			case "tier":
				sum.TiedReports, sum.PotentialReports = tied, potential
			case "country":
				sum.ByCountry = append(sum.ByCountry, seams.CountryCount{Country: item, Tied: tied, Potential: potential})
			case "asn":
				n, err := strconv.ParseUint(item, 10, 32)
				if err != nil {
					return fmt.Errorf("summary: AS %q: %w", item, err)
				}
				byASN = append(byASN, seams.ASNCount{ASN: uint32(n), Org: label, Tied: tied, Potential: potential})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		slices.SortFunc(sum.ByCountry, func(a, b seams.CountryCount) int {
			return rank(a.Tied, a.Potential, a.Country, b.Tied, b.Potential, b.Country)
		})
		slices.SortFunc(byASN, func(a, b seams.ASNCount) int {
			return rank(a.Tied, a.Potential, fmt.Sprintf("%010d", a.ASN), b.Tied, b.Potential, fmt.Sprintf("%010d", b.ASN))
		})

		if err := t.queryRow(`SELECT COALESCE(SUM(s.reports), 0), COALESCE(SUM(s.events), 0), COALESCE(SUM(s.devices), 0) FROM summary_stored s WHERE `+sees("s"),
			v.args()...).Scan(&sum.Reports, &sum.Events, &sum.Devices); err != nil {
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
			runs, err := t.runs(v, `WHERE id = ?`, lastRun)
			if err != nil {
				return err
			}
			if len(runs) == 1 {
				sum.LastRun = &runs[0]
			}
		}
		// As summary.json: the reports by AS and the signals are there
		// when the run had enrichment databases (its findings carry
		// them), absent otherwise.
		if sum.LastRun != nil && len(sum.LastRun.Parameters.Databases) > 0 {
			sum.ByASN = byASN
			if sum.ByASN == nil {
				sum.ByASN = []seams.ASNCount{}
			}
			sum.Signals = &signals
		}
		t.record("summary.read", "summary", fmt.Sprintf("%d findings", sum.Findings))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// visibleCounts is the condition on the kept counts of alias s (columns
// org, scope) that they are what v sees: its organisation's own rows and
// the other organisations' shared ones, or every own row for the
// operator.
func visibleCounts(v viewer) (string, []any) {
	return `((? = 1 AND s.scope = 0) OR (? = 0 AND s.org = ? AND s.scope = 0) OR (? = 0 AND s.org <> ? AND s.scope = 1))`,
		[]any{boolInt(v.all), boolInt(v.all), v.org, boolInt(v.all), v.org}
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
	if err := t.queryRow(`SELECT COUNT(DISTINCT prefix), COUNT(CASE WHEN prefix = ? THEN 1 END) FROM shared_space WHERE retired_ns IS NULL AND `+seesShared,
		append([]any{nat}, v.args()...)...).
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
		// The counts kept for the summary; of one compound a report has
		// one finding at most, so its findings are its distinct reports.
		where, args := visibleCounts(v)
		err = t.each(`SELECT s.compound, SUM(s.tied), SUM(s.potential), SUM(s.confirmed), SUM(s.dismissed) FROM summary_findings s
			WHERE `+where+` GROUP BY s.compound`, args, func(rows *sql.Rows) error {
			var id string
			var tied, potential, confirmed, dismissed int
			if err := rows.Scan(&id, &tied, &potential, &confirmed, &dismissed); err != nil {
				return err
			}
			if cs := stats[id]; cs != nil {
				cs.Tied, cs.Potential, cs.Confirmed, cs.Dismissed = tied, potential, confirmed, dismissed
			}
			return nil
		})
		if err != nil {
			return err
		}
		// The first and last finding of each compound with any: the ends
		// of the (compound, at_ns) index, skipping what v may not see.
		for id, cs := range stats {
			if cs.Tied+cs.Potential == 0 {
				continue
			}
			for _, end := range []struct {
				order string
				t     *time.Time
			}{{"ASC", &cs.First}, {"DESC", &cs.Last}} {
				var at sql.NullInt64
				err := t.queryRow(`SELECT f.at_ns FROM findings f JOIN reports r ON r.seq = f.report
					WHERE f.compound = ? AND f.at_ns IS NOT NULL AND f.tier > 0 AND `+seesFinding+` ORDER BY f.at_ns `+end.order+` LIMIT 1`,
					append([]any{id}, v.args()...)...).Scan(&at)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				*end.t = timeOf(at)
			}
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
