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

// Summary implements seams.Reader. The counts mean what summary.json's
// mean (docs/xref.md), over the findings and reports p may see.
func (s *Store) Summary(ctx context.Context, p seams.Principal, q seams.SummaryQuery) (*seams.StoreSummary, error) {
	sum := &seams.StoreSummary{ByCompound: []seams.CompoundCount{}, ByCountry: []seams.CountryCount{}, ByMonth: []seams.MonthCount{}}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		from := ` FROM findings f JOIN reports r ON r.seq = f.report WHERE ` + seesFinding + ` AND f.tier > 0`
		args := v.args()
		if q.Compound != "" {
			from += ` AND f.compound = ?`
			args = append(args, q.Compound)
		}
		compounds, err := t.compounds()
		if err != nil {
			return err
		}
		// Distinct reports are counted as a report's findings go by,
		// so they must come together: in (report, compound) order. Of
		// one compound a report has one finding at most, and any order
		// (the compound index's) will do.
		order := ` ORDER BY f.report, f.compound`
		if q.Compound != "" {
			order = ""
		}
		if err := summarizeFindings(t, from+order, args, compounds, sum); err != nil {
			return err
		}

		if err := t.queryRow(`SELECT COUNT(*) FROM reports r WHERE `+sees("r"), v.args()...).Scan(&sum.Reports); err != nil {
			return err
		}
		// Events and devices are counted per report first (a scan in the
		// order they are kept), then joined to the reports for
		// visibility: joining every event to its report took 7 s on 2.2M
		// events in SQLite, this half a second.
		if err := t.queryRow(`SELECT COALESCE(SUM(e.n), 0) FROM (SELECT report, COUNT(*) AS n FROM report_ips GROUP BY report) e JOIN reports r ON r.seq = e.report WHERE `+sees("r"), v.args()...).Scan(&sum.Events); err != nil {
			return err
		}
		if err := t.queryRow(`SELECT COALESCE(SUM(e.n), 0) FROM (SELECT report, COUNT(*) AS n FROM report_devices GROUP BY report) e JOIN reports r ON r.seq = e.report WHERE `+sees("r"), v.args()...).Scan(&sum.Devices); err != nil {
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
		t.record("summary.read", "summary", fmt.Sprintf("%d findings", sum.Findings))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// summarizeFindings counts the findings that query selects in one pass.
// The query must yield a report's findings together (in report order, the
// order of the (report, compound) index), so that the distinct reports of
// each count need no set. One scan instead of a query per count: on a million findings
// the separate COUNT(DISTINCT ...) and GROUP BY queries took half a minute
// on SQLite.
func summarizeFindings(t *tx, from string, args []any, compounds map[string]seams.Compound, sum *seams.StoreSummary) error {
	byCompound := map[string]*seams.CompoundCount{}
	type countryCount struct{ tied, any int }
	byCountry := map[string]*countryCount{}
	months := map[string]*seams.MonthCount{}
	tiedCompounds := map[string]bool{}
	// The report being counted: whether it is tied, and the best tier it
	// has in each country.
	cur := int64(-1)
	curTied := false
	var curCountries []struct {
		country string
		tied    bool
	}
	flush := func() {
		if cur < 0 {
			return
		}
		sum.PotentialReports++ // any tier; tied ones are taken off below
		if curTied {
			sum.TiedReports++
		}
		for _, cc := range curCountries {
			c := byCountry[cc.country]
			if c == nil {
				c = &countryCount{}
				byCountry[cc.country] = c
			}
			c.any++
			if cc.tied {
				c.tied++
			}
		}
		curCountries, curTied = curCountries[:0], false
	}
	err := t.each(`SELECT f.report, f.compound, f.tier, f.at_ns, f.mark, f.version, f.reviewed_version`+from, args,
		func(rows *sql.Rows) error {
			var report, tier, version int64
			var compound, mark string
			var at, reviewed sql.NullInt64
			if err := rows.Scan(&report, &compound, &tier, &at, &mark, &version, &reviewed); err != nil {
				return err
			}
			if report != cur {
				flush()
				cur = report
			}
			tied := seams.Tier(tier) == seams.TierTied
			c := compounds[compound]
			sum.Findings++
			switch {
			case mark == string(seams.MarkConfirmed):
				sum.Reviews.Confirmed++
			case mark == string(seams.MarkDismissed):
				sum.Reviews.Dismissed++
			case mark == "":
				sum.Reviews.Unreviewed++
			}
			if mark != "" && reviewed.Int64 != version {
				sum.Reviews.Stale++
			}
			cc := byCompound[compound]
			if cc == nil {
				cc = &seams.CompoundCount{Compound: compound, Name: c.Name, Country: c.Country}
				byCompound[compound] = cc
			}
			if tied {
				cc.Tied++
				curTied = true
				tiedCompounds[compound] = true
			} else {
				cc.Potential++
			}
			found := false
			for i := range curCountries {
				if curCountries[i].country == c.Country {
					curCountries[i].tied = curCountries[i].tied || tied
					found = true
				}
			}
			if !found {
				curCountries = append(curCountries, struct {
					country string
					tied    bool
				}{c.Country, tied})
			}
			m := ""
			if at.Valid {
				m = time.Unix(0, at.Int64).UTC().Format("2006-01")
			}
			mc := months[m]
			if mc == nil {
				mc = &seams.MonthCount{Month: m}
				months[m] = mc
			}
			if tied {
				mc.Tied++
			} else {
				mc.Potential++
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	flush()
	sum.PotentialReports -= sum.TiedReports
	sum.CompoundsTied = len(tiedCompounds)
	for _, cc := range byCompound {
		sum.ByCompound = append(sum.ByCompound, *cc)
	}
	slices.SortFunc(sum.ByCompound, func(a, b seams.CompoundCount) int {
		return rank(a.Tied, a.Potential, a.Compound, b.Tied, b.Potential, b.Compound)
	})
	for country, c := range byCountry {
		sum.ByCountry = append(sum.ByCountry, seams.CountryCount{Country: country, Tied: c.tied, Potential: c.any - c.tied})
	}
	slices.SortFunc(sum.ByCountry, func(a, b seams.CountryCount) int {
		return rank(a.Tied, a.Potential, a.Country, b.Tied, b.Potential, b.Country)
	})
	for _, mc := range months {
		sum.ByMonth = append(sum.ByMonth, *mc)
	}
	slices.SortFunc(sum.ByMonth, func(a, b seams.MonthCount) int { return strings.Compare(a.Month, b.Month) })
	return nil
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
		// Counted in Go over one scan in (report, compound) order: a
		// GROUP BY compound makes SQLite walk the compound index and
		// fetch each finding and its report at random (6 s for a million
		// findings, against 1.5 s for the scan).
		scan, scanArgs := ` ORDER BY f.report, f.compound`, v.args()
		if len(ids) > 0 && len(ids) <= insertRows {
			// A few compounds: their findings by the compound index.
			scan = ` AND f.compound IN (` + inList(len(ids)) + `)`
			for _, id := range ids {
				scanArgs = append(scanArgs, id)
			}
		}
		err = t.each(`SELECT f.compound, f.tier, f.mark, f.at_ns FROM findings f JOIN reports r ON r.seq = f.report
			WHERE f.tier > 0 AND `+seesFinding+scan, scanArgs,
			func(rows *sql.Rows) error {
				var id, mark string
				var tier int64
				var at sql.NullInt64
				if err := rows.Scan(&id, &tier, &mark, &at); err != nil {
					return err
				}
				cs := stats[id]
				if cs == nil {
					return nil
				}
				if seams.Tier(tier) == seams.TierTied {
					cs.Tied++
				} else {
					cs.Potential++
				}
				switch seams.Mark(mark) {
				case seams.MarkConfirmed:
					cs.Confirmed++
				case seams.MarkDismissed:
					cs.Dismissed++
				}
				cs.First = earliest(cs.First, timeOf(at))
				cs.Last = latest(cs.Last, timeOf(at))
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
